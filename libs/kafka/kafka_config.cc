#include "libs/kafka/kafka_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hisbridge::kafka {

absl::Status KafkaConfig::AddProperties(const std::vector<std::string>& key_values) {
  for (const std::string& kv : key_values) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Kafka property \"", kv, "\" must look like key=value (e.g. security.protocol=SSL)"));
    }
    properties[std::string(absl::StripAsciiWhitespace(kv.substr(0, eq)))] =
        std::string(absl::StripAsciiWhitespace(kv.substr(eq + 1)));
  }
  return absl::OkStatus();
}

TopicNames TopicNames::WithPrefix(absl::string_view prefix) {
  TopicNames names;
  names.inbox = absl::StrCat(prefix, "inbox");
  names.rejects = absl::StrCat(prefix, "rejects");
  names.views = absl::StrCat(prefix, "views");
  names.changes = absl::StrCat(prefix, "changes");
  return names;
}

}  // namespace hisbridge::kafka
