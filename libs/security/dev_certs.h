// Development and test certificates, made with the OpenSSL C API (no
// openssl command): a CA, a server certificate, client certificates for
// each role, and a policy file that matches them. Production certificates
// come from the county's own CA; these are for `hisbridge demo --tls`,
// tests, and trying TLS out.
//
// Keys are ECDSA P-256; signatures SHA-256. Private keys are written with
// mode 0600.
//
// Thread safety: no shared state.
#ifndef HISBRIDGE_LIBS_SECURITY_DEV_CERTS_H_
#define HISBRIDGE_LIBS_SECURITY_DEV_CERTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hisbridge::security {

// A certificate and its key, PEM.
struct PemPair {
  std::string cert;
  std::string key;
};

// A self-signed CA.
absl::StatusOr<PemPair> MakeCertificateAuthority(const std::string& common_name, absl::Time not_before,
                                                 absl::Time not_after);

struct CertRequest {
  std::string common_name;
  // Subject alternative names: IP addresses ("127.0.0.1") become IP
  // entries, anything else DNS entries.
  std::vector<std::string> alt_names;
  bool server = false;  // serverAuth, else clientAuth
  absl::Time not_before;
  absl::Time not_after;
};
absl::StatusOr<PemPair> IssueCertificate(const PemPair& ca, const CertRequest& request);

struct DevCertOptions {
  std::string out_dir;
  // One clinic certificate per facility: CN "clinic:<facility>".
  std::vector<std::string> facilities;
  // Server names besides localhost and 127.0.0.1.
  std::vector<std::string> server_names;
  absl::Duration validity = absl::Hours(24 * 365);
  // Also an already expired client certificate (expired.crt) and one from
  // an unknown CA (untrusted.crt), for refusal tests.
  bool test_certificates = false;
  absl::Time now = absl::Now();
};

// Writes ca.crt/ca.key, server.crt/server.key, clinic-<facility>.crt/.key,
// gateway (clinic for every facility), reader, steward and admin
// certificates, and policy.txt naming each of them. Returns the file names
// written.
absl::StatusOr<std::vector<std::string>> WriteDevCertificates(const DevCertOptions& options);

}  // namespace hisbridge::security

#endif  // HISBRIDGE_LIBS_SECURITY_DEV_CERTS_H_
