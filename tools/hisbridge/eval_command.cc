// hisbridge eval: score a link CSV against the truth of a synthetic county
// (libs/eval).
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/base/file_util.h"
#include "libs/eval/link_scorer.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {

int EvalCommand(int argc, char** argv) {
  std::string truth_file, pred_file, errors_file;
  bool json = false;
  FlagSet flags("eval",
                "Score a predicted linkage (facility_id,record_id,patient_id, as hisbridge link writes it) against "
                "the truth (facility_id,record_id,person_id, as hisbridge gen writes it): pairwise and B-cubed "
                "precision, recall and F1, clusters, recall by stratum and false merges among twins and "
                "placeholders. See docs/synthetic-county.md for the definitions.");
  flags.String("truth", &truth_file, "truth CSV (facility_id,record_id,person_id)", /*required=*/true);
  flags.String("pred", &pred_file, "predicted link CSV (facility_id,record_id,patient_id)", /*required=*/true);
  flags.String("errors", &errors_file,
               "errors CSV (facility_id,record_id,person_id,errors); default: errors.csv beside --truth when it "
               "exists; \"none\" to skip");
  flags.Bool("json", &json, "print one JSON object instead of the table");
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;

  if (errors_file.empty()) {
    const size_t slash = truth_file.rfind('/');
    const std::string beside =
        (slash == std::string::npos ? std::string() : truth_file.substr(0, slash + 1)) + "errors.csv";
    if (PathExists(beside)) errors_file = beside;
  } else if (errors_file == "none") {
    errors_file.clear();
  }
  const absl::Time started = absl::Now();
  auto truth = ReadFileToString(truth_file);
  auto pred = truth.ok() ? ReadFileToString(pred_file) : truth;
  absl::StatusOr<std::string> errors = std::string();
  if (pred.ok() && !errors_file.empty()) errors = ReadFileToString(errors_file);
  for (const auto* s : {&truth, &pred, &errors}) {
    if (!s->ok()) {
      std::cerr << "hisbridge eval: " << s->status().message() << "\n";
      return 1;
    }
  }
  auto scores = eval::ScoreLinks(*truth, *pred, *errors);
  if (!scores.ok()) {
    std::cerr << "hisbridge eval: " << scores.status().message() << "\n";
    return 1;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  if (json) {
    std::cout << eval::ScoresToJson(*scores) << "\n";
  } else {
    std::cout << "truth " << truth_file << "\npred  " << pred_file << "\n";
    if (!errors_file.empty()) std::cout << "errors " << errors_file << "\n";
    std::cout << "\n" << eval::FormatScores(*scores);
  }
  std::cerr << absl::StrFormat("scored %d records in %.2fs\n", scores->truth_records, seconds);
  return 0;
}

}  // namespace hisbridge::cli
