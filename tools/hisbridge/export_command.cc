// hisbridge export: the link CSV of spec/county-records.md
// (facility_id,record_id,patient_id, one row per live source record, sorted)
// from a data directory: the linker's patient index, or a query replica's
// views. The stores are read as RocksDB secondary instances, so this works
// while `hisbridge serve` runs on the directory (the export is then one
// consistent state of it) and on a stopped one alike.
#include <algorithm>
#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"
#include "libs/index/kv_store.h"
#include "libs/kafka/kafka_config.h"
#include "libs/linker/index_dump.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"
#include "tools/hisbridge/data_dir.h"

namespace hisbridge::cli {
namespace {

// The query role's `sources` family (libs/view/view_store.h): facility_id,
// record_id -> patient_id, one entry per live source record of an active
// patient view.
absl::StatusOr<std::vector<linker::LinkRow>> QueryLinks(const std::string& path,
                                                        std::shared_ptr<const index::ValueCipher> cipher) {
  auto opened = OpenStoreAsSecondary(path, std::move(cipher));
  if (!opened.ok()) return opened.status();
  const int sources = opened->store->Family("sources");
  if (sources < 0) return absl::NotFoundError(absl::StrCat(path, " is not a query store (no sources family)"));
  std::vector<linker::LinkRow> rows;
  absl::Status s = opened->store->Scan(sources, "", [&](absl::string_view key, absl::string_view patient_id) {
    std::vector<absl::string_view> parts = index::SplitKey(key);
    if (parts.size() == 2 && !patient_id.empty()) {
      rows.push_back({std::string(parts[0]), std::string(parts[1]), std::string(patient_id)});
    }
    return true;
  });
  if (!s.ok()) return s;
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace

int ExportCommand(int argc, char** argv) {
  std::string data_dir;
  std::string output = "-";
  std::string store = "auto";
  std::string keys_file;
  std::string topic_prefix = "hisbridge.";
  LogFlags logging;
  FlagSet flags("export",
                "Write the link CSV (facility_id,record_id,patient_id; one row per live source record, sorted) of a "
                "data directory: from the linker's patient index (DIR/linker), or from a query replica's views "
                "(DIR/query). Safe while hisbridge serve runs on DIR: the stores are read as RocksDB secondary "
                "instances, and the export is one consistent state.");
  flags.String("data-dir", &data_dir, "the data directory of a hisbridge serve (or the linker store itself)",
               /*required=*/true);
  flags.String("output", &output, "the CSV file to write (- for standard output)");
  flags.String("store", &store,
               "which store to read: linker (the patient index), query (a replica's views), or auto (linker if "
               "present)");
  flags.String("keys", &keys_file, "at-rest key file, when the stores are encrypted (serve --keys)");
  flags.String("topic-prefix", &topic_prefix, "topic prefix of the deployment (to report the inbox offsets)");
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  absl::Status s = logging.Apply();
  if (s.ok() && store != "auto" && store != "linker" && store != "query") {
    s = absl::InvalidArgumentError(absl::StrCat("--store: \"", store, "\" is not linker, query or auto"));
  }
  if (!s.ok()) {
    std::cerr << "hisbridge export: " << s.message() << "\n";
    return 2;
  }
  auto cipher = LoadCipher(keys_file);
  if (!cipher.ok()) {
    std::cerr << "hisbridge export: " << cipher.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<linker::LinkRow>> rows = absl::NotFoundError("");
  std::string source;
  auto linker_store = FindLinkerStore(data_dir);
  if (store == "linker" || (store == "auto" && linker_store.ok())) {
    if (!linker_store.ok()) {
      std::cerr << "hisbridge export: " << linker_store.status().message() << "\n";
      return 1;
    }
    source = *linker_store;
    auto index = OpenIndexAsSecondary(source, *cipher);
    if (!index.ok()) {
      rows = index.status();
    } else {
      rows = linker::LiveLinks(*index->index);
      auto offsets = index->index->NextOffsets(kafka::TopicNames::WithPrefix(topic_prefix).inbox);
      if (rows.ok() && offsets.ok()) {
        int64_t inputs = 0;
        for (const auto& [partition, next] : *offsets) inputs += next;
        std::cerr << "hisbridge export: the index reflects " << inputs << " inbox inputs over " << offsets->size()
                  << " partitions\n";
      }
    }
  } else {
    source = data_dir + "/query";
    if (!IsStore(source)) {
      std::cerr << "hisbridge export: no query store in " << data_dir << "\n";
      return 1;
    }
    rows = QueryLinks(source, *cipher);
  }
  if (!rows.ok()) {
    std::cerr << "hisbridge export: " << source << ": " << rows.status().message() << "\n";
    return 1;
  }
  s = linker::WriteLinkCsv(*rows, output);
  if (!s.ok()) {
    std::cerr << "hisbridge export: " << s.message() << "\n";
    return 1;
  }
  std::set<std::string> patients;
  for (const auto& row : *rows) patients.insert(row[2]);
  std::cerr << "hisbridge export: " << rows->size() << " source records of " << patients.size()
            << " unified patients from " << source << (output == "-" ? "" : absl::StrCat(" to ", output)) << "\n";
  return 0;
}

}  // namespace hisbridge::cli
