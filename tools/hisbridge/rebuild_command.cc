// hisbridge rebuild: re-links the inbox from offset 0 into a fresh patient
// index, with the streaming linker's own loop in replay mode: every inbox
// partition (or those given) read by manual assignment, never joining the
// linkers' consumer group, up to the end offsets seen at the start, and
// without publishing (the running linkers own the views topic; the rebuilt
// index keeps its outbox, and the first `serve` on it publishes it).
//
// Decisions depend only on the inputs and their order, so the rebuilt
// index equals the one a linker built from the same log (same version,
// matcher, model and token key); --compare-with checks it.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/kafka/consumer.h"
#include "libs/linker/index_dump.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/streaming_linker.h"
#include "libs/match/matcher.h"
#include "libs/records/facility_directory.h"
#include "libs/security/key_ring.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"
#include "tools/hisbridge/data_dir.h"

namespace hisbridge::cli {
namespace {

// The first line where two dumps differ, for the report.
std::string FirstDifference(const std::string& a, const std::string& b) {
  size_t line = 1, start = 0;
  while (true) {
    const size_t end_a = a.find('\n', start), end_b = b.find('\n', start);
    const std::string la = a.substr(start, end_a == std::string::npos ? std::string::npos : end_a - start);
    const std::string lb = b.substr(start, end_b == std::string::npos ? std::string::npos : end_b - start);
    if (la != lb || end_a != end_b) {
      return absl::StrCat("line ", line, ":\n  rebuilt: ", la, "\n  other:   ", lb);
    }
    if (end_a == std::string::npos) return "";
    start = end_a + 1;
    ++line;
  }
}

// End offsets to replay up to: the high watermark of each partition now.
// A partition whose log no longer starts at 0 cannot be rebuilt.
absl::StatusOr<std::map<int32_t, int64_t>> ReplayEnds(const kafka::KafkaConfig& config, const std::string& inbox,
                                                      const std::vector<std::string>& only) {
  auto consumer = kafka::Consumer::Create(config, kafka::ConsumerOptions{});
  if (!consumer.ok()) return consumer.status();
  auto count = (*consumer)->PartitionCount(inbox, absl::Seconds(30));
  if (!count.ok()) return count.status();
  std::vector<int32_t> partitions;
  if (only.empty()) {
    for (int32_t p = 0; p < *count; ++p) partitions.push_back(p);
  } else {
    for (const std::string& text : only) {
      int32_t p = -1;
      if (!absl::SimpleAtoi(text, &p) || p < 0 || p >= *count) {
        return absl::InvalidArgumentError(absl::StrCat("--partitions: \"", text, "\" is not a partition of ", inbox,
                                                       " (0..", *count - 1, ")"));
      }
      partitions.push_back(p);
    }
  }
  std::map<int32_t, int64_t> ends;
  for (int32_t p : partitions) {
    int64_t low = 0, high = 0;
    absl::Status s = (*consumer)->QueryWatermarks(inbox, p, absl::Seconds(30), &low, &high);
    if (!s.ok()) return s;
    if (low > 0) {
      return absl::DataLossError(absl::StrCat(
          inbox, " partition ", p, " starts at offset ", low, ", not 0: its oldest inputs were deleted (retention) "
          "and a rebuild would link a partial history. Restore the inbox first (docs/operations.md)."));
    }
    ends[p] = high;
  }
  return ends;
}

}  // namespace

int RebuildCommand(int argc, char** argv) {
  std::string data_dir;
  std::string facilities_file;
  std::string default_region = "000000";
  std::string matcher_name = "fs";
  std::string model_path;
  std::string keys_file;
  std::vector<std::string> only_partitions;
  std::string compare_with;
  bool resume = false;
  absl::Duration progress_every = absl::Seconds(10);
  KafkaFlags kafka;
  LogFlags logging;
  FlagSet flags("rebuild",
                "Re-link the inbox from offset 0 into a fresh patient index in DATA_DIR/linker, up to the end "
                "offsets seen at the start, then stop and report. Reads the inbox by manual assignment (never joins "
                "the linkers' consumer group) and publishes nothing; the index keeps its outbox, and the first "
                "`hisbridge serve --data-dir DATA_DIR` publishes it. Give the same --facilities, --matcher, --model "
                "and --keys as the linkers: the result is then identical to theirs (--compare-with checks).");
  flags.String("data-dir", &data_dir, "a new data directory; the index is built in DATA_DIR/linker",
               /*required=*/true);
  flags.String("facilities", &facilities_file, "facility directory CSV (facility_id,name,region,tier)");
  flags.String("default-region", &default_region,
               "region (county code) of facilities neither listed nor named after their county");
  flags.String("matcher", &matcher_name, "record matcher: fs (probabilistic Fellegi-Sunter) or id-exact");
  flags.String("model", &model_path, "matcher model file (hisbridge train); empty for the built-in model");
  flags.String("keys", &keys_file, "at-rest key file of the deployment (encrypts values, keys blocking tokens)");
  flags.StringList("partitions", &only_partitions, "inbox partitions to rebuild (default: all)");
  flags.String("compare-with", &compare_with,
               "afterwards, compare the rebuilt index with this data directory's (e.g. a stopped linker's); exit 1 "
               "when they differ");
  flags.Bool("resume", &resume, "continue an interrupted rebuild in DATA_DIR instead of refusing a non-empty one");
  flags.Duration("progress-every", &progress_every, "how often to print progress");
  kafka.Register(&flags, /*with_partitions=*/false);
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  kafka::KafkaConfig config;
  kafka::TopicNames topics;
  absl::Status s = logging.Apply();
  if (s.ok()) s = kafka.Apply(&config, &topics);
  if (s.ok() && config.bootstrap.empty()) s = absl::InvalidArgumentError("--kafka-bootstrap is required");
  if (s.ok() && !compare_with.empty() && !only_partitions.empty()) {
    s = absl::InvalidArgumentError("--compare-with needs a rebuild of every partition (no --partitions)");
  }
  if (!s.ok()) {
    std::cerr << "hisbridge rebuild: " << s.message() << "\n";
    return 2;
  }
  const std::string index_dir = data_dir + "/linker";
  if (PathExists(index_dir) && !resume) {
    std::cerr << "hisbridge rebuild: " << index_dir
              << " exists; rebuild into a new --data-dir (or --resume an interrupted rebuild there)\n";
    return 2;
  }

  // Like the linker's node: the token key before any record is prepared.
  std::shared_ptr<const index::ValueCipher> cipher;
  if (!keys_file.empty()) {
    auto ring = security::KeyRing::Load(keys_file);
    if (!ring.ok()) {
      std::cerr << "hisbridge rebuild: --keys: " << ring.status().message() << "\n";
      return 1;
    }
    security::InstallTokenKey(*ring);
    cipher = std::make_shared<security::AesGcmCipher>(std::move(*ring));
  }
  records::FacilityDirectory facilities(default_region);
  if (!facilities_file.empty()) {
    auto loaded = records::FacilityDirectory::Load(facilities_file, default_region);
    if (!loaded.ok()) {
      std::cerr << "hisbridge rebuild: --facilities: " << loaded.status().message() << "\n";
      return 1;
    }
    facilities = std::move(*loaded);
  }
  auto matcher = match::MakeMatcher(matcher_name, model_path);
  if (!matcher.ok()) {
    std::cerr << "hisbridge rebuild: --matcher/--model: " << matcher.status().message() << "\n";
    return 1;
  }
  linker::LinkEngine engine(matcher->get(), &facilities);

  auto ends = ReplayEnds(config, topics.inbox, only_partitions);
  if (!ends.ok()) {
    std::cerr << "hisbridge rebuild: " << ends.status().message() << "\n";
    return 1;
  }
  int64_t total = 0;
  for (const auto& [p, end] : *ends) total += end;
  std::cout << "rebuilding " << index_dir << " from " << topics.inbox << ": " << ends->size() << " partitions, "
            << total << " inputs (model " << (*matcher)->version() << ")" << std::endl;

  s = MakeDirectories(data_dir);
  if (!s.ok()) {
    std::cerr << "hisbridge rebuild: " << s.message() << "\n";
    return 1;
  }
  linker::StreamingLinkerOptions options;
  options.kafka = config;
  options.topics = topics;
  options.data_dir = index_dir;
  options.cipher = cipher;
  options.publish = false;
  options.replay_until = *ends;
  options.max_batch_inputs = 5000;
  options.max_batch_delay = absl::Milliseconds(200);
  const absl::Time started = absl::Now();
  linker::StreamingLinker rebuild(options, &engine, &facilities);
  s = rebuild.Start();
  if (!s.ok()) {
    std::cerr << "hisbridge rebuild: " << s.message() << "\n";
    return 1;
  }
  absl::Time next_progress = absl::Now() + progress_every;
  while (rebuild.running()) {
    absl::SleepFor(absl::Milliseconds(100));
    if (absl::Now() >= next_progress) {
      int64_t done = 0;
      for (const auto& [p, next] : rebuild.CommittedOffsets()) done += next;
      std::cout << "  " << done << " / " << total << " inputs" << std::endl;
      next_progress = absl::Now() + progress_every;
    }
  }
  s = rebuild.status();
  const linker::EngineCounters counters = rebuild.counters();
  rebuild.Stop();
  const absl::Duration elapsed = absl::Now() - started;
  if (!s.ok()) {
    std::cerr << "hisbridge rebuild: stopped: " << s.message() << "\n";
    return 1;
  }

  index::KvStoreOptions kv;
  kv.cipher = cipher;
  kv.plaintext_families = {"offsets", "blocking"};
  auto rebuilt = index::PatientIndex::Open(index_dir, kv);
  absl::StatusOr<std::vector<linker::LinkRow>> links =
      rebuilt.ok() ? linker::LiveLinks(**rebuilt) : absl::StatusOr<std::vector<linker::LinkRow>>(rebuilt.status());
  if (!links.ok()) {
    std::cerr << "hisbridge rebuild: reading the rebuilt index: " << links.status().message() << "\n";
    return 1;
  }
  std::set<std::string> patients;
  for (const auto& row : *links) patients.insert(row[2]);
  std::cout << "rebuilt " << index_dir << ": " << total << " inputs in " << absl::FormatDuration(elapsed) << " ("
            << static_cast<int64_t>(static_cast<double>(total) / std::max(absl::ToDoubleSeconds(elapsed), 1e-3))
            << " inputs/s); " << links->size() << " live source records, " << patients.size()
            << " unified patients, " << counters.review_items << " review items" << std::endl;

  if (compare_with.empty()) return 0;
  auto other_path = FindLinkerStore(compare_with);
  if (!other_path.ok()) {
    std::cerr << "hisbridge rebuild: --compare-with: " << other_path.status().message() << "\n";
    return 1;
  }
  auto other = OpenIndexAsSecondary(*other_path, cipher);
  if (!other.ok()) {
    std::cerr << "hisbridge rebuild: --compare-with: " << other.status().message() << "\n";
    return 1;
  }
  auto other_offsets = other->index->NextOffsets(topics.inbox);
  auto mine_offsets = (*rebuilt)->NextOffsets(topics.inbox);
  if (!other_offsets.ok() || !mine_offsets.ok()) {
    std::cerr << "hisbridge rebuild: --compare-with: cannot read offsets\n";
    return 1;
  }
  // Partitions never written to have no stored offset on either side.
  auto nonzero = [](std::map<int32_t, int64_t> m) {
    for (auto it = m.begin(); it != m.end();) it = it->second == 0 ? m.erase(it) : std::next(it);
    return m;
  };
  if (nonzero(*other_offsets) != nonzero(*mine_offsets)) {
    std::cerr << "hisbridge rebuild: --compare-with: " << *other_path
              << " reflects other inbox offsets than the rebuild (stop its linker once it has caught up, then "
                 "rebuild and compare again)\n";
    return 1;
  }
  auto mine_dump = linker::DumpIndex(**rebuilt);
  auto other_dump = linker::DumpIndex(*other->index);
  if (!mine_dump.ok() || !other_dump.ok()) {
    std::cerr << "hisbridge rebuild: --compare-with: "
              << (!mine_dump.ok() ? mine_dump.status() : other_dump.status()).message() << "\n";
    return 1;
  }
  if (*mine_dump != *other_dump) {
    std::cout << "DIFFERENT from " << *other_path << ", first difference at " << FirstDifference(*mine_dump, *other_dump)
              << std::endl;
    return 1;
  }
  std::cout << "identical to " << *other_path << " (" << std::count(mine_dump->begin(), mine_dump->end(), '\n')
            << " lines of records, links, patients, audit and review)" << std::endl;
  return 0;
}

}  // namespace hisbridge::cli
