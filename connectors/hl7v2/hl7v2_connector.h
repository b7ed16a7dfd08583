// The HL7 v2 connector: MLLP in, county records out through the shared
// Forwarder, one ACK per message.
//
// Per message: parse (libs/hl7) -> map (hl7_mapping) -> validate every
// record with the rules ingest applies (libs/records) -> hand the records to
// the Forwarder as one unit -> answer. AA only once the unit is durable
// (ingest accepted it with acks=all, or it is fsync'ed in the spool); AR for
// a message that cannot be processed at all (MSH, MSH-18, message type);
// AE for one that is understood but cannot be applied (a missing
// identifier, a validation failure, spool full). A message is all or
// nothing: if any of its records is invalid, none is sent. Every AE/AR is
// also appended to the reject log (JSON Lines, with the raw message) so no
// input is dropped silently.
//
// Thread safety: Handle() is called concurrently by MLLP connections.
#ifndef HISBRIDGE_CONNECTORS_HL7V2_HL7V2_CONNECTOR_H_
#define HISBRIDGE_CONNECTORS_HL7V2_HL7V2_CONNECTOR_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "connectors/hl7v2/hl7_mapping.h"
#include "connectors/hl7v2/mllp.h"
#include "libs/forward/forwarder.h"
#include "libs/hl7/ack.h"
#include "libs/hl7/message.h"
#include "libs/metrics/registry.h"

namespace hisbridge::connectors::hl7v2 {

struct Hl7v2ConnectorOptions {
  MllpServerOptions mllp;
  MappingOptions mapping;
  hl7::ParseOptions parse;
  hl7::AckOptions ack;
  // JSON Lines file for every AE/AR with its reasons and the raw message;
  // empty for none.
  std::string reject_log;
};

struct Hl7v2Stats {
  int64_t accepted = 0;   // AA
  int64_t errors = 0;     // AE
  int64_t rejected = 0;   // AR
  int64_t spooled = 0;    // AA from the spool
  int64_t connections = 0;  // MLLP connections accepted
};

class Hl7v2Connector {
 public:
  // `forwarder` must outlive the connector.
  Hl7v2Connector(forward::Forwarder* forwarder, Hl7v2ConnectorOptions options);
  ~Hl7v2Connector();

  absl::Status Start();
  // Stops the MLLP server (messages being handled still get their ACK).
  void Stop();
  int port() const;

  // One message (the MLLP frame's payload) -> its ACK bytes. Blocks until
  // the records are durable or refused.
  std::string Handle(absl::string_view message, const std::string& peer);
  std::string HandleOversize(absl::string_view head, size_t size, const std::string& peer);

  Hl7v2Stats stats() const;

 private:
  std::string Answer(const hl7::Header& header, hl7::AckCode code, const std::vector<hl7::Issue>& issues,
                     absl::string_view raw, const std::string& peer);
  void LogReject(const hl7::Header& header, hl7::AckCode code, const std::vector<hl7::Issue>& issues,
                 absl::string_view raw, const std::string& peer);

  forward::Forwarder* forwarder_;
  Hl7v2ConnectorOptions options_;
  std::unique_ptr<MllpServer> server_;
  std::atomic<uint64_t> ack_sequence_{0};
  std::atomic<int64_t> accepted_{0}, errors_{0}, rejected_{0}, spooled_{0};
  std::mutex reject_mu_;
};

// The connector's figures for Prometheus, read from stats() at scrape time:
//   hisbridge_hl7v2_messages_total{ack}  counter, ack = AA, AE, AR (every
//       message gets exactly one)
//   hisbridge_hl7v2_spooled_messages_total  counter (AA given from the spool)
//   hisbridge_hl7v2_connections_total       counter (MLLP connections accepted)
// `connector` must outlive every scrape of the registry.
void AddHl7v2Collector(metrics::Registry* registry, const Hl7v2Connector* connector);

}  // namespace hisbridge::connectors::hl7v2

#endif  // HISBRIDGE_CONNECTORS_HL7V2_HL7V2_CONNECTOR_H_
