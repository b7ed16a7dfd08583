#include "libs/base/flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"

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

struct ServeOptions {
  std::string listen = "0.0.0.0:7070";
  std::string facilities;
  int partitions = 4;
  bool sync = false;
  absl::Duration delay = absl::Milliseconds(20);
  std::vector<std::string> properties;
  std::vector<std::string> roles = {"all"};
  bool dry_run = false;
};

FlagSet MakeServeFlags(ServeOptions* o) {
  FlagSet flags("serve", "Runs roles.");
  flags.ConfigFile("config", "configuration file");
  flags.String("listen", &o->listen, "listen address");
  flags.String("facilities", &o->facilities, "facility CSV");
  flags.Int("partitions", &o->partitions, "partitions");
  flags.Bool("sync", &o->sync, "fsync");
  flags.Duration("delay", &o->delay, "batch delay");
  flags.StringList("kafka-property", &o->properties, "librdkafka property");
  flags.StringList("roles", &o->roles, "roles");
  flags.Bool("dry-run", &o->dry_run, "check only");
  flags.CommandLineOnly("dry-run");
  return flags;
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDirectory("flags_test").value(); }
  void TearDown() override { ASSERT_TRUE(RemoveRecursively(dir_).ok()); }
  std::string Write(const std::string& text) {
    const std::string path = dir_ + "/hisbridge.conf";
    EXPECT_TRUE(WriteFileAtomically(path, text).ok());
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigFileTest, ReadsEveryKindOfOption) {
  const std::string path = Write(
      "# hisbridge serve\n"
      "\n"
      "listen = 127.0.0.1:9000\n"
      "  facilities =   /etc/hisbridge/facilities.csv  \n"
      "partitions=8\r\n"
      "sync\n"
      "delay = 250ms\n"
      "kafka-property = security.protocol=SSL\n"
      "kafka-property = ssl.ca.location=/etc/ca.crt\n"
      "roles = ingest, query\n");
  ServeOptions o;
  FlagSet flags = MakeServeFlags(&o);
  ASSERT_TRUE(flags.Parse({"--config", path}).ok());
  EXPECT_EQ(flags.config_path(), path);
  EXPECT_EQ(o.listen, "127.0.0.1:9000");
  EXPECT_EQ(o.facilities, "/etc/hisbridge/facilities.csv");
  EXPECT_EQ(o.partitions, 8);
  EXPECT_TRUE(o.sync);
  EXPECT_EQ(o.delay, absl::Milliseconds(250));
  EXPECT_THAT(o.properties, ::testing::ElementsAre("security.protocol=SSL", "ssl.ca.location=/etc/ca.crt"));
  EXPECT_THAT(o.roles, ::testing::ElementsAre("ingest", "query"));
  EXPECT_TRUE(flags.WasSet("partitions"));
}

TEST_F(ConfigFileTest, CommandLineOverridesTheFileWhereverItStands) {
  const std::string path = Write("listen = 127.0.0.1:9000\npartitions = 8\nroles = ingest\nroles = query\n"
                                 "kafka-property = a=1\n");
  ServeOptions o;
  FlagSet flags = MakeServeFlags(&o);
  // Flags before and after --config both win over the file.
  ASSERT_TRUE(flags.Parse({"--partitions=2", "--config=" + path, "--roles", "linker", "--kafka-property=b=2",
                           "--kafka-property=c=3"})
                  .ok());
  EXPECT_EQ(o.listen, "127.0.0.1:9000");
  EXPECT_EQ(o.partitions, 2);
  EXPECT_THAT(o.roles, ::testing::ElementsAre("linker"));  // replaced, not appended
  EXPECT_THAT(o.properties, ::testing::ElementsAre("b=2", "c=3"));
}

TEST_F(ConfigFileTest, ErrorsNameTheFileLineAndOption) {
  struct Case {
    std::string text;
    std::string expected;
  } cases[] = {
      {"listen = a:1\nlisen = b:2\n", ":2: unknown option \"lisen\" for hisbridge serve"},
      {"partitions = many\n", ":1: --partitions must be an integer; got \"many\""},
      {"listen = a:1\n# ok\nlisten = b:2\n", ":3: option \"listen\" given twice (first at line 1)"},
      {"listen\n", ":1: option \"listen\" needs a value"},
      {"config = other.conf\n", ":1: \"config\" cannot be set inside a configuration file"},
      {"dry-run = true\n", ":1: \"dry-run\" cannot be set inside a configuration file, only on the command line"},
      {"= 3\n", ":1: expected `name = value`"},
      {"delay = soon\n", ":1: --delay must be a duration"},
  };
  for (const Case& c : cases) {
    const std::string path = Write(c.text);
    ServeOptions o;
    FlagSet flags = MakeServeFlags(&o);
    absl::Status s = flags.Parse({"--config", path});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(std::string(s.message()), HasSubstr(path + c.expected)) << c.text;
  }
  ServeOptions o;
  FlagSet flags = MakeServeFlags(&o);
  EXPECT_THAT(std::string(flags.Parse({"--config", dir_ + "/missing.conf"}).message()),
              HasSubstr("cannot read the configuration file"));
  ServeOptions o2;
  FlagSet flags2 = MakeServeFlags(&o2);
  EXPECT_THAT(std::string(flags2.Parse({"--config"}).message()), HasSubstr("--config needs a value"));
}

TEST_F(ConfigFileTest, HelpDoesNotReadTheFile) {
  ServeOptions o;
  FlagSet flags = MakeServeFlags(&o);
  ASSERT_TRUE(flags.Parse({"--config", dir_ + "/missing.conf", "--help"}).ok());
  EXPECT_TRUE(flags.help_requested());
}

TEST_F(ConfigFileTest, EffectiveConfigReadsBackUnchanged) {
  ServeOptions o;
  o.facilities = " padded ";
  FlagSet flags = MakeServeFlags(&o);
  ASSERT_TRUE(flags.Parse({"--kafka-property=a=1", "--kafka-property=b=2", "--roles=ingest,linker",
                           "--delay=1m30s", "--sync", "--dry-run"})
                  .ok());
  const std::string printed = flags.EffectiveConfig();
  EXPECT_EQ(printed,
            "listen = 0.0.0.0:7070\n"
            "facilities = \" padded \"\n"
            "partitions = 4\n"
            "sync = true\n"
            "delay = 1m30s\n"
            "kafka-property = a=1\n"
            "kafka-property = b=2\n"
            "roles = ingest\n"
            "roles = linker\n");
  ServeOptions again;
  FlagSet reread = MakeServeFlags(&again);
  ASSERT_TRUE(reread.Parse({"--config", Write(printed)}).ok());
  EXPECT_EQ(reread.EffectiveConfig(), printed);
  EXPECT_EQ(again.facilities, " padded ");

  ServeOptions empty;
  empty.roles.clear();
  FlagSet defaults = MakeServeFlags(&empty);
  ASSERT_TRUE(defaults.Parse(std::vector<std::string>{}).ok());
  EXPECT_THAT(defaults.EffectiveConfig(), HasSubstr("\nfacilities =\n"));
  EXPECT_THAT(defaults.EffectiveConfig(), HasSubstr("\nkafka-property =\nroles =\n"));
}

}  // namespace
}  // namespace hisbridge
