// Data-steward operations end to end, in one process on the development
// broker: ReviewService command -> inbox -> linker -> index -> views ->
// query, with the command's result waited for by the caller.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "hisbridge/v1/review.grpc.pb.h"
#include "tests/node_fixture.h"

namespace hisbridge {
namespace {

using ::testing::HasSubstr;

hisbridge::v1::Record Patient(const std::string& facility, const std::string& record, const std::string& name,
                              const std::string& id, const std::string& birth_date) {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_facility_id(facility);
  r.set_record_id(record);
  r.set_name(name);
  r.set_sex(id.empty() ? "2" : "");
  r.set_birth_date(birth_date);
  r.set_id_number(id);
  r.set_event_time("2026-03-01T08:00:00+08:00");
  return r;
}

using fixtures::In;

class StewardEndToEndTest : public fixtures::PlaintextNodeTest {
 protected:
  StewardEndToEndTest() : PlaintextNodeTest("steward_test") {}

  template <typename Request>
  void Steward(Request* request) {
    request->mutable_context()->set_actor("steward-wang");
    request->mutable_context()->set_reason("confirmed by phone with the township centre");
    request->mutable_context()->set_wait_until_applied(true);
  }
};

TEST_F(StewardEndToEndTest, MergeUnmergeLinkAndUnlinkAreAppliedAndVisible) {
  const auto submitted = Submit({Patient("450321-WS-001", "A1", "覃秀娟", "450321198503021232", "1985-03-02"),
                                 Patient("450321-CS-011", "B1", "韦丽萍", "450321199001011234", "1990-01-01")});
  const std::string a = PatientOf("450321-WS-001", "A1", &submitted);
  const std::string b = PatientOf("450321-CS-011", "B1", &submitted);
  ASSERT_NE(a, b);

  hisbridge::v1::MergePatientsRequest merge;
  merge.set_into_patient_id(a);
  merge.set_from_patient_id(b);
  Steward(&merge);
  hisbridge::v1::CommandAck ack;
  {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    grpc::Status status = review_->MergePatients(&context, merge, &ack);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_TRUE(ack.applied()) << ack.result();
  EXPECT_THAT(ack.result(), HasSubstr("merged patient " + b + " into " + a));
  EXPECT_EQ(PatientOf("450321-CS-011", "B1"), a);
  EXPECT_EQ(Get(a).sources_size(), 2);
  EXPECT_EQ(Get(b).patient_id(), a);  // the merged-away id redirects to the survivor
  EXPECT_EQ(Get(b, /*follow_merges=*/false).status(), hisbridge::v1::PATIENT_STATUS_MERGED);
  EXPECT_EQ(Get(b, /*follow_merges=*/false).merged_into(), a);

  // Merging again is refused by the linker, with its reason.
  {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    grpc::Status status = review_->MergePatients(&context, merge, &ack);
    if (status.ok()) {
      EXPECT_FALSE(ack.applied());
      EXPECT_THAT(ack.result(), HasSubstr("already merged"));
    } else {
      EXPECT_THAT(status.error_message(), HasSubstr("merged"));
    }
  }

  hisbridge::v1::UnmergePatientsRequest unmerge;
  unmerge.set_patient_id(a);
  unmerge.set_restore_patient_id(b);
  Steward(&unmerge);
  {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    grpc::Status status = review_->UnmergePatients(&context, unmerge, &ack);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_TRUE(ack.applied()) << ack.result();
  EXPECT_EQ(PatientOf("450321-CS-011", "B1"), b);
  EXPECT_EQ(Get(a).sources_size(), 1);
  EXPECT_EQ(Get(b).status(), hisbridge::v1::PATIENT_STATUS_ACTIVE);

  // Link pins; unlink splits out into a new patient.
  hisbridge::v1::LinkRecordRequest link;
  link.set_facility_id("450321-CS-011");
  link.set_record_id("B1");
  link.set_patient_id(a);
  Steward(&link);
  {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    ASSERT_TRUE(review_->LinkRecord(&context, link, &ack).ok());
  }
  EXPECT_TRUE(ack.applied()) << ack.result();
  EXPECT_EQ(PatientOf("450321-CS-011", "B1"), a);
  hisbridge::v1::UnlinkRecordRequest unlink;
  unlink.set_facility_id("450321-CS-011");
  unlink.set_record_id("B1");
  Steward(&unlink);
  {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    ASSERT_TRUE(review_->UnlinkRecord(&context, unlink, &ack).ok());
  }
  EXPECT_TRUE(ack.applied()) << ack.result();
  const std::string split = PatientOf("450321-CS-011", "B1");
  EXPECT_NE(split, a);
  EXPECT_EQ(Get(a).sources_size(), 1);
}

TEST_F(StewardEndToEndTest, ReviewItemIsListedDecidedAndLeavesTheQueue) {
  // Two people with different resident ids and the same name and birth
  // date; a third record without an id matches both: a review item.
  const auto submitted = Submit({Patient("450321-WS-001", "T1", "蓝月娥", "450321198503021232", "1985-03-02"),
                                 Patient("450321-WS-002", "T2", "蓝月娥", "450321198503021259", "1985-03-02"),
                                 Patient("450321-CS-031", "T3", "蓝月娥", "", "1985-03-02")});
  const std::string t1 = PatientOf("450321-WS-001", "T1", &submitted);
  const std::string t2 = PatientOf("450321-WS-002", "T2", &submitted);
  const std::string t3 = PatientOf("450321-CS-031", "T3", &submitted);
  ASSERT_NE(t1, t2);

  hisbridge::v1::ListReviewItemsResponse list;
  for (int attempt = 0; attempt < 50; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(In(10));
    hisbridge::v1::ListReviewItemsRequest request;
    request.set_status(hisbridge::v1::REVIEW_STATUS_OPEN);
    ASSERT_TRUE(review_->ListReviewItems(&context, request, &list).ok());
    if (list.items_size() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(list.items_size(), 1) << "T1/T2/T3 in " << t1 << " " << t2 << " " << t3;
  const hisbridge::v1::ReviewItem item = list.items(0);
  EXPECT_EQ(item.record_id(), "T3");
  ASSERT_GE(item.candidates_size(), 1);
  EXPECT_EQ(list.total_open(), 1);

  hisbridge::v1::DecideReviewItemRequest decide;
  decide.set_review_id(item.review_id());
  decide.set_decision(hisbridge::v1::REVIEW_DECISION_LINK);
  decide.set_patient_id(t2);
  Steward(&decide);
  hisbridge::v1::CommandAck ack;
  {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    grpc::Status status = review_->DecideReviewItem(&context, decide, &ack);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_TRUE(ack.applied()) << ack.result();
  EXPECT_EQ(PatientOf("450321-CS-031", "T3"), t2);

  hisbridge::v1::ListReviewItemsResponse after;
  {
    grpc::ClientContext context;
    context.set_deadline(In(10));
    hisbridge::v1::ListReviewItemsRequest request;
    request.set_status(hisbridge::v1::REVIEW_STATUS_RESOLVED);
    ASSERT_TRUE(review_->ListReviewItems(&context, request, &after).ok());
  }
  ASSERT_EQ(after.items_size(), 1);
  EXPECT_EQ(after.items(0).decision(), hisbridge::v1::REVIEW_DECISION_LINK);
  EXPECT_EQ(after.items(0).resolved_by(), "steward-wang");
  EXPECT_EQ(after.items(0).candidates_size(), item.candidates_size());  // the open item's detail is kept
  EXPECT_EQ(after.total_open(), 0);
}

}  // namespace
}  // namespace hisbridge
