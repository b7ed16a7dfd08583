#include "connectors/file/file_importer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/base/file_util.h"
#include "libs/base/json_escape.h"
#include "libs/base/logging.h"
#include "libs/base/time_format.h"
#include "libs/csv/csv_reader.h"
#include "libs/forward/spool.h"
#include "libs/records/line_reader.h"
#include "libs/records/record_json.h"
#include "libs/records/validate.h"

namespace hisbridge::connectors::file {
namespace {

// Raw bytes that may not be UTF-8, for the rejects file.
std::string SafeText(absl::string_view raw) {
  std::string out;
  size_t i = 0;
  while (i < raw.size() && out.size() < 8192) {
    const size_t bad = charset::FirstInvalidUtf8(raw.substr(i));
    absl::StrAppend(&out, raw.substr(i, bad));
    i += bad;
    if (i < raw.size()) {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(raw[i]), absl::kZeroPad2));
      ++i;
    }
  }
  return out;
}

bool IsCsv(absl::string_view path) {
  return absl::EndsWithIgnoreCase(path, ".csv") || absl::EndsWithIgnoreCase(path, ".tsv") ||
         absl::EndsWithIgnoreCase(path, ".txt");
}
bool IsJsonLines(absl::string_view path) {
  return absl::EndsWithIgnoreCase(path, ".jsonl") || absl::EndsWithIgnoreCase(path, ".json") ||
         absl::EndsWithIgnoreCase(path, ".ndjson");
}

}  // namespace

std::string Fingerprint(absl::string_view head) {
  head = head.substr(0, 4096);
  return absl::StrCat(absl::Hex(forward::Crc32c(head), absl::kZeroPad8), ":", head.size());
}

FileImporter::FileImporter(forward::Forwarder* forwarder, ImporterOptions options)
    : forwarder_(forwarder), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<FileImporter>> FileImporter::Create(forward::Forwarder* forwarder,
                                                                    ImporterOptions options) {
  if (options.state_dir.empty()) return absl::InvalidArgumentError("--state-dir is required");
  auto s = MakeDirectories(options.state_dir);
  if (!s.ok()) return s;
  std::unique_ptr<FileImporter> importer(new FileImporter(forwarder, std::move(options)));
  s = importer->LoadState();
  if (!s.ok()) return s;
  return importer;
}

absl::Status FileImporter::LoadState() {
  const std::string path = options_.state_dir + "/import-state.tsv";
  if (!PathExists(path)) return absl::OkStatus();
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, '\t');
    FileState st;
    int done = 0;
    if (parts.size() != 5 || !absl::SimpleAtoi(parts[2], &st.offset) || !absl::SimpleAtoi(parts[3], &st.line) ||
        !absl::SimpleAtoi(parts[4], &done)) {
      return absl::DataLossError(absl::StrCat(path, ": unreadable line \"", line, "\""));
    }
    st.fingerprint = parts[1];
    st.done = done != 0;
    states_[parts[0]] = st;
  }
  return absl::OkStatus();
}

absl::Status FileImporter::SaveState() {
  std::string text;
  for (const auto& [path, st] : states_) {
    absl::StrAppend(&text, path, "\t", st.fingerprint, "\t", st.offset, "\t", st.line, "\t", st.done ? 1 : 0, "\n");
  }
  return WriteFileAtomically(options_.state_dir + "/import-state.tsv", text);
}

void FileImporter::Reject(const std::string& path, int64_t line, const std::string& column, const std::string& field,
                          const std::string& rule, const std::string& message, absl::string_view raw) {
  ++rows_rejected_;
  const std::string entry = absl::StrCat(
      "{\"time\":", JsonQuoted(FormatRfc3339(absl::Now())), ",\"file\":", JsonQuoted(path), ",\"line\":", line,
      ",\"column\":", JsonQuoted(column), ",\"field\":", JsonQuoted(field), ",\"rule\":", JsonQuoted(rule),
      ",\"message\":", JsonQuoted(message), ",\"raw\":", JsonQuoted(SafeText(raw)), "}\n");
  const std::string rejects = options_.state_dir + "/rejects.jsonl";
  const int fd = ::open(rejects.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, entry.data(), entry.size()) != static_cast<ssize_t>(entry.size())) {
    log::Error("file: cannot write the rejects file", {{"path", rejects}});
  }
  if (fd >= 0) ::close(fd);
  log::Warning("file: row rejected", {{"file", path}, {"line", line}, {"column", column}, {"rule", rule},
                                      {"message", message}});
}

absl::Status FileImporter::Flush(const std::string& path, std::vector<hisbridge::v1::Record>* batch, FileState* state,
                                 int64_t end_offset, int64_t next_line, ImportReport* report, int64_t total) {
  if (!batch->empty()) {
    const std::string request_id = absl::StrCat("file:", path, ":", state->offset);
    const size_t count = batch->size();
    forward::Delivery d = forwarder_->SubmitAndWait(std::move(*batch), request_id);
    batch->clear();
    if (!d.status.ok()) {
      return absl::Status(d.status.code(), absl::StrCat(path, ": rows up to byte ", end_offset,
                                                        " could not be stored: ", d.status.message()));
    }
    report->sent += static_cast<int64_t>(count);
    records_sent_ += static_cast<int64_t>(count);
    if (d.path == forward::Delivery::Path::kSpool) {
      report->spooled += static_cast<int64_t>(count);
      records_spooled_ += static_cast<int64_t>(count);
    }
    for (const auto& r : d.results) {
      if (r.outcome() == hisbridge::v1::RECORD_OUTCOME_REJECTED) {
        ++report->rejected;
        --report->sent;
        --records_sent_;
        Reject(path, 0, "", r.errors_size() ? r.errors(0).field() : "", r.errors_size() ? r.errors(0).rule() : "",
               absl::StrCat("ingest refused the record: ", r.errors_size() ? r.errors(0).message() : ""), "");
      }
    }
  }
  state->offset = end_offset;
  state->line = next_line;
  auto s = SaveState();
  if (!s.ok()) return s;
  if (options_.progress) options_.progress(path, end_offset, total);
  return absl::OkStatus();
}

absl::StatusOr<ImportReport> FileImporter::ImportFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  std::string head(4096, '\0');
  {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
    const ssize_t n = ::read(fd, head.data(), head.size());
    ::close(fd);
    head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  const std::string fingerprint = Fingerprint(head);
  FileState& state = states_[path];
  if (state.fingerprint != fingerprint) state = FileState{fingerprint, 0, 1, false};
  ImportReport report;
  report.path = path;
  report.resumed_at = state.offset;
  if (state.done && state.offset >= st.st_size) {
    report.already_done = true;
    return report;
  }
  absl::StatusOr<ImportReport> result;
  if (IsCsv(path)) {
    auto data = ReadFileToString(path);
    if (!data.ok()) return data.status();
    result = ImportCsv(path, *data, &state);
  } else if (IsJsonLines(path)) {
    result = ImportJsonLines(path, st.st_size, &state);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": unknown file type; use .csv/.tsv/.txt (with --mapping) or .jsonl/.json/.ndjson"));
  }
  if (!result.ok()) return result;
  state.done = true;
  auto s = SaveState();
  if (!s.ok()) return s;
  ++files_imported_;
  result->resumed_at = report.resumed_at;
  return result;
}

absl::StatusOr<ImportReport> FileImporter::ImportCsv(const std::string& path, const std::string& data,
                                                     FileState* state) {
  if (!options_.mapping.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": CSV files need a column mapping (--mapping)"));
  }
  CsvMapping mapping = *options_.mapping;
  ImportReport report;
  report.path = path;
  std::string encoding_name = !options_.encoding.empty() ? options_.encoding : mapping.encoding();
  charset::Encoding encoding;
  if (encoding_name.empty() || encoding_name == "auto") {
    auto detected = charset::DetectEncoding(data);
    if (!detected.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", detected.status().message()));
    encoding = *detected;
  } else {
    auto parsed = charset::ParseEncodingName(encoding_name);
    if (!parsed.ok()) return parsed.status();
    encoding = *parsed;
  }
  report.encoding = std::string(charset::EncodingName(encoding));
  csv::CsvOptions csv_options;
  csv_options.delimiter = absl::EndsWithIgnoreCase(path, ".tsv") ? '\t' : mapping.delimiter();
  csv::CsvReader header_reader(data, 0, 1, csv_options);
  csv::CsvRow row;
  if (!header_reader.Next(&row) || !row.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no readable header row",
                                                   row.error.empty() ? "" : absl::StrCat(" (", row.error, ")")));
  }
  std::vector<std::string> header;
  for (const std::string& f : row.fields) {
    auto u = charset::ToUtf8(f, encoding);
    if (!u.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": the header is not ", charset::EncodingName(encoding),
                                                     ": ", u.status().message(), "; give --encoding"));
    }
    header.push_back(*u);
  }
  auto bound = mapping.Bind(header);
  if (!bound.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", bound.message()));
  int64_t start = state->offset, line = state->line;
  if (start < row.end_offset) start = row.end_offset, line = row.line + 1;
  // The header row ends where its line ends; count its embedded newlines.
  if (state->offset < row.end_offset) {
    line = 1;
    for (int64_t i = 0; i < row.end_offset; ++i) line += data[static_cast<size_t>(i)] == '\n';
  }
  csv::CsvReader reader(absl::string_view(data).substr(static_cast<size_t>(std::min<int64_t>(start, data.size()))),
                        start, line, csv_options);
  std::vector<hisbridge::v1::Record> batch;
  int64_t batch_end = start, next_line = line;
  const int64_t total = static_cast<int64_t>(data.size());
  while (reader.Next(&row)) {
    ++report.rows;
    const absl::string_view raw = absl::string_view(data).substr(static_cast<size_t>(row.begin_offset),
                                                                 static_cast<size_t>(row.end_offset - row.begin_offset));
    batch_end = row.end_offset;
    next_line = row.line + 1 + static_cast<int64_t>(std::count(raw.begin(), raw.end(), '\n')) -
                (absl::EndsWith(raw, "\n") ? 1 : 0);
    if (!row.ok()) {
      ++report.rejected;
      Reject(path, row.line, absl::StrCat("column ", row.error_column), "", "csv.syntax", row.error, raw);
      continue;
    }
    std::vector<std::string> fields;
    bool decodable = true;
    for (size_t i = 0; i < row.fields.size() && decodable; ++i) {
      auto u = charset::ToUtf8(row.fields[i], encoding);
      if (!u.ok()) {
        ++report.rejected;
        Reject(path, row.line,
               absl::StrCat(i < header.size() ? absl::StrCat("\"", header[i], "\" ") : "", "(column ", i + 1, ")"),
               "", "encoding", absl::StrCat("not ", charset::EncodingName(encoding), ": ", u.status().message()), raw);
        decodable = false;
      } else {
        fields.push_back(std::move(*u));
      }
    }
    if (!decodable) continue;
    hisbridge::v1::Record record;
    std::map<std::string, std::string> columns;
    mapping.MapRow(fields, &record, &columns);
    records::ValidationResult v = records::ValidateRecord(record);
    if (!v.ok()) {
      ++report.rejected;
      const auto& e = v.errors[0];
      auto it = columns.find(e.field());
      Reject(path, row.line, it != columns.end() ? it->second : "", e.field(), e.rule(),
             absl::StrCat("line ", row.line, it != columns.end() ? absl::StrCat(", ", it->second) : "", ": ",
                          e.message()),
             raw);
      continue;
    }
    batch.push_back(std::move(record));
    if (static_cast<int>(batch.size()) >= options_.batch_rows) {
      auto s = Flush(path, &batch, state, batch_end, next_line, &report, total);
      if (!s.ok()) return s;
    }
  }
  auto s = Flush(path, &batch, state, std::max(batch_end, state->offset), next_line, &report, total);
  if (!s.ok()) return s;
  return report;
}

absl::StatusOr<ImportReport> FileImporter::ImportJsonLines(const std::string& path, int64_t size, FileState* state) {
  ImportReport report;
  report.path = path;
  auto reader = records::LineReader::Open(path, state->offset, state->line);
  if (!reader.ok()) return reader.status();
  records::RecordJsonParser parser;
  records::ParsedRecord parsed;
  records::Line line;
  std::vector<hisbridge::v1::Record> batch;
  int64_t end = state->offset, next_line = state->line;
  while ((*reader)->Next(&line)) {
    ++report.rows;
    end = line.end_offset;
    next_line = line.number + 1;
    if (line.too_long) {
      ++report.rejected;
      Reject(path, line.number, "", "", "too_long", "the line is longer than 1 MiB", line.text.substr(0, 200));
      continue;
    }
    parser.Parse(line.text, &parsed, /*padded=*/true);
    std::vector<hisbridge::v1::FieldIssue> errors = parsed.errors;
    if (errors.empty()) {
      records::ValidationResult v = records::ValidateRecord(parsed.record);
      errors = v.errors;
    }
    if (!errors.empty()) {
      ++report.rejected;
      Reject(path, line.number, "", errors[0].field(), errors[0].rule(),
             absl::StrCat("line ", line.number, ": ", errors[0].message()), line.text);
      continue;
    }
    batch.push_back(parsed.record);
    if (static_cast<int>(batch.size()) >= options_.batch_rows) {
      auto s = Flush(path, &batch, state, end, next_line, &report, size);
      if (!s.ok()) return s;
    }
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  auto s = Flush(path, &batch, state, end, next_line, &report, size);
  if (!s.ok()) return s;
  return report;
}

absl::Status FileImporter::Watch(const std::string& dir, absl::Duration poll_interval, const std::atomic<bool>* stop,
                                 const std::function<void(const ImportReport&)>& on_file) {
  auto s = MakeDirectories(dir + "/done");
  if (!s.ok()) return s;
  s = MakeDirectories(dir + "/failed");
  if (!s.ok()) return s;
  std::map<std::string, std::pair<int64_t, int64_t>> last_seen;  // name -> (size, mtime)
  while (!stop->load()) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return absl::NotFoundError(absl::StrCat("--watch ", dir, ": cannot list the folder"));
    std::set<std::string> names;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.empty() || name[0] == '.' || absl::EndsWith(name, ".tmp") || absl::EndsWith(name, ".part")) continue;
      if (!IsCsv(name) && !IsJsonLines(name)) continue;
      names.insert(name);
    }
    ::closedir(d);
    for (const std::string& name : names) {
      if (stop->load()) break;
      const std::string path = dir + "/" + name;
      struct stat st;
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      const std::pair<int64_t, int64_t> now{st.st_size, st.st_mtime};
      auto it = last_seen.find(name);
      if (it == last_seen.end() || it->second != now) {
        last_seen[name] = now;  // still being written? look again next poll
        continue;
      }
      auto report = ImportFile(path);
      if (!report.ok() && (report.status().code() == absl::StatusCode::kResourceExhausted ||
                           report.status().code() == absl::StatusCode::kUnavailable)) {
        log::Warning("file: import paused; retrying", {{"file", path}, {"error", report.status()}});
        continue;
      }
      const std::string target = absl::StrCat(dir, report.ok() ? "/done/" : "/failed/", name);
      if (!report.ok()) ++files_failed_;
      if (!report.ok()) {
        log::Error("file: the whole file was refused", {{"file", path}, {"error", report.status()}});
        (void)WriteFileAtomically(target + ".error", absl::StrCat(report.status().message(), "\n"));
      }
      if (::rename(path.c_str(), target.c_str()) != 0) {
        log::Error("file: cannot move the imported file", {{"from", path}, {"to", target}});
      } else {
        states_.erase(path);
        (void)SaveState();
      }
      last_seen.erase(name);
      if (report.ok() && on_file) on_file(*report);
    }
    const absl::Time until = absl::Now() + poll_interval;
    while (!stop->load() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

ImporterStats FileImporter::stats() const {
  ImporterStats s;
  s.files_imported = files_imported_.load();
  s.files_failed = files_failed_.load();
  s.records_sent = records_sent_.load();
  s.records_spooled = records_spooled_.load();
  s.rows_rejected = rows_rejected_.load();
  return s;
}

void AddFileImporterCollector(metrics::Registry* registry, const FileImporter* importer) {
  registry->AddCollector([importer](metrics::MetricWriter& out) {
    const ImporterStats s = importer->stats();
    constexpr const char* kFiles =
        "Files the file connector finished: imported (read to their end) or failed (refused as a whole, moved to "
        "failed/ with a .error note).";
    out.Counter("hisbridge_file_files_total", kFiles, {{"outcome", "imported"}},
                static_cast<double>(s.files_imported));
    out.Counter("hisbridge_file_files_total", kFiles, {{"outcome", "failed"}}, static_cast<double>(s.files_failed));
    out.Counter("hisbridge_file_records_sent_total",
                "Records made durable: accepted by ingest, or fsync'ed in the spool while ingest was unreachable.", {},
                static_cast<double>(s.records_sent));
    out.Counter("hisbridge_file_records_spooled_total", "Of the records sent, those that went through the spool.", {},
                static_cast<double>(s.records_spooled));
    out.Counter("hisbridge_file_rows_rejected_total",
                "Rows written to the rejects file with their reason (unparseable, refused by validation or ingest).",
                {}, static_cast<double>(s.rows_rejected));
  });
}

}  // namespace hisbridge::connectors::file
