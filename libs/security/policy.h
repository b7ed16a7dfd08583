// Who may do what: the policy file maps each certificate identity (the
// client certificate's common name) to one role and, for clinics, the
// facilities it may submit for.
//
//   # identity               role     facilities (clinic only)
//   clinic:450324-WS-001     clinic   450324-WS-001
//   county-gateway           clinic   *
//   lead-hospital-his        reader
//   steward:li               steward
//   it-admin                 admin
//
// One entry per line, fields separated by spaces; `#` starts a comment.
// Facilities are comma-separated; `*` means every facility (a county
// gateway or connector that forwards for many clinics). Roles:
//   clinic   submit records (IngestService) for its facilities only
//   reader   read patient data (QueryService); every call must say why in
//            the x-purpose-of-use metadata header
//   steward  curate the index (ReviewService) and read patient data (the
//            purpose defaults to "operations")
//   admin    AdminService (access log, reports); no patient reads
// Errors name the file, line and rule.
//
// Thread safety: immutable after loading.
#ifndef HISBRIDGE_LIBS_SECURITY_POLICY_H_
#define HISBRIDGE_LIBS_SECURITY_POLICY_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::security {

enum class Role { kClinic, kReader, kSteward, kAdmin };
const char* RoleName(Role role);

struct PolicyEntry {
  std::string identity;
  Role role = Role::kReader;
  // Clinics: the facilities it may submit for; all_facilities for `*`.
  std::set<std::string> facilities;
  bool all_facilities = false;
  // Where the entry is, for messages naming the rule ("policy.txt line 3").
  std::string where;
};

class Policy {
 public:
  static absl::StatusOr<Policy> Parse(absl::string_view text, absl::string_view source = "policy");
  static absl::StatusOr<Policy> Load(const std::string& path);

  // The entry of an identity, or null when the policy does not name it.
  const PolicyEntry* Find(absl::string_view identity) const;
  const std::string& source() const { return source_; }
  size_t size() const { return entries_.size(); }

 private:
  std::string source_;
  std::map<std::string, PolicyEntry, std::less<>> entries_;
};

// The purposes of use a reader may give (x-purpose-of-use).
const std::vector<std::string>& PurposesOfUse();
inline constexpr char kPurposeHeader[] = "x-purpose-of-use";
// The metadata header in which a gateway (the FHIR facade) names the
// caller it reads for; recorded in the access log, grants nothing.
inline constexpr char kOnBehalfOfHeader[] = "x-hisbridge-on-behalf-of";

}  // namespace hisbridge::security

#endif  // HISBRIDGE_LIBS_SECURITY_POLICY_H_
