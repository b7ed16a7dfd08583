#include "libs/metrics/http_server.h"

#include <httplib.h>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::metrics {
namespace {

using ::testing::HasSubstr;

TEST(SplitHostPort, AcceptsTheUsualSpellings) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(SplitHostPort("0.0.0.0:9090", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9090);
  ASSERT_TRUE(SplitHostPort("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(SplitHostPort(":9090", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(SplitHostPort("localhost", &host, &port).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SplitHostPort("localhost:http", &host, &port).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SplitHostPort("localhost:70000", &host, &port).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MetricsServer, ServesMetricsAndHealth) {
  Registry registry;
  registry.NewCounter("hb_scraped_total", "A counter.").WithLabels({}).Increment(3);
  absl::Status health = absl::OkStatus();
  auto server = MetricsServer::Start("127.0.0.1:0", &registry, [&health] { return health; });
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_read_timeout(5, 0);
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(metrics->body, HasSubstr("\nhb_scraped_total 3\n"));

  auto ok = client.Get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  health = absl::DataLossError("inbox partition 2: expected offset 10");
  auto bad = client.Get("/healthz");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 503);
  EXPECT_THAT(bad->body, HasSubstr("inbox partition 2"));

  auto missing = client.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("/metrics"));
  (*server)->Stop();
  EXPECT_FALSE(client.Get("/metrics"));
}

TEST(MetricsServer, BusyPortIsAClearError) {
  Registry registry;
  auto first = MetricsServer::Start("127.0.0.1:0", &registry, nullptr);
  ASSERT_TRUE(first.ok());
  auto second = MetricsServer::Start((*first)->address(), &registry, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr((*first)->address()));
}

TEST(MetricsServer, StopRightAfterStartReturns) {
  Registry registry;
  for (int i = 0; i < 20; ++i) {
    auto server = MetricsServer::Start("127.0.0.1:0", &registry, nullptr);
    ASSERT_TRUE(server.ok());
  }  // destructors stop
}

}  // namespace
}  // namespace hisbridge::metrics
