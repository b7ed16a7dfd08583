// hisbridge link: batch backfill of a JSON Lines file into the link CSV.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/base/file_util.h"
#include "libs/base/json_escape.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/eval/csv_rows.h"
#include "libs/linker/link_diagnostics.h"
#include "libs/linker/batch_linker.h"
#include "libs/match/matcher.h"
#include "libs/records/facility_directory.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {
namespace {

// A one-line progress bar on a terminal: bytes read of the file.
class ProgressBar {
 public:
  explicit ProgressBar(const std::string& path) {
    struct stat st;
    total_ = path != "-" && ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
    enabled_ = ::isatty(STDERR_FILENO) && total_ > 0;
    started_ = absl::Now();
  }
  void Update(int64_t bytes) {
    if (!enabled_) return;
    if (bytes < 0) {
      std::fputs("\r\033[K", stderr);
      return;
    }
    const double fraction = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_));
    const int filled = static_cast<int>(fraction * 30);
    std::fprintf(stderr, "\r[%s%s] %3.0f%%  %.1fs", std::string(filled, '#').c_str(),
                 std::string(30 - filled, '.').c_str(), fraction * 100,
                 absl::ToDoubleSeconds(absl::Now() - started_));
  }

 private:
  int64_t total_ = 0;
  bool enabled_ = false;
  absl::Time started_;
};

// facility_id,record_id,person_id (the header row is skipped).
absl::StatusOr<linker::TruthMap> LoadTruth(const std::string& path) {
  HB_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  eval::CsvRows rows(path, text);
  std::vector<absl::string_view> fields;
  linker::TruthMap truth;
  bool header = true;
  while (rows.Next(&fields)) {
    if (header) {
      header = false;
      if (!fields.empty() && fields[0] == "facility_id") continue;
    }
    if (fields.size() < 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", rows.line(), ": expected facility_id,record_id,person_id"));
    }
    truth[{std::string(fields[0]), std::string(fields[1])}] = std::string(fields[2]);
  }
  HB_RETURN_IF_ERROR(rows.status());
  return truth;
}

}  // namespace

int LinkCommand(int argc, char** argv) {
  std::string input, output = "links.csv", matcher_name = "fs", model, facilities_file, rejects_file;
  std::string default_region = "000000";
  std::string truth_file, diagnostics_file;
  int examples = 20;
  int show_rejections = 10;
  // Parsing and preparing run beside the one linking thread; beyond a few
  // preparers the linking thread is the limit.
  int threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  LogFlags logging;
  FlagSet flags("link",
                "Link the patient records of a JSON Lines file in batch with the same engine as the streaming "
                "linker, and write facility_id,record_id,patient_id for every live record.");
  flags.String("input", &input, "JSON Lines file (spec/county-records.md)", /*required=*/true);
  flags.String("output", &output, "link CSV to write (- for standard output)");
  flags.String("matcher", &matcher_name,
               "fs: probabilistic Fellegi-Sunter (the default); id-exact: same valid 18-digit resident id, else a new "
               "patient (the baseline most county HIS use)");
  flags.String("model", &model, "model file for --matcher=fs (hisbridge train); empty for the built-in model");
  flags.String("facilities", &facilities_file, "facility directory CSV (facility_id,name,region,tier)");
  flags.String("default-region", &default_region, "region of facilities not in the directory");
  flags.String("rejects", &rejects_file, "write rejected lines with their errors to this file (JSON Lines)");
  flags.Int("show-rejections", &show_rejections, "how many rejected lines to print");
  flags.Int("threads", &threads,
            "threads in all: one links in file order, the others parse and prepare records (default: the cores, "
            "at most 4)");
  flags.String("truth", &truth_file,
               "truth CSV (facility_id,record_id,person_id, e.g. from hisbridge gen): print blocking recall and why "
               "pairs were missed or falsely linked");
  flags.String("diagnostics", &diagnostics_file,
               "with --truth: write example missed and false pairs with explanations (JSON Lines)");
  flags.Int("examples", &examples, "with --diagnostics: examples kept per cause");
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  absl::Status s = logging.Apply();
  if (!s.ok()) {
    std::cerr << "hisbridge link: " << s.message() << "\n";
    return 2;
  }
  auto made = match::MakeMatcher(matcher_name, model);
  if (!made.ok()) {
    std::cerr << "hisbridge link: " << made.status().message() << "\n";
    return 2;
  }
  std::unique_ptr<match::Matcher> matcher = std::move(*made);
  records::FacilityDirectory facilities(default_region);
  if (!facilities_file.empty()) {
    auto loaded = records::FacilityDirectory::Load(facilities_file, default_region);
    if (!loaded.ok()) {
      std::cerr << "hisbridge link: " << loaded.status().message() << "\n";
      return 2;
    }
    facilities = std::move(*loaded);
  }
  linker::EngineOptions engine_options;
  engine_options.keep_history = false;
  engine_options.keep_records = false;  // only the links are written: identity and match form suffice
  linker::LinkEngine engine(matcher.get(), &facilities, engine_options);
  // Freeing the index of a million records takes seconds and the process
  // exits right after: the linker is deliberately never destroyed (held by
  // a static, so leak checkers see it as reachable).
  static linker::BatchLinker* batch_holder;
  if (threads < 1) {
    std::cerr << "hisbridge link: --threads must be at least 1\n";
    return 2;
  }
  batch_holder = new linker::BatchLinker(&engine, &facilities, threads);
  linker::BatchLinker& batch = *batch_holder;

  FILE* rejects = nullptr;
  if (!rejects_file.empty()) {
    rejects = std::fopen(rejects_file.c_str(), "w");
    if (rejects == nullptr) {
      std::cerr << "hisbridge link: cannot write " << rejects_file << "\n";
      return 1;
    }
  }
  int shown = 0;
  auto on_reject = [&](int64_t line, absl::string_view raw, const std::vector<hisbridge::v1::FieldIssue>& errors) {
    if (shown < show_rejections) {
      std::cerr << "line " << line << ": " << (errors.empty() ? "rejected" : errors[0].message()) << "\n";
      ++shown;
    }
    if (rejects != nullptr) {
      std::string json = absl::StrCat("{\"line\":", line, ",\"errors\":[");
      for (size_t i = 0; i < errors.size(); ++i) {
        std::string message;
        AppendJsonEscaped(errors[i].message(), &message);
        absl::StrAppend(&json, i ? "," : "", "{\"field\":\"", errors[i].field(), "\",\"rule\":\"", errors[i].rule(),
                        "\",\"message\":\"", message, "\"}");
      }
      std::string raw_escaped;
      AppendJsonEscaped(raw, &raw_escaped);
      absl::StrAppend(&json, "],\"raw\":\"", raw_escaped, "\"}\n");
      std::fputs(json.c_str(), rejects);
    }
  };
  ProgressBar progress(input);
  const absl::Time started = absl::Now();
  s = batch.AddFile(input, on_reject, [&](int64_t bytes) { progress.Update(bytes); });
  if (rejects != nullptr) std::fclose(rejects);
  if (!s.ok()) {
    std::cerr << "hisbridge link: " << s.message() << "\n";
    return 1;
  }
  s = batch.WriteLinks(output);
  if (!s.ok()) {
    std::cerr << "hisbridge link: " << s.message() << "\n";
    return 1;
  }
  const absl::Duration elapsed = absl::Now() - started;
  const linker::BatchLinkStats stats = batch.Stats();
  std::cerr << absl::StrFormat(
      "decisions: %d auto links, %d new patients, %d review items (%d matching several patients), %d links to the "
      "clearly best of several, %d candidates held back by a facility's own second record, %d oversized blocks "
      "skipped\n",
      stats.engine.auto_links, stats.engine.new_patients, stats.engine.review_items,
      stats.engine.reviews_several_patients, stats.engine.clear_best_links, stats.engine.facility_conflicts,
      stats.engine.oversized_blocks_skipped);
  if (!truth_file.empty()) {
    auto truth = LoadTruth(truth_file);
    if (!truth.ok()) {
      std::cerr << "hisbridge link: " << truth.status().message() << "\n";
      return 1;
    }
    const linker::LinkDiagnostics d = linker::Diagnose(batch.Regions(), engine, *truth, examples);
    std::cerr << linker::FormatDiagnostics(d);
    if (!diagnostics_file.empty()) {
      s = WriteFileAtomically(diagnostics_file, linker::ExamplesToJsonLines(d));
      if (!s.ok()) {
        std::cerr << "hisbridge link: " << s.message() << "\n";
        return 1;
      }
    }
  }
  std::cerr << absl::StrFormat(
      "linked %d patient records (%d lines, %d clinical events, %d rejected) into %d patients; %d review items; "
      "matcher %s; %.2fs (%.0f records/s) -> %s\n",
      stats.patient_records, stats.lines, stats.clinical_events, stats.rejected, stats.patients, stats.review_items,
      matcher->version(), absl::ToDoubleSeconds(elapsed),
      stats.patient_records / std::max(1e-9, absl::ToDoubleSeconds(elapsed)), output);
  return 0;
}

}  // namespace hisbridge::cli
