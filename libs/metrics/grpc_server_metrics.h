// Per-method gRPC server metrics, measured by a server interceptor:
//
//   hisbridge_grpc_server_started_total{service, method}
//   hisbridge_grpc_server_handling_seconds{service, method, code}  (histogram)
//
// handling_seconds runs from the arrival of the call to the moment its
// status is sent, so it includes read-your-writes waits; its _count is the
// number of finished calls by status code (started minus finished is the
// number in flight).
//
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(metrics::NewGrpcServerMetricsInterceptorFactory(&registry));
//   builder.experimental().SetInterceptorCreators(std::move(creators));
//
// At most 100 distinct methods are reported by name; calls to further
// (e.g. unimplemented) method names count under method "other", so a client
// cannot grow the series without bound.
//
// Ownership: the factory borrows the registry, which must outlive the
// server. Thread safety: interceptors run on gRPC threads concurrently.
#ifndef HISBRIDGE_LIBS_METRICS_GRPC_SERVER_METRICS_H_
#define HISBRIDGE_LIBS_METRICS_GRPC_SERVER_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "libs/metrics/registry.h"

namespace hisbridge::metrics {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewGrpcServerMetricsInterceptorFactory(
    Registry* registry);

// "OK", "CANCELLED", ... "UNAUTHENTICATED" (the canonical code names).
std::string GrpcCodeName(int code);

}  // namespace hisbridge::metrics

#endif  // HISBRIDGE_LIBS_METRICS_GRPC_SERVER_METRICS_H_
