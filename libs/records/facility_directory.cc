#include "libs/records/facility_directory.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/base/file_util.h"

namespace hisbridge::records {

absl::string_view TierName(FacilityTier tier) {
  switch (tier) {
    case FacilityTier::kCountyHospital: return "county_hospital";
    case FacilityTier::kTcmHospital: return "tcm_hospital";
    case FacilityTier::kTownshipHealthCentre: return "township_health_centre";
    case FacilityTier::kVillageClinic: return "village_clinic";
    case FacilityTier::kOther: return "other";
  }
  return "other";
}

bool ParseTier(absl::string_view name, FacilityTier* tier) {
  for (FacilityTier t : {FacilityTier::kCountyHospital, FacilityTier::kTcmHospital,
                         FacilityTier::kTownshipHealthCentre, FacilityTier::kVillageClinic,
                         FacilityTier::kOther}) {
    if (name == TierName(t)) {
      *tier = t;
      return true;
    }
  }
  return false;
}

absl::StatusOr<FacilityDirectory> FacilityDirectory::FromCsv(absl::string_view csv,
                                                             std::string default_region) {
  FacilityDirectory directory(std::move(default_region));
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(csv, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line_number == 1 && absl::StartsWith(line, "\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> cols = absl::StrSplit(line, ',');
    if (line_number == 1 && cols[0] == "facility_id") continue;  // header
    if (cols.size() != 4) {
      return absl::InvalidArgumentError(absl::StrCat(
          "facilities line ", line_number, ": expected 4 columns facility_id,name,region,tier; got ",
          cols.size()));
    }
    Facility f;
    f.id = std::string(absl::StripAsciiWhitespace(cols[0]));
    f.name = std::string(absl::StripAsciiWhitespace(cols[1]));
    f.region = std::string(absl::StripAsciiWhitespace(cols[2]));
    if (f.id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("facilities line ", line_number, ": facility_id is empty"));
    }
    if (f.region.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("facilities line ", line_number, ": region is empty"));
    }
    if (!ParseTier(absl::StripAsciiWhitespace(cols[3]), &f.tier)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "facilities line ", line_number, ": tier \"", cols[3],
          "\" is not one of county_hospital, tcm_hospital, township_health_centre, village_clinic, other"));
    }
    directory.Add(std::move(f));
  }
  return directory;
}

absl::StatusOr<FacilityDirectory> FacilityDirectory::Load(const std::string& path,
                                                          std::string default_region) {
  auto contents = ReadFileToString(path);
  if (!contents.ok()) return contents.status();
  auto directory = FromCsv(*contents, std::move(default_region));
  if (!directory.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", directory.status().message()));
  }
  return directory;
}

void FacilityDirectory::Add(Facility facility) {
  std::string id = facility.id;
  facilities_[id] = std::move(facility);
}

const Facility* FacilityDirectory::Find(absl::string_view facility_id) const {
  auto it = facilities_.find(facility_id);
  return it == facilities_.end() ? nullptr : &it->second;
}

std::string FacilityDirectory::RegionOf(absl::string_view facility_id) const {
  if (const Facility* f = Find(facility_id)) return f->region;
  if (facility_id.size() >= 6) {
    bool digits = true;
    for (size_t i = 0; i < 6; ++i) digits &= absl::ascii_isdigit(static_cast<unsigned char>(facility_id[i]));
    if (digits && (facility_id.size() == 6 || !absl::ascii_isdigit(static_cast<unsigned char>(facility_id[6])))) {
      return std::string(facility_id.substr(0, 6));
    }
  }
  return default_region_;
}

FacilityTier FacilityDirectory::TierOf(absl::string_view facility_id) const {
  const Facility* f = Find(facility_id);
  return f ? f->tier : FacilityTier::kOther;
}

std::string FacilityDirectory::NameOf(absl::string_view facility_id) const {
  const Facility* f = Find(facility_id);
  return f && !f->name.empty() ? f->name : std::string(facility_id);
}

}  // namespace hisbridge::records
