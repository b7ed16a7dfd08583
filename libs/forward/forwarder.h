// Store-and-forward from a connector to ingest, shared by every connector
// (HL7 v2, file, FHIR).
//
// A connector hands the Forwarder one *unit* at a time: the records of one
// HL7 message, one FHIR transaction, one batch of CSV rows, already
// validated locally (libs/records) so that only applicable records travel.
// `done` runs once the unit is durable, and only then may the connector tell
// its client "accepted":
//
//   - path kIngest: ingest answered; `results` has its answer per record
//     (ACCEPTED means appended to Kafka with acks=all; REJECTED means ingest
//     refused it and kept it on the rejects topic).
//   - path kSpool: ingest or Kafka was unreachable (gRPC UNAVAILABLE or
//     DEADLINE_EXCEEDED, or a record answered UNAVAILABLE), so the unit was
//     fsync'ed to the local spool; it is forwarded later.
//   - a non-OK status: the unit is NOT durable (RESOURCE_EXHAUSTED "spool
//     full", or ingest refused the call itself, e.g. PERMISSION_DENIED); the
//     connector must report failure so that the client resends.
//
// Order: units reach ingest in the order Submit() was called. While the
// spool holds anything, new units go behind it into the spool, and the
// spool is forwarded oldest first, one batch at a time, retrying with
// exponential backoff until ingest answers. A forwarded batch is committed
// (removed from the spool) only after ingest answered for every record.
//
// Duplicates: a batch whose answer was lost (a deadline passed after ingest
// had appended it), or a crash between forwarding and committing, sends the
// same records again. Every unit carries a stable request id, and the linker
// makes re-sent records harmless: an identical patient version is a no-op
// and clinical events are keyed by their ids. From the clinic's side each
// accepted message has exactly one effect.
//
// Thread safety: Submit() may be called from any thread; `done` runs on the
// forwarder's own thread (or, on Stop, the caller's) and must not block.
#ifndef HISBRIDGE_LIBS_FORWARD_FORWARDER_H_
#define HISBRIDGE_LIBS_FORWARD_FORWARDER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hisbridge/v1/ingest.pb.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/forward/ingest_client.h"
#include "libs/forward/spool.h"

namespace hisbridge::forward {

struct ForwarderOptions {
  SpoolOptions spool;
  // Deadline of each Submit call to ingest.
  absl::Duration rpc_deadline = absl::Seconds(10);
  // Backoff between attempts to forward the spool: doubles up to the max.
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(30);
  // Most units and records sent in one Submit call.
  int max_batch_units = 64;
  int max_batch_records = 5000;
};

struct Delivery {
  enum class Path { kIngest, kSpool };
  absl::Status status;
  Path path = Path::kIngest;
  // With kIngest: ingest's answer per record of the unit, in order.
  std::vector<hisbridge::v1::RecordResult> results;
};

struct ForwarderStats {
  int64_t submitted_units = 0;
  int64_t direct_units = 0;      // answered by ingest directly
  int64_t spooled_units = 0;     // went through the spool
  int64_t forwarded_units = 0;   // left the spool for ingest
  int64_t failed_units = 0;      // not durable (spool full, refused)
  int64_t spool_pending = 0;     // units in the spool now
  int64_t spool_pending_bytes = 0;  // and their bytes on disk
  int64_t spool_max_bytes = 0;      // beyond which units are refused
  int64_t forward_attempts_failed = 0;
};

class Forwarder {
 public:
  static absl::StatusOr<std::unique_ptr<Forwarder>> Start(ForwarderOptions options,
                                                          std::unique_ptr<IngestClient> client);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  void Submit(std::vector<hisbridge::v1::Record> records, std::string request_id,
              std::function<void(Delivery)> done);
  // Submit and wait for `done`.
  Delivery SubmitAndWait(std::vector<hisbridge::v1::Record> records, std::string request_id);

  // Spools whatever is still in memory (so its callers get kSpool), stops
  // forwarding and joins the thread. Idempotent.
  void Stop();

  // Waits until nothing is queued in memory or in the spool (tests, the
  // file connector's --once mode); false on timeout.
  bool WaitUntilDrained(absl::Duration timeout);

  ForwarderStats stats() const;

 private:
  struct Unit {
    hisbridge::v1::SubmitRequest request;
    std::function<void(Delivery)> done;
  };
  Forwarder(ForwarderOptions options, std::unique_ptr<IngestClient> client, std::unique_ptr<Spool> spool);
  void Run();
  // Sends queued units directly; spools them when ingest is unreachable.
  void SendDirect(std::vector<Unit> units);
  // Appends units to the spool and answers them.
  void SpoolUnits(std::vector<Unit> units, std::unique_lock<std::mutex>* lock);
  // One attempt to forward the oldest spooled batch; true when it went.
  bool ForwardSpoolBatch(std::unique_lock<std::mutex>* lock);
  static bool Retryable(const absl::Status& status);

  ForwarderOptions options_;
  std::unique_ptr<IngestClient> client_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable drained_cv_;
  std::unique_ptr<Spool> spool_;  // guarded by mu_ (I/O happens under it: spool I/O is the ordering point)
  std::deque<Unit> queue_;
  bool stopping_ = false;
  bool busy_ = false;  // a direct batch is in flight
  absl::Time next_attempt_ = absl::InfinitePast();
  absl::Duration backoff_;
  ForwarderStats stats_;
  std::thread thread_;
};

}  // namespace hisbridge::forward

#endif  // HISBRIDGE_LIBS_FORWARD_FORWARDER_H_
