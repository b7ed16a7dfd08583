// MLLP (Minimal Lower Layer Protocol, HL7 v2 over TCP): a server that
// frames messages (0x0B message 0x1C 0x0D) and answers each with the bytes
// its handler returns, and a small blocking client for tests and the
// benchmark.
//
// The server runs one thread per connection (bounded by max_connections),
// so a connection waiting for its ACK (ingest, the spool's fsync) never
// delays another. Bytes outside a frame are skipped; a frame larger than
// max_message_bytes is read to its end without being kept and answered by
// the oversize handler (an AR naming the limit); a connection idle for
// idle_timeout is closed. Stop() stops accepting, lets every message
// already being handled finish and send its ACK, then closes everything.
//
// Thread safety: the handler is called concurrently from connection
// threads. Start/Stop from one thread.
#ifndef HISBRIDGE_CONNECTORS_HL7V2_MLLP_H_
#define HISBRIDGE_CONNECTORS_HL7V2_MLLP_H_

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hisbridge::security {
class TlsContext;
class TlsSession;
}  // namespace hisbridge::security

namespace hisbridge::connectors::hl7v2 {

inline constexpr char kStartBlock = 0x0B;
inline constexpr char kEndBlock = 0x1C;
inline constexpr char kCarriageReturn = 0x0D;

struct MllpServerOptions {
  // host:port; port 0 picks a free port.
  std::string listen = "0.0.0.0:2575";
  size_t max_message_bytes = 1 << 20;
  absl::Duration idle_timeout = absl::Minutes(10);
  int max_connections = 256;
  // MLLP over TLS (security::TlsContext::Server; with a client CA it is
  // mutual TLS and the peer is named by its certificate). Null: plaintext.
  std::shared_ptr<const security::TlsContext> tls;
  // Most time a new connection may take to complete the TLS handshake.
  absl::Duration handshake_timeout = absl::Seconds(10);
};

class MllpServer {
 public:
  // Returns the ACK for one message; `peer` is "ip:port".
  using Handler = std::function<std::string(absl::string_view message, const std::string& peer)>;
  // Returns the NAK for a message over the limit, given its first bytes.
  using OversizeHandler = std::function<std::string(absl::string_view head, size_t size, const std::string& peer)>;

  static absl::StatusOr<std::unique_ptr<MllpServer>> Start(MllpServerOptions options, Handler handler,
                                                           OversizeHandler oversize);
  ~MllpServer();
  MllpServer(const MllpServer&) = delete;
  MllpServer& operator=(const MllpServer&) = delete;

  int port() const { return port_; }
  void Stop();
  int64_t connections_accepted() const { return accepted_.load(); }

 private:
  struct Connection;
  MllpServer(MllpServerOptions options, Handler handler, OversizeHandler oversize);
  void AcceptLoop();
  void Serve(Connection* connection);
  void ReapFinished();

  MllpServerOptions options_;
  Handler handler_;
  OversizeHandler oversize_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> accepted_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_;
};

// A blocking MLLP client: one connection, one message at a time.
class MllpClient {
 public:
  // With `tls`, runs the TLS handshake and checks the server's name (the
  // host of host_port).
  static absl::StatusOr<std::unique_ptr<MllpClient>> Connect(
      const std::string& host_port, absl::Duration timeout = absl::Seconds(10),
      std::shared_ptr<const security::TlsContext> tls = nullptr);
  ~MllpClient();
  MllpClient(const MllpClient&) = delete;
  MllpClient& operator=(const MllpClient&) = delete;

  // Sends one framed message and returns the framed answer's payload.
  absl::StatusOr<std::string> Exchange(absl::string_view message, absl::Duration timeout = absl::Seconds(30));
  // Sends raw bytes (tests of framing errors).
  absl::Status SendRaw(absl::string_view bytes);
  // Reads one framed answer.
  absl::StatusOr<std::string> ReadFrame(absl::Duration timeout);

 private:
  explicit MllpClient(int fd);
  int fd_;
  std::unique_ptr<security::TlsSession> tls_;
  std::string buffer_;
};

}  // namespace hisbridge::connectors::hl7v2

#endif  // HISBRIDGE_CONNECTORS_HL7V2_MLLP_H_
