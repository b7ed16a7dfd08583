// The one authorisation check every service makes: who is calling (the
// client certificate's identity, verified by mutual TLS), what their policy
// entry lets them do, and, for reads of patient data, the purpose of use
// they declared. Refusals are logged (identity, method, rule) and, for
// reads, written to the access log as denied.
//
// Services call Authorize() at the top of each handler (it does not block:
// a refused read's access-log entry is queued, or with a zero access-log
// delay written in one local RocksDB write), then RecordAccess() with the
// patients a read returned.
//
//   auto caller = authorizer->Authorize(*context, Permission::kReadPatients, "GetPatient");
//   if (!caller.ok()) { reactor->Finish(ToGrpcStatus(caller.status())); return reactor; }
//
// Plaintext development mode (AllowAllForDevelopment) has no identities:
// every caller is "anonymous", may do everything, and reads are still
// recorded; the node says so loudly in its log.
//
// Thread safety: immutable after construction (the access log is
// thread-safe); safe from any thread.
#ifndef HISBRIDGE_LIBS_SECURITY_AUTHORIZER_H_
#define HISBRIDGE_LIBS_SECURITY_AUTHORIZER_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/security/access_log.h"
#include "libs/security/policy.h"

namespace hisbridge::security {

enum class Permission {
  kSubmit,        // IngestService: clinic
  kReadPatients,  // QueryService: reader (purpose required), steward
  kReviewRead,    // ReviewService.ListReviewItems: steward
  kReviewWrite,   // ReviewService mutations: steward
  kAdmin,         // AdminService: admin
};

struct Caller {
  std::string identity;  // "anonymous" in plaintext mode
  Role role = Role::kReader;
  const PolicyEntry* entry = nullptr;  // null in plaintext mode
  // The declared purpose of use (reads).
  std::string purpose;
  bool plaintext = false;
  // Who a gateway (the FHIR facade) says it calls for: its own caller's
  // identity, from the x-hisbridge-on-behalf-of header. A claim of the
  // authenticated `identity`, recorded beside it in the access log; it
  // grants nothing.
  std::string on_behalf_of;
};

// What a caller presents, whatever the transport: the verified certificate
// identity ("" when none was verified) and the declared purpose of use and
// on-behalf-of ("" when not given).
struct CallerClaims {
  std::string identity;
  std::string purpose;
  std::string on_behalf_of;
};

class Authorizer {
 public:
  explicit Authorizer(Policy policy);
  static std::unique_ptr<Authorizer> AllowAllForDevelopment();

  // Where reads (and refused reads) are recorded; null for none (a node
  // without the query role).
  void set_access_log(AccessLog* log) { access_log_ = log; }
  AccessLog* access_log() const { return access_log_; }

  // UNAUTHENTICATED without a verified certificate identity;
  // PERMISSION_DENIED naming the rule when the identity is unknown or its
  // role lacks the permission, or a reader gave no purpose;
  // INVALID_ARGUMENT for an unknown purpose.
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& context, Permission permission,
                                   absl::string_view method) const;
  // The same decision for a caller identified another way (the FHIR
  // facade's HTTPS client certificate). In plaintext mode the identity is
  // ignored and everything is allowed, as above.
  absl::StatusOr<Caller> AuthorizeIdentity(const CallerClaims& claims, Permission permission,
                                           absl::string_view method) const;

  // For a clinic: why it may not submit for `facility_id` (a message naming
  // the policy rule), or "" when it may.
  std::string FacilityRefusal(const Caller& caller, absl::string_view facility_id) const;

  // Records an allowed read of these patients (one entry each; an empty
  // list records the call itself). Call it before answering: UNAVAILABLE
  // means the access log is too far behind to take the entries (the
  // message says so), and the read must be refused with that status. Write failures of the
  // log are logged loudly and return OK (the entries are queued; refusing
  // every read while the disk recovers would never let the log retry).
  absl::Status RecordAccess(const Caller& caller, absl::string_view method,
                            const std::vector<std::string>& patient_ids) const;

  bool plaintext() const { return plaintext_; }

 private:
  Authorizer() = default;
  void Refuse(const Caller& caller, const std::string& role, absl::string_view method, Permission permission,
              const std::string& purpose, const absl::Status& why) const;

  Policy policy_;
  bool plaintext_ = false;
  AccessLog* access_log_ = nullptr;
};

// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace hisbridge::security

#endif  // HISBRIDGE_LIBS_SECURITY_AUTHORIZER_H_
