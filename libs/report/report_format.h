// Printing a DataQualityReport (`hisbridge report`): an aligned table for
// people, CSV for spreadsheets and scripts. Both print exactly the figures
// of the report (data_quality.h defines them), whatever source it came
// from, including a report received over gRPC.
//
//   table  one row per facility: records, filled % of each field, invalid
//          id %, in-facility duplicate %, auto-link / review / new-patient
//          %, and the rejects by reason; then a row for all facilities
//          together (each share weighted by its own denominator) and a key
//          to the columns. Columns are aligned by display width (a Han
//          character takes two columns).
//   csv    RFC 4180, one header row and one row per facility, shares as
//          fractions 0..1 with 6 decimals:
//            facility_id,facility_name,records,
//            name_filled,name_invalid, ... address_filled,address_invalid,
//            invalid_id_rate,in_facility_duplicate_rate,auto_link_rate,
//            review_rate,new_patient_rate,rejects_by_reason
//          rejects_by_reason is "reason=count" items joined by ";" (most
//          frequent first), empty when there were none.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_REPORT_REPORT_FORMAT_H_
#define HISBRIDGE_LIBS_REPORT_REPORT_FORMAT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "hisbridge/v1/admin.pb.h"

namespace hisbridge::report {

struct TableOptions {
  // Lines printed above the table (what was read, when).
  std::vector<std::string> heading;
  // Reasons shown per facility in the table (the CSV has them all).
  int max_reasons = 3;
};

std::string FormatTable(const hisbridge::v1::DataQualityReport& report, const TableOptions& options = {});
std::string FormatCsv(const hisbridge::v1::DataQualityReport& report);

// The facility's rejects, most frequent first (ties by reason).
std::vector<std::pair<std::string, int64_t>> SortedRejects(const hisbridge::v1::FacilityQuality& facility);

// Columns `text` takes on a terminal: two for East Asian wide characters.
size_t DisplayWidth(absl::string_view text);

}  // namespace hisbridge::report

#endif  // HISBRIDGE_LIBS_REPORT_REPORT_FORMAT_H_
