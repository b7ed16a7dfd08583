#include "libs/security/policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/base/file_util.h"

namespace hisbridge::security {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kClinic: return "clinic";
    case Role::kReader: return "reader";
    case Role::kSteward: return "steward";
    case Role::kAdmin: return "admin";
  }
  return "reader";
}

const std::vector<std::string>& PurposesOfUse() {
  static const auto* purposes =
      new std::vector<std::string>{"treatment", "payment", "operations", "public_health", "research"};
  return *purposes;
}

absl::StatusOr<Policy> Policy::Parse(absl::string_view text, absl::string_view source) {
  Policy policy;
  policy.source_ = std::string(source);
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    const size_t hash = line.find('#');
    if (hash != absl::string_view::npos) line = line.substr(0, hash);
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    const std::string where = absl::StrCat(source, " line ", number);
    if (fields.size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": expected `identity role [facilities]`"));
    }
    PolicyEntry entry;
    entry.identity = std::string(fields[0]);
    entry.where = where;
    const std::string role = absl::AsciiStrToLower(fields[1]);
    if (role == "clinic") entry.role = Role::kClinic;
    else if (role == "reader") entry.role = Role::kReader;
    else if (role == "steward") entry.role = Role::kSteward;
    else if (role == "admin") entry.role = Role::kAdmin;
    else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown role \"", fields[1], "\"; use clinic, reader, steward or admin"));
    }
    if (fields.size() > 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": too many fields; separate facilities with commas, without spaces"));
    }
    if (entry.role == Role::kClinic) {
      if (fields.size() < 3) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": a clinic needs the facilities it may submit for (comma-separated, or *)"));
      }
      for (absl::string_view f : absl::StrSplit(fields[2], ',', absl::SkipEmpty())) {
        if (f == "*") entry.all_facilities = true;
        else entry.facilities.emplace(f);
      }
      if (!entry.all_facilities && entry.facilities.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": no facility listed"));
      }
    } else if (fields.size() == 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": only clinics list facilities; a ", role, " has none"));
    }
    auto [it, inserted] = policy.entries_.emplace(entry.identity, entry);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": identity \"", entry.identity, "\" is already given at ", it->second.where));
    }
  }
  if (policy.entries_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": the policy names no identity; every call would be refused"));
  }
  return policy;
}

absl::StatusOr<Policy> Policy::Load(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return absl::Status(text.status().code(), absl::StrCat("--policy: ", text.status().message()));
  return Parse(*text, path);
}

const PolicyEntry* Policy::Find(absl::string_view identity) const {
  auto it = entries_.find(identity);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace hisbridge::security
