// Process-level tests of the index's guarantees with the real `hisbridge`
// binary (HISBRIDGE_BINARY), against a development broker and an ingest
// node in this process:
//
//   LinkerKilledAtRandomMomentsEndsEqualToAnUninterruptedRun
//     a linker process SIGKILLed at random moments at least 10 times during
//     a 50,000-record stream of several counties and restarted each time on
//     the same data directory ends with the same index (records, links,
//     patients with their versions, audit trail with the inbox position of
//     each entry, review items) as a linker that ran without interruption,
//     and with every source record of the stream;
//   BackupRestoreRebuildAndExportFromTheCommandLine
//     `hisbridge backup` of a running linker, `serve --restore-from`,
//     `hisbridge rebuild --compare-with` and `hisbridge export` (equal to
//     `hisbridge link` on the same records).
//
// Figures (kills, records, durations) are printed; the environment
// variable HISBRIDGE_CRASH_SEED replays a run's kill schedule.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/index/kv_store.h"
#include "libs/index/patient_index.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/dev_broker.h"
#include "libs/linker/index_dump.h"
#include "services/node/node.h"

extern char** environ;

namespace hisbridge {
namespace {

using ::testing::HasSubstr;

constexpr int kInboxPartitions = 16;

std::string UniqueName(absl::string_view base) {
  static int counter = 0;
  return absl::StrCat(base, "-", getpid(), "-", counter++);
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout, absl::Duration every = absl::Milliseconds(100)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(every);
  }
  return true;
}

// A child process with its standard output and error in a log file.
class Process {
 public:
  Process(std::vector<std::string> args, const std::string& log_path) : log_path_(log_path) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const int err = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) pid_ = -1;
  }
  ~Process() {
    if (running()) {
      Signal(SIGKILL);
      (void)Wait();
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool started() const { return pid_ > 0; }
  bool running() {
    if (pid_ <= 0 || exited_) return false;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = status;
    }
    return !exited_;
  }
  void Signal(int signal) {
    if (pid_ > 0 && !exited_) kill(pid_, signal);
  }
  // The exit code, or 128 + signal.
  int Wait() {
    if (pid_ <= 0) return -1;
    if (!exited_) {
      int status = 0;
      waitpid(pid_, &status, 0);
      exited_ = true;
      status_ = status;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  std::string Log() const { return ReadFileToString(log_path_).value_or(""); }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

// Runs a command to completion; returns its exit code and output.
int RunCommand(const std::vector<std::string>& args, const std::string& log_path, std::string* output = nullptr,
        absl::Duration timeout = absl::Minutes(5)) {
  (void)RemoveRecursively(log_path);
  Process p(args, log_path);
  if (!p.started()) return -1;
  if (!WaitFor([&] { return !p.running(); }, timeout)) p.Signal(SIGKILL);
  const int code = p.Wait();
  if (output != nullptr) *output = p.Log();
  return code;
}

// Reads a linker's index from outside its process (a RocksDB secondary).
class IndexWatcher {
 public:
  explicit IndexWatcher(std::string index_dir, std::string scratch)
      : index_dir_(std::move(index_dir)), scratch_(std::move(scratch)) {}
  // Committed next offsets of the inbox (empty until the index exists).
  std::map<int32_t, int64_t> Offsets(const std::string& topic) {
    if (index_ == nullptr) {
      if (!PathExists(index_dir_ + "/CURRENT")) return {};
      index::KvStoreOptions o;
      o.create_if_missing = false;
      o.secondary_path = scratch_;
      o.block_cache_bytes = 8 << 20;
      auto opened = index::PatientIndex::Open(index_dir_, o);
      if (!opened.ok()) return {};
      index_ = std::move(*opened);
    } else if (!index_->CatchUpWithPrimary().ok()) {
      return {};
    }
    return index_->NextOffsets(topic).value_or(std::map<int32_t, int64_t>{});
  }
  void Close() { index_.reset(); }

 private:
  std::string index_dir_;
  std::string scratch_;
  std::unique_ptr<index::PatientIndex> index_;
};

int64_t Sum(const std::map<int32_t, int64_t>& offsets) {
  int64_t total = 0;
  for (const auto& [p, n] : offsets) total += n;
  return total;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kWarning);
    dir_ = MakeTempDirectory("crash_test").value();
    ASSERT_TRUE(MakeDirectories(dir_ + "/logs").ok());
  }
  void TearDown() override {
    watermark_consumer_.reset();
    front_.reset();
    broker_.reset();
    if (HasFailure()) {
      std::cerr << "crash_test: keeping " << dir_ << " (logs in " << dir_ << "/logs)\n";
    } else {
      ASSERT_TRUE(RemoveRecursively(dir_).ok());
    }
  }

  // Synthetic counties (hisbridge gen, no clinical events), their records
  // interleaved line by line (each county keeps its order) in all.jsonl,
  // and one facility directory. Returns the number of lines.
  int64_t Generate(const std::vector<std::string>& counties, int people_per_county) {
    std::vector<std::vector<std::string>> per_county;
    std::string facilities;
    for (size_t i = 0; i < counties.size(); ++i) {
      const std::string out = absl::StrCat(dir_, "/county-", counties[i]);
      std::string output;
      const int code = RunCommand({HISBRIDGE_BINARY, "gen", "--people", std::to_string(people_per_county), "--seed",
                            std::to_string(11 + i), "--county", counties[i], "--events", "0", "--out", out},
                           absl::StrCat(dir_, "/logs/gen-", counties[i], ".log"), &output);
      EXPECT_EQ(code, 0) << output;
      per_county.push_back(ReadLines(out + "/records.jsonl"));
      std::vector<std::string> rows = ReadLines(out + "/facilities.csv");
      for (size_t r = (i == 0 ? 0 : 1); r < rows.size(); ++r) absl::StrAppend(&facilities, rows[r], "\n");
    }
    EXPECT_TRUE(WriteFileAtomically(dir_ + "/facilities.csv", facilities).ok());
    lines_.clear();
    for (size_t k = 0;; ++k) {
      bool any = false;
      for (const auto& county : per_county) {
        if (k < county.size()) {
          lines_.push_back(county[k]);
          any = true;
        }
      }
      if (!any) break;
    }
    std::string all;
    for (const std::string& l : lines_) absl::StrAppend(&all, l, "\n");
    EXPECT_TRUE(WriteFileAtomically(dir_ + "/all.jsonl", all).ok());
    return static_cast<int64_t>(lines_.size());
  }

  void StartBroker() {
    auto broker = kafka::DevBroker::Start({{topics_.inbox, kInboxPartitions},
                                           {topics_.views, kInboxPartitions},
                                           {topics_.changes, 1},
                                           {topics_.rejects, 1}});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    kafka_.bootstrap = broker_->bootstrap();
    NodeOptions o;
    o.roles = {Role::kIngest};
    o.data_dir = dir_ + "/front";
    o.kafka = kafka_;
    o.facilities_file = dir_ + "/facilities.csv";
    front_ = std::make_unique<Node>(o);
    ASSERT_TRUE(front_->Start().ok());
    channel_ = grpc::CreateChannel(front_->grpc_address(), grpc::InsecureChannelCredentials());
    ingest_ = hisbridge::v1::IngestService::NewStub(channel_);
  }

  // Submits lines [from, to) as raw JSON lines in chunks.
  void SubmitLines(size_t from, size_t to, size_t chunk = 500) {
    for (size_t start = from; start < to; start += chunk) {
      hisbridge::v1::SubmitRequest request;
      request.set_first_line_number(static_cast<int64_t>(start) + 1);
      for (size_t i = start; i < std::min(to, start + chunk); ++i) request.add_json_lines(lines_[i]);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      hisbridge::v1::SubmitResponse response;
      grpc::Status status = ingest_->Submit(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_EQ(response.rejected(), 0) << "line " << start + 1 << ": generated records must all be valid";
    }
  }

  std::map<int32_t, int64_t> InboxEnds() {
    auto consumer = kafka::Consumer::Create(kafka_, kafka::ConsumerOptions{});
    EXPECT_TRUE(consumer.ok());
    std::map<int32_t, int64_t> ends;
    for (int32_t p = 0; p < kInboxPartitions; ++p) {
      int64_t low = 0, high = 0;
      EXPECT_TRUE((*consumer)->QueryWatermarks(topics_.inbox, p, absl::Seconds(10), &low, &high).ok());
      EXPECT_EQ(low, 0) << "partition " << p << " lost data: the stream is too large for the development broker";
      if (high > 0) ends[p] = high;
    }
    return ends;
  }

  // Inputs on the inbox now (a consumer kept for the purpose).
  int64_t InboxTotal() {
    if (watermark_consumer_ == nullptr) {
      auto consumer = kafka::Consumer::Create(kafka_, kafka::ConsumerOptions{});
      EXPECT_TRUE(consumer.ok());
      if (!consumer.ok()) return -1;
      watermark_consumer_ = std::move(*consumer);
    }
    int64_t total = 0;
    for (int32_t p = 0; p < kInboxPartitions; ++p) {
      int64_t low = 0, high = 0;
      if (watermark_consumer_->QueryWatermarks(topics_.inbox, p, absl::Seconds(10), &low, &high).ok()) total += high;
    }
    return total;
  }

  // A linker process. The development broker waits for a killed member's
  // session to expire before it rebalances: short sessions keep restarts
  // quick (3 s gives a rejoin in about 5 s; 1-2 s makes it much slower).
  std::vector<std::string> LinkerArgs(const std::string& data_dir, const std::string& group,
                                      const std::vector<std::string>& extra = {},
                                      const std::string& session_timeout = "6s") {
    std::vector<std::string> args = {HISBRIDGE_BINARY,
                                     "serve",
                                     "--roles=linker",
                                     "--kafka-bootstrap",
                                     kafka_.bootstrap,
                                     "--insecure-plaintext",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--data-dir",
                                     data_dir,
                                     "--facilities",
                                     dir_ + "/facilities.csv",
                                     "--linker-group",
                                     group,
                                     "--linker-session-timeout",
                                     session_timeout};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // A stopped linker's index, read-only: no recovery flush of its
  // write-ahead log, nothing changed on disk.
  static std::unique_ptr<index::PatientIndex> OpenStopped(const std::string& index_dir) {
    index::KvStoreOptions o;
    o.read_only = true;
    o.create_if_missing = false;
    auto opened = index::PatientIndex::Open(index_dir, o);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::move(*opened) : nullptr;
  }
  static std::string Dump(const index::PatientIndex* index) {
    return index == nullptr ? "" : linker::DumpIndex(*index).value_or("");
  }
  static std::string Dump(const std::string& index_dir) { return Dump(OpenStopped(index_dir).get()); }
  static std::vector<linker::LinkRow> Links(const index::PatientIndex* index) {
    return index == nullptr ? std::vector<linker::LinkRow>{}
                            : linker::LiveLinks(*index).value_or(std::vector<linker::LinkRow>{});
  }
  static std::vector<linker::LinkRow> Links(const std::string& index_dir) {
    return Links(OpenStopped(index_dir).get());
  }

  std::string dir_;
  std::vector<std::string> lines_;
  kafka::TopicNames topics_;
  kafka::KafkaConfig kafka_;
  std::unique_ptr<kafka::DevBroker> broker_;
  std::unique_ptr<kafka::Consumer> watermark_consumer_;
  std::unique_ptr<Node> front_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hisbridge::v1::IngestService::Stub> ingest_;
};

TEST_F(CrashTest, LinkerKilledAtRandomMomentsEndsEqualToAnUninterruptedRun) {
  constexpr int kMinKills = 10;
  const absl::Time test_started = absl::Now();
  const std::vector<std::string> counties = {"450321", "450323", "450324", "450325",
                                             "450326", "450327", "450328", "450329"};
  const int64_t records = Generate(counties, 2300);
  ASSERT_GE(records, 50000) << "the stream must hold at least 50,000 patient records";
  std::cout << "crash_test: " << records << " records of " << counties.size() << " counties generated in "
            << absl::FormatDuration(absl::Now() - test_started) << std::endl;
  StartBroker();

  uint32_t seed = 20260301;
  if (const char* env = std::getenv("HISBRIDGE_CRASH_SEED")) seed = static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
  std::mt19937 random(seed);
  std::cout << "crash_test: kill schedule seed " << seed << " (HISBRIDGE_CRASH_SEED)" << std::endl;

  // The uninterrupted reference runs alongside, on its own directory and
  // consumer group.
  Process reference(LinkerArgs(dir_ + "/reference", UniqueName("reference")), dir_ + "/logs/reference.log");
  ASSERT_TRUE(reference.started());

  // The stream: chunks of records, paced, and never ahead of the kills, so
  // that every kill lands while records are still arriving.
  std::atomic<int> kills{0};
  std::atomic<bool> stream_done{false};
  std::atomic<bool> stream_failed{false};
  std::atomic<bool> stream_abort{false};
  const size_t kChunk = 500;
  const size_t chunks = (lines_.size() + kChunk - 1) / kChunk;
  std::thread stream([&] {
    for (size_t c = 0; c < chunks; ++c) {
      const int needed = static_cast<int>(c * kMinKills / chunks);
      while (kills.load() < needed && !stream_abort.load()) absl::SleepFor(absl::Milliseconds(20));
      if (stream_abort.load()) break;
      SubmitLines(c * kChunk, std::min(lines_.size(), (c + 1) * kChunk), kChunk);
      if (::testing::Test::HasFatalFailure()) {
        stream_failed = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(150));
    }
    stream_done = true;
  });
  // Whatever happens below, the stream thread ends before the test does.
  struct JoinOnExit {
    std::thread* thread;
    std::atomic<bool>* abort;
    ~JoinOnExit() {
      *abort = true;
      if (thread->joinable()) thread->join();
    }
  } join_on_exit{&stream, &stream_abort};

  IndexWatcher watcher(dir_ + "/crashed/linker", dir_ + "/watcher-crashed");
  struct KillRecord {
    absl::Duration after_start;
    bool in_start_up;
    int64_t committed_before;  // by the previous processes
    int64_t inbox_at_kill;     // inputs on the inbox when it was killed
    int64_t committed_after;   // what survived the kill
  };
  std::vector<KillRecord> schedule;
  int restarts = 0;
  const std::string group = UniqueName("crashed");
  while (!stream_done.load() || kills.load() < kMinKills) {
    ASSERT_LT(absl::Now() - test_started, absl::Minutes(8)) << "the crash loop takes too long";
    const std::string log_path = absl::StrCat(dir_, "/logs/crashed-", restarts, ".log");
    const int64_t before = Sum(watcher.Offsets(topics_.inbox));
    Process victim(LinkerArgs(dir_ + "/crashed", group, {}, "3s"), log_path);
    ASSERT_TRUE(victim.started());
    ++restarts;
    const absl::Time spawned = absl::Now();
    // One kill in four lands anywhere in start-up (opening the index,
    // joining the group, loading the counties' state); the others once the
    // linker has committed something, a random moment into its work.
    const bool in_start_up = std::uniform_int_distribution<int>(0, 3)(random) == 0;
    if (in_start_up) {
      absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(100, 4000)(random)));
    } else {
      const bool assigned = WaitFor([&] { return absl::StrContains(victim.Log(), "linker owns inbox partition"); },
                                    absl::Seconds(60), absl::Milliseconds(20));
      ASSERT_TRUE(assigned) << victim.Log();
      // Linking resumes once every county is loaded; wait for its first
      // commit (unless there is nothing to link yet).
      WaitFor([&] { return Sum(watcher.Offsets(topics_.inbox)) > before; }, absl::Seconds(10),
              absl::Milliseconds(10));
      absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, 800)(random)));
    }
    const int64_t inbox = InboxTotal();
    ASSERT_TRUE(victim.running()) << "the linker exited by itself:\n" << victim.Log();
    victim.Signal(SIGKILL);
    EXPECT_EQ(victim.Wait(), 128 + SIGKILL);
    ++kills;
    const int64_t after = Sum(watcher.Offsets(topics_.inbox));
    schedule.push_back({absl::Now() - spawned, in_start_up, before, inbox, after});
  }
  stream.join();
  ASSERT_FALSE(stream_failed.load());
  const absl::Duration stream_time = absl::Now() - test_started;

  // The last restart runs to the end of the stream.
  const int64_t resumed_from = Sum(watcher.Offsets(topics_.inbox));
  Process last(LinkerArgs(dir_ + "/crashed", group, {}, "3s"),
               absl::StrCat(dir_, "/logs/crashed-", restarts, ".log"));
  ASSERT_TRUE(last.started());
  const std::map<int32_t, int64_t> ends = InboxEnds();
  ASSERT_EQ(Sum(ends), records);
  IndexWatcher reference_watcher(dir_ + "/reference/linker", dir_ + "/watcher-reference");
  ASSERT_TRUE(WaitFor([&] { return watcher.Offsets(topics_.inbox) == ends; }, absl::Minutes(3))) << last.Log();
  const absl::Duration crashed_catch_up = absl::Now() - test_started - stream_time;
  ASSERT_TRUE(WaitFor([&] { return reference_watcher.Offsets(topics_.inbox) == ends; }, absl::Minutes(3)))
      << reference.Log();
  std::cout << "crash_test: after the stream, the restarted linker caught up in "
            << absl::FormatDuration(crashed_catch_up) << " (" << records - resumed_from << " inputs left)"
            << std::endl;
  watcher.Close();
  reference_watcher.Close();
  last.Signal(SIGTERM);
  reference.Signal(SIGTERM);
  EXPECT_EQ(last.Wait(), 0) << last.Log();
  EXPECT_EQ(reference.Wait(), 0) << reference.Log();

  // A kill "while linking": that process committed something, and inputs
  // were still waiting when it died.
  int while_linking = 0;
  for (size_t i = 0; i < schedule.size(); ++i) {
    const KillRecord& k = schedule[i];
    const bool linking = k.committed_after > k.committed_before && k.committed_after < k.inbox_at_kill;
    if (linking) ++while_linking;
    std::cout << "crash_test: kill " << i + 1 << " after " << absl::FormatDuration(k.after_start)
              << (k.in_start_up ? " (start-up)" : "") << ": committed " << k.committed_before << " -> "
              << k.committed_after << " of " << k.inbox_at_kill << " on the inbox"
              << (linking ? " (while linking)" : "") << std::endl;
  }
  EXPECT_GE(kills.load(), kMinKills);
  EXPECT_GE(while_linking, kMinKills / 2) << "most kills should interrupt a linker in the middle of its work";

  const std::unique_ptr<index::PatientIndex> crashed_index = OpenStopped(dir_ + "/crashed/linker");
  const std::unique_ptr<index::PatientIndex> reference_index = OpenStopped(dir_ + "/reference/linker");
  ASSERT_NE(crashed_index, nullptr);
  ASSERT_NE(reference_index, nullptr);
  const std::string crashed_dump = Dump(crashed_index.get());
  const std::string reference_dump = Dump(reference_index.get());
  EXPECT_FALSE(reference_dump.empty());
  EXPECT_TRUE(crashed_dump == reference_dump) << "the crashed linker's index differs from the uninterrupted one";
  if (crashed_dump != reference_dump) {
    std::istringstream a(crashed_dump), b(reference_dump);
    std::string la, lb;
    for (int line = 1; std::getline(a, la) && std::getline(b, lb); ++line) {
      if (la != lb) {
        ADD_FAILURE() << "first difference at line " << line << ":\n  crashed:   " << la << "\n  reference: " << lb;
        break;
      }
    }
  }
  // No record lost: every source record of the stream is in the index
  // (live, or a tombstone when the county deleted or merged it).
  // Tombstones of records folded away by a facility merge may name records
  // the stream never registered.
  auto field = [](const std::string& line, const std::string& name) -> std::string {
    const std::string key = absl::StrCat("\"", name, "\":\"");
    const size_t at = line.find(key);
    if (at == std::string::npos) return "";
    const size_t start = at + key.size();
    return line.substr(start, line.find('"', start) - start);
  };
  std::set<std::pair<std::string, std::string>> sources, merged;
  for (const std::string& line : lines_) {
    const std::string facility = field(line, "facility_id");
    ASSERT_FALSE(facility.empty()) << line;
    sources.emplace(facility, field(line, "record_id"));
    const std::string folded = field(line, "merged_record_id");
    if (!folded.empty()) merged.emplace(facility, folded);
  }
  std::set<std::pair<std::string, std::string>> indexed;
  ASSERT_TRUE(crashed_index
                  ->ForEachRegion([&](const hisbridge::index::v1::RegionMeta& meta) {
                    EXPECT_TRUE(crashed_index
                                    ->ForEachRecord(meta.region(),
                                                    [&](const hisbridge::index::v1::StoredRecord& rec) {
                                                      indexed.emplace(rec.record().facility_id(),
                                                                      rec.record().record_id());
                                                      return true;
                                                    })
                                    .ok());
                    return true;
                  })
                  .ok());
  for (const auto& source : sources) {
    EXPECT_EQ(indexed.count(source), 1u) << "lost: " << source.first << "/" << source.second;
  }
  for (const auto& record : indexed) {
    EXPECT_TRUE(sources.count(record) > 0 || merged.count(record) > 0)
        << "never sent: " << record.first << "/" << record.second;
  }
  const std::vector<linker::LinkRow> links = Links(crashed_index.get());
  EXPECT_EQ(links, Links(reference_index.get()));
  std::set<std::string> patients;
  for (const auto& row : links) patients.insert(row[2]);
  std::cout << "crash_test: " << kills.load() << " SIGKILLs over " << restarts + 1 << " linker processes; "
            << records << " records (" << sources.size() << " source records, " << links.size() << " live, "
            << patients.size() << " unified patients); stream + kills " << absl::FormatDuration(stream_time)
            << ", whole test " << absl::FormatDuration(absl::Now() - test_started) << "; indexes identical: "
            << (crashed_dump == reference_dump ? "yes" : "NO") << std::endl;
}

TEST_F(CrashTest, BackupRestoreRebuildAndExportFromTheCommandLine) {
  Generate({"450321", "450323"}, 700);
  StartBroker();
  const size_t half = lines_.size() / 2;
  Process live(LinkerArgs(dir_ + "/live", UniqueName("live")), dir_ + "/logs/live.log");
  ASSERT_TRUE(live.started());
  IndexWatcher watcher(dir_ + "/live/linker", dir_ + "/watcher-live");
  SubmitLines(0, half);
  const std::map<int32_t, int64_t> first = InboxEnds();
  ASSERT_TRUE(WaitFor([&] { return watcher.Offsets(topics_.inbox) == first; }, absl::Minutes(2))) << live.Log();

  // Back up and export the running linker from outside its process.
  std::string output;
  ASSERT_EQ(RunCommand({HISBRIDGE_BINARY, "backup", "--data-dir", dir_ + "/live", "--to", dir_ + "/backup"},
                dir_ + "/logs/backup.log", &output),
            0)
      << output;
  EXPECT_THAT(output, HasSubstr("linker: consistent copy of the running store"));
  EXPECT_THAT(output, HasSubstr("inbox partition"));
  EXPECT_TRUE(PathExists(dir_ + "/backup/BACKUP"));
  ASSERT_EQ(RunCommand({HISBRIDGE_BINARY, "export", "--data-dir", dir_ + "/live", "--output", dir_ + "/running.csv"},
                dir_ + "/logs/export-running.log", &output),
            0)
      << output;
  const std::vector<std::string> running_csv = ReadLines(dir_ + "/running.csv");
  ASSERT_FALSE(running_csv.empty());
  EXPECT_EQ(running_csv[0], "facility_id,record_id,patient_id");

  SubmitLines(half, lines_.size());
  const std::map<int32_t, int64_t> ends = InboxEnds();
  ASSERT_TRUE(WaitFor([&] { return watcher.Offsets(topics_.inbox) == ends; }, absl::Minutes(2))) << live.Log();
  watcher.Close();
  live.Signal(SIGTERM);
  ASSERT_EQ(live.Wait(), 0) << live.Log();
  const std::string uninterrupted = Dump(dir_ + "/live/linker");

  // Restore: resumes from the backup's offsets, re-consumes the rest.
  {
    Process restored(LinkerArgs(dir_ + "/restored", UniqueName("restored"), {"--restore-from", dir_ + "/backup"}),
                     dir_ + "/logs/restored.log");
    IndexWatcher restored_watcher(dir_ + "/restored/linker", dir_ + "/watcher-restored");
    ASSERT_TRUE(WaitFor([&] { return restored_watcher.Offsets(topics_.inbox) == ends; }, absl::Minutes(2)))
        << restored.Log();
    restored_watcher.Close();
    restored.Signal(SIGTERM);
    ASSERT_EQ(restored.Wait(), 0) << restored.Log();
    EXPECT_THAT(restored.Log(), HasSubstr("restored from backup"));
    EXPECT_EQ(Dump(dir_ + "/restored/linker"), uninterrupted);
  }
  // Only into an empty data directory.
  ASSERT_EQ(RunCommand(LinkerArgs(dir_ + "/restored", UniqueName("again"), {"--restore-from", dir_ + "/backup"}),
                dir_ + "/logs/restore-again.log", &output),
            1)
      << output;
  EXPECT_THAT(output, HasSubstr("already exists"));

  // A stopped directory is backed up with a checkpoint.
  ASSERT_EQ(RunCommand({HISBRIDGE_BINARY, "backup", "--data-dir", dir_ + "/live", "--to", dir_ + "/backup-stopped"},
                dir_ + "/logs/backup-stopped.log", &output),
            0)
      << output;
  EXPECT_THAT(output, HasSubstr("linker: checkpoint"));
  EXPECT_EQ(Dump(dir_ + "/backup-stopped/linker"), uninterrupted);

  // Rebuild from the log equals the linker's index.
  ASSERT_EQ(RunCommand({HISBRIDGE_BINARY, "rebuild", "--kafka-bootstrap", kafka_.bootstrap, "--data-dir", dir_ + "/rebuilt",
                 "--facilities", dir_ + "/facilities.csv", "--compare-with", dir_ + "/live"},
                dir_ + "/logs/rebuild.log", &output),
            0)
      << output;
  EXPECT_THAT(output, HasSubstr("identical to"));
  ASSERT_EQ(RunCommand({HISBRIDGE_BINARY, "rebuild", "--kafka-bootstrap", kafka_.bootstrap, "--data-dir", dir_ + "/rebuilt",
                 "--facilities", dir_ + "/facilities.csv"},
                dir_ + "/logs/rebuild-again.log", &output),
            2)
      << output;
  EXPECT_THAT(output, HasSubstr("exists"));

  // The export of the index, of the rebuilt index and `hisbridge link` on
  // the same records agree.
  ASSERT_EQ(RunCommand({HISBRIDGE_BINARY, "export", "--data-dir", dir_ + "/live", "--output", dir_ + "/live.csv"},
                dir_ + "/logs/export-live.log", &output),
            0)
      << output;
  ASSERT_EQ(RunCommand({HISBRIDGE_BINARY, "export", "--data-dir", dir_ + "/rebuilt", "--output", dir_ + "/rebuilt.csv"},
                dir_ + "/logs/export-rebuilt.log", &output),
            0)
      << output;
  ASSERT_EQ(RunCommand({HISBRIDGE_BINARY, "link", "--input", dir_ + "/all.jsonl", "--facilities", dir_ + "/facilities.csv",
                 "--output", dir_ + "/batch.csv"},
                dir_ + "/logs/link.log", &output),
            0)
      << output;
  const std::vector<std::string> live_csv = ReadLines(dir_ + "/live.csv");
  EXPECT_EQ(live_csv, ReadLines(dir_ + "/rebuilt.csv"));
  EXPECT_EQ(live_csv, ReadLines(dir_ + "/batch.csv"));
  std::vector<std::string> expected = {"facility_id,record_id,patient_id"};
  for (const linker::LinkRow& row : Links(dir_ + "/live/linker")) {
    expected.push_back(absl::StrCat(row[0], ",", row[1], ",", row[2]));
  }
  EXPECT_EQ(live_csv, expected);
  EXPECT_GT(live_csv.size(), running_csv.size());
}

}  // namespace
}  // namespace hisbridge
