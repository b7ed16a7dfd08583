#include "libs/base/flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge {
namespace {

using ::testing::HasSubstr;

struct Options {
  std::string input;
  int64_t limit = 10;
  bool verbose = false;
  absl::Duration wait = absl::Seconds(5);
  std::vector<std::string> roles = {"all"};
};

FlagSet MakeFlags(Options* o) {
  FlagSet flags("link", "Links records.");
  flags.String("input", &o->input, "input file", /*required=*/true);
  flags.Int("limit", &o->limit, "how many");
  flags.Bool("verbose", &o->verbose, "talk more");
  flags.Duration("wait", &o->wait, "how long");
  flags.StringList("roles", &o->roles, "roles to run");
  return flags;
}

TEST(FlagSet, ParsesAllSpellings) {
  Options o;
  FlagSet flags = MakeFlags(&o);
  ASSERT_TRUE(flags.Parse({"--input=a.jsonl", "--limit", "3", "--verbose", "--wait=250ms",
                           "--roles=ingest,linker", "--roles", "query"})
                  .ok());
  EXPECT_EQ(o.input, "a.jsonl");
  EXPECT_EQ(o.limit, 3);
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(o.wait, absl::Milliseconds(250));
  EXPECT_THAT(o.roles, ::testing::ElementsAre("ingest", "linker", "query"));
  EXPECT_TRUE(flags.WasSet("limit"));
}

TEST(FlagSet, NegatedBoolean) {
  Options o;
  o.verbose = true;
  FlagSet flags = MakeFlags(&o);
  ASSERT_TRUE(flags.Parse({"--input=x", "--no-verbose"}).ok());
  EXPECT_FALSE(o.verbose);
}

TEST(FlagSet, ErrorsNameTheFlag) {
  Options o;
  FlagSet flags = MakeFlags(&o);
  EXPECT_THAT(std::string(flags.Parse({"--input=x", "--limit=many"}).message()), HasSubstr("--limit"));
  Options o2;
  FlagSet flags2 = MakeFlags(&o2);
  EXPECT_THAT(std::string(flags2.Parse({"--bogus"}).message()), HasSubstr("unknown flag --bogus"));
  Options o3;
  FlagSet flags3 = MakeFlags(&o3);
  EXPECT_THAT(std::string(flags3.Parse({}).message()), HasSubstr("needs --input"));
  Options o4;
  FlagSet flags4 = MakeFlags(&o4);
  EXPECT_FALSE(flags4.Parse({"--input=x", "stray"}).ok());
}

TEST(FlagSet, HelpSkipsRequiredAndListsDefaults) {
  Options o;
  FlagSet flags = MakeFlags(&o);
  ASSERT_TRUE(flags.Parse({"--help"}).ok());
  EXPECT_TRUE(flags.help_requested());
  const std::string usage = flags.Usage();
  EXPECT_THAT(usage, HasSubstr("Usage: hisbridge link"));
  EXPECT_THAT(usage, HasSubstr("--limit"));
  EXPECT_THAT(usage, HasSubstr("(default 10)"));
  EXPECT_THAT(usage, HasSubstr("(required)"));
}

}  // namespace
}  // namespace hisbridge
