// hisbridge: one binary, many roles and tools.
#include <cstring>
#include <iostream>
#include <string>

#include "tools/hisbridge/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"serve", hisbridge::cli::ServeCommand, "run roles (ingest, linker, query) as a service"},
    {"devbroker", hisbridge::cli::DevBrokerCommand, "run the development Kafka broker (librdkafka mock cluster)"},
    {"demo", hisbridge::cli::DemoCommand, "run every role on a sample county and print what was linked"},
    {"link", hisbridge::cli::LinkCommand, "link a JSON Lines file in batch and write the link CSV"},
    {"load", hisbridge::cli::LoadCommand, "stream a JSON Lines file into a running ingest over gRPC"},
    {"train", hisbridge::cli::TrainCommand, "estimate a matching model (Fellegi-Sunter, EM) from a county's records"},
    {"connector", hisbridge::cli::ConnectorCommand, "run a clinic connector: HL7 v2 over MLLP, or CSV/JSON Lines files"},
    {"gen", hisbridge::cli::GenCommand, "generate a synthetic county with ground truth"},
    {"eval", hisbridge::cli::EvalCommand, "score a link CSV against the truth of a synthetic county"},
    {"certs", hisbridge::cli::CertsCommand, "create development TLS certificates, a policy and an at-rest key file"},
    {"rekey", hisbridge::cli::RekeyCommand, "create or rotate at-rest keys; re-encrypt a data directory"},
    {"export", hisbridge::cli::ExportCommand, "write the link CSV of a data directory's patient index or views"},
    {"rebuild", hisbridge::cli::RebuildCommand, "re-link the inbox from offset 0 into a fresh patient index"},
    {"backup", hisbridge::cli::BackupCommand, "back up a data directory's RocksDB stores (running or stopped)"},
    {"report", hisbridge::cli::ReportCommand, "print the per-clinic data-quality report (table or CSV)"},
    {"history", hisbridge::cli::HistoryCommand, "print a patient's audit trail: automatic decisions, steward actions"},
};

void PrintUsage(std::ostream& out) {
  out << "Usage: hisbridge <command> [flags]\n\n"
         "hisbridge links the patient records of a county medical community into one patient index.\n\n"
         "Commands:\n";
  for (const Command& c : kCommands) {
    out << "  " << c.name << std::string(12 - std::strlen(c.name), ' ') << c.summary << "\n";
  }
  out << "\nRun 'hisbridge <command> --help' for a command's flags.\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(argc - 1, argv + 1);
  }
  std::cerr << "hisbridge: unknown command \"" << name << "\"\n\n";
  PrintUsage(std::cerr);
  return 2;
}
