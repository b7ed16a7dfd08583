// Which county (region) a facility belongs to, what it is called, and how
// much its data is trusted.
//
// The inbox topic is partitioned by region, so every role must agree on a
// facility's region. The directory is loaded from a CSV file
//
//   facility_id,name,region,tier
//   450321-WS-003,白沙镇卫生院,450321,township_health_centre
//
// with tier one of county_hospital, tcm_hospital, township_health_centre,
// village_clinic, other. A facility missing from the file falls back to the
// county code at the start of its id (six digits, as in "450321-WS-003"),
// then to the configured default region; its tier is then "other".
//
// Thread safety: immutable after construction; safe to share.
#ifndef HISBRIDGE_LIBS_RECORDS_FACILITY_DIRECTORY_H_
#define HISBRIDGE_LIBS_RECORDS_FACILITY_DIRECTORY_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::records {

enum class FacilityTier {
  kCountyHospital,
  kTcmHospital,
  kTownshipHealthCentre,
  kVillageClinic,
  kOther,
};

absl::string_view TierName(FacilityTier tier);
bool ParseTier(absl::string_view name, FacilityTier* tier);

struct Facility {
  std::string id;
  std::string name;
  std::string region;
  FacilityTier tier = FacilityTier::kOther;
};

class FacilityDirectory {
 public:
  explicit FacilityDirectory(std::string default_region = "000000")
      : default_region_(std::move(default_region)) {}

  // Parses the CSV text; errors name the line and column.
  static absl::StatusOr<FacilityDirectory> FromCsv(absl::string_view csv, std::string default_region);
  static absl::StatusOr<FacilityDirectory> Load(const std::string& path, std::string default_region);

  void Add(Facility facility);

  // The facility, or nullptr when unknown.
  const Facility* Find(absl::string_view facility_id) const;
  std::string RegionOf(absl::string_view facility_id) const;
  FacilityTier TierOf(absl::string_view facility_id) const;
  // The display name, or the id itself when unknown.
  std::string NameOf(absl::string_view facility_id) const;
  size_t size() const { return facilities_.size(); }
  const std::string& default_region() const { return default_region_; }

 private:
  std::string default_region_;
  absl::flat_hash_map<std::string, Facility> facilities_;
};

}  // namespace hisbridge::records

#endif  // HISBRIDGE_LIBS_RECORDS_FACILITY_DIRECTORY_H_
