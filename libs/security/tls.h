// TLS for every hisbridge listener and client: gRPC credentials (mutual TLS:
// the server requires and verifies a client certificate from the CA
// bundle), and OpenSSL contexts for plain sockets (the MLLP server and
// client; the metrics endpoint uses cpp-httplib's own OpenSSL server with
// the same files).
//
// Files are PEM. Errors name the flag and file ("--tls-cert
// /etc/x/tls.crt: ...") and never contain key material.
//
// Thread safety: TlsContext is immutable after creation and shared by
// every connection; a TlsSession belongs to one connection's thread.
#ifndef HISBRIDGE_LIBS_SECURITY_TLS_H_
#define HISBRIDGE_LIBS_SECURITY_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace grpc {
class AuthContext;
}  // namespace grpc

namespace hisbridge::security {

// Paths of the PEM files of one side of a connection.
struct TlsFiles {
  // This side's certificate chain and private key. A server needs both; a
  // client needs both for mutual TLS.
  std::string cert;
  std::string key;
  // The CA bundle that verifies the other side (server: the clients'
  // CA; client: the server's CA).
  std::string ca;
  // Names of the flags the files came from, for error messages.
  std::string cert_flag = "--tls-cert";
  std::string key_flag = "--tls-key";
  std::string ca_flag = "--tls-ca";

  bool empty() const { return cert.empty() && key.empty() && ca.empty(); }
};

// The PEM contents, read and checked (the key matches the certificate,
// the certificate is not expired).
struct TlsMaterial {
  std::string cert_pem;
  std::string key_pem;
  std::string ca_pem;
};
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files, bool need_own_cert);

// gRPC server credentials: TLS 1.2+ with the server certificate; client
// certificates required and verified against files.ca.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(const TlsFiles& files);

// gRPC channel credentials verifying the server with files.ca and, when
// given, presenting files.cert/files.key.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> GrpcClientCredentials(const TlsFiles& files);

// The identity of an authenticated gRPC peer: the client certificate's
// subject common name (or, without one, its first subject alternative
// name); "" when the peer is not authenticated (plaintext).
std::string PeerIdentity(const grpc::AuthContext& auth);

// An OpenSSL context for plain sockets.
class TlsContext {
 public:
  // Server side; require_client_cert asks for and verifies a client
  // certificate (mutual TLS).
  static absl::StatusOr<std::shared_ptr<const TlsContext>> Server(const TlsFiles& files, bool require_client_cert);
  // Client side; verifies the server against files.ca and its name.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> Client(const TlsFiles& files);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

 private:
  friend class TlsSession;
  struct Impl;
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// TLS over one connected, blocking socket. Does not own the fd.
class TlsSession {
 public:
  // Runs the server handshake within `timeout`.
  static absl::StatusOr<std::unique_ptr<TlsSession>> Accept(const TlsContext& context, int fd,
                                                            absl::Duration timeout);
  // Runs the client handshake, checking the server certificate against
  // `server_name` (a DNS name or IP address).
  static absl::StatusOr<std::unique_ptr<TlsSession>> Connect(const TlsContext& context, int fd,
                                                             const std::string& server_name);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Like recv(): bytes read, 0 at the peer's close, -1 on error.
  ssize_t Read(char* buffer, size_t size);
  // Writes everything; false on error.
  bool WriteAll(absl::string_view bytes);
  // Decrypted bytes buffered (poll() on the fd would not see them).
  bool HasBufferedData() const;
  // The peer certificate's common name ("" without one).
  const std::string& peer_identity() const { return peer_identity_; }

 private:
  struct Impl;
  explicit TlsSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string peer_identity_;
};

}  // namespace hisbridge::security

#endif  // HISBRIDGE_LIBS_SECURITY_TLS_H_
