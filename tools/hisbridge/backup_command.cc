// hisbridge backup: a consistent copy of the RocksDB stores of a data
// directory (the linker's patient index, the query role's views, the access
// log), whether the process that owns them is running or not.
//
//   stopped store: a RocksDB checkpoint (hard links of the table files; fast)
//   running store: a copy through a RocksDB secondary instance, entry by
//                  entry, of one consistent state (RocksDB 7.8 cannot
//                  checkpoint a database another process holds)
//
// Either way the copy holds whole committed batches only, so a linker index
// copy is the state of some inbox offsets exactly, with those offsets; a
// linker restored from it re-consumes what came after from Kafka. Stored
// values are copied as they are: sealed values stay sealed (no key needed).
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/base/time_format.h"
#include "libs/index/kv_store.h"
#include "libs/kafka/kafka_config.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"
#include "tools/hisbridge/data_dir.h"

namespace hisbridge::cli {
namespace {

struct StoreBackup {
  std::string method;
  int64_t entries = -1;  // unknown for checkpoints
};

// Another process holds the store (RocksDB's LOCK file).
bool InUse(const absl::Status& open_error) { return absl::StrContains(open_error.message(), "/LOCK"); }

absl::StatusOr<StoreBackup> BackupStore(const std::string& source, const std::string& target) {
  HB_ASSIGN_OR_RETURN(std::vector<std::string> families, index::KvStore::ListFamilies(source));
  index::KvStoreOptions options;
  options.families = families;
  options.create_if_missing = false;
  options.block_cache_bytes = 16 << 20;
  // No cipher: a checkpoint copies files, and the copy copies stored bytes.
  auto exclusive = index::KvStore::Open(source, options);
  if (exclusive.ok()) {
    HB_RETURN_IF_ERROR((*exclusive)->Checkpoint(target));
    return StoreBackup{"checkpoint", -1};
  }
  if (!InUse(exclusive.status())) return exclusive.status();
  HB_ASSIGN_OR_RETURN(SecondaryStore secondary, OpenStoreAsSecondary(source, nullptr));
  HB_ASSIGN_OR_RETURN(int64_t entries, secondary.store->CopyTo(target));
  return StoreBackup{"consistent copy of the running store", entries};
}

}  // namespace

int BackupCommand(int argc, char** argv) {
  std::string data_dir;
  std::string to;
  std::string topic_prefix = "hisbridge.";
  LogFlags logging;
  FlagSet flags("backup",
                "Back up the RocksDB stores of a data directory (linker/, query/, access-log/) into --to, which "
                "must not exist. Works on a stopped directory (RocksDB checkpoint: hard links, fast) and on one a "
                "running `hisbridge serve` holds (a consistent copy through a RocksDB secondary instance). The copy "
                "of the linker's index holds the inbox offsets it reflects; `hisbridge serve --restore-from DIR` "
                "starts from it and re-consumes from Kafka what came after. Values stay encrypted as stored.");
  flags.String("data-dir", &data_dir, "the data directory of a hisbridge serve (or one store in it)",
               /*required=*/true);
  flags.String("to", &to, "the backup directory to create", /*required=*/true);
  flags.String("topic-prefix", &topic_prefix, "topic prefix of the deployment (to report the inbox offsets)");
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  absl::Status s = logging.Apply();
  if (!s.ok()) {
    std::cerr << "hisbridge backup: " << s.message() << "\n";
    return 2;
  }
  if (PathExists(to)) {
    std::cerr << "hisbridge backup: --to " << to << " exists; give a new directory\n";
    return 2;
  }
  // Which stores: those of a data directory, or the one store given.
  std::vector<std::pair<std::string, std::string>> stores;  // name, source path
  for (const std::string& name : StoreNames()) {
    if (IsStore(absl::StrCat(data_dir, "/", name))) stores.emplace_back(name, absl::StrCat(data_dir, "/", name));
  }
  if (stores.empty() && IsStore(data_dir)) stores.emplace_back("linker", data_dir);
  if (stores.empty()) {
    std::cerr << "hisbridge backup: no store in " << data_dir << " (expected linker/, query/ or access-log/)\n";
    return 1;
  }
  s = MakeDirectories(to);
  if (!s.ok()) {
    std::cerr << "hisbridge backup: " << s.message() << "\n";
    return 1;
  }
  const absl::Time started = absl::Now();
  std::string manifest = absl::StrCat("hisbridge backup\nsource = ", data_dir, "\ntaken = ",
                                      FormatRfc3339(absl::Now()), "\n");
  for (const auto& [name, source] : stores) {
    const std::string target = absl::StrCat(to, "/", name);
    auto backup = BackupStore(source, target);
    if (!backup.ok()) {
      std::cerr << "hisbridge backup: " << name << ": " << backup.status().message() << "\n";
      (void)RemoveRecursively(to);
      return 1;
    }
    std::cout << name << ": " << backup->method;
    absl::StrAppend(&manifest, "store ", name, " = ", backup->method, "\n");
    if (backup->entries >= 0) std::cout << ", " << backup->entries << " entries";
    std::cout << "\n";
    if (name == "linker") {
      // What the index reflects: a restored linker resumes from here.
      auto copy = OpenIndexAsSecondary(target, nullptr);
      absl::StatusOr<std::map<int32_t, int64_t>> offsets =
          copy.ok() ? copy->index->NextOffsets(kafka::TopicNames::WithPrefix(topic_prefix).inbox) : copy.status();
      if (!offsets.ok()) {
        std::cerr << "hisbridge backup: cannot read the offsets of the copy: " << offsets.status().message() << "\n";
        (void)RemoveRecursively(to);
        return 1;
      }
      for (const auto& [partition, next] : *offsets) {
        std::cout << "  inbox partition " << partition << ": next offset " << next << "\n";
        absl::StrAppend(&manifest, "inbox ", partition, " = ", next, "\n");
      }
    }
  }
  s = WriteFileAtomically(to + "/BACKUP", manifest);
  if (!s.ok()) {
    std::cerr << "hisbridge backup: " << s.message() << "\n";
    return 1;
  }
  std::cout << "backup written to " << to << " in " << absl::FormatDuration(absl::Now() - started)
            << "; restore with: hisbridge serve --restore-from " << to << " --data-dir EMPTY_DIR ...\n";
  return 0;
}

}  // namespace hisbridge::cli
