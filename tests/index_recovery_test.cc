// The patient index's guarantees, in one process on the development broker:
//   - a rebuild (replay mode, nothing published) equals the index the
//     streaming linker built from the same log, and stops at its end offsets;
//   - a backup of a running linker (in-process checkpoint, or a consistent
//     copy through a secondary instance) restored into a new directory
//     resumes from its offsets and ends equal to an uninterrupted run;
//   - an offset gap (inputs deleted by retention) stops the linker with
//     DATA_LOSS and leaves the index as it was;
//   - a RocksDB write error stops the linker with a clear error and leaves
//     no partial batch: the reopened index equals a replay up to its offsets.
// The crash test (tests/crash_test.cc) kills real linker processes.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
#include "libs/kafka/producer.h"
#include "libs/linker/index_dump.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/streaming_linker.h"
#include "libs/match/matcher.h"
#include "libs/records/facility_directory.h"
#include "services/node/node.h"

namespace hisbridge {
namespace {

using ::testing::HasSubstr;

std::string UniqueName(absl::string_view base) {
  static int counter = 0;
  return absl::StrCat(base, "-", getpid(), "-", counter++);
}

// Offsets without the partitions at 0 (a linker reports every partition it
// owns, a broker's empty partitions hold nothing to compare).
std::map<int32_t, int64_t> NonZero(std::map<int32_t, int64_t> offsets) {
  for (auto it = offsets.begin(); it != offsets.end();) it = it->second == 0 ? offsets.erase(it) : std::next(it);
  return offsets;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

std::string ResidentId(const std::string& county, int person) {
  std::string body = absl::StrCat(county, "19", absl::StrFormat("%02d", 40 + person % 50), "0101",
                                  absl::StrFormat("%03d", person % 1000));
  const int w[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int k = 0; k < 17; ++k) sum += (body[k] - '0') * w[k];
  body.push_back("10X98765432"[sum % 11]);
  return body;
}

// Batch `b` of a three-county stream of 69 people: registrations, and in
// odd batches deletes and facility merges of the previous batch's records,
// plus clinical events, so every kind of input goes through the index.
// Record i of every batch belongs to county i % 3 (42 and 69 are multiples
// of 3, so a person always registers in the same county).
hisbridge::v1::SubmitRequest Batch(int b) {
  constexpr int kSize = 42;
  constexpr int kPeople = 69;
  const std::vector<std::string> counties = {"450321", "450323", "450324"};
  hisbridge::v1::SubmitRequest request;
  const std::string time = absl::StrFormat("2026-03-%02dT08:%02d:00+08:00", 1 + b % 28, b % 60);
  for (int i = 0; i < kSize; ++i) {
    const int person = (b * kSize + i) % kPeople;
    const std::string county = counties[i % 3];
    hisbridge::v1::Record r;
    r.set_kind("patient");
    r.set_facility_id(absl::StrCat(county, "-WS-", (i / 3) % 2));
    r.set_event_time(time);
    if (b % 2 == 1 && i % 11 == 5) {
      r.set_op("delete");
      r.set_record_id(absl::StrCat("R", b - 1, "-", i));
    } else if (b % 2 == 1 && i % 13 == 8) {
      // Same facility: i and i - 6 share i % 3 and (i / 3) % 2.
      r.set_op("merge");
      r.set_record_id(absl::StrCat("R", b - 1, "-", i));
      r.set_merged_record_id(absl::StrCat("R", b - 1, "-", i - 6));
    } else {
      r.set_record_id(absl::StrCat("R", b, "-", i));
      r.set_name(absl::StrCat("患者", person));
      r.set_sex(person % 2 == 0 ? "1" : "2");
      r.set_birth_date(absl::StrFormat("19%02d-01-01", 40 + person % 50));
      if (person % 5 != 0) r.set_id_number(ResidentId(county, person));
      r.set_phone(absl::StrFormat("138%08d", person));
    }
    *request.add_records() = r;
    if (i % 4 == 0 && r.op().empty()) {
      hisbridge::v1::Record e;
      e.set_kind("encounter");
      e.set_facility_id(r.facility_id());
      e.set_record_id(r.record_id());
      e.set_encounter_id(absl::StrCat("E", b, "-", i));
      e.set_event_time(time);
      e.set_encounter_type("outpatient");
      *request.add_records() = e;
    }
  }
  return request;
}

class IndexRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kWarning);
    dir_ = MakeTempDirectory("index_recovery_test").value();
  }
  void TearDown() override {
    front_.reset();
    broker_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }

  // The development broker and an ingest node in front of it.
  void StartBroker(int inbox_partitions = 3) {
    auto broker = kafka::DevBroker::Start(
        {{topics_.inbox, inbox_partitions}, {topics_.views, 2}, {topics_.changes, 1}, {topics_.rejects, 1}});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    kafka_.bootstrap = broker_->bootstrap();
    NodeOptions o;
    o.roles = {Role::kIngest};
    o.data_dir = dir_ + "/front";
    o.kafka = kafka_;
    front_ = std::make_unique<Node>(o);
    ASSERT_TRUE(front_->Start().ok());
    channel_ = grpc::CreateChannel(front_->grpc_address(), grpc::InsecureChannelCredentials());
    ingest_ = hisbridge::v1::IngestService::NewStub(channel_);
  }

  void Submit(const hisbridge::v1::SubmitRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    hisbridge::v1::SubmitResponse response;
    grpc::Status status = ingest_->Submit(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.rejected(), 0) << response.DebugString();
  }

  std::unique_ptr<Node> StartLinkerNode(const std::string& data_dir, const std::string& group) {
    NodeOptions o;
    o.roles = {Role::kLinker};
    o.data_dir = data_dir;
    o.kafka = kafka_;
    o.linker_group = group;
    o.linker_session_timeout = absl::Seconds(6);
    auto node = std::make_unique<Node>(o);
    absl::Status s = node->Start();
    EXPECT_TRUE(s.ok()) << s;
    return node;
  }

  // Next offset of every inbox partition that holds something.
  std::map<int32_t, int64_t> InboxEnds() {
    auto consumer = kafka::Consumer::Create(kafka_, kafka::ConsumerOptions{});
    EXPECT_TRUE(consumer.ok());
    auto count = (*consumer)->PartitionCount(topics_.inbox, absl::Seconds(10));
    EXPECT_TRUE(count.ok());
    std::map<int32_t, int64_t> ends;
    for (int32_t p = 0; p < *count; ++p) {
      int64_t low = 0, high = 0;
      EXPECT_TRUE((*consumer)->QueryWatermarks(topics_.inbox, p, absl::Seconds(10), &low, &high).ok());
      if (high > 0) ends[p] = high;
    }
    return ends;
  }

  int64_t ViewsMessages() {
    auto consumer = kafka::Consumer::Create(kafka_, kafka::ConsumerOptions{});
    EXPECT_TRUE(consumer.ok());
    int64_t total = 0;
    for (int32_t p = 0; p < 2; ++p) {
      int64_t low = 0, high = 0;
      EXPECT_TRUE((*consumer)->QueryWatermarks(topics_.views, p, absl::Seconds(10), &low, &high).ok());
      total += high;
    }
    return total;
  }

  // An in-process linker with the same engine as a Node's.
  struct Engine {
    std::unique_ptr<match::Matcher> matcher;
    std::unique_ptr<records::FacilityDirectory> facilities;
    std::unique_ptr<linker::LinkEngine> engine;
  };
  Engine MakeEngine() {
    Engine e;
    e.matcher = match::MakeMatcher("fs", "").value();
    e.facilities = std::make_unique<records::FacilityDirectory>("000000");
    e.engine = std::make_unique<linker::LinkEngine>(e.matcher.get(), e.facilities.get());
    return e;
  }
  linker::StreamingLinkerOptions LinkerOptions(const std::string& index_dir) {
    linker::StreamingLinkerOptions o;
    o.kafka = kafka_;
    o.topics = topics_;
    o.group_id = UniqueName("linker");
    o.data_dir = index_dir;
    o.session_timeout = absl::Seconds(6);
    return o;
  }

  // Replays the inbox up to `ends` into a fresh index at `index_dir`
  // without publishing (what `hisbridge rebuild` does).
  void Replay(const std::string& index_dir, const std::map<int32_t, int64_t>& ends) {
    Engine e = MakeEngine();
    linker::StreamingLinkerOptions o = LinkerOptions(index_dir);
    o.publish = false;
    o.replay_until = ends;
    linker::StreamingLinker replay(o, e.engine.get(), e.facilities.get());
    ASSERT_TRUE(replay.Start().ok());
    ASSERT_TRUE(WaitFor([&] { return !replay.running(); }, absl::Seconds(60)));
    ASSERT_TRUE(replay.status().ok()) << replay.status();
    EXPECT_EQ(NonZero(replay.CommittedOffsets()), ends);
    replay.Stop();
  }

  static std::string Dump(const std::string& index_dir) {
    auto opened = index::PatientIndex::Open(index_dir);
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return "";
    auto dump = linker::DumpIndex(**opened);
    EXPECT_TRUE(dump.ok()) << dump.status();
    return dump.value_or("");
  }

  static std::map<int32_t, int64_t> StoredOffsets(const std::string& index_dir, const std::string& topic) {
    auto opened = index::PatientIndex::Open(index_dir);
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return {};
    return (*opened)->NextOffsets(topic).value_or(std::map<int32_t, int64_t>{});
  }

  // Entries in the outbox of a (running) linker's index, read through a
  // secondary instance; -1 when it cannot be read.
  int OutboxEntries(const std::string& index_dir) {
    index::KvStoreOptions o;
    o.create_if_missing = false;
    o.secondary_path = dir_ + "/outbox-reader";
    auto opened = index::PatientIndex::Open(index_dir, o);
    if (!opened.ok()) return -1;
    int entries = 0;
    if (!(*opened)->ForEachOutbox([&](uint64_t, const auto&) { return ++entries > 0; }).ok()) return -1;
    return entries;
  }

  std::string dir_;
  kafka::TopicNames topics_;
  kafka::KafkaConfig kafka_;
  std::unique_ptr<kafka::DevBroker> broker_;
  std::unique_ptr<Node> front_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hisbridge::v1::IngestService::Stub> ingest_;
};

TEST_F(IndexRecoveryTest, RebuildEqualsTheLinkersIndexAndStopsAtTheEndOffsets) {
  StartBroker();
  auto node = StartLinkerNode(dir_ + "/live", UniqueName("linker"));
  for (int b = 0; b < 8; ++b) Submit(Batch(b));
  const std::map<int32_t, int64_t> ends = InboxEnds();
  ASSERT_GE(ends.size(), 2u) << "three counties over three partitions: at least two used";
  ASSERT_TRUE(WaitFor([&] { return NonZero(node->linker()->CommittedOffsets()) == ends; }, absl::Seconds(60)));
  node->Stop();
  const int64_t views_before = ViewsMessages();

  // Inputs that arrive after the rebuild's end offsets are not its business.
  for (int b = 8; b < 10; ++b) Submit(Batch(b));
  Replay(dir_ + "/rebuilt/linker", ends);
  EXPECT_EQ(ViewsMessages(), views_before) << "a rebuild publishes nothing";

  const std::string live = Dump(dir_ + "/live/linker");
  const std::string rebuilt = Dump(dir_ + "/rebuilt/linker");
  EXPECT_EQ(rebuilt, live);
  EXPECT_THAT(live, HasSubstr("patient 450321-P0000001"));
  EXPECT_THAT(live, HasSubstr(" deleted"));
  EXPECT_THAT(live, HasSubstr("merged_into="));
  EXPECT_THAT(live, HasSubstr("audit 450321-P0000001 #"));
  EXPECT_EQ(StoredOffsets(dir_ + "/rebuilt/linker", topics_.inbox), ends);

  // The export sees every live record; deleted and folded ones are gone.
  auto rebuilt_index = index::PatientIndex::Open(dir_ + "/rebuilt/linker");
  ASSERT_TRUE(rebuilt_index.ok());
  auto links = linker::LiveLinks(**rebuilt_index);
  ASSERT_TRUE(links.ok()) << links.status();
  EXPECT_GT(links->size(), 200u);
  for (const linker::LinkRow& row : *links) {
    EXPECT_NE(row[1], "R0-5") << "deleted by batch 1";
    EXPECT_NE(row[1], "R0-2") << "folded into R0-8 by batch 1";
  }
  int outbox = 0;
  ASSERT_TRUE((*rebuilt_index)->ForEachOutbox([&](uint64_t, const auto&) { return ++outbox > 0; }).ok());
  EXPECT_GT(outbox, 0) << "the rebuild keeps its outbox for whoever serves the index";
  rebuilt_index->reset();

  // Served, the rebuilt index publishes its outbox, then links the rest.
  auto served = StartLinkerNode(dir_ + "/rebuilt", UniqueName("linker"));
  const std::map<int32_t, int64_t> all = InboxEnds();
  ASSERT_TRUE(WaitFor([&] { return NonZero(served->linker()->CommittedOffsets()) == all; }, absl::Seconds(60)));
  served->Stop();
  EXPECT_GT(ViewsMessages(), views_before);
  rebuilt_index = index::PatientIndex::Open(dir_ + "/rebuilt/linker");
  ASSERT_TRUE(rebuilt_index.ok());
  outbox = 0;
  ASSERT_TRUE((*rebuilt_index)->ForEachOutbox([&](uint64_t, const auto&) { return ++outbox > 0; }).ok());
  EXPECT_EQ(outbox, 0);
}

TEST_F(IndexRecoveryTest, BackupOfARunningLinkerRestoresToAnUninterruptedIndex) {
  StartBroker();
  auto node = StartLinkerNode(dir_ + "/live", UniqueName("linker"));
  for (int b = 0; b < 4; ++b) Submit(Batch(b));
  const std::map<int32_t, int64_t> early = InboxEnds();
  ASSERT_TRUE(WaitFor([&] { return NonZero(node->linker()->CommittedOffsets()) == early; }, absl::Seconds(60)));

  // Both ways of backing up a running linker, while inputs keep arriving:
  // the in-process checkpoint and the consistent copy through a secondary
  // instance (what `hisbridge backup` does from another process).
  Submit(Batch(4));
  ASSERT_TRUE(node->linker()->CheckpointIndex(dir_ + "/backup-checkpoint").ok());
  {
    index::KvStoreOptions o;
    o.families = index::KvStore::ListFamilies(dir_ + "/live/linker").value();
    o.create_if_missing = false;
    o.secondary_path = dir_ + "/secondary-scratch";
    auto secondary = index::KvStore::Open(dir_ + "/live/linker", o);
    ASSERT_TRUE(secondary.ok()) << secondary.status();
    EXPECT_FALSE((*secondary)->Checkpoint(dir_ + "/never").ok()) << "RocksDB cannot checkpoint a secondary";
    auto copied = (*secondary)->CopyTo(dir_ + "/backup-copy");
    ASSERT_TRUE(copied.ok()) << copied.status();
    EXPECT_GT(*copied, 100);
  }
  for (int b = 5; b < 9; ++b) Submit(Batch(b));
  const std::map<int32_t, int64_t> ends = InboxEnds();
  ASSERT_TRUE(WaitFor([&] { return NonZero(node->linker()->CommittedOffsets()) == ends; }, absl::Seconds(60)));
  node->Stop();
  const std::string uninterrupted = Dump(dir_ + "/live/linker");

  for (const char* backup : {"backup-checkpoint", "backup-copy"}) {
    SCOPED_TRACE(backup);
    const std::map<int32_t, int64_t> offsets = StoredOffsets(absl::StrCat(dir_, "/", backup), topics_.inbox);
    int64_t in_backup = 0, before = 0, total = 0;
    for (const auto& [p, next] : offsets) in_backup += next;
    for (const auto& [p, next] : early) before += next;
    for (const auto& [p, next] : ends) total += next;
    EXPECT_GE(in_backup, before) << "the backup holds what was linked before it";
    EXPECT_LT(in_backup, total) << "inputs after the backup must be re-consumed";

    const std::string restored = absl::StrCat(dir_, "/restored-", backup);
    ASSERT_TRUE(MakeDirectories(restored).ok());
    std::filesystem::copy(absl::StrCat(dir_, "/", backup), restored + "/linker",
                          std::filesystem::copy_options::recursive);
    auto again = StartLinkerNode(restored, UniqueName("linker"));
    ASSERT_TRUE(WaitFor([&] { return NonZero(again->linker()->CommittedOffsets()) == ends; }, absl::Seconds(60)));
    again->Stop();
    EXPECT_EQ(Dump(restored + "/linker"), uninterrupted);
  }
}

TEST_F(IndexRecoveryTest, InputsDeletedBeforeTheyWereConsumedStopTheLinkerWithDataLoss) {
  StartBroker(/*inbox_partitions=*/1);
  auto node = StartLinkerNode(dir_ + "/live", UniqueName("linker"));
  Submit(Batch(0));
  const std::map<int32_t, int64_t> linked = InboxEnds();
  ASSERT_TRUE(WaitFor([&] { return NonZero(node->linker()->CommittedOffsets()) == linked; }, absl::Seconds(60)));
  node->Stop();
  const std::string before = Dump(dir_ + "/live/linker");

  // While the linker is down, 8 MB arrive; the development broker keeps
  // about 5 MiB per partition, so the inputs after offset `linked` vanish
  // like they would by retention.
  kafka::ProducerOptions po;
  po.compression = "none";
  auto producer = kafka::Producer::Create(kafka_, po);
  ASSERT_TRUE(producer.ok());
  std::atomic<int> delivered{0};
  const std::string filler(10000, 'x');
  for (int i = 0; i < 800; ++i) {
    (*producer)->Produce(topics_.inbox, "450321", filler, [&](const kafka::Delivery&) { ++delivered; }, 0);
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  ASSERT_EQ(delivered.load(), 800);
  {
    auto consumer = kafka::Consumer::Create(kafka_, kafka::ConsumerOptions{});
    int64_t low = 0, high = 0;
    ASSERT_TRUE((*consumer)->QueryWatermarks(topics_.inbox, 0, absl::Seconds(10), &low, &high).ok());
    ASSERT_GT(low, linked.at(0)) << "the broker should have dropped the unconsumed inputs";
  }

  auto restarted = StartLinkerNode(dir_ + "/live", UniqueName("linker"));
  ASSERT_TRUE(WaitFor([&] { return !restarted->Health().ok(); }, absl::Seconds(60)));
  const absl::Status health = restarted->Health();
  EXPECT_EQ(health.code(), absl::StatusCode::kDataLoss) << health;
  EXPECT_THAT(health.message(), HasSubstr("no longer exists"));
  EXPECT_FALSE(restarted->linker()->running());
  restarted->Stop();
  EXPECT_EQ(Dump(dir_ + "/live/linker"), before) << "nothing skipped, nothing applied";
  EXPECT_EQ(StoredOffsets(dir_ + "/live/linker", topics_.inbox), linked);

  // A fresh linker starts at offset 0, not at the oldest offset left.
  auto fresh = StartLinkerNode(dir_ + "/fresh", UniqueName("linker"));
  ASSERT_TRUE(WaitFor([&] { return !fresh->Health().ok(); }, absl::Seconds(60)));
  EXPECT_EQ(fresh->Health().code(), absl::StatusCode::kDataLoss) << fresh->Health();
  fresh->Stop();
  EXPECT_TRUE(StoredOffsets(dir_ + "/fresh/linker", topics_.inbox).empty());
}

TEST_F(IndexRecoveryTest, IndexWriteErrorStopsTheLinkerAndLeavesNoPartialBatch) {
  StartBroker();
  Engine e = MakeEngine();
  auto faults = std::make_shared<index::WriteFaultInjection>();
  linker::StreamingLinkerOptions o = LinkerOptions(dir_ + "/faulty");
  o.index_write_faults = faults;
  auto live = std::make_unique<linker::StreamingLinker>(o, e.engine.get(), e.facilities.get());
  ASSERT_TRUE(live->Start().ok());
  for (int b = 0; b < 3; ++b) Submit(Batch(b));
  const std::map<int32_t, int64_t> good = InboxEnds();
  ASSERT_TRUE(WaitFor([&] { return NonZero(live->CommittedOffsets()) == good; }, absl::Seconds(60)));
  // The publisher's outbox delete is a write too (it fails the same way):
  // let it finish, so that the fault hits the state commit of the next batch.
  ASSERT_TRUE(WaitFor([&] { return OutboxEntries(dir_ + "/faulty") == 0; }, absl::Seconds(30)));

  faults->fail = true;
  Submit(Batch(3));
  ASSERT_TRUE(WaitFor([&] { return !live->running(); }, absl::Seconds(60)));
  EXPECT_GT(faults->failed_appends.load(), 0);
  const absl::Status stopped = live->status();
  EXPECT_EQ(stopped.code(), absl::StatusCode::kInternal) << stopped;
  EXPECT_THAT(stopped.message(), HasSubstr("patient index write failed; linker stops"));
  EXPECT_THAT(stopped.message(), HasSubstr("injected write fault"));
  EXPECT_EQ(NonZero(live->CommittedOffsets()), good) << "no offset moves past the failed batch";
  live->Stop();
  live.reset();

  // Reopened (the torn log tail is dropped by RocksDB's recovery), the index
  // is exactly a replay of the inbox up to the stored offsets.
  faults->fail = false;
  EXPECT_EQ(StoredOffsets(dir_ + "/faulty", topics_.inbox), good);
  Replay(dir_ + "/replay-good", good);
  EXPECT_EQ(Dump(dir_ + "/faulty"), Dump(dir_ + "/replay-good"));

  // Restarted on a working disk, it re-consumes the failed batch once.
  o.index_write_faults = nullptr;
  o.group_id = UniqueName("live");
  live = std::make_unique<linker::StreamingLinker>(o, e.engine.get(), e.facilities.get());
  ASSERT_TRUE(live->Start().ok());
  const std::map<int32_t, int64_t> all = InboxEnds();
  ASSERT_TRUE(WaitFor([&] { return NonZero(live->CommittedOffsets()) == all; }, absl::Seconds(60)));
  live->Stop();
  live.reset();
  Replay(dir_ + "/replay-all", all);
  EXPECT_EQ(Dump(dir_ + "/faulty"), Dump(dir_ + "/replay-all"));
}

}  // namespace
}  // namespace hisbridge
