// `hisbridge connector hl7v2|file|fhir`: the connectors for clinic systems that
// do not speak gRPC. The work is in connectors/ and libs/forward; this file
// turns flags into options and runs them until a signal (or, for files
// without --watch, until the files are imported).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "connectors/fhir/fhir_facade.h"
#include "connectors/fhir/http_server.h"
#include "connectors/fhir/patient_query.h"
#include "connectors/file/file_importer.h"
#include "connectors/hl7v2/hl7v2_connector.h"
#include "libs/base/file_util.h"
#include "libs/base/flags.h"
#include "libs/base/logging.h"
#include "libs/charset/charset.h"
#include "libs/forward/forwarder.h"
#include "libs/forward/forwarder_metrics.h"
#include "libs/match/matcher.h"
#include "libs/metrics/http_server.h"
#include "libs/metrics/process_collector.h"
#include "libs/metrics/registry.h"
#include "libs/security/authorizer.h"
#include "libs/security/policy.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {
namespace {

// Flags every connector shares: where ingest is and the spool.
struct ForwardFlags {
  std::string ingest;
  std::string spool_dir;
  int64_t spool_max_bytes = int64_t{1} << 30;
  absl::Duration ingest_deadline = absl::Seconds(10);
  absl::Duration max_backoff = absl::Seconds(30);
  ClientTlsFlags ingest_tls;

  void Register(FlagSet* flags) {
    ingest_tls.Register(flags, "ingest-");
    flags->String("ingest", &ingest, "host:port of ingest (IngestService), e.g. hisbridge-ingest:7070",
                  /*required=*/true);
    flags->String("spool-dir", &spool_dir,
                  "durable local spool for messages accepted while ingest or Kafka is unreachable", true);
    flags->Int("spool-max-bytes", &spool_max_bytes, "most bytes waiting in the spool; beyond it messages are refused");
    flags->Duration("ingest-deadline", &ingest_deadline, "deadline of each Submit call to ingest");
    flags->Duration("max-backoff", &max_backoff, "longest wait between attempts to forward the spool");
  }
  absl::StatusOr<std::unique_ptr<forward::Forwarder>> Start(const std::string& channel) const {
    forward::ForwarderOptions o;
    o.spool.dir = spool_dir;
    o.spool.max_bytes = spool_max_bytes;
    o.rpc_deadline = ingest_deadline;
    o.max_backoff = max_backoff;
    forward::GrpcIngestOptions g;
    g.target = ingest;
    g.channel = channel;
    g.max_reconnect_backoff = std::min(max_backoff, absl::Seconds(5));
    auto credentials = ingest_tls.Credentials();
    if (!credentials.ok()) return credentials.status();
    g.credentials = *credentials;
    return forward::Forwarder::Start(o, forward::NewGrpcIngestClient(g));
  }
};

// A connector process's Prometheus endpoint (--metrics-listen): /metrics
// with the process, its forwarder and whatever the connector adds to
// registry(); /healthz 200 until MarkStopping(), then 503, so that a
// connector shutting down leaves its Service before it stops listening.
// HTTPS with the connector's own server certificate when it has one (no
// client certificate: probes and Prometheus present none).
//
// Declare it after the connector and the forwarder it reads: it stops
// (and its collectors go) before they do.
class ConnectorMetricsEndpoint {
 public:
  ConnectorMetricsEndpoint(const forward::Forwarder* forwarder, const std::string& connector) {
    metrics::AddProcessCollector(&registry_, PROJECT_VERSION_STRING);
    forward::AddForwarderCollector(&registry_, forwarder, connector);
  }
  ~ConnectorMetricsEndpoint() { Stop(); }

  metrics::Registry* registry() { return &registry_; }

  // Nothing with an empty `listen`.
  absl::Status Serve(const std::string& listen, const std::string& cert, const std::string& key) {
    if (listen.empty()) return absl::OkStatus();
    metrics::MetricsTls tls;
    tls.cert = cert;
    tls.key = key;
    auto started = metrics::MetricsServer::Start(
        listen, &registry_,
        [this] {
          return stopping_.load() ? absl::UnavailableError("shutting down: no longer accepting connections")
                                  : absl::OkStatus();
        },
        tls);
    if (!started.ok()) {
      return absl::Status(started.status().code(), absl::StrCat("--metrics-listen: ", started.status().message()));
    }
    server_ = std::move(*started);
    return absl::OkStatus();
  }
  // "host:port", or "none" without an endpoint.
  std::string address() const { return server_ != nullptr ? server_->address() : "none"; }
  // ", metrics on port N" for the start line, or nothing.
  std::string PortNote() const { return server_ != nullptr ? absl::StrCat(", metrics on port ", server_->port()) : ""; }
  void MarkStopping() { stopping_ = true; }
  void Stop() {
    if (server_ != nullptr) server_->Stop();
    server_.reset();
  }

 private:
  metrics::Registry registry_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<metrics::MetricsServer> server_;
};

std::vector<std::string> List(const std::string& csv) {
  std::vector<std::string> out;
  for (absl::string_view v : absl::StrSplit(csv, ',', absl::SkipEmpty())) out.emplace_back(absl::StripAsciiWhitespace(v));
  return out;
}

int Hl7v2(int argc, char** argv) {
  connectors::hl7v2::Hl7v2ConnectorOptions options;
  options.mllp.listen = "0.0.0.0:2575";
  ForwardFlags forward_flags;
  LogFlags logging;
  std::string facility_map_file, default_charset = "gb18030";
  std::string record_id_types = "MR,PI,PT", id_number_types = "NNCHN,NI,CZ,RI,身份证",
              id_number_authorities = "CHN,NNCHN,公安部";
  int64_t max_message_bytes = 1 << 20;
  std::string metrics_listen;
  FlagSet flags("connector hl7v2",
                "Receive HL7 v2 messages over MLLP, map them to county records and submit them to ingest; ACK each "
                "message once it is durable (ingest accepted it, or it is in the local spool).");
  flags.String("listen", &options.mllp.listen, "MLLP listen address host:port");
  security::TlsFiles mllp_tls;
  mllp_tls.cert_flag = "--mllp-tls-cert";
  mllp_tls.key_flag = "--mllp-tls-key";
  mllp_tls.ca_flag = "--mllp-tls-ca";
  bool mllp_plaintext = false;
  flags.String("mllp-tls-cert", &mllp_tls.cert, "server certificate (PEM) for MLLP over TLS");
  flags.String("mllp-tls-key", &mllp_tls.key, "private key (PEM) of --mllp-tls-cert");
  flags.String("mllp-tls-ca", &mllp_tls.ca, "CA bundle (PEM) of the clinics' client certificates, which MLLP over TLS always asks for");
  flags.Bool("mllp-insecure-plaintext", &mllp_plaintext, "accept MLLP without TLS: development only, warned loudly");
  flags.String("metrics-listen", &metrics_listen,
               "Prometheus endpoint host:port serving /metrics and /healthz, over HTTPS with --mllp-tls-cert; empty "
               "for none (port 0 picks one)");
  forward_flags.Register(&flags);
  flags.String("facility", &options.mapping.facility, "facility_id for every message (default: MSH-4)");
  flags.String("facility-map", &facility_map_file,
               "CSV file 'msh4,facility_id' mapping MSH-4 values to facility ids");
  flags.String("record-id-types", &record_id_types, "PID-3 identifier types (CX.5) that are the record id");
  flags.String("id-number-types", &id_number_types, "PID-3 identifier types that are a resident id card number");
  flags.String("id-number-authorities", &id_number_authorities,
               "PID-3 assigning authorities (CX.4) that mark a resident id card number");
  flags.String("default-charset", &default_charset,
               "encoding of messages with an empty MSH-18 that are not valid UTF-8 (gb18030, latin1, ...)");
  flags.Int("max-message-bytes", &max_message_bytes, "largest message accepted; larger ones get AR");
  flags.Duration("idle-timeout", &options.mllp.idle_timeout, "close connections idle this long");
  flags.Int("max-connections", &options.mllp.max_connections, "most concurrent MLLP connections");
  flags.String("reject-log", &options.reject_log,
               "JSON Lines file for every AE/AR with its reasons and the raw message (default: "
               "<spool-dir>/rejected.jsonl)");
  logging.Register(&flags);
  flags.SetEpilog(absl::StrCat("Supported messages: ", connectors::hl7v2::SupportedMessageTypes(),
                               ".\nSee docs/connectors.md for the field mapping and ACK semantics.\n"));
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  auto fail = [](absl::string_view message, int code) {
    std::cerr << "hisbridge connector hl7v2: " << message << "\n";
    return code;
  };
  if (auto s = logging.Apply(); !s.ok()) return fail(s.message(), 2);
  auto charset = charset::ParseEncodingName(default_charset);
  if (!charset.ok()) return fail(charset.status().message(), 2);
  options.parse.default_encoding = *charset;
  options.parse.max_bytes = static_cast<size_t>(max_message_bytes) + 1024;
  options.mllp.max_message_bytes = static_cast<size_t>(max_message_bytes);
  options.mapping.record_id_types = List(record_id_types);
  options.mapping.id_number_types = List(id_number_types);
  options.mapping.id_number_authorities = List(id_number_authorities);
  if (!facility_map_file.empty()) {
    auto text = ReadFileToString(facility_map_file);
    if (!text.ok()) return fail(text.status().message(), 2);
    int line = 0;
    for (absl::string_view l : absl::StrSplit(*text, '\n')) {
      ++line;
      l = absl::StripAsciiWhitespace(l);
      if (l.empty() || l.front() == '#') continue;
      std::vector<std::string> parts = absl::StrSplit(l, absl::MaxSplits(',', 1));
      if (parts.size() != 2) return fail(absl::StrCat(facility_map_file, " line ", line, ": expected msh4,facility_id"), 2);
      options.mapping.facility_map[std::string(absl::StripAsciiWhitespace(parts[0]))] =
          std::string(absl::StripAsciiWhitespace(parts[1]));
    }
  }
  if (options.reject_log.empty()) options.reject_log = forward_flags.spool_dir + "/rejected.jsonl";
  if (!mllp_tls.empty()) {
    if (mllp_plaintext) return fail("--mllp-insecure-plaintext contradicts --mllp-tls-cert; choose one", 2);
    auto tls = security::TlsContext::Server(mllp_tls, /*require_client_cert=*/true);
    if (!tls.ok()) return fail(tls.status().message(), 2);
    options.mllp.tls = *tls;
  } else if (!mllp_plaintext) {
    return fail("give --mllp-tls-cert, --mllp-tls-key and --mllp-tls-ca (MLLP over mutual TLS), or "
                "--mllp-insecure-plaintext for development",
                2);
  } else {
    log::Warning("PLAINTEXT MLLP: messages with patient data cross the network unencrypted and any client may "
                 "connect; for development only (docs/security.md)");
  }
  BlockShutdownSignals();
  auto forwarder = forward_flags.Start("hl7v2");
  if (!forwarder.ok()) return fail(forwarder.status().message(), 1);
  connectors::hl7v2::Hl7v2Connector connector(forwarder->get(), options);
  if (auto s = connector.Start(); !s.ok()) return fail(s.message(), 1);
  ConnectorMetricsEndpoint metrics_endpoint(forwarder->get(), "hl7v2");
  connectors::hl7v2::AddHl7v2Collector(metrics_endpoint.registry(), &connector);
  if (auto s = metrics_endpoint.Serve(metrics_listen, mllp_tls.cert, mllp_tls.key); !s.ok()) {
    connector.Stop();
    (*forwarder)->Stop();
    return fail(s.message(), 1);
  }
  log::Info("hl7v2 connector listening",
            {{"mllp", options.mllp.listen},
             {"port", connector.port()},
             {"metrics", metrics_endpoint.address()},
             {"ingest", forward_flags.ingest},
             {"spool", forward_flags.spool_dir}});
  std::cout << "hisbridge connector hl7v2: listening on port " << connector.port() << metrics_endpoint.PortNote()
            << std::endl;
  WaitForShutdownSignal();
  metrics_endpoint.MarkStopping();
  connector.Stop();
  (*forwarder)->Stop();
  metrics_endpoint.Stop();
  const auto stats = connector.stats();
  log::Info("hl7v2 connector stopped", {{"aa", stats.accepted}, {"ae", stats.errors}, {"ar", stats.rejected},
                                        {"spooled", stats.spooled}, {"spool_pending", (*forwarder)->stats().spool_pending}});
  return 0;
}

// A one-line progress bar on a terminal: bytes of the current file.
class Progress {
 public:
  Progress() : enabled_(::isatty(STDERR_FILENO)), started_(absl::Now()) {}
  void Update(const std::string& file, int64_t done, int64_t total) {
    if (!enabled_ || total <= 0) return;
    const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const int filled = static_cast<int>(fraction * 30);
    const std::string name = file.size() > 30 ? "..." + file.substr(file.size() - 27) : file;
    std::fprintf(stderr, "\r\033[K%s [%s%s] %3.0f%%  %.1fs", name.c_str(), std::string(filled, '#').c_str(),
                 std::string(30 - filled, '.').c_str(), fraction * 100, absl::ToDoubleSeconds(absl::Now() - started_));
  }
  void Done() {
    if (enabled_) std::fputs("\r\033[K", stderr);
  }

 private:
  bool enabled_;
  absl::Time started_;
};

int File(int argc, char** argv) {
  ForwardFlags forward_flags;
  LogFlags logging;
  std::string mapping_file, watch, state_dir, metrics_listen, metrics_cert, metrics_key;
  connectors::file::ImporterOptions options;
  absl::Duration poll = absl::Seconds(2), drain_timeout = absl::Seconds(60);
  FlagSet flags("connector file",
                "Import CSV exports (with a column mapping; UTF-8, GBK or GB18030) and JSON Lines files into ingest, "
                "resumably; or watch a drop folder.");
  forward_flags.Register(&flags);
  flags.String("state-dir", &state_dir, "where import progress (import-state.tsv) and rejected rows (rejects.jsonl) "
                                        "are kept", true);
  flags.String("mapping", &mapping_file, "column mapping for CSV files (format: docs/connectors.md)");
  flags.String("encoding", &options.encoding, "encoding of CSV files: auto (UTF-8, else GB18030), utf-8, gbk, gb18030");
  flags.Int("batch-rows", &options.batch_rows, "rows per durable batch (the resume granularity)");
  flags.String("watch", &watch, "drop folder to poll; imported files move to done/, refused ones to failed/");
  flags.Duration("poll-interval", &poll, "how often --watch looks for new files");
  flags.Duration("drain-timeout", &drain_timeout,
                 "without --watch: how long to wait at the end for spooled rows to reach ingest");
  flags.String("metrics-listen", &metrics_listen,
               "Prometheus endpoint host:port serving /metrics and /healthz while the connector runs (port 0 picks "
               "one); empty for none");
  flags.String("metrics-tls-cert", &metrics_cert,
               "server certificate (PEM) for HTTPS on --metrics-listen (no client certificate asked)");
  flags.String("metrics-tls-key", &metrics_key, "private key (PEM) of --metrics-tls-cert");
  flags.AllowPositional("FILE...  files to import (without --watch)");
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  auto fail = [](absl::string_view message, int code) {
    std::cerr << "hisbridge connector file: " << message << "\n";
    return code;
  };
  if (auto s = logging.Apply(); !s.ok()) return fail(s.message(), 2);
  if (watch.empty() == flags.positional().empty()) return fail("give files to import or --watch DIR (not both)", 2);
  if (!options.encoding.empty() && options.encoding != "auto") {
    if (auto e = charset::ParseEncodingName(options.encoding); !e.ok()) return fail(e.status().message(), 2);
  }
  if (metrics_cert.empty() != metrics_key.empty()) {
    return fail("give --metrics-tls-cert and --metrics-tls-key together", 2);
  }
  if (!metrics_cert.empty() && metrics_listen.empty()) return fail("--metrics-tls-cert needs --metrics-listen", 2);
  if (!mapping_file.empty()) {
    auto text = ReadFileToString(mapping_file);
    if (!text.ok()) return fail(text.status().message(), 2);
    auto mapping = connectors::file::CsvMapping::Parse(*text);
    if (!mapping.ok()) return fail(absl::StrCat(mapping_file, ": ", mapping.status().message()), 2);
    options.mapping = std::move(*mapping);
  }
  options.state_dir = state_dir;
  Progress progress;
  options.progress = [&](const std::string& f, int64_t done, int64_t total) { progress.Update(f, done, total); };
  BlockShutdownSignals();
  auto forwarder = forward_flags.Start("file");
  if (!forwarder.ok()) return fail(forwarder.status().message(), 1);
  auto importer = connectors::file::FileImporter::Create(forwarder->get(), std::move(options));
  if (!importer.ok()) return fail(importer.status().message(), 1);
  ConnectorMetricsEndpoint metrics_endpoint(forwarder->get(), "file");
  connectors::file::AddFileImporterCollector(metrics_endpoint.registry(), importer->get());
  if (auto s = metrics_endpoint.Serve(metrics_listen, metrics_cert, metrics_key); !s.ok()) {
    (*forwarder)->Stop();
    return fail(s.message(), 1);
  }
  if (!metrics_listen.empty()) {
    log::Info("file connector metrics", {{"metrics", metrics_endpoint.address()}});
    std::cout << "hisbridge connector file:" << metrics_endpoint.PortNote().substr(1) << std::endl;
  }
  auto describe = [&](const connectors::file::ImportReport& r) {
    progress.Done();
    std::cout << r.path << ": " << (r.already_done ? "already imported" : "")
              << (r.already_done ? "" : absl::StrCat(r.rows, " rows, ", r.sent, " sent (", r.spooled, " via the spool), ",
                                                     r.rejected, " rejected", r.encoding.empty() ? "" : ", encoding ",
                                                     r.encoding, r.resumed_at > 0 ? absl::StrCat(", resumed at byte ", r.resumed_at) : ""))
              << std::endl;
  };
  int rc = 0;
  if (!watch.empty()) {
    std::atomic<bool> stop{false};
    std::thread signals([&] {
      WaitForShutdownSignal();
      stop = true;
    });
    auto s = (*importer)->Watch(watch, poll, &stop, describe);
    metrics_endpoint.MarkStopping();
    if (!s.ok()) {
      rc = fail(s.message(), 1);
      std::raise(SIGTERM);  // let the signal thread end
    }
    signals.join();
  } else {
    for (const std::string& path : flags.positional()) {
      auto report = (*importer)->ImportFile(path);
      if (!report.ok()) {
        progress.Done();
        rc = fail(report.status().message(), 1);
        continue;
      }
      describe(*report);
    }
    if (!(*forwarder)->WaitUntilDrained(drain_timeout)) {
      std::cout << (*forwarder)->stats().spool_pending << " batches wait in the spool " << forward_flags.spool_dir
                << " (ingest unreachable); the next run forwards them" << std::endl;
    }
  }
  metrics_endpoint.MarkStopping();
  metrics_endpoint.Stop();
  (*forwarder)->Stop();
  return rc;
}

int Fhir(int argc, char** argv) {
  connectors::fhir::FhirServerOptions server;
  connectors::fhir::FhirFacadeOptions facade;
  ForwardFlags forward_flags;
  ClientTlsFlags query_tls;
  LogFlags logging;
  std::string query_target, identifier_systems_file, matcher = "fs", model_path;
  std::vector<std::string> facility_systems, ethnicity_extensions = {hisbridge::fhir::kEthnicityExtension};
  absl::Duration query_deadline = absl::Seconds(5);
  int64_t max_body_bytes = 16 << 20;
  std::string metrics_listen, policy_path;
  FlagSet flags("connector fhir",
                "Serve a FHIR R4 facade over HTTP: Patient, Encounter, Observation and MedicationRequest (alone or in "
                "transaction/batch Bundles) become county records submitted to ingest, answered once durable "
                "(ingest accepted them, or they are in the local spool); GET Patient/<id> and Patient/$match read "
                "the unified patient index from QueryService.");
  flags.String("listen", &server.listen, "HTTP listen address host:port");
  bool http_plaintext = false;
  flags.String("http-tls-cert", &server.tls.cert, "server certificate (PEM) for HTTPS");
  flags.String("http-tls-key", &server.tls.key, "private key (PEM) of --http-tls-cert");
  flags.String("http-tls-ca", &server.tls.client_ca,
               "CA bundle (PEM) of the clinics' client certificates, which HTTPS always asks for");
  flags.Bool("http-insecure-plaintext", &http_plaintext,
             "serve plain HTTP without TLS: development only, warned loudly");
  flags.String("policy", &policy_path,
               "the access policy (the file serve --policy reads): which client certificate identity may write for "
               "which facilities (clinic) and read or $match (reader, steward); required with --http-tls-cert");
  flags.String("metrics-listen", &metrics_listen,
               "Prometheus endpoint host:port serving /metrics and /healthz, over HTTPS with --http-tls-cert (no "
               "client certificate); empty for none (port 0 picks one)");
  forward_flags.Register(&flags);
  flags.String("query", &query_target, "host:port of QueryService for GET Patient and $match (default: --ingest)");
  query_tls.Register(&flags, "query-");
  flags.Duration("query-deadline", &query_deadline, "deadline of each QueryService call");
  flags.String("base-url", &facade.base_url,
               "absolute FHIR base URL for Location and fullUrl (default: from the Host header, + /fhir)");
  flags.String("facility", &facade.mapping.default_facility,
               "facility_id of resources that name none (managingOrganization); the X-Hisbridge-Facility header "
               "overrides it per request");
  flags.String("identifier-systems", &identifier_systems_file,
               "CSV 'system,field[,id_type]' (field: record_id, id_number, insurance_id, health_card_id) added to the "
               "built-in identifier table");
  flags.StringList("facility-systems", &facility_systems,
                   "Organization identifier systems whose value is a facility_id (default: the first identifier)");
  flags.StringList("ethnicity-extension", &ethnicity_extensions, "Patient extension URLs carrying a GB/T 3304 code");
  flags.String("purpose-of-use", &facade.default_purpose,
               "purpose of use for reads when the client sends no X-Purpose-Of-Use header");
  flags.String("matcher", &matcher, "the matcher query serves (fs or id-exact): its thresholds scale $match scores");
  flags.String("model", &model_path, "the matcher model file query serves; empty for the built-in model");
  flags.Int("threads", &server.threads, "concurrent HTTP requests");
  flags.Int("max-body-bytes", &max_body_bytes, "largest request body; larger ones get 413");
  flags.String("reject-log", &facade.reject_log,
               "JSON Lines file for every refused write with its OperationOutcome and the body (default: "
               "<spool-dir>/rejected.jsonl)");
  logging.Register(&flags);
  flags.SetEpilog("See docs/connectors.md for the endpoints, the mapping and the errors.\n");
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  auto fail = [](absl::string_view message, int code) {
    std::cerr << "hisbridge connector fhir: " << message << "\n";
    return code;
  };
  if (auto s = logging.Apply(); !s.ok()) return fail(s.message(), 2);
  if (!identifier_systems_file.empty()) {
    auto text = ReadFileToString(identifier_systems_file);
    if (!text.ok()) return fail(text.status().message(), 2);
    auto table = hisbridge::fhir::ParseIdentifierSystems(*text);
    if (!table.ok()) return fail(absl::StrCat(identifier_systems_file, ": ", table.status().message()), 2);
    // The file's rows come first: they override the built-in ones.
    table->insert(table->end(), facade.mapping.identifier_systems.begin(), facade.mapping.identifier_systems.end());
    facade.mapping.identifier_systems = *table;
  }
  facade.resources.identifier_systems = facade.mapping.identifier_systems;
  facade.mapping.facility_systems = facility_systems;
  facade.mapping.ethnicity_extensions = ethnicity_extensions;
  if (!ethnicity_extensions.empty()) facade.resources.ethnicity_extension = ethnicity_extensions.front();
  auto match = match::MakeMatcher(matcher, model_path);
  if (!match.ok()) return fail(match.status().message(), 2);
  facade.thresholds.upper = (*match)->thresholds().upper;
  facade.thresholds.lower = (*match)->thresholds().lower;
  if (max_body_bytes <= 0) return fail("--max-body-bytes must be positive", 2);
  server.max_body_bytes = static_cast<size_t>(max_body_bytes);
  facade.max_body_bytes = server.max_body_bytes;
  if (facade.reject_log.empty()) facade.reject_log = forward_flags.spool_dir + "/rejected.jsonl";
  connectors::fhir::GrpcQueryOptions query_options;
  query_options.target = query_target.empty() ? forward_flags.ingest : query_target;
  query_options.deadline = query_deadline;
  auto query_credentials = query_tls.Credentials();
  if (!query_credentials.ok()) return fail(query_credentials.status().message(), 2);
  query_options.credentials = *query_credentials;

  std::unique_ptr<security::Authorizer> authorizer;
  if (!server.tls.empty()) {
    if (http_plaintext) return fail("--http-insecure-plaintext contradicts --http-tls-cert; choose one", 2);
    if (policy_path.empty()) {
      return fail("--policy is required with --http-tls-cert: it says which client certificate may write for which "
                  "facility and who may read (the file serve --policy reads; docs/security.md)",
                  2);
    }
    auto policy = security::Policy::Load(policy_path);
    if (!policy.ok()) return fail(absl::StrCat("--policy: ", policy.status().message()), 2);
    authorizer = std::make_unique<security::Authorizer>(std::move(*policy));
    facade.authorizer = authorizer.get();
  } else if (!policy_path.empty()) {
    return fail("--policy needs HTTPS (--http-tls-cert, --http-tls-key, --http-tls-ca): over plain HTTP no caller "
                "has a certificate identity to judge",
                2);
  } else if (!http_plaintext) {
    return fail("give --http-tls-cert, --http-tls-key and --http-tls-ca (HTTPS with client certificates), or "
                "--http-insecure-plaintext for development",
                2);
  } else {
    log::Warning("PLAINTEXT HTTP: FHIR resources with patient data cross the network unencrypted and any client "
                 "may connect, read and match patients; for development only (docs/security.md)");
  }
  BlockShutdownSignals();
  auto forwarder = forward_flags.Start("fhir");
  if (!forwarder.ok()) return fail(forwarder.status().message(), 1);
  std::unique_ptr<connectors::fhir::PatientQuery> query = connectors::fhir::NewGrpcPatientQuery(query_options);
  connectors::fhir::FhirFacade fhir(forwarder->get(), query.get(), facade);
  auto http = connectors::fhir::FhirHttpServer::Start(server, &fhir);
  if (!http.ok()) return fail(http.status().message(), 1);
  ConnectorMetricsEndpoint metrics_endpoint(forwarder->get(), "fhir");
  connectors::fhir::AddFhirCollector(metrics_endpoint.registry(), &fhir);
  if (auto s = metrics_endpoint.Serve(metrics_listen, server.tls.cert, server.tls.key); !s.ok()) {
    (*http)->Stop();
    (*forwarder)->Stop();
    return fail(s.message(), 1);
  }
  log::Info("fhir facade listening", {{"http", server.listen}, {"port", (*http)->port()}, {"tls", (*http)->tls()},
                                      {"metrics", metrics_endpoint.address()}, {"ingest", forward_flags.ingest},
                                      {"query", query_options.target}, {"spool", forward_flags.spool_dir}});
  std::cout << "hisbridge connector fhir: listening on port " << (*http)->port() << metrics_endpoint.PortNote()
            << std::endl;
  WaitForShutdownSignal();
  metrics_endpoint.MarkStopping();
  (*http)->Stop();
  (*forwarder)->Stop();
  metrics_endpoint.Stop();
  const auto stats = fhir.stats();
  log::Info("fhir facade stopped", {{"accepted", stats.accepted}, {"spooled", stats.spooled},
                                    {"rejected", stats.rejected}, {"failed", stats.failed}, {"reads", stats.reads},
                                    {"matches", stats.matches}, {"spool_pending", (*forwarder)->stats().spool_pending}});
  return 0;
}

}  // namespace

int ConnectorCommand(int argc, char** argv) {
  const std::string usage =
      "Usage: hisbridge connector <hl7v2|file|fhir> [flags]\n\n"
      "  hl7v2   receive HL7 v2 over MLLP (ADT, ORU) and submit to ingest, with store-and-forward\n"
      "  file    import CSV (GBK/GB18030/UTF-8, column mapping) and JSON Lines files, resumably\n"
      "  fhir    a FHIR R4 facade over HTTP (Patient, Bundles, read, $match), with store-and-forward\n\n"
      "Run 'hisbridge connector <name> --help' for its flags.\n";
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    std::cout << usage;
    return 0;
  }
  if (name == "hl7v2") return Hl7v2(argc - 1, argv + 1);
  if (name == "file") return File(argc - 1, argv + 1);
  if (name == "fhir") return Fhir(argc - 1, argv + 1);
  std::cerr << "hisbridge connector: unknown connector \"" << name << "\"\n\n" << usage;
  return 2;
}

}  // namespace hisbridge::cli
