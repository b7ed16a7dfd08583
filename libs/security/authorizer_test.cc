#include "libs/security/authorizer.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/clock.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"

namespace hisbridge::security {
namespace {

using ::testing::HasSubstr;

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kError);
    dir_ = MakeTempDirectory("authorizer_test").value();
    auto policy = Policy::Parse(
        "clinic:450321-WS-003  clinic   450321-WS-003,450321-CS-011\n"
        "county-gateway        clinic   *\n"
        "lead-hospital-his     reader\n"
        "steward:li            steward\n"
        "it-admin              admin\n",
        "policy.txt");
    ASSERT_TRUE(policy.ok()) << policy.status();
    authorizer_ = std::make_unique<Authorizer>(std::move(*policy));
  }
  void TearDown() override {
    authorizer_.reset();
    access_log_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  // An access log whose writer waits `max_delay` before writing, refusing
  // entries past `max_pending`.
  void UseAccessLog(absl::Duration max_delay, size_t max_pending) {
    AccessLogOptions options;
    options.max_delay = max_delay;
    options.max_pending = max_pending;
    access_log_ = AccessLog::Open(dir_ + "/access-log", nullptr, options, &clock_).value();
    authorizer_->set_access_log(access_log_.get());
  }
  static CallerClaims As(const std::string& identity, const std::string& purpose = "",
                         const std::string& on_behalf_of = "") {
    return CallerClaims{identity, purpose, on_behalf_of};
  }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<Authorizer> authorizer_;
};

TEST_F(AuthorizerTest, RolesPurposesAndFacilities) {
  auto reader = authorizer_->AuthorizeIdentity(As("lead-hospital-his", "treatment"), Permission::kReadPatients, "Read");
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->role, Role::kReader);
  EXPECT_EQ(reader->purpose, "treatment");

  auto no_purpose = authorizer_->AuthorizeIdentity(As("lead-hospital-his"), Permission::kReadPatients, "Read");
  EXPECT_TRUE(absl::IsPermissionDenied(no_purpose.status()));
  EXPECT_THAT(no_purpose.status().message(), HasSubstr("must state the purpose of use"));
  auto bad_purpose =
      authorizer_->AuthorizeIdentity(As("lead-hospital-his", "curiosity"), Permission::kReadPatients, "Read");
  EXPECT_TRUE(absl::IsInvalidArgument(bad_purpose.status()));

  auto steward = authorizer_->AuthorizeIdentity(As("steward:li"), Permission::kReadPatients, "Read");
  ASSERT_TRUE(steward.ok());
  EXPECT_EQ(steward->purpose, "operations");  // the stewards' default

  auto admin_reads = authorizer_->AuthorizeIdentity(As("it-admin", "treatment"), Permission::kReadPatients, "Read");
  EXPECT_TRUE(absl::IsPermissionDenied(admin_reads.status()));
  EXPECT_THAT(admin_reads.status().message(),
              HasSubstr("Read: it-admin has role admin (policy.txt line 5); only a reader or steward may read"));
  EXPECT_TRUE(absl::IsPermissionDenied(
      authorizer_->AuthorizeIdentity(As("stranger"), Permission::kSubmit, "Submit").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(authorizer_->AuthorizeIdentity(As(""), Permission::kSubmit, "Submit").status()));

  auto clinic = authorizer_->AuthorizeIdentity(As("clinic:450321-WS-003"), Permission::kSubmit, "Submit");
  ASSERT_TRUE(clinic.ok());
  EXPECT_EQ(authorizer_->FacilityRefusal(*clinic, "450321-CS-011"), "");
  EXPECT_THAT(authorizer_->FacilityRefusal(*clinic, "450321-WS-009"),
              HasSubstr("policy rule policy.txt line 1: clinic:450321-WS-003 may submit only for "
                        "450321-CS-011,450321-WS-003, not for facility \"450321-WS-009\""));
  auto gateway = authorizer_->AuthorizeIdentity(As("county-gateway"), Permission::kSubmit, "Submit");
  ASSERT_TRUE(gateway.ok());
  EXPECT_EQ(authorizer_->FacilityRefusal(*gateway, "450321-WS-009"), "");
}

TEST_F(AuthorizerTest, ReadsAreRecordedWithWhomAGatewayReadFor) {
  UseAccessLog(absl::Milliseconds(5), 100000);
  auto facade = authorizer_->AuthorizeIdentity(As("lead-hospital-his", "treatment", "steward:li"),
                                               Permission::kReadPatients, "QueryService.GetPatient");
  ASSERT_TRUE(facade.ok());
  EXPECT_EQ(facade->on_behalf_of, "steward:li");
  ASSERT_TRUE(authorizer_->RecordAccess(*facade, "QueryService.GetPatient", {"450321-P0000001"}).ok());
  (void)authorizer_->AuthorizeIdentity(As("it-admin", "treatment", "someone"), Permission::kReadPatients,
                                       "QueryService.GetPatient");  // refused, and recorded as refused

  hisbridge::v1::ListAccessLogRequest by_steward;
  by_steward.set_who("steward:li");
  auto listed = access_log_->List(by_steward);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->entries_size(), 1);
  EXPECT_EQ(listed->entries(0).who(), "lead-hospital-his");
  EXPECT_EQ(listed->entries(0).on_behalf_of(), "steward:li");
  EXPECT_EQ(listed->entries(0).patient_id(), "450321-P0000001");
  EXPECT_TRUE(listed->entries(0).allowed());
  hisbridge::v1::ListAccessLogRequest by_someone;
  by_someone.set_who("someone");
  listed = access_log_->List(by_someone);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->entries_size(), 1);
  EXPECT_EQ(listed->entries(0).who(), "it-admin");
  EXPECT_FALSE(listed->entries(0).allowed());
}

TEST_F(AuthorizerTest, AReadTheAccessLogCannotTakeIsRefused) {
  UseAccessLog(absl::Seconds(30), 3);
  auto reader = authorizer_->AuthorizeIdentity(As("lead-hospital-his", "treatment"), Permission::kReadPatients,
                                               "QueryService.GetPatient");
  ASSERT_TRUE(reader.ok());
  absl::Status refused;
  for (int i = 0; i < 20000 && refused.ok(); ++i) {
    refused = authorizer_->RecordAccess(*reader, "QueryService.GetPatient", {absl::StrCat("P", i)});
  }
  ASSERT_FALSE(refused.ok()) << "the access log never filled";
  EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("QueryService.GetPatient: the access log is behind"));
}

}  // namespace
}  // namespace hisbridge::security
