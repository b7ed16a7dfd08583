// gRPC QueryService on the callback API, served from this replica's
// materialised views (libs/view).
//
//   GetPatient, LookupBySource  the stored view's bytes, answered without
//                               parsing them (raw methods): following merges
//                               and leaving events out at the wire level
//   Match                       the linker's matcher over the replica's
//                               MatchIndex, graded certain / probable /
//                               possible / certainly-not
//   SearchPatients              secondary indexes, paged by opaque tokens
//   GetIntegratedView           one timeline of every facility's events, with
//                               facility names and the referral chain, built
//                               at the wire level from the stored bytes (raw)
//   WatchChanges                change events from an opaque cursor
//
// Calls carrying ReadConsistency wait, without blocking any thread, until
// the replica reflects the given inbox positions or the call's deadline
// (capped at kMaxConsistencyWait) passes, then answer or fail with
// DEADLINE_EXCEEDED naming the position that is not yet reflected.
// Arguments are checked first: INVALID_ARGUMENT names the field and rule.
// See docs/query.md.
//
// WatchChanges streams read the store on gRPC threads only when the
// materializer has committed new changes (changes older than memory holds:
// on a disk-read thread), and otherwise wait on a gRPC alarm
// (watch_poll_interval); they end with CANCELLED when the client
// cancels, and with UNAVAILABLE ("resume with your last cursor") once
// Shutdown() is called.
//
// QueryService's reads never wait for the disk on gRPC's callback threads
// (nor do ReviewService's, which always read on threads of their own): a call is
// answered there when memory (memtables, block cache, OS page cache) holds
// what it reads, and otherwise on a small pool of the service's own
// (QueryServiceOptions::disk_read_threads). See docs/query.md, "Reads and
// the disk".
//
// Thread safety: gRPC calls it from many threads; the materializer and the
// facility directory must outlive the service. Call Shutdown() before the
// server shuts down, and destroy the service after it (calls handed to
// the disk-read threads are answered before the destructor returns).
#ifndef HISBRIDGE_SERVICES_QUERY_QUERY_SERVICE_H_
#define HISBRIDGE_SERVICES_QUERY_QUERY_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "libs/base/blocking_pool.h"
#include "libs/index/kv_store.h"
#include "libs/records/facility_directory.h"
#include "libs/security/authorizer.h"
#include "libs/view/search_keys.h"
#include "libs/view/view_materializer.h"

namespace hisbridge::query {

inline constexpr absl::Duration kMaxConsistencyWait = absl::Seconds(30);
inline constexpr int kDefaultMatchLimit = 10;
inline constexpr int kMaxMatchLimit = 100;
inline constexpr int kDefaultPageSize = 20;
inline constexpr int kMaxPageSize = 200;

struct QueryServiceOptions {
  // The linker's EngineOptions::max_block_size: blocking tokens shared by
  // more patients are not searched by Match.
  size_t max_block_size = 200;
  // Match's possible floor is thresholds().lower - possible_margin.
  double possible_margin = 8.0;
  // How often an idle WatchChanges stream looks for new changes.
  absl::Duration watch_poll_interval = absl::Milliseconds(50);
  // Most index entries one SearchPatients call examines before it answers
  // with what it found so far (and a page token to go on).
  size_t max_search_scan = 20000;
  // Threads that answer the calls whose data is not in memory. A call is
  // first answered on gRPC's callback thread from memory only; one that
  // would wait for the device is handed to these threads, so that a cold
  // disk delays that call and not every call behind it on gRPC's two
  // callback threads. 0: every call reads on the callback thread, the disk
  // included.
  int disk_read_threads = 2;
  // Counts the calls answered on those threads (answered_from_disk());
  // share it to read it elsewhere (the node's metrics). Null: the service
  // keeps its own.
  std::shared_ptr<std::atomic<int64_t>> answered_from_disk;
  // Who may read, and the access log every read is recorded in
  // (docs/security.md); null: everyone, nothing recorded. Must outlive the
  // service.
  const security::Authorizer* authorizer = nullptr;
};

using QueryServiceBase = hisbridge::v1::QueryService::WithRawCallbackMethod_GetPatient<
    hisbridge::v1::QueryService::WithRawCallbackMethod_LookupBySource<
        hisbridge::v1::QueryService::WithRawCallbackMethod_GetIntegratedView<
            hisbridge::v1::QueryService::CallbackService>>>;

class QueryService final : public QueryServiceBase {
 public:
  QueryService(view::ViewMaterializer* views, const records::FacilityDirectory* facilities,
               QueryServiceOptions options = {});
  ~QueryService() override;

  // Ends every WatchChanges stream and waits (up to 5 s) until they are
  // done; new streams are refused with UNAVAILABLE.
  void Shutdown();

  // Calls answered, and WatchChanges fills read, on the disk-read threads
  // since the start (their data was not in memory).
  int64_t answered_from_disk() const { return answered_from_disk_->load(std::memory_order_relaxed); }

  // Raw methods: the request and the response are serialized messages
  // (GetPatientRequest / LookupBySourceRequest -> Patient,
  // GetIntegratedViewRequest -> IntegratedView).
  using QueryServiceBase::GetIntegratedView;
  using QueryServiceBase::GetPatient;
  using QueryServiceBase::LookupBySource;
  grpc::ServerUnaryReactor* GetPatient(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* LookupBySource(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetIntegratedView(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* Match(grpc::CallbackServerContext* context, const hisbridge::v1::MatchRequest* request,
                                  hisbridge::v1::MatchResponse* response) override;
  grpc::ServerUnaryReactor* SearchPatients(grpc::CallbackServerContext* context,
                                           const hisbridge::v1::SearchPatientsRequest* request,
                                           hisbridge::v1::SearchPatientsResponse* response) override;
  grpc::ServerWriteReactor<hisbridge::v1::ChangeEvent>* WatchChanges(
      grpc::CallbackServerContext* context, const hisbridge::v1::WatchChangesRequest* request) override;

 private:
  class WatchReactor;
  friend class WatchReactor;
  // Computes a call's answer (filling its response) reading at most `tier`;
  // with kMemoryOnly it may instead say that it needs a disk read, and is
  // then called again with kAny. Must be callable twice.
  using Responder = std::function<grpc::Status(index::ReadTier tier)>;
  // Finishes `reactor` with `respond`'s answer: from memory on this
  // thread, or from the disk on a disk-read thread.
  void Answer(grpc::ServerUnaryReactor* reactor, Responder respond);
  // The same once the replica reflects `consistency`, or fails the call at
  // its deadline; waits on no thread.
  void AnswerWhenConsistent(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                            const hisbridge::v1::ReadConsistency& consistency, Responder respond);

  std::vector<view::MatchedCandidate> FindMatchCandidates(const hisbridge::v1::MatchRequest& request) const;
  grpc::Status LoadMatchCandidates(const std::vector<view::MatchedCandidate>& candidates, index::ReadTier tier,
                                   hisbridge::v1::MatchResponse* response) const;
  grpc::Status DoSearch(const view::SearchPlan& plan, const std::string& start_after,
                        const hisbridge::v1::SearchPatientsRequest& request, index::ReadTier tier,
                        hisbridge::v1::SearchPatientsResponse* response) const;
  void WatcherDone();

  view::ViewMaterializer* views_;
  const records::FacilityDirectory* facilities_;
  QueryServiceOptions options_;

  std::atomic<bool> stopping_{false};
  std::mutex watchers_mu_;
  std::condition_variable watchers_cv_;
  int watchers_ = 0;
  std::shared_ptr<std::atomic<int64_t>> answered_from_disk_;
  // Last: destroyed (after being stopped) before what its tasks use.
  std::unique_ptr<BlockingWorkPool> disk_reads_;
};

}  // namespace hisbridge::query

#endif  // HISBRIDGE_SERVICES_QUERY_QUERY_SERVICE_H_
