#include "libs/eval/link_scorer.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/eval/csv_rows.h"

namespace hisbridge::eval {
namespace {

using Key = std::pair<absl::string_view, absl::string_view>;

int64_t Pairs(int64_t n) { return n * (n - 1) / 2; }

double Ratio(int64_t num, int64_t den) {
  return den == 0 ? 1.0 : static_cast<double>(num) / static_cast<double>(den);
}

double F1(double p, double r) { return p + r == 0 ? 0.0 : 2 * p * r / (p + r); }

// Per-record flags from errors.csv.
enum : uint8_t { kValidId = 1, kNameVariant = 2, kTwin = 4, kPlaceholder = 8 };

// Column positions from a header, by name.
struct Columns {
  int facility = -1, record = -1, label = -1, errors = -1;
  size_t count = 0;
};

absl::StatusOr<Columns> ReadHeader(CsvRows* rows, bool errors_file) {
  std::vector<absl::string_view> fields;
  if (!rows->Next(&fields)) {
    if (!rows->status().ok()) return rows->status();
    return absl::InvalidArgumentError(absl::StrCat(rows->name(), ": empty file (expected a header row)"));
  }
  Columns c;
  c.count = fields.size();
  for (size_t i = 0; i < fields.size(); ++i) {
    const absl::string_view f = fields[i];
    if (f == "facility_id") c.facility = static_cast<int>(i);
    if (f == "record_id") c.record = static_cast<int>(i);
    if (f == "person_id" || f == "patient_id") c.label = static_cast<int>(i);
    if (f == "errors") c.errors = static_cast<int>(i);
  }
  const bool ok = c.facility >= 0 && c.record >= 0 && (errors_file ? c.errors >= 0 : c.label >= 0);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        rows->name(), " line 1: header must name facility_id, record_id and ",
        errors_file ? "errors" : "person_id (or patient_id)", "; got \"", absl::StrJoin(fields, ","), "\""));
  }
  return c;
}

absl::Status RowError(const CsvRows& rows, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(rows.name(), " line ", rows.line(), ": ", message));
}

struct Cell {
  int64_t n = 0, valid = 0, variant = 0, twin = 0, placeholder = 0;
  void Add(uint8_t flags) {
    ++n;
    valid += (flags & kValidId) != 0;
    variant += (flags & kNameVariant) != 0;
    twin += (flags & kTwin) != 0;
    placeholder += (flags & kPlaceholder) != 0;
  }
};

}  // namespace

double PairRecall::recall() const { return Ratio(found_pairs, true_pairs); }

absl::StatusOr<LinkScores> ScoreLinks(absl::string_view truth_csv, absl::string_view pred_csv,
                                      absl::string_view errors_csv) {
  LinkScores s;
  std::vector<absl::string_view> fields;

  // Truth: record -> index, person label -> dense id.
  absl::flat_hash_map<Key, int32_t> records;
  absl::flat_hash_map<absl::string_view, int32_t> persons;
  std::vector<int32_t> person_of;
  CsvRows truth("truth", truth_csv);
  {
    auto columns = ReadHeader(&truth, false);
    if (!columns.ok()) return columns.status();
    records.reserve(truth_csv.size() / 32);
    while (truth.Next(&fields)) {
      if (fields.size() != columns->count) {
        return RowError(truth, absl::StrFormat("%d fields, the header has %d", fields.size(), columns->count));
      }
      const Key key(fields[columns->facility], fields[columns->record]);
      if (key.first.empty() || key.second.empty()) return RowError(truth, "empty facility_id or record_id");
      const absl::string_view label = fields[columns->label];
      if (label.empty()) return RowError(truth, "empty person_id");
      auto [it, inserted] = records.try_emplace(key, static_cast<int32_t>(person_of.size()));
      if (!inserted) {
        ++s.duplicate_truth_rows;
        continue;
      }
      auto [p, new_person] = persons.try_emplace(label, static_cast<int32_t>(persons.size()));
      (void)new_person;
      person_of.push_back(p->second);
    }
    if (!truth.status().ok()) return truth.status();
  }
  const size_t n = person_of.size();
  s.truth_records = static_cast<int64_t>(n);
  s.true_persons = static_cast<int64_t>(persons.size());

  // Prediction: record -> predicted cluster.
  std::vector<int32_t> cluster_of(n, -1);
  absl::flat_hash_map<absl::string_view, int32_t> clusters;
  CsvRows pred("pred", pred_csv);
  {
    auto columns = ReadHeader(&pred, false);
    if (!columns.ok()) return columns.status();
    while (pred.Next(&fields)) {
      if (fields.size() != columns->count) {
        return RowError(pred, absl::StrFormat("%d fields, the header has %d", fields.size(), columns->count));
      }
      ++s.pred_rows;
      const auto it = records.find(Key(fields[columns->facility], fields[columns->record]));
      if (it == records.end()) {
        ++s.extra_in_pred;
        continue;
      }
      if (cluster_of[it->second] >= 0) {
        ++s.duplicate_pred_rows;
        continue;
      }
      const absl::string_view label = fields[columns->label];
      if (label.empty()) return RowError(pred, "empty patient_id");
      auto [c, inserted] = clusters.try_emplace(label, static_cast<int32_t>(clusters.size()));
      (void)inserted;
      cluster_of[it->second] = c->second;
    }
    if (!pred.status().ok()) return pred.status();
  }
  int32_t next_cluster = static_cast<int32_t>(clusters.size());
  for (int32_t& c : cluster_of) {
    if (c < 0) {
      c = next_cluster++;
      ++s.missing_from_pred;
    }
  }

  // Errors: per-record flags.
  std::vector<uint8_t> flags(n, 0);
  if (!errors_csv.empty()) {
    s.has_errors = true;
    CsvRows errors("errors", errors_csv);
    auto columns = ReadHeader(&errors, true);
    if (!columns.ok()) return columns.status();
    while (errors.Next(&fields)) {
      if (fields.size() != columns->count) {
        return RowError(errors, absl::StrFormat("%d fields, the header has %d", fields.size(), columns->count));
      }
      ++s.errors_rows;
      const auto it = records.find(Key(fields[columns->facility], fields[columns->record]));
      if (it == records.end()) {
        ++s.errors_unmatched;
        continue;
      }
      uint8_t f = 0;
      for (absl::string_view tag : absl::StrSplit(fields[columns->errors], ';', absl::SkipEmpty())) {
        if (tag == "id.valid") f |= kValidId;
        if (tag == "name.homophone" || tag == "name.similar_char" || tag == "name.near_homophone" ||
            tag == "name.traditional" || tag == "name.pinyin") {
          f |= kNameVariant;
        }
        if (tag == "twin") f |= kTwin;
        if (tag == "placeholder.newborn" || tag == "placeholder.unknown") f |= kPlaceholder;
      }
      flags[it->second] = f;
    }
    if (!errors.status().ok()) return errors.status();
  }

  // The contingency table.
  std::vector<Cell> by_person(persons.size()), by_cluster(static_cast<size_t>(next_cluster));
  absl::flat_hash_map<uint64_t, Cell> cells;
  cells.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t key = (static_cast<uint64_t>(person_of[i]) << 32) | static_cast<uint32_t>(cluster_of[i]);
    cells[key].Add(flags[i]);
    by_person[person_of[i]].Add(flags[i]);
    by_cluster[cluster_of[i]].Add(flags[i]);
  }
  s.predicted_clusters = next_cluster;
  std::vector<int32_t> cells_per_person(persons.size(), 0), cells_per_cluster(static_cast<size_t>(next_cluster), 0);
  double bcubed_p = 0, bcubed_r = 0;
  int64_t placeholder_true_pairs_in_cells = 0;
  for (const auto& [key, cell] : cells) {
    const int32_t person = static_cast<int32_t>(key >> 32);
    const int32_t cluster = static_cast<int32_t>(key & 0xFFFFFFFFu);
    ++cells_per_person[person];
    ++cells_per_cluster[cluster];
    s.correct_pairs += Pairs(cell.n);
    const double nn = static_cast<double>(cell.n) * static_cast<double>(cell.n);
    bcubed_p += nn / static_cast<double>(by_cluster[cluster].n);
    bcubed_r += nn / static_cast<double>(by_person[person].n);
    s.both_valid_id.found_pairs += Pairs(cell.valid);
    s.name_variant.found_pairs += Pairs(cell.n) - Pairs(cell.n - cell.variant);
    s.twin_false_merge_pairs -= Pairs(cell.twin);
    placeholder_true_pairs_in_cells += Pairs(cell.n) - Pairs(cell.n - cell.placeholder);
  }
  s.not_both_valid_id.found_pairs = s.correct_pairs - s.both_valid_id.found_pairs;
  for (size_t p = 0; p < by_person.size(); ++p) {
    const Cell& c = by_person[p];
    s.true_pairs += Pairs(c.n);
    s.both_valid_id.true_pairs += Pairs(c.valid);
    s.name_variant.true_pairs += Pairs(c.n) - Pairs(c.n - c.variant);
    s.split_persons += cells_per_person[p] > 1;
  }
  s.not_both_valid_id.true_pairs = s.true_pairs - s.both_valid_id.true_pairs;
  for (size_t k = 0; k < by_cluster.size(); ++k) {
    const Cell& c = by_cluster[k];
    s.predicted_pairs += Pairs(c.n);
    s.twin_false_merge_pairs += Pairs(c.twin);
    s.twin_records += c.twin;
    s.placeholder_records += c.placeholder;
    s.placeholder_predicted_pairs += Pairs(c.n) - Pairs(c.n - c.placeholder);
    s.impure_clusters += cells_per_cluster[k] > 1;
    s.largest_cluster = std::max(s.largest_cluster, c.n);
  }
  s.placeholder_false_merge_pairs = s.placeholder_predicted_pairs - placeholder_true_pairs_in_cells;

  s.pair_precision = Ratio(s.correct_pairs, s.predicted_pairs);
  s.pair_recall = Ratio(s.correct_pairs, s.true_pairs);
  s.pair_f1 = F1(s.pair_precision, s.pair_recall);
  if (n > 0) {
    s.bcubed_precision = bcubed_p / static_cast<double>(n);
    s.bcubed_recall = bcubed_r / static_cast<double>(n);
  }
  s.bcubed_f1 = F1(s.bcubed_precision, s.bcubed_recall);
  return s;
}

std::string FormatScores(const LinkScores& s) {
  std::string out;
  auto line = [&](const std::string& text) { absl::StrAppend(&out, text, "\n"); };
  line(absl::StrFormat("records      %d in truth; prediction has %d rows (%d truth records missing, scored as "
                       "singletons; %d not in truth, ignored%s)",
                       s.truth_records, s.pred_rows, s.missing_from_pred, s.extra_in_pred,
                       s.duplicate_pred_rows + s.duplicate_truth_rows > 0
                           ? absl::StrFormat("; %d duplicate truth rows, %d duplicate prediction rows",
                                             s.duplicate_truth_rows, s.duplicate_pred_rows)
                           : ""));
  line(absl::StrFormat("clusters     %d true persons, %d predicted clusters (%d persons split, %d clusters "
                       "merging persons, largest %d records)",
                       s.true_persons, s.predicted_clusters, s.split_persons, s.impure_clusters, s.largest_cluster));
  line("");
  line("                precision  recall     F1");
  line(absl::StrFormat("pairwise        %-10.4f %-10.4f %.4f   (%d correct of %d predicted, %d true pairs)",
                       s.pair_precision, s.pair_recall, s.pair_f1, s.correct_pairs, s.predicted_pairs, s.true_pairs));
  line(absl::StrFormat("B-cubed         %-10.4f %-10.4f %.4f", s.bcubed_precision, s.bcubed_recall, s.bcubed_f1));
  if (!s.has_errors) {
    line("");
    line("(no errors file: strata and twin / placeholder figures need --errors)");
    return out;
  }
  line("");
  line("recall by stratum                                 recall     found / true pairs");
  auto stratum = [&](absl::string_view name, const PairRecall& r) {
    line(absl::StrFormat("  %-46s  %-10.4f %d / %d", name, r.recall(), r.found_pairs, r.true_pairs));
  };
  stratum("both records carry a valid resident id", s.both_valid_id);
  stratum("at least one record without a valid id", s.not_both_valid_id);
  stratum("a homophone / variant / pinyin name error", s.name_variant);
  line("");
  line(absl::StrFormat("false merges among twins          %d pairs (%d twin records)", s.twin_false_merge_pairs,
                       s.twin_records));
  line(absl::StrFormat("false merges with placeholders    %d pairs of %d predicted pairs involving one (%d "
                       "placeholder records)",
                       s.placeholder_false_merge_pairs, s.placeholder_predicted_pairs, s.placeholder_records));
  if (s.errors_unmatched > 0) {
    line(absl::StrFormat("(%d errors rows name records not in the truth)", s.errors_unmatched));
  }
  return out;
}

std::string ScoresToJson(const LinkScores& s) {
  auto num = [](double v) { return absl::StrFormat("%.6f", v); };
  auto stratum = [&](const PairRecall& r) {
    return absl::StrCat("{\"true_pairs\":", r.true_pairs, ",\"found_pairs\":", r.found_pairs,
                        ",\"recall\":", num(r.recall()), "}");
  };
  std::string out = absl::StrCat(
      "{\"records\":{\"truth\":", s.truth_records, ",\"pred_rows\":", s.pred_rows,
      ",\"missing_from_pred\":", s.missing_from_pred, ",\"extra_in_pred\":", s.extra_in_pred,
      ",\"duplicate_truth_rows\":", s.duplicate_truth_rows, ",\"duplicate_pred_rows\":", s.duplicate_pred_rows,
      "},\"clusters\":{\"true_persons\":", s.true_persons, ",\"predicted\":", s.predicted_clusters,
      ",\"split_persons\":", s.split_persons, ",\"impure_clusters\":", s.impure_clusters,
      ",\"largest\":", s.largest_cluster, "}");
  absl::StrAppend(&out, ",\"pairwise\":{\"precision\":", num(s.pair_precision), ",\"recall\":", num(s.pair_recall),
                  ",\"f1\":", num(s.pair_f1), ",\"true_pairs\":", s.true_pairs,
                  ",\"predicted_pairs\":", s.predicted_pairs, ",\"correct_pairs\":", s.correct_pairs, "}");
  absl::StrAppend(&out, ",\"bcubed\":{\"precision\":", num(s.bcubed_precision), ",\"recall\":", num(s.bcubed_recall),
                  ",\"f1\":", num(s.bcubed_f1), "}");
  if (s.has_errors) {
    absl::StrAppend(&out, ",\"strata\":{\"both_valid_id\":", stratum(s.both_valid_id),
                    ",\"not_both_valid_id\":", stratum(s.not_both_valid_id),
                    ",\"name_variant\":", stratum(s.name_variant), "}");
    absl::StrAppend(&out, ",\"false_merges\":{\"twin_pairs\":", s.twin_false_merge_pairs,
                    ",\"twin_records\":", s.twin_records, ",\"placeholder_pairs\":", s.placeholder_false_merge_pairs,
                    ",\"placeholder_predicted_pairs\":", s.placeholder_predicted_pairs,
                    ",\"placeholder_records\":", s.placeholder_records, "}");
    absl::StrAppend(&out, ",\"errors\":{\"rows\":", s.errors_rows, ",\"unmatched\":", s.errors_unmatched, "}");
  }
  out += "}";
  return out;
}

}  // namespace hisbridge::eval
