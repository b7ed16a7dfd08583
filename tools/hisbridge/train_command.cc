// hisbridge train: estimates a Fellegi-Sunter model from a county's records.
#include <iostream>
#include <memory>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/base/time_format.h"
#include "libs/linker/batch_linker.h"
#include "libs/match/em.h"
#include "libs/match/fs_matcher.h"
#include "libs/records/facility_directory.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {

int TrainCommand(int argc, char** argv) {
  std::string input, out = "model.json", start_model, facilities_file, default_region = "000000";
  std::string name = "fs-county", version, description;
  int64_t reference_records = 0, random_pairs = 2000000, seed = 1;
  double upper_precision = 0.999, lower_precision = 0.5;
  LogFlags logging;
  FlagSet flags("train",
                "Estimate a Fellegi-Sunter matching model from a county's records: u from random pairs, m by EM on "
                "candidate pairs, thresholds from the posterior probability of a match. The records need no labels.");
  flags.String("input", &input, "JSON Lines file of the county's records (spec/county-records.md)", /*required=*/true);
  flags.String("out", &out, "model file to write (JSON)");
  flags.String("start-model", &start_model, "model whose m values start EM (default: the built-in model)");
  flags.String("facilities", &facilities_file, "facility directory CSV (facility_id,name,region,tier)");
  flags.String("default-region", &default_region, "region of facilities not in the directory");
  flags.String("name", &name, "model name recorded in every decision");
  flags.String("version", &version, "model version (default: today's date)");
  flags.String("description", &description, "free text stored in the model file");
  flags.Int("reference-records", &reference_records,
            "county size (records) the thresholds are set for; 0 = the input's size");
  flags.Int("random-pairs", &random_pairs, "random record pairs sampled to estimate u");
  flags.Int("seed", &seed, "seed of the random pair sample");
  flags.Double("upper-precision", &upper_precision, "posterior probability of a match at the upper threshold");
  flags.Double("lower-precision", &lower_precision, "posterior probability of a match at the lower threshold");
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  absl::Status s = logging.Apply();
  if (s.ok() && !(upper_precision > lower_precision && upper_precision < 1 && lower_precision > 0)) {
    s = absl::InvalidArgumentError("--upper-precision and --lower-precision must satisfy 0 < lower < upper < 1");
  }
  if (!s.ok()) {
    std::cerr << "hisbridge train: " << s.message() << "\n";
    return 2;
  }
  auto starting = start_model.empty() ? absl::StatusOr<match::FsModel>(match::FsModel::Default())
                                      : match::FsModel::Load(start_model);
  if (!starting.ok()) {
    std::cerr << "hisbridge train: " << starting.status().message() << "\n";
    return 2;
  }
  records::FacilityDirectory facilities(default_region);
  if (!facilities_file.empty()) {
    auto loaded = records::FacilityDirectory::Load(facilities_file, default_region);
    if (!loaded.ok()) {
      std::cerr << "hisbridge train: " << loaded.status().message() << "\n";
      return 2;
    }
    facilities = std::move(*loaded);
  }

  // Reading and preparing go through the batch linker, so the records
  // trained on are exactly the live, latest versions the linker would see
  // (deletes, facility merges and stale versions applied).
  const absl::Time started = absl::Now();
  match::FsMatcher matcher(*starting);
  linker::EngineOptions engine_options;
  engine_options.keep_history = false;
  engine_options.keep_records = false;  // only the links are written: identity and match form suffice
  linker::LinkEngine engine(&matcher, &facilities, engine_options);
  linker::BatchLinker batch(&engine, &facilities);
  int64_t rejected = 0;
  s = batch.AddFile(input, [&](int64_t, absl::string_view, const std::vector<hisbridge::v1::FieldIssue>&) {
    ++rejected;
  });
  if (!s.ok()) {
    std::cerr << "hisbridge train: " << s.message() << "\n";
    return 1;
  }
  std::vector<match::MatchRecord> records;
  for (const linker::RegionState* state : batch.Regions()) {
    for (linker::RecordHandle h = 0; h < state->record_count(); ++h) {
      const linker::RecordState& r = state->record(h);
      if (r.live() && !r.patient_id().empty()) records.push_back(r.match);
    }
  }

  match::TrainingOptions options;
  options.name = name;
  options.version = version.empty() ? FormatRfc3339(absl::Now()).substr(0, 10) : version;
  options.description = description;
  options.input = input;
  options.reference_records = reference_records;
  options.random_pairs = random_pairs;
  options.seed = static_cast<uint64_t>(seed);
  options.upper_precision = upper_precision;
  options.lower_precision = lower_precision;
  match::TrainingReport report;
  auto model = match::Train(records, *starting, options, &report);
  if (!model.ok()) {
    std::cerr << "hisbridge train: " << model.status().message() << "\n";
    return 1;
  }
  s = model->Save(out);
  if (!s.ok()) {
    std::cerr << "hisbridge train: " << s.message() << "\n";
    return 1;
  }
  std::cerr << absl::StrFormat("trained %s on %d live patient records (%d lines rejected); %d random pairs\n",
                               model->id(), report.records, rejected, report.random_pairs);
  for (const auto& session : report.sessions) {
    std::cerr << absl::StrFormat("  EM on pairs sharing %-3s %9d pairs, %4d iterations%s, lambda %.4f\n",
                                 session.blocking, session.pairs, session.iterations,
                                 session.converged ? "" : " (not converged)", session.lambda);
  }
  std::cerr << absl::StrFormat(
      "  %d candidate pairs, %.0f expected same-person pairs; thresholds upper %.2f lower %.2f\n",
      report.candidate_pairs, report.expected_matches, model->thresholds().upper, model->thresholds().lower);
  for (size_t f = 0; f < match::kFieldCount; ++f) {
    const match::Field field = static_cast<match::Field>(f);
    std::string line = absl::StrFormat("  %-12s", match::FieldName(field));
    const auto names = match::LevelNames(field);
    for (size_t l = 0; l < names.size(); ++l) {
      absl::StrAppendFormat(&line, " %s %+.1f", names[l], model->weight(field, static_cast<uint8_t>(l)));
    }
    std::cerr << line << "\n";
  }
  std::cerr << absl::StrFormat("wrote %s in %.1fs\n", out, absl::ToDoubleSeconds(absl::Now() - started));
  return 0;
}

}  // namespace hisbridge::cli
