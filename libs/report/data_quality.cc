#include "libs/report/data_quality.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/base/time_format.h"
#include "libs/core/sex.h"
#include "libs/linker/link_engine.h"

namespace hisbridge::report {
namespace {

enum FieldIndex { kName, kSex, kBirthDate, kIdNumber, kPhone, kAddress };

bool Blank(absl::string_view value) { return absl::StripAsciiWhitespace(value).empty(); }

double Share(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

// "diagnoses[12].code" -> "diagnoses[].code": one reason however many
// entries a line has.
std::string WithoutIndexes(absl::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    out.push_back(field[i]);
    if (field[i] != '[') continue;
    size_t j = i + 1;
    while (j < field.size() && absl::ascii_isdigit(static_cast<unsigned char>(field[j]))) ++j;
    if (j > i + 1 && j < field.size() && field[j] == ']') i = j - 1;
  }
  return out;
}

}  // namespace

absl::Status ReportControl::Check(absl::string_view what) const {
  if (cancelled && cancelled()) {
    return absl::CancelledError(absl::StrCat("data-quality report cancelled while ", what));
  }
  if (deadline != absl::InfiniteFuture() && absl::Now() >= deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("data-quality report ran out of time while ", what,
                     "; give it a longer deadline, or narrow it to one region or facility"));
  }
  return absl::OkStatus();
}

LinkOutcome ClassifyLink(bool review_open, hisbridge::v1::LinkMethod method) {
  // An open review wins: the record waits for a steward, whatever link it
  // holds meanwhile (its own new patient, or the clearly best of several).
  if (review_open) return LinkOutcome::kReview;
  switch (method) {
    case hisbridge::v1::LINK_METHOD_RESIDENT_ID:
    case hisbridge::v1::LINK_METHOD_SCORE:
      return LinkOutcome::kAutoLink;
    case hisbridge::v1::LINK_METHOD_MANUAL:
      return LinkOutcome::kSteward;
    case hisbridge::v1::LINK_METHOD_NEW_PATIENT:
    case hisbridge::v1::LINK_METHOD_FACILITY_MERGE:
    case hisbridge::v1::LINK_METHOD_UNSPECIFIED:
    default:
      return LinkOutcome::kNewPatient;
  }
}

std::string RejectReasonKey(const hisbridge::v1::FieldIssue& issue) {
  const std::string rule = issue.rule().empty() ? "rejected" : issue.rule();
  if (issue.field().empty()) return rule;
  return absl::StrCat(WithoutIndexes(issue.field()), ":", rule);
}

DataQualityBuilder::DataQualityBuilder(const records::FacilityDirectory* facilities, ReportScope scope)
    : facilities_(facilities), scope_(std::move(scope)) {}

bool DataQualityBuilder::WantsRegion(absl::string_view region) const {
  if (!scope_.region.empty() && region != scope_.region) return false;
  // A facility's records all live in its region.
  if (!scope_.facility_id.empty() && facilities_->RegionOf(scope_.facility_id) != region) return false;
  return true;
}

bool DataQualityBuilder::InScope(absl::string_view facility_id, absl::string_view region) const {
  if (!scope_.facility_id.empty() && facility_id != scope_.facility_id) return false;
  if (!scope_.region.empty() && region != scope_.region) return false;
  return true;
}

DataQualityBuilder::FacilityTally& DataQualityBuilder::Tally(absl::string_view facility_id) {
  auto it = tallies_.find(std::string(facility_id));
  if (it == tallies_.end()) it = tallies_.emplace(std::string(facility_id), FacilityTally{}).first;
  return it->second;
}

void DataQualityBuilder::CountFields(absl::string_view region, const hisbridge::index::v1::StoredRecord& stored,
                                     FacilityTally* tally) {
  const hisbridge::v1::Record& r = stored.record();
  fields_.name = r.name();
  fields_.sex = r.sex();
  fields_.birth_date = r.birth_date();
  fields_.id_type = r.id_type();
  fields_.id_number = r.id_number();
  fields_.insurance_id = r.insurance_id();
  fields_.health_card_id = r.health_card_id();
  fields_.phone = r.phone();
  fields_.address = r.address();
  fields_.address_code = r.address_code();
  fields_.ethnicity = r.ethnicity();
  core::NormalizeOptions options;
  // The linker's "today" for this record, so a future-date rule judges the
  // record as the linker did, however late the report runs.
  options.today = linker::LinkEngine::RecordDay(stored.event_time_micros());
  options.county_hint = region;
  core::Normalize(fields_, options, &normalized_);
  const core::NormalizedPatient& n = normalized_;

  std::array<bool, kReportFields.size()> filled{};
  std::array<bool, kReportFields.size()> invalid{};
  filled[kName] = !Blank(r.name());
  invalid[kName] = filled[kName] && (n.name.empty() || n.HasFinding("name.invalid_utf8") ||
                                     n.HasFinding("name.too_long"));
  filled[kSex] = !Blank(r.sex());
  invalid[kSex] = filled[kSex] && core::ParseSex(r.sex()).status == core::SexStatus::kInvalid;
  filled[kBirthDate] = !Blank(r.birth_date());
  invalid[kBirthDate] = filled[kBirthDate] && !n.birth_date.ok();
  filled[kIdNumber] = !Blank(r.id_number());
  // Only resident ids can fail GB 11643; other documents (passports, ...)
  // parse as "empty" here.
  const core::ResidentIdStatus id_status = n.resident_id.status;
  invalid[kIdNumber] = filled[kIdNumber] && ((id_status != core::ResidentIdStatus::kValid &&
                                              id_status != core::ResidentIdStatus::kEmpty) ||
                                             n.HasFinding("id_number.invalid_utf8"));
  filled[kPhone] = !Blank(r.phone());
  invalid[kPhone] = filled[kPhone] && std::none_of(n.phones.begin(), n.phones.end(),
                                                   [](const core::PhoneNumber& p) { return p.usable(); });
  filled[kAddress] = !Blank(r.address()) || !Blank(r.address_code());
  invalid[kAddress] = filled[kAddress] && (n.address.empty() || n.address.has(core::AddressIssue::kPlaceholder) ||
                                           n.address.has(core::AddressIssue::kInvalidUtf8));
  for (size_t i = 0; i < kReportFields.size(); ++i) {
    tally->fields[i].filled += filled[i] ? 1 : 0;
    tally->fields[i].invalid += invalid[i] ? 1 : 0;
  }
  tally->ids_present += filled[kIdNumber] ? 1 : 0;
  tally->ids_invalid += invalid[kIdNumber] ? 1 : 0;
}

void DataQualityBuilder::AddRecord(absl::string_view region, const hisbridge::index::v1::StoredRecord& record,
                                   absl::string_view patient_id, hisbridge::v1::LinkMethod method) {
  if (record.deleted()) return;
  const std::string& facility_id = record.record().facility_id();
  if (!InScope(facility_id, region)) return;
  FacilityTally& tally = Tally(facility_id);
  ++tally.records;
  ++records_;
  CountFields(region, record, &tally);
  if (patient_id.empty()) return;
  ++tally.patients[patient_id];
  switch (ClassifyLink(!record.open_review_id().empty(), method)) {
    case LinkOutcome::kAutoLink: ++tally.auto_links; break;
    case LinkOutcome::kReview: ++tally.reviews; break;
    case LinkOutcome::kNewPatient: ++tally.new_patients; break;
    case LinkOutcome::kSteward:
    case LinkOutcome::kUnlinked: break;
  }
}

void DataQualityBuilder::AddReject(absl::string_view facility_id,
                                   const std::vector<hisbridge::v1::FieldIssue>& errors) {
  google::protobuf::RepeatedPtrField<hisbridge::v1::FieldIssue> copy(errors.begin(), errors.end());
  AddReject(facility_id, copy);
}

void DataQualityBuilder::AddReject(absl::string_view facility_id,
                                   const google::protobuf::RepeatedPtrField<hisbridge::v1::FieldIssue>& errors) {
  if (facility_id.empty()) {
    // Nothing says which county it came from: only a report of everything
    // shows it.
    if (!scope_.region.empty() || !scope_.facility_id.empty() || reject_regions_.has_value()) return;
  } else {
    const std::string region = facilities_->RegionOf(facility_id);
    if (!InScope(facility_id, region)) return;
    if (reject_regions_.has_value() && reject_regions_->count(region) == 0) return;
  }
  FacilityTally& tally = Tally(facility_id);
  std::set<std::string> reasons;
  for (const hisbridge::v1::FieldIssue& e : errors) reasons.insert(RejectReasonKey(e));
  if (reasons.empty()) reasons.insert("rejected");
  for (const std::string& reason : reasons) ++tally.rejects[reason];
  ++rejected_lines_;
}

DataQualityBuilder DataQualityBuilder::WithSameScope() const {
  DataQualityBuilder out(facilities_, scope_);
  out.reject_regions_ = reject_regions_;
  return out;
}

void DataQualityBuilder::MergeRejects(const DataQualityBuilder& other) {
  for (const auto& [facility_id, t] : other.tallies_) {
    if (t.rejects.empty()) continue;
    FacilityTally& mine = Tally(facility_id);
    for (const auto& [reason, count] : t.rejects) mine.rejects[reason] += count;
  }
  rejected_lines_ += other.rejected_lines_;
}

hisbridge::v1::DataQualityReport DataQualityBuilder::Build(absl::Time generated_at) const {
  hisbridge::v1::DataQualityReport report;
  report.set_generated_at(FormatRfc3339(generated_at));
  for (const auto& [facility_id, t] : tallies_) {
    hisbridge::v1::FacilityQuality* f = report.add_facilities();
    f->set_facility_id(facility_id);
    f->set_facility_name(facility_id.empty() ? "(facility_id missing or unreadable)"
                                             : facilities_->NameOf(facility_id));
    f->set_records(t.records);
    for (size_t i = 0; i < kReportFields.size(); ++i) {
      hisbridge::v1::FieldCompleteness* c = f->add_completeness();
      c->set_field(kReportFields[i]);
      c->set_filled(Share(t.fields[i].filled, t.records));
      c->set_invalid(Share(t.fields[i].invalid, t.records));
    }
    f->set_invalid_id_rate(Share(t.ids_invalid, t.ids_present));
    int64_t duplicated = 0;
    for (const auto& [patient, count] : t.patients) {
      if (count > 1) duplicated += count;
    }
    f->set_in_facility_duplicate_rate(Share(duplicated, t.records));
    f->set_auto_link_rate(Share(t.auto_links, t.records));
    f->set_review_rate(Share(t.reviews, t.records));
    f->set_new_patient_rate(Share(t.new_patients, t.records));
    for (const auto& [reason, count] : t.rejects) (*f->mutable_rejects_by_reason())[reason] = count;
  }
  return report;
}

}  // namespace hisbridge::report
