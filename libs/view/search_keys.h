// The secondary indexes of SearchPatients: which keys an active patient is
// found under, and how a search request becomes a key prefix to scan plus
// filters on the other criteria.
//
// Keys are derived from the patient's source identities as the matcher
// prepared them (libs/core normalisation), one entry per distinct value:
//
//   i \0 T(canonical resident id)                       \0 <patient id>
//   p \0 T(phone digits)                                \0 <patient id>
//   n \0 T(simplified han name) \0 T(year) \0 T(birth) \0 <patient id>
//   y \0 T(full pinyin)         \0 T(year) \0 T(birth) \0 <patient id>
//   v \0 T(12-digit village code)                       \0 <patient id>
//   w \0 T(village name without suffix)                 \0 <patient id>
//
// T(value) is a 64-bit token of the value (match::Token, 16 hex digits):
// row keys are not encrypted at rest, so they never hold identifiers,
// names or phones. <birth> is the source's best birth date as
// "YYYY-MM-DD", "YYYY-MM" or "YYYY" (empty when unknown), so a name search
// narrowed by a year or a date is a prefix scan. Results come in key order:
// deterministic, and the same on every replica of a deployment.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_VIEW_SEARCH_KEYS_H_
#define HISBRIDGE_LIBS_VIEW_SEARCH_KEYS_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "hisbridge/v1/query.pb.h"
#include "libs/view/match_index.h"

namespace hisbridge::view {

// Every search key of a patient (full keys, ending in its id).
std::set<std::string> SearchKeysOf(const PreparedPatient& patient);

// The birth date as stored in name keys: "YYYY-MM-DD", "YYYY-MM", "YYYY"
// or "".
std::string BirthText(const core::BirthDate& date);

// A validated SearchPatients request.
class SearchPlan {
 public:
  // INVALID_ARGUMENT names the field and the rule: no criterion at all, a
  // birth_date alone, an id or phone that cannot be read, a malformed
  // birth date.
  static absl::StatusOr<SearchPlan> Make(const hisbridge::v1::SearchPatientsRequest& request, absl::CivilDay today);

  // The most selective criterion's key prefix (ends in '\0').
  const std::string& prefix() const { return prefix_; }
  // Whether a patient meets every criterion (each by one of its sources).
  bool Matches(const PreparedPatient& patient) const;
  // Stable across processes: ties a page token to its query.
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  SearchPlan() = default;
  bool SourceMatches(const match::MatchRecord& r, char criterion) const;

  std::string prefix_;
  std::string resident_id_;
  std::string phone_;
  std::string han_name_;
  std::string pinyin_name_;
  std::string birth_;  // "YYYY" or "YYYY-MM-DD"
  std::string village_code_;
  std::string village_name_;
  uint64_t fingerprint_ = 0;
};

// Page tokens: opaque, URL-safe; they carry the query's fingerprint and the
// last key returned. Decode fails with INVALID_ARGUMENT naming page_token.
std::string EncodePageToken(uint64_t fingerprint, absl::string_view last_key);
absl::StatusOr<std::string> DecodePageToken(absl::string_view token, uint64_t fingerprint);

// The village's name without its administrative suffix (遇龙 of 遇龙村委会).
std::string VillageNameOf(absl::string_view text);

}  // namespace hisbridge::view

#endif  // HISBRIDGE_LIBS_VIEW_SEARCH_KEYS_H_
