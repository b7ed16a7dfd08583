// How hisbridge reaches Kafka, and what its topics are called.
//
// KafkaConfig is passed to every producer and consumer. `properties` are
// librdkafka configuration properties passed through unchanged, which is
// how production deployments set security (security.protocol=SSL or
// SASL_SSL, ssl.ca.location, sasl.mechanism, sasl.username, ...); see
// docs/operations.md. Properties set by hisbridge itself for correctness
// (idempotence, acks, offset handling) cannot be overridden this way.
//
// Thread safety: plain values.
#ifndef HISBRIDGE_LIBS_KAFKA_KAFKA_CONFIG_H_
#define HISBRIDGE_LIBS_KAFKA_KAFKA_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hisbridge::kafka {

struct KafkaConfig {
  // Comma-separated host:port list.
  std::string bootstrap;
  std::string client_id = "hisbridge";
  // Extra librdkafka properties ("security.protocol" -> "SSL", ...).
  std::map<std::string, std::string> properties;

  // Parses "key=value" strings (from repeated --kafka-property flags).
  absl::Status AddProperties(const std::vector<std::string>& key_values);
};

// The four topics of a deployment. Tests give each run its own prefix.
struct TopicNames {
  std::string inbox = "hisbridge.inbox";
  std::string rejects = "hisbridge.rejects";
  std::string views = "hisbridge.views";
  std::string changes = "hisbridge.changes";

  static TopicNames WithPrefix(absl::string_view prefix);
};

}  // namespace hisbridge::kafka

#endif  // HISBRIDGE_LIBS_KAFKA_KAFKA_CONFIG_H_
