// hisbridge gen: write a synthetic county with ground truth (libs/synth).
#include <algorithm>
#include <iostream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "libs/base/file_util.h"
#include "libs/synth/generator.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {
namespace {

bool ParseDay(const std::string& text, absl::CivilDay* day) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  int y, m, d;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &y) || !absl::SimpleAtoi(parts[1], &m) ||
      !absl::SimpleAtoi(parts[2], &d)) {
    return false;
  }
  *day = absl::CivilDay(y, m, d);
  return day->year() == y && day->month() == m && day->day() == d;
}

}  // namespace

int GenCommand(int argc, char** argv) {
  synth::GenOptions options;
  int64_t people = 1000, seed = 1;
  std::string out, county = options.county, rates_file, start = "2023-01-01", end = "2025-12-31";
  double scale = 1.0;
  bool print_rates = false;
  int threads = static_cast<int>(std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
  FlagSet flags("gen",
                "Generate a synthetic county medical community with ground truth: DIR/records.jsonl (patient "
                "records and clinical events), DIR/truth.csv, DIR/errors.csv and DIR/facilities.csv. The same "
                "seed gives the same bytes. See docs/synthetic-county.md.");
  flags.Int("people", &people, "residents of the county to generate");
  flags.Int("seed", &seed, "random seed");
  flags.String("out", &out, "output directory (created if missing)");
  flags.String("county", &county, "6-digit Guangxi county code (the region table has villages for Guangxi only)");
  flags.String("start", &start, "first day of the records' window (YYYY-MM-DD)");
  flags.String("end", &end, "last day of the records' window (YYYY-MM-DD)");
  flags.Double("events", &options.events_per_record, "mean clinical events per patient record (0: none)");
  flags.String("error-rates", &rates_file, "file of name=value rates overriding the defaults");
  flags.Double("error-scale", &scale, "multiply every record-error rate by this (0: clean data)");
  flags.Bool("print-default-rates", &print_rates, "print every rate with its default and meaning, and exit");
  flags.Int("threads", &threads, "worker threads (the output does not depend on it)");
  flags.SetEpilog(
      "Example:\n"
      "  hisbridge gen --people 20000 --seed 7 --out /tmp/county\n"
      "  hisbridge link --input /tmp/county/records.jsonl --facilities /tmp/county/facilities.csv "
      "--output /tmp/links.csv\n"
      "  hisbridge eval --truth /tmp/county/truth.csv --pred /tmp/links.csv\n");
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  if (print_rates) {
    std::cout << synth::ErrorRates().ToText();
    return 0;
  }
  auto usage = [](const std::string& message) {
    std::cerr << "hisbridge gen: " << message << "\n";
    return 2;
  };
  if (out.empty()) return usage("--out is required");
  if (people < 1) return usage("--people must be at least 1");
  if (!(scale >= 0)) return usage("--error-scale must be >= 0");
  if (!(options.events_per_record >= 0 && options.events_per_record <= 100)) {
    return usage("--events must be between 0 and 100");
  }
  if (!ParseDay(start, &options.start)) return usage("--start must be a date YYYY-MM-DD, not \"" + start + "\"");
  if (!ParseDay(end, &options.end)) return usage("--end must be a date YYYY-MM-DD, not \"" + end + "\"");
  if (!rates_file.empty()) {
    auto text = ReadFileToString(rates_file);
    if (!text.ok()) return usage(std::string(text.status().message()));
    absl::Status s = options.rates.Parse(*text);
    if (!s.ok()) return usage(absl::StrFormat("%s: %s", rates_file, s.message()));
  }
  options.rates.Scale(scale);
  options.people = people;
  options.seed = static_cast<uint64_t>(seed);
  options.county = county;
  options.threads = std::max(1, threads);
  options.keep_final_fields = false;

  const absl::Time started = absl::Now();
  auto dataset = synth::Generate(options);
  if (!dataset.ok()) {
    std::cerr << "hisbridge gen: " << dataset.status().message() << "\n";
    return dataset.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  const absl::Time generated = absl::Now();
  absl::Status s = dataset->Write(out);
  if (!s.ok()) {
    std::cerr << "hisbridge gen: " << s.message() << "\n";
    return 1;
  }
  const synth::GenStats& st = dataset->stats();
  const synth::County& c = dataset->county();
  std::cerr << absl::StrFormat(
      "county %s %s: %d townships, %d villages, %d facilities\n"
      "%d residents + %d unidentified emergency patients; %d source records (%d live); %d lines: %d patient, "
      "%d merge, %d delete, %d clinical events (%d delivered late)\n"
      "generated in %.2fs (population %.2fs, plan %.2fs, render %.2fs, order %.2fs), written in %.2fs -> "
      "%s/{records.jsonl,truth.csv,errors.csv,facilities.csv}\n",
      c.code, c.name, c.townships.size(), c.villages.size(), c.facilities.size(), st.residents, st.strangers,
      st.source_records, st.live_records, dataset->line_count(), st.patient_lines, st.merge_lines, st.delete_lines,
      st.event_lines, st.late_lines, absl::ToDoubleSeconds(generated - started), st.seconds_population,
      st.seconds_plan, st.seconds_render, st.seconds_order,
      absl::ToDoubleSeconds(absl::Now() - generated), out);
  return 0;
}

}  // namespace hisbridge::cli
