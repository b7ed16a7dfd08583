// hisbridge report: the per-clinic data-quality report, from what a county
// has at hand (libs/report):
//
//   --input records.jsonl   validate and link the file in memory, then
//                           report (also what the test against a generated
//                           county runs)
//   --data-dir DIR          a linker's data directory (its patient index,
//                           read as a RocksDB secondary: fine while `serve`
//                           runs on it), with the rejects topic when Kafka
//                           is given
//   --target HOST:PORT      a running linker over gRPC
//                           (AdminService.GetDataQualityReport)
//
// --serve-config takes the data directory, keys, facility directory and
// Kafka settings from the serve configuration file, so inside a linker pod
// `hisbridge report --serve-config /etc/hisbridge/hisbridge.conf` is all
// it takes.
#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/admin.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/status_macros.h"
#include "libs/base/time_format.h"
#include "libs/match/matcher.h"
#include "libs/records/facility_directory.h"
#include "libs/report/data_quality.h"
#include "libs/report/report_format.h"
#include "libs/report/sources.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"
#include "tools/hisbridge/data_dir.h"

namespace hisbridge::cli {
namespace {

struct ReportFlags {
  std::string input;
  std::string data_dir;
  std::string target;
  std::string serve_config;
  std::string keys;
  std::string facilities_file;
  std::string default_region = "000000";
  std::string matcher = "fs";
  std::string model;
  int threads = static_cast<int>(std::min(4u, std::max(1u, std::thread::hardware_concurrency())));
  std::string region;
  std::string facility;
  std::string format = "table";
  std::string output = "-";
  absl::Duration timeout = absl::Minutes(10);
  KafkaFlags kafka;
  ClientTlsFlags tls;
  LogFlags logging;
};

// Options of a `serve` configuration file that a report needs, for those
// not given on the command line. The file's other options are serve's and
// are ignored here.
absl::Status ApplyServeConfig(const FlagSet& flags, ReportFlags* f) {
  HB_ASSIGN_OR_RETURN(std::string text, ReadFileToString(f->serve_config));
  std::vector<std::string> properties;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    const size_t eq = l.find('=');
    if (eq == absl::string_view::npos) continue;
    const std::string name(absl::StripAsciiWhitespace(l.substr(0, eq)));
    absl::string_view value = absl::StripAsciiWhitespace(l.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    const auto take = [&](const char* option, std::string* target) {
      if (name == option && !flags.WasSet(option)) *target = std::string(value);
    };
    // The data directory only when no other source was asked for.
    if (f->input.empty() && f->target.empty()) take("data-dir", &f->data_dir);
    take("keys", &f->keys);
    take("facilities", &f->facilities_file);
    take("default-region", &f->default_region);
    take("kafka-bootstrap", &f->kafka.bootstrap);
    take("topic-prefix", &f->kafka.topic_prefix);
    if (name == "kafka-property") properties.emplace_back(value);
  }
  if (!flags.WasSet("kafka-property")) f->kafka.properties = properties;
  return absl::OkStatus();
}

absl::StatusOr<hisbridge::v1::DataQualityReport> FromService(const ReportFlags& f,
                                                             const hisbridge::v1::DataQualityReportRequest& request) {
  HB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials, f.tls.Credentials());
  auto stub = hisbridge::v1::AdminService::NewStub(grpc::CreateChannel(f.target, credentials));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + f.timeout));
  hisbridge::v1::DataQualityReport report;
  const grpc::Status status = stub->GetDataQualityReport(&context, request, &report);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat(f.target, ": ", status.error_message()));
  }
  return report;
}

int Fail(const absl::Status& status, int code = 1) {
  std::cerr << "hisbridge report: " << status.message() << "\n";
  return code;
}

}  // namespace

int ReportCommand(int argc, char** argv) {
  ReportFlags f;
  FlagSet flags("report",
                "Print the per-clinic data-quality report: for each facility its live records, how complete each "
                "field is, invalid resident ids, duplicates inside the facility, how the linker decided its "
                "records (auto-link, review, new patient) and its rejected lines by reason. Reads one of "
                "--input (a JSON Lines file, linked in memory), --data-dir (a linker's data directory; also "
                "while serve runs on it) or --target (a running linker over gRPC).");
  flags.String("input", &f.input, "JSON Lines file (spec/county-records.md) to validate, link in memory and report on");
  flags.String("data-dir", &f.data_dir, "a linker's data directory (DIR/linker), or the linker store itself");
  flags.String("target", &f.target, "host:port of a running linker (AdminService.GetDataQualityReport)");
  flags.String("serve-config", &f.serve_config,
               "take data-dir, keys, facilities, default-region, kafka-bootstrap, kafka-property and topic-prefix "
               "from this serve configuration file (command-line flags win); e.g. /etc/hisbridge/hisbridge.conf");
  flags.String("keys", &f.keys, "at-rest key file of an encrypted data directory");
  flags.String("facilities", &f.facilities_file,
               "facility directory CSV (facility_id,name,region,tier): names, and the county of each facility");
  flags.String("default-region", &f.default_region, "region of facilities neither listed nor named after their county");
  flags.String("matcher", &f.matcher, "with --input: fs (the default) or id-exact; use the deployment's");
  flags.String("model", &f.model, "with --input: model file for --matcher=fs; empty for the built-in model");
  flags.Int("threads", &f.threads, "with --input: threads for parsing and preparation (the result does not depend on it)");
  flags.String("region", &f.region, "only this region (county code)");
  flags.String("facility", &f.facility, "only this facility");
  flags.String("format", &f.format, "table (aligned, for people) or csv (every figure, for spreadsheets)");
  flags.String("output", &f.output, "file to write (- for standard output)");
  flags.Duration("timeout", &f.timeout, "deadline of the whole report (with --target: of the gRPC call)");
  f.kafka.Register(&flags, /*with_partitions=*/false);
  f.tls.Register(&flags);
  f.logging.Register(&flags);
  flags.SetEpilog(
      "With --data-dir, rejected lines are read from the rejects topic when --kafka-bootstrap is given (they are "
      "not in the index). Examples:\n"
      "  hisbridge report --input county/records.jsonl --facilities county/facilities.csv\n"
      "  hisbridge report --serve-config /etc/hisbridge/hisbridge.conf --format=csv --output report.csv\n"
      "  hisbridge report --target hisbridge-linker-0.hisbridge-linker:7070 --tls-ca ca.crt --tls-cert admin.crt "
      "--tls-key admin.key\n"
      "Figures: docs/operations.md, \"Data-quality report\".\n");
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  absl::Status s = f.logging.Apply();
  if (!s.ok()) return Fail(s, 2);
  if (!f.serve_config.empty()) {
    s = ApplyServeConfig(flags, &f);
    if (!s.ok()) return Fail(absl::Status(s.code(), absl::StrCat("--serve-config: ", s.message())), 2);
  }
  const int sources = !f.input.empty() + !f.data_dir.empty() + !f.target.empty();
  if (sources != 1) {
    return Fail(absl::InvalidArgumentError("give exactly one of --input, --data-dir (or --serve-config) and --target"),
                2);
  }
  if (f.format != "table" && f.format != "csv") {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--format: \"", f.format, "\" is neither table nor csv")), 2);
  }
  if (f.threads < 1) return Fail(absl::InvalidArgumentError("--threads must be at least 1"), 2);
  kafka::KafkaConfig kafka_config;
  kafka::TopicNames topics;
  s = f.kafka.Apply(&kafka_config, &topics);
  if (!s.ok()) return Fail(s, 2);

  records::FacilityDirectory facilities(f.default_region);
  if (!f.facilities_file.empty()) {
    auto loaded = records::FacilityDirectory::Load(f.facilities_file, f.default_region);
    if (!loaded.ok()) return Fail(loaded.status(), 2);
    facilities = std::move(*loaded);
  }
  hisbridge::v1::DataQualityReportRequest request;
  request.set_region(f.region);
  request.set_facility_id(f.facility);
  report::ReportControl control;
  control.deadline = absl::Now() + f.timeout;

  std::vector<std::string> heading;
  heading.push_back(absl::StrCat("hisbridge data-quality report", f.region.empty() ? "" : ", region " + f.region,
                                 f.facility.empty() ? "" : ", facility " + f.facility));
  hisbridge::v1::DataQualityReport report;
  const absl::Time started = absl::Now();
  if (!f.input.empty()) {
    auto matcher = match::MakeMatcher(f.matcher, f.model);
    if (!matcher.ok()) return Fail(matcher.status(), 2);
    report::DataQualityBuilder builder(&facilities, report::ReportScope::Of(request));
    report::BatchReportOptions options;
    options.threads = f.threads;
    auto stats = report::BatchReport(f.input, matcher->get(), &facilities, options, &builder);
    if (!stats.ok()) return Fail(stats.status());
    report = builder.Build(absl::Now());
    heading.push_back(absl::StrFormat(
        "source: %s linked in memory (matcher %s): %d lines, %d patient records, %d clinical events, %d rejected",
        f.input, (*matcher)->version(), stats->lines, stats->patient_records, stats->clinical_events,
        stats->rejected));
  } else if (!f.data_dir.empty()) {
    auto store = FindLinkerStore(f.data_dir);
    if (!store.ok()) return Fail(store.status());
    auto cipher = LoadCipher(f.keys);
    if (!cipher.ok()) return Fail(cipher.status(), 2);
    report::IndexReportSource source;
    source.index_path = *store;
    source.cipher = *cipher;
    source.facilities = &facilities;
    source.kafka = kafka_config;
    source.rejects_topic = topics.rejects;
    source.rejects_required = false;
    report::IndexReportStats stats;
    auto built = report::BuildIndexReport(source, request, control, &stats);
    if (!built.ok()) return Fail(built.status());
    report = std::move(*built);
    heading.push_back(absl::StrFormat("source: patient index %s: %d regions, %d live records", *store, stats.regions,
                                      stats.records));
    if (stats.rejects.has_value()) {
      heading.push_back(absl::StrFormat("rejects: topic %s, %d messages on %d partitions", topics.rejects,
                                        stats.rejects->messages, stats.rejects->partitions));
    } else if (!stats.rejects_error.ok()) {
      heading.push_back(absl::StrCat("rejects: NOT READ (", stats.rejects_error.message(), ")"));
      std::cerr << "hisbridge report: warning: rejects not read: " << stats.rejects_error.message() << "\n";
    } else {
      heading.push_back("rejects: not read (they are on the rejects topic: give --kafka-bootstrap)");
    }
  } else {
    auto received = FromService(f, request);
    if (!received.ok()) return Fail(received.status());
    report = std::move(*received);
    heading.push_back(absl::StrCat("source: linker ", f.target, " (its counties; rejects from the rejects topic)"));
  }
  heading.push_back(absl::StrFormat("generated %s in %.1fs", report.generated_at(),
                                    absl::ToDoubleSeconds(absl::Now() - started)));

  std::string text;
  if (f.format == "csv") {
    text = report::FormatCsv(report);
  } else {
    report::TableOptions options;
    options.heading = heading;
    text = report::FormatTable(report, options);
  }
  if (f.output == "-") {
    std::cout << text << std::flush;
  } else {
    s = WriteFileAtomically(f.output, text);
    if (!s.ok()) return Fail(s);
    std::cerr << "hisbridge report: " << report.facilities_size() << " facilities -> " << f.output << "\n";
  }
  return 0;
}

}  // namespace hisbridge::cli
