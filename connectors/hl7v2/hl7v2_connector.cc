#include "connectors/hl7v2/hl7v2_connector.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/json_escape.h"
#include "libs/base/logging.h"
#include "libs/base/time_format.h"
#include "libs/records/validate.h"

namespace hisbridge::connectors::hl7v2 {
namespace {

using hl7::AckCode;
using hl7::ErrorCode;
using hl7::Issue;

}  // namespace

Hl7v2Connector::Hl7v2Connector(forward::Forwarder* forwarder, Hl7v2ConnectorOptions options)
    : forwarder_(forwarder), options_(std::move(options)) {}

Hl7v2Connector::~Hl7v2Connector() { Stop(); }

absl::Status Hl7v2Connector::Start() {
  auto server = MllpServer::Start(
      options_.mllp, [this](absl::string_view m, const std::string& peer) { return Handle(m, peer); },
      [this](absl::string_view head, size_t size, const std::string& peer) {
        return HandleOversize(head, size, peer);
      });
  if (!server.ok()) return server.status();
  server_ = std::move(*server);
  return absl::OkStatus();
}

void Hl7v2Connector::Stop() {
  if (server_ != nullptr) server_->Stop();
}

int Hl7v2Connector::port() const { return server_ != nullptr ? server_->port() : 0; }

Hl7v2Stats Hl7v2Connector::stats() const {
  Hl7v2Stats s;
  s.accepted = accepted_.load();
  s.errors = errors_.load();
  s.rejected = rejected_.load();
  s.spooled = spooled_.load();
  s.connections = server_ != nullptr ? server_->connections_accepted() : 0;
  return s;
}

void AddHl7v2Collector(metrics::Registry* registry, const Hl7v2Connector* connector) {
  registry->AddCollector([connector](metrics::MetricWriter& out) {
    const Hl7v2Stats s = connector->stats();
    constexpr const char* kMessages =
        "HL7 v2 messages answered, by acknowledgment code: AA durable, AE understood but not applied, AR refused "
        "(every AE and AR is in the reject log with its reasons).";
    out.Counter("hisbridge_hl7v2_messages_total", kMessages, {{"ack", "AA"}}, static_cast<double>(s.accepted));
    out.Counter("hisbridge_hl7v2_messages_total", kMessages, {{"ack", "AE"}}, static_cast<double>(s.errors));
    out.Counter("hisbridge_hl7v2_messages_total", kMessages, {{"ack", "AR"}}, static_cast<double>(s.rejected));
    out.Counter("hisbridge_hl7v2_spooled_messages_total",
                "Messages acknowledged AA once fsync'ed in the spool, while ingest or Kafka was unreachable.", {},
                static_cast<double>(s.spooled));
    out.Counter("hisbridge_hl7v2_connections_total", "MLLP connections accepted.", {},
                static_cast<double>(s.connections));
  });
}

void Hl7v2Connector::LogReject(const hl7::Header& header, AckCode code, const std::vector<Issue>& issues,
                               absl::string_view raw, const std::string& peer) {
  log::Warning("hl7v2: message not accepted",
               {{"ack", hl7::AckCodeName(code)}, {"peer", peer}, {"control_id", header.control_id},
                {"reason", issues.empty() ? std::string() : issues.front().message}});
  if (options_.reject_log.empty()) return;
  std::string line = absl::StrCat("{\"time\":", JsonQuoted(FormatRfc3339(absl::Now())), ",\"peer\":",
                                  JsonQuoted(peer), ",\"ack\":", JsonQuoted(hl7::AckCodeName(code)),
                                  ",\"control_id\":", JsonQuoted(header.control_id), ",\"errors\":[");
  for (size_t i = 0; i < issues.size(); ++i) {
    absl::StrAppend(&line, i ? "," : "", "{\"location\":", JsonQuoted(issues[i].location.ToString()),
                    ",\"code\":", static_cast<int>(issues[i].code), ",\"message\":", JsonQuoted(issues[i].message),
                    "}");
  }
  absl::StrAppend(&line, "],\"message_base64\":", JsonQuoted(absl::Base64Escape(raw)), "}\n");
  std::lock_guard<std::mutex> lock(reject_mu_);
  const int fd = ::open(options_.reject_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    log::Error("hl7v2: cannot write the reject log", {{"path", options_.reject_log}});
  }
  if (fd >= 0) ::close(fd);
}

std::string Hl7v2Connector::Answer(const hl7::Header& header, AckCode code, const std::vector<Issue>& issues,
                                   absl::string_view raw, const std::string& peer) {
  switch (code) {
    case AckCode::kAccept: ++accepted_; break;
    case AckCode::kError: ++errors_; break;
    case AckCode::kReject: ++rejected_; break;
  }
  if (code != AckCode::kAccept) LogReject(header, code, issues, raw, peer);
  const std::string control_id = absl::StrCat("HB", absl::ToUnixMillis(absl::Now()), "-", ack_sequence_++);
  return hl7::BuildAck(header, code, issues, control_id, absl::Now(), options_.ack);
}

std::string Hl7v2Connector::HandleOversize(absl::string_view head, size_t size, const std::string& peer) {
  hl7::ParseResult partial = hl7::Parse(head, options_.parse);
  Issue issue;
  issue.location.segment = "MSH";
  issue.code = ErrorCode::kApplicationInternalError;
  issue.message = absl::StrCat("the message has ", size, " bytes; this connector accepts at most ",
                               options_.mllp.max_message_bytes, " (--max-message-bytes)");
  return Answer(partial.header, AckCode::kReject, {issue}, head, peer);
}

std::string Hl7v2Connector::Handle(absl::string_view raw, const std::string& peer) {
  hl7::ParseResult parsed = hl7::Parse(raw, options_.parse);
  if (!parsed.ok()) return Answer(parsed.header, AckCode::kReject, parsed.errors, raw, peer);
  const hl7::Message& message = *parsed.message;
  MappedMessage mapped = MapMessage(message, options_.mapping);
  if (mapped.code != AckCode::kAccept) return Answer(message.header(), mapped.code, mapped.errors, raw, peer);

  // The same rules as ingest, so a bad message is answered now even while
  // ingest is unreachable, and only applicable records are spooled.
  std::vector<Issue> issues;
  std::vector<hisbridge::v1::Record> records;
  for (const MappedRecord& m : mapped.records) {
    records::ValidationResult v = records::ValidateRecord(m.record);
    for (const auto& e : v.errors) {
      auto it = m.origins.find(e.field());
      Issue issue;
      issue.location = it != m.origins.end() ? it->second : m.segment;
      issue.code = v.reason == hisbridge::v1::REJECT_REASON_MISSING_FIELD ? ErrorCode::kRequiredFieldMissing
                                                                          : ErrorCode::kDataType;
      issue.message = absl::StrCat(issue.location.ToString(), " (", e.field().empty() ? "record" : e.field(),
                                   "): ", e.message(), " [", e.rule(), "]");
      issues.push_back(std::move(issue));
    }
    records.push_back(m.record);
  }
  if (!issues.empty()) return Answer(message.header(), AckCode::kError, issues, raw, peer);

  const std::string request_id =
      absl::StrCat("hl7v2:", records.front().facility_id(), ":", message.header().control_id);
  forward::Delivery delivery = forwarder_->SubmitAndWait(std::move(records), request_id);
  if (!delivery.status.ok()) {
    Issue issue;
    issue.location.segment = "MSH";
    issue.code = ErrorCode::kApplicationInternalError;
    issue.message = absl::StrCat("the message is valid but could not be stored: ", delivery.status.message(),
                                 "; send it again later");
    return Answer(message.header(), AckCode::kError, {issue}, raw, peer);
  }
  if (delivery.path == forward::Delivery::Path::kSpool) {
    ++spooled_;
    return Answer(message.header(), AckCode::kAccept, {}, raw, peer);
  }
  for (size_t i = 0; i < delivery.results.size() && i < mapped.records.size(); ++i) {
    const auto& r = delivery.results[i];
    if (r.outcome() != hisbridge::v1::RECORD_OUTCOME_REJECTED) continue;
    for (const auto& e : r.errors()) {
      Issue issue;
      issue.location = mapped.records[i].segment;
      issue.code = ErrorCode::kApplicationInternalError;
      issue.message = absl::StrCat("ingest refused the ", mapped.records[i].record.kind(), " record: ", e.message(),
                                   " [", e.rule(), "]");
      issues.push_back(std::move(issue));
    }
  }
  if (!issues.empty()) return Answer(message.header(), AckCode::kError, issues, raw, peer);
  return Answer(message.header(), AckCode::kAccept, {}, raw, peer);
}

}  // namespace hisbridge::connectors::hl7v2
