#include "libs/metrics/grpc_server_metrics.h"

#include <chrono>
#include <mutex>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hisbridge::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr size_t kMaxMethods = 100;

class Factory;

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(Factory* factory, std::string service, std::string method)
      : factory_(factory),
        service_(std::move(service)),
        method_(std::move(method)),
        started_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override;

 private:
  Factory* factory_;
  std::string service_;
  std::string method_;
  std::chrono::steady_clock::time_point started_;
  bool finished_ = false;
};

class Factory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(Registry* registry)
      : started_(registry->NewCounter("hisbridge_grpc_server_started_total",
                                      "gRPC calls started on this server, by service and method.",
                                      {"service", "method"})),
        handling_(registry->NewHistogram(
            "hisbridge_grpc_server_handling_seconds",
            "Time from the arrival of a gRPC call to its status, by service, method and status code.",
            {"service", "method", "code"}, LatencyBuckets())) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    std::string service = "unknown";
    std::string method = "unknown";
    const char* full = info->method();
    if (full != nullptr) {
      // "/hisbridge.v1.IngestService/Submit"
      std::string name = full;
      if (!name.empty() && name[0] == '/') name.erase(0, 1);
      const size_t slash = name.find('/');
      if (slash != std::string::npos) {
        service = name.substr(0, slash);
        method = name.substr(slash + 1);
      } else {
        method = name;
      }
      if (!Admit(service, method)) {
        service = "other";
        method = "other";
      }
    }
    started_.WithLabels({service, method}).Increment();
    return new MetricsInterceptor(this, std::move(service), std::move(method));
  }

  void Finished(const std::string& service, const std::string& method, int code, double seconds) {
    handling_.WithLabels({service, method, GrpcCodeName(code)}).Observe(seconds);
  }

 private:
  bool Admit(const std::string& service, const std::string& method) {
    std::lock_guard<std::mutex> lock(mu_);
    auto key = std::make_pair(service, method);
    if (seen_.count(key)) return true;
    if (seen_.size() >= kMaxMethods) return false;
    seen_.insert(std::move(key));
    return true;
  }

  Family<Counter>& started_;
  Family<Histogram>& handling_;
  std::mutex mu_;
  std::set<std::pair<std::string, std::string>> seen_;
};

void MetricsInterceptor::Intercept(grpc::experimental::InterceptorBatchMethods* methods) {
  if (!finished_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
    finished_ = true;
    const grpc::Status status = methods->GetSendStatus();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    factory_->Finished(service_, method_, static_cast<int>(status.error_code()), seconds);
  }
  methods->Proceed();
}

}  // namespace

std::string GrpcCodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(sizeof(kNames) / sizeof(kNames[0]))) return kNames[code];
  return absl::StrCat("CODE_", code);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewGrpcServerMetricsInterceptorFactory(
    Registry* registry) {
  return std::make_unique<Factory>(registry);
}

}  // namespace hisbridge::metrics
