// The per-clinic data-quality report (AdminService.GetDataQualityReport,
// `hisbridge report`): for each facility, how complete and how valid its
// patient records are, how many of them duplicate each other inside the
// facility, how the linker decided them, and which lines were rejected and
// why.
//
// DataQualityBuilder only counts; the sources feed it (sources.h): the
// linker's patient index (a data directory or the running linker), a batch
// link of a JSON Lines file, and the rejects topic. Every figure is
// defined once, here, whatever the source:
//
//   records              live patient records of the facility (the newest
//                        version of each; deleted and merged-away records
//                        do not count)
//   completeness         per field (name, sex, birth_date, id_number, phone,
//                        address): `filled` = share of records with a
//                        non-blank value (address: address or
//                        address_code); `invalid` = share of records whose
//                        value is there but unusable after normalisation
//                        (libs/core): a name with no letters left, a sex
//                        that is no code nor word for one, a birth date
//                        that is malformed, impossible, in the future, a
//                        HIS default (1900-01-01) or over 120 years old, a
//                        resident id failing GB 11643, a phone with no
//                        usable number, an address that is a placeholder
//                        (不详) or not UTF-8
//   invalid_id_rate      records whose id_number is present but fails GB
//                        11643 (bad characters, length, date, region or
//                        check digit), over the records with an id_number
//                        (other document types never fail)
//   in_facility_duplicate_rate
//                        records linked to the same unified patient as
//                        another record of the same facility, over records
//                        (both records of a duplicate pair count)
//   auto_link_rate       records the linker joined to a patient
//                        automatically (same resident id, or a score above
//                        the upper threshold), over records
//   review_rate          records with an open review item, over records
//   new_patient_rate     records that started a unified patient and have
//                        no open review, over records
//                        (the three rates leave out records a data steward
//                        placed, so they sum to at most 1)
//   rejects_by_reason    rejected lines of the facility by "field:rule" of
//                        the libs/records validator (just the rule when the
//                        error is about the whole line; array indexes as
//                        []); a line with several errors counts once under
//                        each distinct reason. Lines whose facility cannot
//                        be read are reported under facility_id "".
//
// Thread safety: none; one builder per report.
#ifndef HISBRIDGE_LIBS_REPORT_DATA_QUALITY_H_
#define HISBRIDGE_LIBS_REPORT_DATA_QUALITY_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hisbridge/index/v1/index.pb.h"
#include "hisbridge/v1/admin.pb.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/core/normalize.h"
#include "libs/records/facility_directory.h"

namespace hisbridge::report {

// The fields of the completeness figures, in report order.
inline constexpr std::array<const char*, 6> kReportFields = {"name", "sex", "birth_date",
                                                             "id_number", "phone", "address"};

// What a report covers: DataQualityReportRequest's region and facility
// ("" for all).
struct ReportScope {
  std::string region;
  std::string facility_id;

  static ReportScope Of(const hisbridge::v1::DataQualityReportRequest& request) {
    return {request.region(), request.facility_id()};
  }
};

// When a report must give up: its caller's deadline, or a cancellation
// (the gRPC call ended, the server stops). Sources check it between items.
struct ReportControl {
  absl::Time deadline = absl::InfiniteFuture();
  // Asked now and then; true stops the report. Null: never cancelled.
  std::function<bool()> cancelled;

  // DEADLINE_EXCEEDED or CANCELLED naming `what`; OK to go on.
  absl::Status Check(absl::string_view what) const;
};

// How the linker placed a live record.
enum class LinkOutcome { kAutoLink, kReview, kNewPatient, kSteward, kUnlinked };

// From the record's open review item and its link method.
LinkOutcome ClassifyLink(bool review_open, hisbridge::v1::LinkMethod method);

// "event_time:rfc3339", "line.too_long", "diagnoses[].code:json.type".
std::string RejectReasonKey(const hisbridge::v1::FieldIssue& issue);

class DataQualityBuilder {
 public:
  // `facilities` (names, regions of rejected lines) must outlive the
  // builder.
  DataQualityBuilder(const records::FacilityDirectory* facilities, ReportScope scope);

  // Whether records of `region` are in scope (sources skip others early).
  bool WantsRegion(absl::string_view region) const;

  // A source record of `region` and its link (patient id and method). Dead
  // records (deleted, merged away) and records outside the scope are
  // ignored; an empty patient id counts as unlinked.
  void AddRecord(absl::string_view region, const hisbridge::index::v1::StoredRecord& record,
                 absl::string_view patient_id, hisbridge::v1::LinkMethod method);

  // Counts rejected lines only of facilities in these regions (and none
  // without a facility): a linker pod reports the counties it links, not
  // every county's lines on the shared rejects topic.
  void LimitRejectsToRegions(std::set<std::string> regions) { reject_regions_ = std::move(regions); }

  // An empty builder with this one's facilities, scope and reject regions.
  DataQualityBuilder WithSameScope() const;
  // Adds the rejected lines counted by `other` (records are not merged).
  void MergeRejects(const DataQualityBuilder& other);

  // A rejected line of `facility_id` ("" when unknown) with its errors.
  void AddReject(absl::string_view facility_id, const std::vector<hisbridge::v1::FieldIssue>& errors);
  void AddReject(absl::string_view facility_id,
                 const google::protobuf::RepeatedPtrField<hisbridge::v1::FieldIssue>& errors);

  // Lines counted by AddReject (in scope).
  int64_t rejected_lines() const { return rejected_lines_; }
  int64_t records() const { return records_; }

  // The report, facilities sorted by id, stamped `generated_at`.
  hisbridge::v1::DataQualityReport Build(absl::Time generated_at) const;

 private:
  struct FieldTally {
    int64_t filled = 0;
    int64_t invalid = 0;
  };
  struct FacilityTally {
    int64_t records = 0;
    std::array<FieldTally, kReportFields.size()> fields{};
    int64_t ids_present = 0;
    int64_t ids_invalid = 0;
    int64_t auto_links = 0;
    int64_t reviews = 0;
    int64_t new_patients = 0;
    // Live records of this facility per unified patient.
    absl::flat_hash_map<std::string, int32_t> patients;
    std::map<std::string, int64_t> rejects;
  };

  FacilityTally& Tally(absl::string_view facility_id);
  bool InScope(absl::string_view facility_id, absl::string_view region) const;
  void CountFields(absl::string_view region, const hisbridge::index::v1::StoredRecord& record, FacilityTally* tally);

  const records::FacilityDirectory* facilities_;
  ReportScope scope_;
  std::map<std::string, FacilityTally> tallies_;
  std::optional<std::set<std::string>> reject_regions_;
  int64_t rejected_lines_ = 0;
  int64_t records_ = 0;
  // Reused between records (normalisation allocates otherwise).
  core::PatientFields fields_;
  core::NormalizedPatient normalized_;
};

}  // namespace hisbridge::report

#endif  // HISBRIDGE_LIBS_REPORT_DATA_QUALITY_H_
