#include "libs/report/report_format.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "libs/core/utf8.h"
#include "libs/report/data_quality.h"

namespace hisbridge::report {
namespace {

bool IsWide(char32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) || (c >= 0x3041 && c <= 0x33FF) ||
         (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
         (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD);
}

// `text` cut to at most `width` columns (an ellipsis marks the cut).
std::string Truncate(absl::string_view text, size_t width) {
  if (DisplayWidth(text) <= width) return std::string(text);
  std::string out;
  size_t used = 0, pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    char32_t c = 0;
    if (!core::DecodeUtf8(text, &pos, &c)) {
      c = '?';
      pos = start + 1;
    }
    const size_t w = IsWide(c) ? 2 : 1;
    if (used + w + 1 > width) break;
    out.append(text.data() + start, pos - start);
    used += w;
  }
  out.append("~");
  return out;
}

std::string PadRight(absl::string_view text, size_t width) {
  std::string out(text);
  const size_t w = DisplayWidth(text);
  if (w < width) out.append(width - w, ' ');
  return out;
}

std::string PadLeft(absl::string_view text, size_t width) {
  const size_t w = DisplayWidth(text);
  return absl::StrCat(std::string(w < width ? width - w : 0, ' '), text);
}

std::string Percent(double share) { return absl::StrFormat("%.1f", share * 100.0); }

double Filled(const hisbridge::v1::FacilityQuality& f, absl::string_view field) {
  for (const auto& c : f.completeness()) {
    if (c.field() == field) return c.filled();
  }
  return 0;
}

const hisbridge::v1::FieldCompleteness* FindField(const hisbridge::v1::FacilityQuality& f, absl::string_view field) {
  for (const auto& c : f.completeness()) {
    if (c.field() == field) return &c;
  }
  return nullptr;
}

// Every facility together: each share weighted by its own denominator.
hisbridge::v1::FacilityQuality Total(const hisbridge::v1::DataQualityReport& report) {
  hisbridge::v1::FacilityQuality total;
  total.set_facility_id("");
  total.set_facility_name("all facilities");
  double records = 0, ids = 0;
  std::map<std::string, double> filled, invalid;
  double bad_ids = 0, duplicates = 0, auto_links = 0, reviews = 0, new_patients = 0;
  std::map<std::string, int64_t> rejects;
  for (const auto& f : report.facilities()) {
    const double n = static_cast<double>(f.records());
    records += n;
    for (const auto& c : f.completeness()) {
      filled[c.field()] += c.filled() * n;
      invalid[c.field()] += c.invalid() * n;
    }
    const double with_id = Filled(f, "id_number") * n;
    ids += with_id;
    bad_ids += f.invalid_id_rate() * with_id;
    duplicates += f.in_facility_duplicate_rate() * n;
    auto_links += f.auto_link_rate() * n;
    reviews += f.review_rate() * n;
    new_patients += f.new_patient_rate() * n;
    for (const auto& [reason, count] : f.rejects_by_reason()) rejects[reason] += count;
  }
  const auto share = [](double part, double whole) { return whole > 0 ? part / whole : 0.0; };
  total.set_records(static_cast<int64_t>(records + 0.5));
  for (const char* field : kReportFields) {
    auto* c = total.add_completeness();
    c->set_field(field);
    c->set_filled(share(filled[field], records));
    c->set_invalid(share(invalid[field], records));
  }
  total.set_invalid_id_rate(share(bad_ids, ids));
  total.set_in_facility_duplicate_rate(share(duplicates, records));
  total.set_auto_link_rate(share(auto_links, records));
  total.set_review_rate(share(reviews, records));
  total.set_new_patient_rate(share(new_patients, records));
  for (const auto& [reason, count] : rejects) (*total.mutable_rejects_by_reason())[reason] = count;
  return total;
}

std::string CsvField(absl::string_view value) {
  if (value.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

size_t DisplayWidth(absl::string_view text) {
  size_t width = 0, pos = 0;
  while (pos < text.size()) {
    char32_t c = 0;
    if (!core::DecodeUtf8(text, &pos, &c)) {
      ++pos;
      ++width;
      continue;
    }
    width += IsWide(c) ? 2 : 1;
  }
  return width;
}

std::vector<std::pair<std::string, int64_t>> SortedRejects(const hisbridge::v1::FacilityQuality& facility) {
  std::vector<std::pair<std::string, int64_t>> out(facility.rejects_by_reason().begin(),
                                                   facility.rejects_by_reason().end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  return out;
}

std::string FormatTable(const hisbridge::v1::DataQualityReport& report, const TableOptions& options) {
  struct Column {
    std::string title;
    bool left = false;
  };
  const std::vector<Column> columns = {
      {"facility", true}, {"facility name", true}, {"records"},   {"name%"}, {"sex%"},    {"birth%"}, {"id%"},
      {"phone%"},         {"addr%"},      {"bad-id%"},   {"dup%"},  {"auto%"},   {"review%"}, {"new%"},
      {"rejects", true},
  };
  std::vector<std::vector<std::string>> rows;
  const auto row_of = [&](const hisbridge::v1::FacilityQuality& f, const std::string& id) {
    std::vector<std::string> row;
    row.push_back(id);
    row.push_back(Truncate(f.facility_name(), 24));
    row.push_back(absl::StrCat(f.records()));
    for (const char* field : kReportFields) row.push_back(Percent(Filled(f, field)));
    row.push_back(Percent(f.invalid_id_rate()));
    row.push_back(Percent(f.in_facility_duplicate_rate()));
    row.push_back(Percent(f.auto_link_rate()));
    row.push_back(Percent(f.review_rate()));
    row.push_back(Percent(f.new_patient_rate()));
    const auto rejects = SortedRejects(f);
    std::vector<std::string> shown;
    for (size_t i = 0; i < rejects.size() && static_cast<int>(i) < options.max_reasons; ++i) {
      shown.push_back(absl::StrCat(rejects[i].second, " ", rejects[i].first));
    }
    if (rejects.size() > shown.size()) shown.push_back(absl::StrCat("+", rejects.size() - shown.size(), " more"));
    row.push_back(shown.empty() ? "-" : absl::StrJoin(shown, ", "));
    return row;
  };
  for (const auto& f : report.facilities()) rows.push_back(row_of(f, f.facility_id().empty() ? "-" : f.facility_id()));
  const size_t facility_rows = rows.size();
  rows.push_back(row_of(Total(report), "TOTAL"));

  std::vector<size_t> widths(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) widths[i] = DisplayWidth(columns[i].title);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out.append("  ");
      const bool last = i + 1 == cells.size();
      if (columns[i].left) {
        out.append(last ? cells[i] : PadRight(cells[i], widths[i]));
      } else {
        out.append(PadLeft(cells[i], widths[i]));
      }
    }
    out.push_back('\n');
    return out;
  };

  std::string out;
  for (const std::string& h : options.heading) absl::StrAppend(&out, h, "\n");
  if (!options.heading.empty()) out.push_back('\n');
  std::vector<std::string> titles;
  for (const Column& c : columns) titles.push_back(c.title);
  out.append(line(titles));
  size_t rule_width = 0;
  for (size_t i = 0; i + 1 < widths.size(); ++i) rule_width += widths[i] + 2;
  rule_width += widths.back();
  const std::string rule(rule_width, '-');
  absl::StrAppend(&out, rule, "\n");
  for (size_t r = 0; r < facility_rows; ++r) out.append(line(rows[r]));
  if (facility_rows == 0) out.append("(no facility has records or rejects in this scope)\n");
  absl::StrAppend(&out, rule, "\n");
  out.append(line(rows.back()));
  out.append(
      "\n"
      "records   live patient records (newest version; deleted and merged-away records do not count)\n"
      "name%..addr%  records with the field filled (addr: address or address_code)\n"
      "bad-id%   id_number present but failing GB 11643, of the records with an id_number\n"
      "dup%      records sharing their unified patient with another record of the same facility\n"
      "auto%     linked automatically; review%: waiting for a data steward; new%: started a patient\n"
      "rejects   rejected lines by field:rule (a line counts once per distinct reason)\n"
      "Invalid values per field are in --format=csv. Definitions: docs/operations.md, \"Data-quality report\".\n");
  return out;
}

std::string FormatCsv(const hisbridge::v1::DataQualityReport& report) {
  std::vector<std::string> header = {"facility_id", "facility_name", "records"};
  for (const char* field : kReportFields) {
    header.push_back(absl::StrCat(field, "_filled"));
    header.push_back(absl::StrCat(field, "_invalid"));
  }
  for (const char* name : {"invalid_id_rate", "in_facility_duplicate_rate", "auto_link_rate", "review_rate",
                           "new_patient_rate", "rejects_by_reason"}) {
    header.push_back(name);
  }
  std::string out = absl::StrCat(absl::StrJoin(header, ","), "\n");
  const auto fraction = [](double v) { return absl::StrFormat("%.6f", v); };
  for (const auto& f : report.facilities()) {
    std::vector<std::string> row = {CsvField(f.facility_id()), CsvField(f.facility_name()), absl::StrCat(f.records())};
    for (const char* field : kReportFields) {
      const hisbridge::v1::FieldCompleteness* c = FindField(f, field);
      row.push_back(fraction(c != nullptr ? c->filled() : 0));
      row.push_back(fraction(c != nullptr ? c->invalid() : 0));
    }
    row.push_back(fraction(f.invalid_id_rate()));
    row.push_back(fraction(f.in_facility_duplicate_rate()));
    row.push_back(fraction(f.auto_link_rate()));
    row.push_back(fraction(f.review_rate()));
    row.push_back(fraction(f.new_patient_rate()));
    std::vector<std::string> reasons;
    for (const auto& [reason, count] : SortedRejects(f)) reasons.push_back(absl::StrCat(reason, "=", count));
    row.push_back(CsvField(absl::StrJoin(reasons, ";")));
    absl::StrAppend(&out, absl::StrJoin(row, ","), "\n");
  }
  return out;
}

}  // namespace hisbridge::report
