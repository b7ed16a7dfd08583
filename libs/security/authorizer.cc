#include "libs/security/authorizer.h"

#include <grpcpp/security/auth_context.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/logging.h"
#include "libs/security/tls.h"

namespace hisbridge::security {
namespace {

const char* PermissionName(Permission p) {
  switch (p) {
    case Permission::kSubmit: return "submit records";
    case Permission::kReadPatients: return "read patient data";
    case Permission::kReviewRead: return "list review items";
    case Permission::kReviewWrite: return "make steward decisions";
    case Permission::kAdmin: return "use AdminService";
  }
  return "";
}

bool RoleHas(Role role, Permission p) {
  switch (p) {
    case Permission::kSubmit: return role == Role::kClinic;
    case Permission::kReadPatients: return role == Role::kReader || role == Role::kSteward;
    case Permission::kReviewRead:
    case Permission::kReviewWrite: return role == Role::kSteward;
    case Permission::kAdmin: return role == Role::kAdmin;
  }
  return false;
}

const char* RolesWith(Permission p) {
  switch (p) {
    case Permission::kSubmit: return "clinic";
    case Permission::kReadPatients: return "reader or steward";
    case Permission::kReviewRead:
    case Permission::kReviewWrite: return "steward";
    case Permission::kAdmin: return "admin";
  }
  return "";
}

bool IsRead(Permission p) { return p == Permission::kReadPatients || p == Permission::kReviewRead; }

std::string Metadata(const grpc::ServerContextBase& context, const char* name) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(name);
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

}  // namespace

Authorizer::Authorizer(Policy policy) : policy_(std::move(policy)) {}

std::unique_ptr<Authorizer> Authorizer::AllowAllForDevelopment() {
  std::unique_ptr<Authorizer> a(new Authorizer());
  a->plaintext_ = true;
  return a;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void Authorizer::Refuse(const Caller& caller, const std::string& role, absl::string_view method,
                        Permission permission, const std::string& purpose, const absl::Status& why) const {
  log::Warning("access refused", {{"who", caller.identity.empty() ? "(no certificate)" : caller.identity},
                                  {"on_behalf_of", caller.on_behalf_of},
                                  {"role", role},
                                  {"method", method},
                                  {"reason", why.message()}});
  if (access_log_ != nullptr && IsRead(permission)) {
    hisbridge::v1::AccessLogEntry entry;
    entry.set_who(caller.identity);
    entry.set_on_behalf_of(caller.on_behalf_of);
    entry.set_role(role);
    entry.set_method(std::string(method));
    entry.set_purpose(purpose);
    entry.set_allowed(false);
    absl::Status s = access_log_->Record(entry, {});
    if (!s.ok()) log::Error("cannot write the access log", {{"error", s}});
  }
}

absl::StatusOr<Caller> Authorizer::Authorize(const grpc::ServerContextBase& context, Permission permission,
                                             absl::string_view method) const {
  CallerClaims claims;
  claims.purpose = Metadata(context, kPurposeHeader);
  claims.on_behalf_of = Metadata(context, kOnBehalfOfHeader);
  if (!plaintext_) {
    std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    claims.identity = auth != nullptr ? PeerIdentity(*auth) : "";
  }
  return AuthorizeIdentity(claims, permission, method);
}

absl::StatusOr<Caller> Authorizer::AuthorizeIdentity(const CallerClaims& claims, Permission permission,
                                                     absl::string_view method) const {
  Caller caller;
  std::string purpose = claims.purpose;
  caller.on_behalf_of = claims.on_behalf_of;
  if (plaintext_) {
    caller.identity = "anonymous";
    caller.role = Role::kAdmin;
    caller.plaintext = true;
    caller.purpose = purpose;
    return caller;
  }
  const std::string& identity = claims.identity;
  if (identity.empty()) {
    absl::Status why = absl::UnauthenticatedError(
        absl::StrCat(method, ": no verified client certificate; connect with mutual TLS"));
    Refuse(caller, "", method, permission, purpose, why);
    return why;
  }
  caller.identity = identity;
  const PolicyEntry* entry = policy_.Find(identity);
  if (entry == nullptr) {
    absl::Status why = absl::PermissionDeniedError(
        absl::StrCat(method, ": identity \"", identity, "\" is not in the policy (", policy_.source(), ")"));
    Refuse(caller, "", method, permission, purpose, why);
    return why;
  }
  const std::string role = RoleName(entry->role);
  if (!RoleHas(entry->role, permission)) {
    absl::Status why = absl::PermissionDeniedError(
        absl::StrCat(method, ": ", identity, " has role ", role, " (", entry->where, "); only a ",
                     RolesWith(permission), " may ", PermissionName(permission)));
    Refuse(caller, role, method, permission, purpose, why);
    return why;
  }
  if (IsRead(permission)) {
    if (purpose.empty() && entry->role == Role::kSteward) purpose = "operations";
    if (purpose.empty()) {
      absl::Status why = absl::PermissionDeniedError(absl::StrCat(
          method, ": a ", role, " must state the purpose of use in the ", kPurposeHeader, " metadata header (one of ",
          absl::StrJoin(PurposesOfUse(), ", "), ")"));
      Refuse(caller, role, method, permission, purpose, why);
      return why;
    }
    bool known = false;
    for (const std::string& p : PurposesOfUse()) known = known || p == purpose;
    if (!known) {
      absl::Status why = absl::InvalidArgumentError(absl::StrCat(method, ": ", kPurposeHeader, " \"", purpose,
                                                                 "\" is not a purpose of use; use one of ",
                                                                 absl::StrJoin(PurposesOfUse(), ", ")));
      Refuse(caller, role, method, permission, purpose, why);
      return why;
    }
  }
  caller.role = entry->role;
  caller.entry = entry;
  caller.purpose = purpose;
  return caller;
}

std::string Authorizer::FacilityRefusal(const Caller& caller, absl::string_view facility_id) const {
  if (caller.plaintext || caller.entry == nullptr) return "";
  if (caller.entry->all_facilities || caller.entry->facilities.count(std::string(facility_id))) return "";
  return absl::StrCat("policy rule ", caller.entry->where, ": ", caller.identity, " may submit only for ",
                      absl::StrJoin(caller.entry->facilities, ","), ", not for facility \"", facility_id, "\"");
}

absl::Status Authorizer::RecordAccess(const Caller& caller, absl::string_view method,
                                      const std::vector<std::string>& patient_ids) const {
  if (access_log_ == nullptr) return absl::OkStatus();
  hisbridge::v1::AccessLogEntry entry;
  entry.set_who(caller.identity);
  entry.set_on_behalf_of(caller.on_behalf_of);
  entry.set_role(caller.plaintext ? "plaintext-development" : RoleName(caller.role));
  entry.set_method(std::string(method));
  entry.set_purpose(caller.purpose);
  entry.set_allowed(true);
  absl::Status s = access_log_->Record(std::move(entry), std::vector<std::string>(patient_ids));
  if (absl::IsResourceExhausted(s)) {
    log::Warning("read refused: the access log is behind", {{"who", caller.identity}, {"method", method}});
    return absl::UnavailableError(absl::StrCat(method, ": ", s.message()));
  }
  if (!s.ok()) log::Error("cannot write the access log", {{"error", s}, {"method", method}});
  return absl::OkStatus();
}

}  // namespace hisbridge::security
