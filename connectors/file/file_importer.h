// The file connector: imports CSV exports (with a column mapping) and JSON
// Lines files into ingest through the shared Forwarder, resumably.
//
// A file is read in batches of rows; each batch is one Forwarder unit, and
// only once it is durable (ingest accepted it or it is in the spool) does
// the state file record the byte offset just past its last row. After a
// crash or kill the import continues from there, so no row is sent twice
// by the importer and none is skipped. A file is recognised by its path and
// a fingerprint of its first 4 KiB; a different file under the same path
// starts from the beginning.
//
// A bad row (unparseable CSV, undecodable text, a record the validator
// refuses) never stops the import: it is appended to the rejects file
// (JSON Lines: file, line, column, field, rule, message, raw row) and
// counted. Only a problem with the whole file (unreadable, no header, the
// mapping does not fit the header, unknown encoding) or with durability
// (spool full) stops it.
//
// Watch() polls a drop folder: each new file whose size and mtime held
// still for one poll interval is imported and then moved to done/ (or to
// failed/ with a .error note when the whole file was refused).
//
// Thread safety: one importer per thread; stats() may be read from any
// thread (the metrics endpoint) while it works.
#ifndef HISBRIDGE_CONNECTORS_FILE_FILE_IMPORTER_H_
#define HISBRIDGE_CONNECTORS_FILE_FILE_IMPORTER_H_

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/file/csv_mapping.h"
#include "libs/charset/charset.h"
#include "libs/forward/forwarder.h"
#include "libs/metrics/registry.h"

namespace hisbridge::connectors::file {

struct ImporterOptions {
  // Holds import-state.tsv and rejects.jsonl.
  std::string state_dir;
  // Required for CSV files.
  std::optional<CsvMapping> mapping;
  // Overrides the mapping's @encoding; "" or "auto" detects (UTF-8, else
  // GB18030).
  std::string encoding;
  int batch_rows = 500;
  // Called with (file, bytes done, bytes total) after each durable batch.
  std::function<void(const std::string&, int64_t, int64_t)> progress;
};

struct ImportReport {
  std::string path;
  int64_t rows = 0;       // data rows read in this run
  int64_t sent = 0;       // records made durable in this run
  int64_t rejected = 0;   // rows written to the rejects file
  int64_t spooled = 0;    // of `sent`, through the spool
  int64_t resumed_at = 0; // byte offset the run started from
  std::string encoding;   // for CSV
  bool already_done = false;
};

// Totals since the importer was created, for the metrics endpoint.
struct ImporterStats {
  int64_t files_imported = 0;  // read to their end (moved to done/ when watching)
  int64_t files_failed = 0;    // refused as a whole (moved to failed/)
  int64_t records_sent = 0;    // made durable: ingest accepted them or they are in the spool
  int64_t records_spooled = 0; // of records_sent, through the spool
  int64_t rows_rejected = 0;   // written to the rejects file (by the importer or by ingest)
};

class FileImporter {
 public:
  // `forwarder` must outlive the importer.
  static absl::StatusOr<std::unique_ptr<FileImporter>> Create(forward::Forwarder* forwarder,
                                                              ImporterOptions options);

  // Imports one file (".csv" / ".tsv" with the mapping; ".jsonl", ".json",
  // ".ndjson" as county JSON Lines) to its end.
  absl::StatusOr<ImportReport> ImportFile(const std::string& path);

  ImporterStats stats() const;

  // Polls `dir` until `stop` becomes true.
  absl::Status Watch(const std::string& dir, absl::Duration poll_interval, const std::atomic<bool>* stop,
                     const std::function<void(const ImportReport&)>& on_file);

 private:
  struct FileState {
    std::string fingerprint;
    int64_t offset = 0;
    int64_t line = 1;
    bool done = false;
  };
  FileImporter(forward::Forwarder* forwarder, ImporterOptions options);
  absl::Status LoadState();
  absl::Status SaveState();
  absl::StatusOr<ImportReport> ImportCsv(const std::string& path, const std::string& data, FileState* state);
  absl::StatusOr<ImportReport> ImportJsonLines(const std::string& path, int64_t size, FileState* state);
  // Sends one batch; on success records the new position durably.
  absl::Status Flush(const std::string& path, std::vector<hisbridge::v1::Record>* batch, FileState* state,
                     int64_t end_offset, int64_t next_line, ImportReport* report, int64_t total);
  void Reject(const std::string& path, int64_t line, const std::string& column, const std::string& field,
              const std::string& rule, const std::string& message, absl::string_view raw);

  forward::Forwarder* forwarder_;
  ImporterOptions options_;
  std::map<std::string, FileState> states_;
  std::atomic<int64_t> files_imported_{0}, files_failed_{0}, records_sent_{0}, records_spooled_{0},
      rows_rejected_{0};
};

// Exposes stats() as hisbridge_file_* counters; `importer` must outlive
// the registry's scrapes.
void AddFileImporterCollector(metrics::Registry* registry, const FileImporter* importer);

// Hex CRC-32C of the first 4 KiB and their length: "1a2b3c4d:4096".
std::string Fingerprint(absl::string_view head);

}  // namespace hisbridge::connectors::file

#endif  // HISBRIDGE_CONNECTORS_FILE_FILE_IMPORTER_H_
