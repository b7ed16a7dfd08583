// hisbridge gen: a synthetic county medical community with ground truth.
//
// Generate() builds a real county (county.h), its people (population.h),
// the registrations of those people at the county's facilities, and every
// line those facilities' HIS would send (spec/county-records.md): patient
// upserts with the errors of real county data (error_rates.h), later
// re-sends, facility merges and deletes, and clinical events. It returns
// the lines in delivery order together with the truth: which person every
// live source record belongs to and which errors its final version
// carries.
//
// Files written by WriteDataset(dir):
//   records.jsonl   the lines, roughly in event_time order
//   truth.csv       facility_id,record_id,person_id         (live records)
//   errors.csv      facility_id,record_id,person_id,errors  (';'-separated tags)
//   facilities.csv  facility_id,name,region,tier            (facility directory)
// docs/synthetic-county.md documents the model, every rate and every tag.
//
// Determinism: the output is a function of GenOptions alone (same seed,
// same bytes), whatever `threads` is.
//
// Thread safety: Generate is reentrant; a Dataset is immutable.
#ifndef HISBRIDGE_LIBS_SYNTH_GENERATOR_H_
#define HISBRIDGE_LIBS_SYNTH_GENERATOR_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "libs/synth/county.h"
#include "libs/synth/error_rates.h"
#include "libs/synth/population.h"

namespace hisbridge::synth {

struct GenOptions {
  int64_t people = 1000;
  uint64_t seed = 1;
  std::string county = std::string(kDefaultCountyCode);
  // The window the records' event times fall in (inclusive days).
  absl::CivilDay start = absl::CivilDay(2023, 1, 1);
  absl::CivilDay end = absl::CivilDay(2025, 12, 31);
  // Mean clinical events (encounters, observations, medications) per
  // patient record; 0 writes none.
  double events_per_record = 3.0;
  ErrorRates rates;
  int threads = 1;
  // Keep every record's final fields in SourceRecord::final_fields (for
  // tests and tools that inspect them); writing files does not need them.
  bool keep_final_fields = true;
};

// The tags of errors.csv: errors in the record's final version, and
// attributes the scorer stratifies by.
enum class Tag : uint8_t {
  // errors
  kIdMissing,
  kIdOneDigit,
  kIdTransposition,
  kIdLegacy15,
  kIdFormat,
  kIdRelative,
  kNameHomophone,
  kNameSimilarChar,
  kNameNearHomophone,
  kNameTraditional,
  kNamePinyin,
  kNameSpace,
  kNameFullwidth,
  kDobLunarShift,
  kDobJanFirst,
  kDobDayMonthSwap,
  kDobYearOff,
  kDobYearOnly,
  kDobMissing,
  kPhoneMissing,
  kPhoneOneDigit,
  kPhoneRelative,
  kPhoneStale,
  kAddressVillageOnly,
  kAddressMissing,
  kAddressStale,
  kSexUnknown,
  kSexWrong,
  // attributes
  kIdValid,   // carries the person's own resident id, valid (18 or 15 digits)
  kIdNone,    // carries no id
  kTwin,
  kPlaceholderNewborn,
  kPlaceholderUnknown,
  kDuplicate,  // a second registration of the person at this facility
  kMigrant,    // resident id issued by another county
  kCount,
};
// "id.missing", "name.homophone", ..., "id.valid", "twin", "placeholder.newborn".
absl::string_view TagName(Tag tag);
bool IsErrorTag(Tag tag);
using TagSet = uint64_t;
inline constexpr TagSet TagBit(Tag t) { return TagSet{1} << static_cast<int>(t); }
inline bool HasTag(TagSet set, Tag t) { return (set & TagBit(t)) != 0; }
// Tag names in enum order, ';'-separated.
std::string TagList(TagSet set);

enum class Fate : uint8_t { kLive, kMerged, kDeleted };

// The fields of a patient line as written.
struct RecordFields {
  std::string name, sex, birth_date, id_type, id_number, insurance_id, phone, address, address_code, ethnicity;
  bool phone_as_number = false;
};

// One source record (facility_id, record_id).
struct SourceRecord {
  int32_t facility = 0;
  int32_t person = 0;
  std::string record_id;
  Fate fate = Fate::kLive;
  TagSet first_tags = 0;  // the first version
  TagSet tags = 0;        // the final version
  // Null unless GenOptions::keep_final_fields (a county holds millions).
  std::shared_ptr<const RecordFields> final_fields;
  int versions = 0;  // patient lines written for it (including a merge line with demographics)
};

struct RateCount {
  int64_t eligible = 0;
  int64_t applied = 0;
};

struct GenStats {
  // Per rate, over first versions of primary registrations (not duplicates,
  // births or emergency records): how many records could get the error and
  // how many got it. Structure rates count what they apply to.
  std::array<RateCount, static_cast<int>(Rate::kCount)> rates{};
  int64_t residents = 0;
  int64_t strangers = 0;
  int64_t source_records = 0;
  int64_t live_records = 0;
  int64_t patient_lines = 0;
  int64_t merge_lines = 0;
  int64_t delete_lines = 0;
  int64_t event_lines = 0;
  int64_t late_lines = 0;
  // Wall time of the phases (not part of the output).
  double seconds_population = 0, seconds_plan = 0, seconds_render = 0, seconds_order = 0;

  RateCount& operator[](Rate r) { return rates[static_cast<int>(r)]; }
  const RateCount& operator[](Rate r) const { return rates[static_cast<int>(r)]; }
};

class Dataset {
 public:
  const GenOptions& options() const { return options_; }
  const County& county() const { return county_; }
  // Residents first (households), then strangers.
  const Population& population() const { return population_; }
  // Sorted by (facility id, record id).
  const std::vector<SourceRecord>& records() const { return records_; }
  const GenStats& stats() const { return stats_; }

  // "P0000001" for residents, "U0000001" for strangers.
  std::string PersonId(int32_t person) const;
  const Facility& FacilityOf(const SourceRecord& r) const { return county_.facilities[r.facility]; }

  // The lines in delivery order, without newlines.
  size_t line_count() const { return order_.size(); }
  void ForEachLine(const std::function<void(absl::string_view)>& fn) const;

  absl::Status Write(const std::string& dir) const;
  std::string TruthCsv() const;
  std::string ErrorsCsv() const;
  std::string FacilitiesCsv() const;

 private:
  friend absl::StatusOr<Dataset> Generate(const GenOptions& options);
  struct LineRef {
    int64_t arrival;
    uint64_t seq;
    uint32_t chunk;
    uint32_t offset;
    uint32_t length;
  };
  GenOptions options_;
  County county_;
  Population population_;
  std::vector<SourceRecord> records_;
  GenStats stats_;
  std::vector<std::string> chunks_;
  std::vector<LineRef> order_;
};

absl::StatusOr<Dataset> Generate(const GenOptions& options);

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_GENERATOR_H_
