// gRPC ReviewService on the callback API: the data stewards' review queue
// and their curation commands.
//
// ListReviewItems reads the review items this replica materialised from
// the views topic (key "~review/<id>", newest state wins), oldest first,
// with filters and opaque page tokens.
//
// Every mutating call is checked against this replica's store first
// (INVALID_ARGUMENT names the field; NOT_FOUND an unknown patient, record
// or review item; FAILED_PRECONDITION e.g. an item already resolved, a
// patient already merged, two counties), then becomes a
// hisbridge.v1.StewardCommand with a fresh command id (128 random bits,
// hex) inside an InboxEvent on the inbox topic, keyed by the county it
// belongs to, so the linker applies it in log order and a replay
// reproduces it. The CommandAck carries the command id and its inbox
// position once the broker has it durably (UNAVAILABLE when it could not
// be stored; then nothing was submitted and the call may be retried).
//
// With context.wait_until_applied the answer waits, on no thread, until the
// linker's CommandResult for the command reaches this replica (applied and
// result filled), or until shortly before the call's deadline (at most
// kMaxCommandWait): then it answers OK with applied = false and a result
// saying the command is accepted but not applied yet, never an error, so a
// client does not submit it twice.
//
// Every call that reads this replica's store (ListReviewItems, and the
// checks of every mutating call) is admitted and its arguments checked on
// gRPC's callback thread, then read on one of the service's own threads, so
// that a read that waits for the disk never holds up gRPC's two callback
// threads and with them every other call of the process (QueryService's
// included). The answer is sent from that thread, or from the producer's
// delivery callback and the materializer's waiters.
//
// Thread safety: gRPC calls it from many threads; the materializer,
// producer and facility directory must outlive the service. Destroy it
// after the server has shut down (its store threads answer the calls still
// queued for them before the destructor returns).
#ifndef HISBRIDGE_SERVICES_QUERY_REVIEW_SERVICE_H_
#define HISBRIDGE_SERVICES_QUERY_REVIEW_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/review.grpc.pb.h"
#include "libs/base/blocking_pool.h"
#include "libs/security/authorizer.h"
#include "libs/kafka/kafka_config.h"
#include "libs/kafka/producer.h"
#include "libs/records/facility_directory.h"
#include "libs/view/view_materializer.h"

namespace hisbridge::query {

inline constexpr absl::Duration kMaxCommandWait = absl::Seconds(30);

class ReviewService final : public hisbridge::v1::ReviewService::CallbackService {
 public:
  // `authorizer` (null: everyone may do everything) admits stewards only
  // and records the patients ListReviewItems shows in the access log.
  ReviewService(view::ViewMaterializer* views, kafka::Producer* producer,
                const records::FacilityDirectory* facilities, kafka::TopicNames topics,
                const security::Authorizer* authorizer = nullptr);

  grpc::ServerUnaryReactor* ListReviewItems(grpc::CallbackServerContext* context,
                                            const hisbridge::v1::ListReviewItemsRequest* request,
                                            hisbridge::v1::ListReviewItemsResponse* response) override;
  grpc::ServerUnaryReactor* DecideReviewItem(grpc::CallbackServerContext* context,
                                             const hisbridge::v1::DecideReviewItemRequest* request,
                                             hisbridge::v1::CommandAck* response) override;
  grpc::ServerUnaryReactor* LinkRecord(grpc::CallbackServerContext* context,
                                       const hisbridge::v1::LinkRecordRequest* request,
                                       hisbridge::v1::CommandAck* response) override;
  grpc::ServerUnaryReactor* UnlinkRecord(grpc::CallbackServerContext* context,
                                         const hisbridge::v1::UnlinkRecordRequest* request,
                                         hisbridge::v1::CommandAck* response) override;
  grpc::ServerUnaryReactor* MergePatients(grpc::CallbackServerContext* context,
                                          const hisbridge::v1::MergePatientsRequest* request,
                                          hisbridge::v1::CommandAck* response) override;
  grpc::ServerUnaryReactor* UnmergePatients(grpc::CallbackServerContext* context,
                                            const hisbridge::v1::UnmergePatientsRequest* request,
                                            hisbridge::v1::CommandAck* response) override;
  grpc::ServerUnaryReactor* MarkNotSamePerson(grpc::CallbackServerContext* context,
                                              const hisbridge::v1::MarkNotSamePersonRequest* request,
                                              hisbridge::v1::CommandAck* response) override;

 private:
  // A mutation once its request is checked: the command and the county
  // whose inbox partition takes it.
  struct PreparedCommand {
    std::string region;
    hisbridge::v1::StewardCommand command;
  };

  // Every mutating call: admits a steward and certifies the actor here,
  // then on a store thread lets `prepare` check the request against the
  // store and build the command (any non-OK status is the answer), then
  // submits it. `prepare` may use the request and response until the
  // reactor finishes.
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* context, const char* method,
                                   const hisbridge::v1::StewardContext& given, hisbridge::v1::CommandAck* response,
                                   std::function<grpc::Status(PreparedCommand*)> prepare);
  // Runs `work` (which must finish `reactor`) on a store thread, unless
  // the call is cancelled by then (CANCELLED, nothing submitted); finishes
  // it with UNAVAILABLE when the service is being destroyed.
  void OnStoreThread(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                     std::function<void()> work);
  // One page of ListReviewItems from the store.
  grpc::Status ListPage(const hisbridge::v1::ListReviewItemsRequest& request, const security::Caller& caller,
                        std::optional<uint64_t> before_micros, uint64_t fingerprint, const std::string& start_after,
                        size_t page_size, hisbridge::v1::ListReviewItemsResponse* response) const;
  // Two patients named in two fields, both active and of one county.
  grpc::Status LoadActivePair(const std::string& first_id, const std::string& first_field,
                              hisbridge::v1::Patient* first, const std::string& second_id,
                              const std::string& second_field, hisbridge::v1::Patient* second) const;
  // Submits the command for `region` and answers the call (after waiting
  // for the result when asked).
  void Submit(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
              const hisbridge::v1::StewardContext& steward, const security::Caller& caller, const std::string& region,
              hisbridge::v1::StewardCommand command, hisbridge::v1::CommandAck* response);

  view::ViewMaterializer* views_;
  kafka::Producer* producer_;
  const records::FacilityDirectory* facilities_;
  kafka::TopicNames topics_;
  const security::Authorizer* authorizer_;
  // Last: stopped (its queued calls answered) before the rest goes. Two
  // threads: a steward's rate, whose reads wait for the disk now and then
  // but never for each other for long.
  BlockingWorkPool store_reads_{2, "review-reads"};
};

// A fresh command id: 128 random bits as 32 hex digits.
std::string NewCommandId();

}  // namespace hisbridge::query

#endif  // HISBRIDGE_SERVICES_QUERY_REVIEW_SERVICE_H_
