// Streams a JSON Lines file into a running ingest over gRPC (IngestService.
// Stream), sending raw lines so that ingest validates them and keeps even
// unparseable lines on the rejects topic. Used by `hisbridge load` and
// `hisbridge demo`.
#ifndef HISBRIDGE_TOOLS_HISBRIDGE_LOAD_CLIENT_H_
#define HISBRIDGE_TOOLS_HISBRIDGE_LOAD_CLIENT_H_

#include <grpcpp/security/credentials.h>

#include <cstdint>
#include <memory>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hisbridge/v1/ingest.pb.h"

namespace hisbridge::cli {

struct LoadReport {
  int64_t lines = 0;
  hisbridge::v1::SubmitResponse response;
  // Line number of each result (results are in line order).
  std::vector<int64_t> line_numbers;
  absl::Duration elapsed;
};

absl::StatusOr<LoadReport> LoadFile(const std::string& target, const std::string& path, int chunk_lines,
                                    absl::Duration timeout,
                                    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// A human-readable summary: counts, rejection reasons and the first
// `max_examples` rejected lines with their errors.
std::string DescribeLoad(const LoadReport& report, int max_examples);

}  // namespace hisbridge::cli

#endif  // HISBRIDGE_TOOLS_HISBRIDGE_LOAD_CLIENT_H_
