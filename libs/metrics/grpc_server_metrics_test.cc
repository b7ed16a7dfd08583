#include "libs/metrics/grpc_server_metrics.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <future>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::metrics {
namespace {

using ::testing::HasSubstr;

grpc::Status Call(grpc::GenericStub* stub, const std::string& method) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);  // an empty HealthCheckRequest: service ""
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub->UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                  [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

TEST(GrpcServerMetrics, CountsCallsByMethodAndCode) {
  Registry registry;
  grpc::EnableDefaultHealthCheckService(true);
  // As in services/node: reflection gives a server without other services
  // the completion queue gRPC insists on.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(NewGrpcServerMetricsInterceptorFactory(&registry));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  EXPECT_TRUE(Call(&stub, "/grpc.health.v1.Health/Check").ok());
  EXPECT_TRUE(Call(&stub, "/grpc.health.v1.Health/Check").ok());
  EXPECT_EQ(Call(&stub, "/no.such.Service/Method").error_code(), grpc::StatusCode::UNIMPLEMENTED);

  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("hisbridge_grpc_server_started_total{service=\"grpc.health.v1.Health\","
                              "method=\"Check\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("hisbridge_grpc_server_handling_seconds_count{service=\"grpc.health.v1.Health\","
                              "method=\"Check\",code=\"OK\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("hisbridge_grpc_server_handling_seconds_bucket{service=\"grpc.health.v1.Health\","
                              "method=\"Check\",code=\"OK\",le=\"+Inf\"} 2\n"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

TEST(GrpcServerMetrics, CodeNames) {
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(4), "DEADLINE_EXCEEDED");
  EXPECT_EQ(GrpcCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(99), "CODE_99");
}

}  // namespace
}  // namespace hisbridge::metrics
