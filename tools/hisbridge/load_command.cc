// hisbridge load: stream a JSON Lines file into a running ingest.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"
#include "tools/hisbridge/load_client.h"

namespace hisbridge::cli {

int LoadCommand(int argc, char** argv) {
  std::string input;
  std::string target = "127.0.0.1:7070";
  int chunk = 500;
  absl::Duration timeout = absl::Minutes(10);
  int examples = 10;
  FlagSet flags("load", "Stream a JSON Lines file (spec/county-records.md) into a running ingest over gRPC. Every "
                        "line is answered: accepted with its inbox position, or rejected with the field and rule.");
  flags.String("input", &input, "JSON Lines file to load (- for standard input)", /*required=*/true);
  flags.String("target", &target, "ingest gRPC address host:port");
  flags.Int("chunk", &chunk, "lines per stream message");
  flags.Duration("timeout", &timeout, "deadline for the whole load");
  flags.Int("show-rejections", &examples, "how many rejected lines to print");
  ClientTlsFlags tls;
  tls.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  auto credentials = tls.Credentials();
  if (!credentials.ok()) {
    std::cerr << "hisbridge load: " << credentials.status().message() << "\n";
    return 2;
  }
  auto report = LoadFile(target, input, chunk, timeout, *credentials);
  if (!report.ok()) {
    std::cerr << "hisbridge load: " << report.status().message() << "\n";
    return 1;
  }
  std::cout << DescribeLoad(*report, examples);
  for (const auto& p : report->response.positions()) {
    std::cout << "  inbox " << p.topic() << "[" << p.partition() << "] up to offset " << p.offset() << "\n";
  }
  // Rejections are the data's problem and are reported above; records the
  // broker could not take are ours, and worth a non-zero exit.
  return report->response.unavailable() > 0 ? 1 : 0;
}

}  // namespace hisbridge::cli
