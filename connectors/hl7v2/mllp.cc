#include "connectors/hl7v2/mllp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/logging.h"
#include "libs/security/tls.h"

namespace hisbridge::connectors::hl7v2 {
namespace {

absl::Status Errno(absl::string_view what) {
  const int err = errno;
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(err)));
}

absl::Status SplitHostPort(const std::string& host_port, std::string* host, std::string* port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("\"", host_port, "\" is not host:port"));
  }
  *host = host_port.substr(0, colon);
  *port = host_port.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  return absl::OkStatus();
}

bool WriteAll(int fd, absl::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string Frame(absl::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 3);
  out.push_back(kStartBlock);
  out.append(payload.data(), payload.size());
  out.push_back(kEndBlock);
  out.push_back(kCarriageReturn);
  return out;
}

std::string PeerName(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace

struct MllpServer::Connection {
  int fd = -1;
  std::unique_ptr<security::TlsSession> tls;
  std::string peer;
  std::thread thread;
  std::atomic<bool> done{false};
};

MllpServer::MllpServer(MllpServerOptions options, Handler handler, OversizeHandler oversize)
    : options_(std::move(options)), handler_(std::move(handler)), oversize_(std::move(oversize)) {}

absl::StatusOr<std::unique_ptr<MllpServer>> MllpServer::Start(MllpServerOptions options, Handler handler,
                                                              OversizeHandler oversize) {
  std::string host, port;
  auto s = SplitHostPort(options.listen, &host, &port);
  if (!s.ok()) return s;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--listen ", options.listen, ": ", ::gai_strerror(rc)));
  }
  std::unique_ptr<MllpServer> server(new MllpServer(std::move(options), std::move(handler), std::move(oversize)));
  absl::Status last = absl::UnavailableError("no address to listen on");
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      last = Errno(absl::StrCat("cannot listen on ", server->options_.listen));
      ::close(fd);
      continue;
    }
    server->listen_fd_ = fd;
    break;
  }
  ::freeaddrinfo(result);
  if (server->listen_fd_ < 0) return last;
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  server->port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                              : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (::pipe2(server->wake_pipe_, O_CLOEXEC) != 0) return Errno("pipe");
  server->accept_thread_ = std::thread([p = server.get()] { p->AcceptLoop(); });
  return server;
}

MllpServer::~MllpServer() { Stop(); }

void MllpServer::ReapFinished() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done.load()) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void MllpServer::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    const int n = ::poll(fds, 2, 1000);
    ReapFinished();
    if (n <= 0 || stopping_.load()) continue;
    if (!(fds[0].revents & POLLIN)) continue;
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(connections_.size()) >= options_.max_connections) {
      log::Warning("mllp: too many connections; refusing one", {{"peer", PeerName(addr)},
                                                               {"max", options_.max_connections}});
      ::close(fd);
      continue;
    }
    ++accepted_;
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->peer = PeerName(addr);
    Connection* raw = c.get();
    connections_.push_back(std::move(c));
    raw->thread = std::thread([this, raw] {
      Serve(raw);
      raw->done.store(true);
    });
  }
}

void MllpServer::Serve(Connection* c) {
  log::Debug("mllp: connection opened", {{"peer", c->peer}});
  if (options_.tls != nullptr) {
    // In the connection's own thread: a slow or silent client delays no one.
    auto session = security::TlsSession::Accept(*options_.tls, c->fd, options_.handshake_timeout);
    if (!session.ok()) {
      log::Warning("mllp: TLS handshake refused", {{"peer", c->peer}, {"reason", session.status().message()}});
      ::close(c->fd);
      return;
    }
    c->tls = std::move(*session);
    if (!c->tls->peer_identity().empty()) c->peer = absl::StrCat(c->tls->peer_identity(), "@", c->peer);
    log::Debug("mllp: TLS connection", {{"peer", c->peer}});
  }
  std::string frame;       // the message being read (without framing)
  bool in_frame = false;
  bool oversize = false;
  size_t frame_size = 0;
  bool pending_end = false;  // saw 0x1C at the end of the last read
  char buffer[64 << 10];
  const int timeout_ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(options_.idle_timeout), 1 << 30));
  auto answer = [&](const std::string& ack) {
    return c->tls != nullptr ? c->tls->WriteAll(Frame(ack)) : WriteAll(c->fd, Frame(ack));
  };
  while (!stopping_.load()) {
    pollfd pfd{c->fd, POLLIN, 0};
    // Bytes TLS already decrypted are invisible to poll().
    const int ready = c->tls != nullptr && c->tls->HasBufferedData() ? 1 : ::poll(&pfd, 1, timeout_ms);
    if (ready == 0) {
      log::Info("mllp: closing an idle connection", {{"peer", c->peer}});
      break;
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const ssize_t n = c->tls != nullptr ? c->tls->Read(buffer, sizeof(buffer)) : ::recv(c->fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR && c->tls == nullptr) continue;
    if (n <= 0) break;
    bool ok = true;
    for (ssize_t i = 0; i < n && ok; ++i) {
      const char b = buffer[i];
      if (!in_frame) {
        if (b == kStartBlock) {
          in_frame = true;
          oversize = false;
          frame.clear();
          frame_size = 0;
        }
        // Anything else between frames (stray CR/LF, noise) is skipped.
        continue;
      }
      if (pending_end) {
        pending_end = false;
        if (b == kCarriageReturn) {
          in_frame = false;
          if (oversize) {
            ok = answer(oversize_(frame, frame_size, c->peer));
          } else {
            ok = answer(handler_(frame, c->peer));
          }
          continue;
        }
        // A lone 0x1C inside the data: keep it and go on.
        ++frame_size;
        if (!oversize) frame.push_back(kEndBlock);
      }
      if (b == kEndBlock) {
        pending_end = true;
        continue;
      }
      if (b == kStartBlock && frame_size > 0 && !oversize) {
        // A new start block before the end: the sender gave up on the
        // previous frame; start over.
        frame.clear();
        frame_size = 0;
        continue;
      }
      ++frame_size;
      if (oversize) continue;
      frame.push_back(b);
      if (frame.size() > options_.max_message_bytes) {
        oversize = true;
        frame.resize(std::min<size_t>(frame.size(), 4096));  // the head: MSH names the message for the NAK
      }
    }
    if (!ok) break;
  }
  c->tls.reset();
  ::close(c->fd);
  log::Debug("mllp: connection closed", {{"peer", c->peer}});
}

void MllpServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (wake_pipe_[1] >= 0) {
    const char x = 1;
    (void)!::write(wake_pipe_[1], &x, 1);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Wake readers; a connection inside its handler finishes and answers
    // first (the write side stays open).
    for (auto& c : connections_) ::shutdown(c->fd, SHUT_RD);
  }
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections.swap(connections_);
  }
  for (auto& c : connections) c->thread.join();
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
  wake_pipe_[0] = wake_pipe_[1] = -1;
}

absl::StatusOr<std::unique_ptr<MllpClient>> MllpClient::Connect(const std::string& host_port,
                                                                absl::Duration timeout,
                                                                std::shared_ptr<const security::TlsContext> tls) {
  std::string host, port;
  auto s = SplitHostPort(host_port, &host, &port);
  if (!s.ok()) return s;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) return absl::InvalidArgumentError(absl::StrCat(host_port, ": ", ::gai_strerror(rc)));
  absl::Status last = absl::UnavailableError(absl::StrCat("cannot connect to ", host_port));
  int fd = -1;
  for (addrinfo* ai = result; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv{static_cast<time_t>(absl::ToInt64Seconds(timeout)), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last = Errno(absl::StrCat("cannot connect to ", host_port));
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(result);
  if (fd < 0) return last;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::unique_ptr<MllpClient> client(new MllpClient(fd));
  if (tls != nullptr) {
    timeval tv{static_cast<time_t>(absl::ToInt64Seconds(timeout)), 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    auto session = security::TlsSession::Connect(*tls, fd, host);
    if (!session.ok()) return session.status();
    client->tls_ = std::move(*session);
    tv = timeval{0, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  return client;
}

MllpClient::MllpClient(int fd) : fd_(fd) {}

MllpClient::~MllpClient() {
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
}

absl::Status MllpClient::SendRaw(absl::string_view bytes) {
  const bool ok = tls_ != nullptr ? tls_->WriteAll(bytes) : WriteAll(fd_, bytes);
  if (!ok) return Errno("mllp send");
  return absl::OkStatus();
}

absl::StatusOr<std::string> MllpClient::ReadFrame(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const size_t start = buffer_.find(kStartBlock);
    if (start != std::string::npos) {
      const size_t end = buffer_.find(std::string{kEndBlock, kCarriageReturn}, start);
      if (end != std::string::npos) {
        std::string payload = buffer_.substr(start + 1, end - start - 1);
        buffer_.erase(0, end + 2);
        return payload;
      }
    }
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) return absl::DeadlineExceededError("no MLLP answer in time");
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = tls_ != nullptr && tls_->HasBufferedData()
                          ? 1
                          : ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (ready == 0) return absl::DeadlineExceededError("no MLLP answer in time");
    if (ready < 0 && errno != EINTR) return Errno("mllp poll");
    char buffer[16 << 10];
    const ssize_t n = tls_ != nullptr ? tls_->Read(buffer, sizeof(buffer)) : ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n == 0) return absl::UnavailableError("the MLLP server closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("mllp recv");
    }
    buffer_.append(buffer, static_cast<size_t>(n));
  }
}

absl::StatusOr<std::string> MllpClient::Exchange(absl::string_view message, absl::Duration timeout) {
  auto s = SendRaw(Frame(message));
  if (!s.ok()) return s;
  return ReadFrame(timeout);
}

}  // namespace hisbridge::connectors::hl7v2
