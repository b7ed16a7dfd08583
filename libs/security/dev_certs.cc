#include "libs/security/dev_certs.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/file_util.h"

namespace hisbridge::security {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

absl::Status OpenSslError(absl::string_view what) {
  std::string why;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&why, why.empty() ? "" : "; ", buf);
  }
  return absl::InternalError(absl::StrCat(what, ": ", why.empty() ? "OpenSSL error" : why));
}

std::string ToPem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string ToPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError("EC key generation");
  return key;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return OpenSslError(absl::StrCat("certificate extension ", value));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return OpenSslError("X509_add_ext");
  return absl::OkStatus();
}

// A certificate for `key`, unsigned, with serial, validity and subject.
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key, const std::string& common_name, absl::Time not_before,
                                       absl::Time not_after) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("hisbridge development"), -1,
                             -1, 0);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 -1, -1, 0) != 1) {
    return OpenSslError(absl::StrCat("common name \"", common_name, "\""));
  }
  return cert;
}

bool LooksLikeIp(const std::string& name) {
  if (name.find(':') != std::string::npos) return true;
  for (char c : name) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  }
  return !name.empty();
}

absl::Status WriteFile(const std::string& path, const std::string& contents, bool secret) {
  absl::Status s = WriteFileAtomically(path, contents);
  if (!s.ok()) return s;
  if (::chmod(path.c_str(), secret ? 0600 : 0644) != 0) return absl::InternalError(absl::StrCat("chmod ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PemPair> MakeCertificateAuthority(const std::string& common_name, absl::Time not_before,
                                                 absl::Time not_after) {
  auto key = NewKey();
  if (!key.ok()) return key.status();
  auto cert = NewCertificate(key->get(), common_name, not_before, not_after);
  if (!cert.ok()) return cert.status();
  X509_set_issuer_name(cert->get(), X509_get_subject_name(cert->get()));
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"},
           {NID_subject_key_identifier, "hash"}}) {
    absl::Status s = AddExtension(cert->get(), cert->get(), nid, value);
    if (!s.ok()) return s;
  }
  if (X509_sign(cert->get(), key->get(), EVP_sha256()) == 0) return OpenSslError("signing the CA");
  return PemPair{ToPem(cert->get()), ToPem(key->get())};
}

absl::StatusOr<PemPair> IssueCertificate(const PemPair& ca, const CertRequest& request) {
  std::unique_ptr<BIO, BioFree> ca_bio(BIO_new_mem_buf(ca.cert.data(), static_cast<int>(ca.cert.size())));
  X509Ptr ca_cert(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  std::unique_ptr<BIO, BioFree> key_bio(BIO_new_mem_buf(ca.key.data(), static_cast<int>(ca.key.size())));
  PkeyPtr ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (ca_cert == nullptr || ca_key == nullptr) return OpenSslError("reading the CA");
  auto key = NewKey();
  if (!key.ok()) return key.status();
  auto cert = NewCertificate(key->get(), request.common_name, request.not_before, request.not_after);
  if (!cert.ok()) return cert.status();
  X509_set_issuer_name(cert->get(), X509_get_subject_name(ca_cert.get()));
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, request.server ? "serverAuth" : "clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (!request.alt_names.empty()) {
    std::vector<std::string> sans;
    for (const std::string& n : request.alt_names) sans.push_back(absl::StrCat(LooksLikeIp(n) ? "IP:" : "DNS:", n));
    extensions.emplace_back(NID_subject_alt_name, absl::StrJoin(sans, ","));
  }
  for (const auto& [nid, value] : extensions) {
    absl::Status s = AddExtension(cert->get(), ca_cert.get(), nid, value);
    if (!s.ok()) return s;
  }
  if (X509_sign(cert->get(), ca_key.get(), EVP_sha256()) == 0) return OpenSslError("signing a certificate");
  return PemPair{ToPem(cert->get()), ToPem(key->get())};
}

absl::StatusOr<std::vector<std::string>> WriteDevCertificates(const DevCertOptions& options) {
  if (options.out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  absl::Status s = MakeDirectories(options.out_dir);
  if (!s.ok()) return s;
  std::vector<std::string> written;
  auto write_pair = [&](const std::string& name, const PemPair& pair) -> absl::Status {
    absl::Status w = WriteFile(absl::StrCat(options.out_dir, "/", name, ".crt"), pair.cert, false);
    if (w.ok()) w = WriteFile(absl::StrCat(options.out_dir, "/", name, ".key"), pair.key, true);
    if (w.ok()) {
      written.push_back(name + ".crt");
      written.push_back(name + ".key");
    }
    return w;
  };
  const absl::Time start = options.now - absl::Minutes(5);  // clock skew
  const absl::Time end = options.now + options.validity;
  auto ca = MakeCertificateAuthority("hisbridge development CA", start, end);
  if (!ca.ok()) return ca.status();
  s = write_pair("ca", *ca);
  if (!s.ok()) return s;

  CertRequest server;
  server.common_name = "hisbridge";
  server.alt_names = {"localhost", "127.0.0.1"};
  for (const std::string& n : options.server_names) server.alt_names.push_back(n);
  server.server = true;
  server.not_before = start;
  server.not_after = end;
  auto server_pair = IssueCertificate(*ca, server);
  if (!server_pair.ok()) return server_pair.status();
  s = write_pair("server", *server_pair);
  if (!s.ok()) return s;

  std::string policy =
      "# hisbridge policy (docs/security.md): identity (certificate CN), role, and for clinics the facilities\n"
      "# they may submit for (comma-separated, or * for every facility).\n";
  auto client = [&](const std::string& file, const std::string& cn, const std::string& policy_line,
                    absl::Time not_before, absl::Time not_after, const PemPair& issuer) -> absl::Status {
    CertRequest r;
    r.common_name = cn;
    r.not_before = not_before;
    r.not_after = not_after;
    auto pair = IssueCertificate(issuer, r);
    if (!pair.ok()) return pair.status();
    if (!policy_line.empty()) absl::StrAppend(&policy, policy_line, "\n");
    return write_pair(file, *pair);
  };
  for (const std::string& f : options.facilities) {
    s = client(absl::StrCat("clinic-", f), absl::StrCat("clinic:", f),
               absl::StrCat("clinic:", f, "  clinic  ", f), start, end, *ca);
    if (!s.ok()) return s;
  }
  const std::vector<std::pair<std::string, std::string>> roles = {
      {"gateway", "county-gateway  clinic  *"},
      {"reader", "reader:lead-hospital  reader"},
      {"steward", "steward:dev  steward"},
      {"admin", "admin:dev  admin"}};
  for (const auto& [file, line] : roles) {
    const std::string cn = line.substr(0, line.find(' '));
    s = client(file, cn, line, start, end, *ca);
    if (!s.ok()) return s;
  }
  if (options.test_certificates) {
    // In the policy, so that only its dates refuse it.
    s = client("expired", "clinic:expired", "clinic:expired  clinic  *", options.now - absl::Hours(24 * 30),
               options.now - absl::Hours(24), *ca);
    if (!s.ok()) return s;
    auto other_ca = MakeCertificateAuthority("someone else's CA", start, end);
    if (!other_ca.ok()) return other_ca.status();
    s = client("untrusted", "county-gateway", "", start, end, *other_ca);
    if (!s.ok()) return s;
  }
  s = WriteFile(options.out_dir + "/policy.txt", policy, false);
  if (!s.ok()) return s;
  written.push_back("policy.txt");
  return written;
}

}  // namespace hisbridge::security
