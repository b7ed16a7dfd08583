#include "services/node/node.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/base/time_format.h"
#include "libs/kafka/dev_broker.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "absl/strings/ascii.h"
#include "libs/kafka/producer.h"
#include "libs/kafka/watermark_monitor.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/streaming_linker.h"
#include "libs/metrics/grpc_server_metrics.h"
#include "libs/metrics/http_server.h"
#include "libs/metrics/oldest_pending.h"
#include "libs/metrics/process_collector.h"
#include "libs/metrics/registry.h"
#include "libs/match/matcher.h"
#include "libs/records/facility_directory.h"
#include "libs/report/sources.h"
#include "libs/view/view_materializer.h"
#include "libs/view/view_store.h"
#include "libs/security/access_log.h"
#include "libs/security/authorizer.h"
#include "libs/security/key_ring.h"
#include "libs/security/policy.h"
#include "services/admin/admin_service.h"
#include "services/admin/patient_history.h"
#include "services/ingest/ingest_service.h"
#include "services/ingest/ingestor.h"
#include "services/node/node_metrics.h"
#include "services/query/query_service.h"
#include "services/query/review_service.h"

namespace hisbridge {

absl::StatusOr<std::set<Role>> ParseRoles(const std::vector<std::string>& names) {
  std::set<Role> roles;
  for (const std::string& name : names) {
    if (name == "all") {
      roles = {Role::kIngest, Role::kLinker, Role::kQuery};
    } else if (name == "ingest") {
      roles.insert(Role::kIngest);
    } else if (name == "linker") {
      roles.insert(Role::kLinker);
    } else if (name == "query") {
      roles.insert(Role::kQuery);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--roles: unknown role \"", name, "\"; use ingest, linker, query or all"));
    }
  }
  if (roles.empty()) return absl::InvalidArgumentError("--roles: name at least one role (ingest, linker, query, all)");
  return roles;
}

struct Node::Grpc {
  std::unique_ptr<ingest::IngestService> ingest;
  std::unique_ptr<query::QueryService> query;
  std::unique_ptr<admin::AdminService> admin;
  std::unique_ptr<query::ReviewService> review;
  std::unique_ptr<grpc::Server> server;
  // Keeps grpc.health.v1 in step with Node::Health(): NOT_SERVING once a
  // component stopped on an error, so Kubernetes probes see it.
  std::thread health_watcher;
  std::mutex health_mu;
  std::condition_variable health_cv;
  bool health_stop = false;
};

Node::Node(NodeOptions options) : options_(std::move(options)) {}

void Node::WarnPlaintext() const {
  log::Warning(
      "PLAINTEXT MODE: gRPC and HTTP without TLS, no caller authenticated, no access control. Anyone who "
      "can reach the ports can read and write patient data. For local development only: give --tls-cert, "
      "--tls-key, --tls-ca and --policy in production (docs/security.md)",
      {{"listen", options_.listen}});
}

absl::Status Node::StartSecurity() {
  if (!options_.keys_file.empty()) {
    auto ring = security::KeyRing::Load(options_.keys_file);
    if (!ring.ok()) return absl::Status(ring.status().code(), absl::StrCat("--keys: ", ring.status().message()));
    // Before any record is prepared: blocking tokens are keyed with it.
    security::InstallTokenKey(*ring);
    log::Info("at-rest encryption on", {{"active_key", ring->active_id()}, {"keys", ring->keys().size()}});
    cipher_ = std::make_shared<security::AesGcmCipher>(std::move(*ring));
  } else {
    log::Warning("no --keys file: patient data is stored UNENCRYPTED in RocksDB and blocking tokens use the "
                 "public development key; for development only (docs/security.md)");
  }
  if (options_.tls.cert.empty()) {
    if (!options_.policy_file.empty()) {
      return absl::InvalidArgumentError("--policy needs TLS (--tls-cert, --tls-key, --tls-ca): without client "
                                        "certificates there is no identity to apply it to");
    }
    authorizer_ = security::Authorizer::AllowAllForDevelopment();
    WarnPlaintext();
    return absl::OkStatus();
  }
  if (options_.policy_file.empty()) {
    return absl::InvalidArgumentError("--policy is required with TLS: it says which certificate may do what");
  }
  HB_ASSIGN_OR_RETURN(security::Policy policy, security::Policy::Load(options_.policy_file));
  // Fail at start, not at the first handshake, on unreadable or mismatched files.
  HB_RETURN_IF_ERROR(security::LoadTlsMaterial(options_.tls, /*need_own_cert=*/true).status());
  log::Info("mutual TLS on; policy loaded", {{"policy", options_.policy_file}, {"identities", policy.size()}});
  authorizer_ = std::make_unique<security::Authorizer>(std::move(policy));
  return absl::OkStatus();
}

Node::~Node() { Stop(); }

absl::Status Node::Start() {
  if (options_.data_dir.empty()) return absl::InvalidArgumentError("--data-dir is required");
  HB_RETURN_IF_ERROR(MakeDirectories(options_.data_dir));
  metrics_ = std::make_unique<metrics::Registry>();
  metrics::AddProcessCollector(metrics_.get(), PROJECT_VERSION_STRING);
  HB_RETURN_IF_ERROR(StartSecurity());

  if (options_.kafka.bootstrap.empty()) {
    if (!options_.embedded_broker) {
      return absl::InvalidArgumentError(
          "no Kafka: give --kafka-bootstrap host:port, or run all roles with the embedded development broker");
    }
    HB_ASSIGN_OR_RETURN(broker_, kafka::DevBroker::Start({{options_.topics.inbox, options_.inbox_partitions},
                                                          {options_.topics.views, options_.views_partitions},
                                                          {options_.topics.changes, options_.changes_partitions},
                                                          {options_.topics.rejects, options_.rejects_partitions}}));
    options_.kafka.bootstrap = broker_->bootstrap();
    log::Warning("using the embedded development broker: for development only, data lives in memory",
                 {{"bootstrap", options_.kafka.bootstrap}});
  }

  facilities_ = std::make_unique<records::FacilityDirectory>(options_.default_region);
  if (!options_.facilities_file.empty()) {
    HB_ASSIGN_OR_RETURN(records::FacilityDirectory loaded,
                        records::FacilityDirectory::Load(options_.facilities_file, options_.default_region));
    *facilities_ = std::move(loaded);
  }

  if (options_.roles.count(Role::kLinker) || options_.roles.count(Role::kQuery)) {
    // Every role that links or matches uses the same model, so a Match
    // answer grades candidates exactly as the linker would decide them.
    auto matcher = match::MakeMatcher(options_.matcher, options_.model_path);
    if (!matcher.ok()) return absl::Status(matcher.status().code(), absl::StrCat("--matcher/--model: ", matcher.status().message()));
    matcher_ = std::move(*matcher);
    log::Info("matcher loaded", {{"model", matcher_->version()}});
  }
  if (options_.roles.count(Role::kLinker)) {
    linker::EngineOptions engine_options;
    if (!options_.source_trust.empty()) {
      const std::vector<std::string> parts = absl::StrSplit(options_.source_trust, ',');
      if (parts.size() != engine_options.tier_trust.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--source-trust: expected ", engine_options.tier_trust.size(),
            " comma-separated integers (county hospital, TCM hospital, township health centre, village clinic, "
            "other), got \"", options_.source_trust, "\""));
      }
      for (size_t i = 0; i < parts.size(); ++i) {
        int value = 0;
        if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(parts[i]), &value)) {
          return absl::InvalidArgumentError(absl::StrCat("--source-trust: item ", i + 1, " (\"", parts[i],
                                                         "\") is not an integer"));
        }
        engine_options.tier_trust[i] = value;
      }
    }
    engine_ = std::make_unique<linker::LinkEngine>(matcher_.get(), facilities_.get(), engine_options);
    linker::StreamingLinkerOptions linker_options;
    linker_options.kafka = options_.kafka;
    linker_options.topics = options_.topics;
    linker_options.group_id = options_.linker_group;
    linker_options.group_instance_id = options_.linker_instance;
    linker_options.data_dir = options_.data_dir + "/linker";
    linker_options.max_batch_delay = options_.linker_batch_delay;
    linker_options.session_timeout = options_.linker_session_timeout;
    linker_options.cipher = cipher_;
    if (broker_ != nullptr) linker_options.session_timeout = absl::Seconds(6);
    linker_ = std::make_unique<linker::StreamingLinker>(linker_options, engine_.get(), facilities_.get());
    HB_RETURN_IF_ERROR(linker_->Start());
  }
  if (options_.roles.count(Role::kQuery)) {
    view::ViewMaterializerOptions view_options;
    view_options.kafka = options_.kafka;
    view_options.topics = options_.topics;
    view_options.data_dir = options_.data_dir + "/query";
    // The query role matches with the linker's model (Match, search keys).
    view_options.store.matcher = matcher_.get();
    // Patient views hold names, ids and phones: sealed at rest. Families of
    // offsets and empty-valued index keys (keyed tokens) need no sealing.
    view_options.store.kv.cipher = cipher_;
    view_options.store.kv.plaintext_families = {"offsets", "change_offsets", "watermarks", "search", "review_order"};
    // Served at thousands of point reads per second from a store larger
    // than its cache: cheap decompression beats the smaller files of ZSTD.
    view_options.store.kv.zstd_bottommost = false;
    view_options.store.kv.block_cache_bytes = options_.query_block_cache_bytes;
    view_options.store.warm_cache = options_.query_warm_cache;
    views_ = std::make_unique<view::ViewMaterializer>(view_options);
    HB_RETURN_IF_ERROR(views_->Start());
  }
  if (options_.roles.count(Role::kQuery) || options_.roles.count(Role::kLinker)) {
    // Reads of patient data are recorded where they are served: the query
    // role's views, and the linker's audit histories (GetPatientHistory).
    security::AccessLogOptions access_log_options;
    access_log_options.max_delay = options_.access_log_max_delay;
    HB_ASSIGN_OR_RETURN(access_log_,
                        security::AccessLog::Open(options_.data_dir + "/access-log", cipher_, access_log_options));
    authorizer_->set_access_log(access_log_.get());
  }
  if (options_.roles.count(Role::kIngest) || options_.roles.count(Role::kQuery)) {
    // Ingest appends records to the inbox; the query role's ReviewService
    // appends steward commands. One producer serves both.
    HB_ASSIGN_OR_RETURN(producer_, kafka::Producer::Create(options_.kafka));
  }
  if (options_.roles.count(Role::kIngest)) {
    HB_ASSIGN_OR_RETURN(int partitions, producer_->PartitionCount(options_.topics.inbox, absl::Seconds(10)));
    ingestor_ = std::make_unique<ingest::Ingestor>(producer_.get(), facilities_.get(), options_.topics);
    log::Info("ingest ready", {{"inbox", options_.topics.inbox}, {"partitions", partitions}});
  }

  if (!options_.metrics_listen.empty() && (linker_ != nullptr || views_ != nullptr)) {
    std::vector<std::string> topics;
    topics.push_back(options_.topics.inbox);
    if (views_ != nullptr) topics.push_back(options_.topics.views);
    HB_ASSIGN_OR_RETURN(watermarks_,
                        kafka::WatermarkMonitor::Start(options_.kafka, std::move(topics), options_.lag_refresh_interval));
  }
  NodeMetricsSources sources;
  sources.topics = options_.topics;
  sources.ingestor = ingestor_.get();
  sources.producer = producer_.get();
  sources.linker = linker_.get();
  sources.views = views_.get();
  if (views_ != nullptr) {
    sources.query_answered_from_disk = [counter = query_answered_from_disk_] { return counter->load(); };
  }
  sources.watermarks = watermarks_.get();
  if (views_ != nullptr) {
    // The review queue as this replica serves it: the open count is kept
    // in memory; the oldest open item is found by a short scan from where
    // the last one stopped, at most every 30 s.
    view::ViewMaterializer* views = views_.get();
    auto oldest = std::make_shared<metrics::OldestPendingTracker>(
        [views](absl::string_view start_after,
                const std::function<bool(absl::string_view, const metrics::OldestPendingTracker::Item&)>& fn) {
          return views->store().ScanReviewItems(
              start_after, [&fn](absl::string_view key, const hisbridge::v1::ReviewItem& item) {
                metrics::OldestPendingTracker::Item entry;
                entry.pending = item.status() == hisbridge::v1::REVIEW_STATUS_OPEN;
                auto created = ParseRfc3339(item.created_at());
                entry.created = created.ok() ? *created : absl::UnixEpoch();
                return fn(key, entry);
              });
        },
        RealClock());
    sources.review_queue = [views, oldest]() -> std::optional<ReviewQueueStats> {
      auto found = oldest->Oldest();
      if (!found.ok()) return std::nullopt;
      ReviewQueueStats stats;
      stats.open_items = views->store().OpenReviewCount("");
      if (found->has_value()) stats.oldest_age = absl::Now() - **found;
      return stats;
    };
  }
  AddNodeCollectors(metrics_.get(), std::move(sources));

  grpc_ = std::make_unique<Grpc>();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(metrics::NewGrpcServerMetricsInterceptorFactory(metrics_.get()));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  int port = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options_.tls.cert.empty()) {
    HB_ASSIGN_OR_RETURN(credentials, security::GrpcServerCredentials(options_.tls));
  }
  builder.AddListeningPort(options_.listen, credentials, &port);
  if (ingestor_ != nullptr) {
    grpc_->ingest = std::make_unique<ingest::IngestService>(ingestor_.get(), authorizer_.get());
    builder.RegisterService(grpc_->ingest.get());
  }
  // The data-quality report is served by the role that holds the patient
  // index, for the counties it links now.
  admin::DataQualitySource data_quality;
  if (linker_ != nullptr) {
    report::IndexReportSource source;
    source.index_path = options_.data_dir + "/linker";
    source.cipher = cipher_;
    source.facilities = facilities_.get();
    source.kafka = options_.kafka;
    source.rejects_topic = options_.topics.rejects;
    source.owned_partitions = [linker = linker_.get()] { return linker->AssignedPartitions(); };
    data_quality = [source = std::move(source)](const hisbridge::v1::DataQualityReportRequest& request,
                                                const report::ReportControl& control) {
      return report::BuildIndexReport(source, request, control);
    };
  }
  // So are patient audit histories, from the same index.
  admin::PatientHistorySource history;
  if (linker_ != nullptr) {
    admin::LinkerHistoryOptions history_options;
    history_options.index_path = options_.data_dir + "/linker";
    history_options.cipher = cipher_;
    history_options.owned_partitions = [linker = linker_.get()] { return linker->AssignedPartitions(); };
    auto reader = std::make_shared<admin::LinkerHistoryReader>(std::move(history_options));
    history = [reader](const std::string& patient_id) { return reader->Read(patient_id); };
  }
  grpc_->admin = std::make_unique<admin::AdminService>(authorizer_.get(), access_log_.get(), std::move(data_quality),
                                                       std::move(history));
  builder.RegisterService(grpc_->admin.get());
  if (views_ != nullptr) {
    query::QueryServiceOptions query_options;
    query_options.authorizer = authorizer_.get();
    query_options.disk_read_threads = options_.query_disk_read_threads;
    query_options.answered_from_disk = query_answered_from_disk_;
    grpc_->query = std::make_unique<query::QueryService>(views_.get(), facilities_.get(), query_options);
    builder.RegisterService(grpc_->query.get());
    grpc_->review =
        std::make_unique<query::ReviewService>(views_.get(), producer_.get(), facilities_.get(), options_.topics,
                                               authorizer_.get());
    builder.RegisterService(grpc_->review.get());
  }
  grpc_->server = builder.BuildAndStart();
  if (grpc_->server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen, " (address in use?)"));
  }
  const std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
  grpc_address_ = absl::StrCat(host == "0.0.0.0" || host == "[::]" ? "127.0.0.1" : host, ":", port);
  grpc_->server->GetHealthCheckService()->SetServingStatus(true);
  grpc_->health_watcher = std::thread([this, grpc = grpc_.get()] {
    bool serving = true;
    absl::Time next_plaintext_warning = absl::Now() + options_.plaintext_warning_interval;
    std::unique_lock<std::mutex> lock(grpc->health_mu);
    while (!grpc->health_cv.wait_for(lock, std::chrono::seconds(1), [grpc] { return grpc->health_stop; })) {
      if (authorizer_->plaintext() && absl::Now() >= next_plaintext_warning) {
        WarnPlaintext();
        next_plaintext_warning = absl::Now() + options_.plaintext_warning_interval;
      }
      const absl::Status health = Health();
      if (health.ok() != serving) {
        serving = health.ok();
        grpc->server->GetHealthCheckService()->SetServingStatus(serving);
        if (!serving) log::Error("reporting NOT_SERVING to health checks", {{"error", health}});
      }
    }
  });

  if (!options_.metrics_listen.empty()) {
    metrics::MetricsTls metrics_tls;
    metrics_tls.cert = options_.tls.cert;
    metrics_tls.key = options_.tls.key;
    auto server =
        metrics::MetricsServer::Start(options_.metrics_listen, metrics_.get(), [this] { return Health(); }, metrics_tls);
    if (!server.ok()) {
      return absl::Status(server.status().code(), absl::StrCat("--metrics-listen: ", server.status().message()));
    }
    metrics_server_ = std::move(*server);
    metrics_address_ = metrics_server_->address();
    log::Info("metrics endpoint ready", {{"address", metrics_address_}});
  }
  started_ = true;
  return absl::OkStatus();
}

void Node::Stop() {
  // Scrapes read every component: the endpoint goes first.
  if (metrics_server_ != nullptr) metrics_server_->Stop();
  metrics_server_.reset();
  metrics_address_.clear();
  if (grpc_ != nullptr && grpc_->health_watcher.joinable()) {
    {
      std::lock_guard<std::mutex> lock(grpc_->health_mu);
      grpc_->health_stop = true;
    }
    grpc_->health_cv.notify_all();
    grpc_->health_watcher.join();
  }
  if (watermarks_ != nullptr) watermarks_->Stop();
  watermarks_.reset();
  // Open WatchChanges streams end first (UNAVAILABLE: resume elsewhere),
  // so the server's shutdown does not wait for them.
  if (grpc_ != nullptr && grpc_->query != nullptr) grpc_->query->Shutdown();
  // A data-quality report in progress stops too.
  if (grpc_ != nullptr && grpc_->admin != nullptr) grpc_->admin->Shutdown();
  if (grpc_ != nullptr && grpc_->server != nullptr) {
    grpc_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc_->server->Wait();
  }
  grpc_.reset();
  if (authorizer_ != nullptr) authorizer_->set_access_log(nullptr);
  access_log_.reset();
  ingestor_.reset();
  if (producer_ != nullptr) (void)producer_->Flush(absl::Seconds(10));
  producer_.reset();
  if (views_ != nullptr) views_->Stop();
  views_.reset();
  if (linker_ != nullptr) linker_->Stop();
  linker_.reset();
  engine_.reset();
  matcher_.reset();
  broker_.reset();
  started_ = false;
}

absl::Status Node::Health() const {
  if (linker_ != nullptr && !linker_->status().ok()) return linker_->status();
  if (views_ != nullptr && !views_->status().ok()) return views_->status();
  return absl::OkStatus();
}

}  // namespace hisbridge
