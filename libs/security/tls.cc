#include "libs/security/tls.h"

#include <grpcpp/security/auth_context.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <csignal>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/file_util.h"

namespace hisbridge::security {
namespace {

// The queued OpenSSL errors as text (they describe the operation, never
// the key).
std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> MemBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return absl::Status(text.status().code(), absl::StrCat(flag, " ", path, ": ", text.status().message()));
  return text;
}

std::string CommonName(X509* cert) {
  if (cert == nullptr) return "";
  X509_NAME* name = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files, bool need_own_cert) {
  TlsMaterial m;
  if (files.ca.empty()) return absl::InvalidArgumentError(absl::StrCat(files.ca_flag, " is required with TLS"));
  if (need_own_cert && (files.cert.empty() || files.key.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(files.cert_flag, " and ", files.key_flag, " are required with TLS"));
  }
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("give both ", files.cert_flag, " and ", files.key_flag, ", or neither"));
  }
  auto ca = ReadPem(files.ca_flag, files.ca);
  if (!ca.ok()) return ca.status();
  m.ca_pem = std::move(*ca);
  {
    auto bio = MemBio(m.ca_pem);
    std::unique_ptr<X509, X509Free> first(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (first == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat(files.ca_flag, " ", files.ca, ": no PEM certificate in the file"));
    }
  }
  if (files.cert.empty()) return m;
  auto cert = ReadPem(files.cert_flag, files.cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(files.key_flag, files.key);
  if (!key.ok()) return key.status();
  m.cert_pem = std::move(*cert);
  m.key_pem = std::move(*key);
  auto cert_bio = MemBio(m.cert_pem);
  std::unique_ptr<X509, X509Free> x509(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (x509 == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(files.cert_flag, " ", files.cert, ": no PEM certificate in the file"));
  }
  auto key_bio = MemBio(m.key_pem);
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(files.key_flag, " ", files.key, ": no unencrypted PEM private key in the file"));
  }
  if (X509_check_private_key(x509.get(), pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(files.key_flag, " ", files.key, " is not the private key of ", files.cert_flag, " ", files.cert));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(x509.get())) < 0) {
    return absl::FailedPreconditionError(absl::StrCat(files.cert_flag, " ", files.cert, ": the certificate has expired"));
  }
  return m;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(const TlsFiles& files) {
  auto m = LoadTlsMaterial(files, /*need_own_cert=*/true);
  if (!m.ok()) return m.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = m->ca_pem;
  options.pem_key_cert_pairs.push_back({m->key_pem, m->cert_pem});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> GrpcClientCredentials(const TlsFiles& files) {
  auto m = LoadTlsMaterial(files, /*need_own_cert=*/false);
  if (!m.ok()) return m.status();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = m->ca_pem;
  options.pem_private_key = m->key_pem;
  options.pem_cert_chain = m->cert_pem;
  return grpc::SslCredentials(options);
}

std::string PeerIdentity(const grpc::AuthContext& auth) {
  if (!auth.IsPeerAuthenticated()) return "";
  for (const char* property : {"x509_common_name", "x509_subject_alternative_name"}) {
    auto values = auth.FindPropertyValues(property);
    if (!values.empty()) return std::string(values.front().data(), values.front().size());
  }
  auto identity = auth.GetPeerIdentity();
  return identity.empty() ? "" : std::string(identity.front().data(), identity.front().size());
}

struct TlsContext::Impl {
  SSL_CTX* ctx = nullptr;
  ~Impl() { SSL_CTX_free(ctx); }
};

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::~TlsContext() = default;

namespace {

absl::Status Configure(SSL_CTX* ctx, const TlsMaterial& m, const TlsFiles& files) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  auto ca_bio = MemBio(m.ca_pem);
  int added = 0;
  while (X509* ca = PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, ca) == 1) ++added;
    X509_free(ca);
  }
  ERR_clear_error();
  if (added == 0) return absl::InvalidArgumentError(absl::StrCat(files.ca_flag, " ", files.ca, ": no usable CA"));
  if (!m.cert_pem.empty()) {
    auto cert_bio = MemBio(m.cert_pem);
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    auto key_bio = MemBio(m.key_pem);
    std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (SSL_CTX_use_certificate(ctx, cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(files.cert_flag, " ", files.cert, ": ", OpenSslErrors()));
    }
    // Intermediate certificates after the first one in the file.
    while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
      SSL_CTX_add0_chain_cert(ctx, extra);
    }
    ERR_clear_error();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::Server(const TlsFiles& files, bool require_client_cert) {
  // OpenSSL writes with write(): a peer that went away must be an error,
  // not a SIGPIPE that ends the process.
  std::signal(SIGPIPE, SIG_IGN);
  auto m = LoadTlsMaterial(files, /*need_own_cert=*/true);
  if (!m.ok()) return m.status();
  auto impl = std::make_unique<Impl>();
  impl->ctx = SSL_CTX_new(TLS_server_method());
  if (impl->ctx == nullptr) return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslErrors()));
  absl::Status s = Configure(impl->ctx, *m, files);
  if (!s.ok()) return s;
  SSL_CTX_set_verify(impl->ctx, require_client_cert ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
                     nullptr);
  return std::shared_ptr<const TlsContext>(new TlsContext(std::move(impl)));
}

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::Client(const TlsFiles& files) {
  std::signal(SIGPIPE, SIG_IGN);
  auto m = LoadTlsMaterial(files, /*need_own_cert=*/false);
  if (!m.ok()) return m.status();
  auto impl = std::make_unique<Impl>();
  impl->ctx = SSL_CTX_new(TLS_client_method());
  if (impl->ctx == nullptr) return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpenSslErrors()));
  absl::Status s = Configure(impl->ctx, *m, files);
  if (!s.ok()) return s;
  SSL_CTX_set_verify(impl->ctx, SSL_VERIFY_PEER, nullptr);
  return std::shared_ptr<const TlsContext>(new TlsContext(std::move(impl)));
}

struct TlsSession::Impl {
  SSL* ssl = nullptr;
  ~Impl() {
    if (ssl != nullptr) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }
};

TlsSession::TlsSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsSession::~TlsSession() = default;

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Accept(const TlsContext& context, int fd,
                                                               absl::Duration timeout) {
  auto impl = std::make_unique<Impl>();
  impl->ssl = SSL_new(context.impl_->ctx);
  if (impl->ssl == nullptr || SSL_set_fd(impl->ssl, fd) != 1) {
    return absl::InternalError(absl::StrCat("SSL_new: ", OpenSslErrors()));
  }
  // A client that connects and never speaks must not hold the thread: the
  // handshake is bounded by poll()ing for its bytes.
  const absl::Time deadline = absl::Now() + timeout;
  pollfd pfd{fd, POLLIN, 0};
  const int ready = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()))));
  if (ready <= 0) return absl::DeadlineExceededError("no TLS handshake from the client in time");
  if (SSL_accept(impl->ssl) != 1) {
    const long verify = SSL_get_verify_result(impl->ssl);
    std::string why = OpenSslErrors();
    if (verify != X509_V_OK) why = absl::StrCat(X509_verify_cert_error_string(verify), " (", why, ")");
    return absl::UnauthenticatedError(absl::StrCat("TLS handshake failed: ", why));
  }
  std::unique_ptr<TlsSession> session(new TlsSession(std::move(impl)));
  X509* peer = SSL_get1_peer_certificate(session->impl_->ssl);
  session->peer_identity_ = CommonName(peer);
  X509_free(peer);
  return session;
}

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Connect(const TlsContext& context, int fd,
                                                                const std::string& server_name) {
  auto impl = std::make_unique<Impl>();
  impl->ssl = SSL_new(context.impl_->ctx);
  if (impl->ssl == nullptr || SSL_set_fd(impl->ssl, fd) != 1) {
    return absl::InternalError(absl::StrCat("SSL_new: ", OpenSslErrors()));
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(impl->ssl);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str()) != 1) {
    ERR_clear_error();
    X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0);
    SSL_set_tlsext_host_name(impl->ssl, server_name.c_str());
  }
  if (SSL_connect(impl->ssl) != 1) {
    const long verify = SSL_get_verify_result(impl->ssl);
    std::string why = OpenSslErrors();
    if (verify != X509_V_OK) why = absl::StrCat(X509_verify_cert_error_string(verify), " (", why, ")");
    return absl::UnavailableError(absl::StrCat("TLS handshake with ", server_name, " failed: ", why));
  }
  std::unique_ptr<TlsSession> session(new TlsSession(std::move(impl)));
  X509* peer = SSL_get1_peer_certificate(session->impl_->ssl);
  session->peer_identity_ = CommonName(peer);
  X509_free(peer);
  return session;
}

ssize_t TlsSession::Read(char* buffer, size_t size) {
  const int n = SSL_read(impl_->ssl, buffer, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  if (n > 0) return n;
  const int err = SSL_get_error(impl_->ssl, n);
  ERR_clear_error();
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  if (err == SSL_ERROR_SYSCALL && errno == 0) return 0;
  return -1;
}

bool TlsSession::WriteAll(absl::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const int n = SSL_write(impl_->ssl, bytes.data() + done, static_cast<int>(std::min<size_t>(bytes.size() - done, 1 << 30)));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool TlsSession::HasBufferedData() const { return SSL_pending(impl_->ssl) > 0; }

}  // namespace hisbridge::security
