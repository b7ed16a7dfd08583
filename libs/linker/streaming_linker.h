// The streaming linker: consumes the inbox topic as a member of a consumer
// group, links every input with the LinkEngine, and keeps the patient index
// and the published views up to date.
//
// One thread does everything, in log order:
//   poll inbox -> apply each event to its region's in-memory state
//   -> commit state changes, consumed offsets and outbox entries in one
//      RocksDB WriteBatch
//   -> publish the outbox (patient views, change events, and a watermark
//      per views partition) and delete what was delivered.
// After a crash the linker resumes from the offsets stored with its state
// and re-publishes whatever the outbox still holds, so no input is applied
// twice or skipped and no view is lost (consumers drop duplicates by
// version).
//
// It stops with an error, never skipping data, when an inbox offset is
// missing (deleted by retention before it was consumed), when RocksDB
// cannot write, or when a region arrives on a different inbox partition
// than the one its state was built from (the partition count changed).
//
// Thread safety: Start/Stop/status/progress may be called from any thread.
#ifndef HISBRIDGE_LIBS_LINKER_STREAMING_LINKER_H_
#define HISBRIDGE_LIBS_LINKER_STREAMING_LINKER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/index/kv_store.h"
#include "libs/kafka/kafka_config.h"
#include "libs/linker/link_engine.h"
#include "libs/records/facility_directory.h"

namespace hisbridge::linker {

struct StreamingLinkerOptions {
  kafka::KafkaConfig kafka;
  kafka::TopicNames topics;
  std::string group_id = "hisbridge-linker";
  // Static membership (e.g. the StatefulSet pod name); empty for dynamic.
  std::string group_instance_id;
  // RocksDB directory of the patient index.
  std::string data_dir;
  // A batch ends after this many inputs or this long, whichever is first.
  int max_batch_inputs = 2000;
  absl::Duration max_batch_delay = absl::Milliseconds(20);
  absl::Duration session_timeout = absl::Seconds(10);
  // fsync every batch (survives power loss, not just process crashes).
  bool sync_writes = false;
  // Encrypts the index's values at rest (libs/security AesGcmCipher); null
  // for none.
  std::shared_ptr<const index::ValueCipher> cipher;
  // Publish the outbox (views, change events, watermarks) after each
  // commit. Off for `hisbridge rebuild`, which must not write to the views
  // topic the running linkers own: the outbox entries then stay in the
  // index, and the first linker that serves it publishes them (query
  // replicas drop the versions they already have).
  bool publish = true;
  // Replay mode (`hisbridge rebuild`): instead of joining the consumer
  // group, read exactly these inbox partitions (manual assignment) from the
  // offsets stored in the index (0 in a fresh one), apply nothing at or
  // past each partition's end offset, and stop by itself (running() false,
  // status() OK) once every partition has reached its end. Empty: group
  // mode, until Stop().
  std::map<int32_t, int64_t> replay_until;
  // Tests only: a failing disk under the index (index::WriteFaultInjection).
  std::shared_ptr<index::WriteFaultInjection> index_write_faults;
};

class StreamingLinker {
 public:
  StreamingLinker(StreamingLinkerOptions options, const LinkEngine* engine,
                  const records::FacilityDirectory* facilities);
  ~StreamingLinker();
  StreamingLinker(const StreamingLinker&) = delete;
  StreamingLinker& operator=(const StreamingLinker&) = delete;

  // Opens the index and starts consuming on a background thread.
  absl::Status Start();
  // Commits what is pending, leaves the group, stops the thread.
  void Stop();

  // OK while running normally; the error that stopped it otherwise.
  absl::Status status() const;
  bool running() const { return running_.load(); }

  // Next inbox offset committed per partition (what the index reflects).
  std::map<int32_t, int64_t> CommittedOffsets() const;
  // Inbox partitions this linker owns right now (CommittedOffsets() also
  // keeps partitions it owned before a rebalance).
  std::set<int32_t> AssignedPartitions() const;
  // RocksDB figures of the patient index (size, stalls), for metrics.
  index::KvStore::Stats IndexStats() const;
  // A consistent RocksDB checkpoint of the live index in the new directory
  // `dir` (hard links where possible; every committed batch with its
  // offsets, nothing half-applied): a backup taken inside the linker's
  // process. Safe while running; not concurrently with Start/Stop.
  absl::Status CheckpointIndex(const std::string& dir) const;
  EngineCounters counters() const;

 private:
  class Loop;
  StreamingLinkerOptions options_;
  const LinkEngine* engine_;
  const records::FacilityDirectory* facilities_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  mutable std::mutex mu_;
  absl::Status status_;
};

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_STREAMING_LINKER_H_
