// hisbridge demo: every role in one process on the embedded development
// broker, a sample county loaded over gRPC, and a summary of what was
// linked.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/records/facility_directory.h"
#include "libs/view/view_materializer.h"
#include "libs/security/dev_certs.h"
#include "libs/security/key_ring.h"
#include "libs/security/policy.h"
#include "libs/security/tls.h"
#include "services/node/node.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"
#include "tools/hisbridge/load_client.h"

namespace hisbridge::cli {
namespace {

const char* MethodName(hisbridge::v1::LinkMethod m) {
  switch (m) {
    case hisbridge::v1::LINK_METHOD_NEW_PATIENT: return "first record";
    case hisbridge::v1::LINK_METHOD_RESIDENT_ID: return "same resident id";
    case hisbridge::v1::LINK_METHOD_SCORE: return "match score";
    case hisbridge::v1::LINK_METHOD_MANUAL: return "steward";
    case hisbridge::v1::LINK_METHOD_FACILITY_MERGE: return "facility merge";
    default: return "";
  }
}

std::string EventSummary(const hisbridge::v1::Record& r) {
  if (r.kind() == "encounter") {
    std::string out = absl::StrCat(r.encounter_type(), " ", r.department());
    for (const auto& d : r.diagnoses()) absl::StrAppend(&out, " ", d.code(), " ", d.display());
    if (!r.referral_to().empty()) absl::StrAppend(&out, " -> referred to ", r.referral_to());
    return out;
  }
  if (r.kind() == "observation") {
    std::string value = r.value().kind_case() == google::protobuf::Value::kNumberValue
                            ? absl::StrCat(r.value().number_value())
                            : r.value().string_value();
    return absl::StrCat(r.display().empty() ? r.code() : r.display(), " = ", value, " ", r.unit(),
                        r.abnormal_flag().empty() || r.abnormal_flag() == "N" ? "" : absl::StrCat(" [", r.abnormal_flag(), "]"));
  }
  return absl::StrCat(r.drug_name(), " ", r.dose(), " ", r.frequency(), r.days() > 0 ? absl::StrCat(" x", r.days(), "d") : "");
}

void PrintPatient(const hisbridge::v1::Patient& p, const records::FacilityDirectory& facilities) {
  const auto& d = p.demographics();
  std::cout << absl::StrFormat("\n  %s  %s  sex %s  born %s  id %s  phone %s\n", p.patient_id(), d.name(), d.sex(),
                               d.birth_date(), d.id_number(), d.phone());
  if (!d.address().empty()) std::cout << "    address: " << d.address() << "\n";
  std::cout << "    known at " << p.sources_size() << " facilities:\n";
  for (const auto& s : p.sources()) {
    std::cout << absl::StrFormat("      %-24s %-10s %s (%s)\n", facilities.NameOf(s.facility_id()), s.record_id(),
                                 s.demographics().name(), MethodName(s.link().method()));
  }
  if (p.events_size() > 0) {
    std::cout << "    timeline:\n";
    for (const auto& e : p.events()) {
      std::cout << absl::StrFormat("      %s  %-22s %-11s %s\n", e.event_time().substr(0, 16),
                                   facilities.NameOf(e.facility_id()), e.kind(), EventSummary(e.record()));
    }
  }
}

}  // namespace

int DemoCommand(int argc, char** argv) {
  const std::string samples = SamplesDirectory();
  std::string input = samples + "/county-small.jsonl";
  std::string facilities_file = samples + "/county-small.facilities.csv";
  std::string data_dir;
  std::string listen = "127.0.0.1:0";
  bool keep_running = false;
  LogFlags logging;
  logging.level = "warning";
  FlagSet flags("demo",
                "Start every role in one process on the embedded development broker, load a sample county over "
                "gRPC, wait until everything is linked, and print a summary.");
  flags.String("input", &input, "county records to load (JSON Lines)");
  flags.String("facilities", &facilities_file, "facility directory CSV");
  flags.String("data-dir", &data_dir, "data directory (default: a new temporary directory, removed at exit)");
  flags.String("listen", &listen, "gRPC listen address");
  flags.Bool("keep-running", &keep_running, "leave the services up after the summary, until Ctrl-C");
  bool tls = false;
  flags.Bool("tls", &tls,
             "run with security on: development certificates, mutual TLS, a policy and at-rest encryption "
             "(generated in DATA_DIR/certs; docs/security.md)");
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  absl::Status s = logging.Apply();
  if (!s.ok()) {
    std::cerr << "hisbridge demo: " << s.message() << "\n";
    return 2;
  }
  BlockShutdownSignals();
  bool temporary = false;
  if (data_dir.empty()) {
    auto dir = MakeTempDirectory("hisbridge-demo-");
    if (!dir.ok()) {
      std::cerr << "hisbridge demo: " << dir.status().message() << "\n";
      return 1;
    }
    data_dir = *dir;
    temporary = true;
  }
  NodeOptions options;
  options.data_dir = data_dir;
  options.listen = listen;
  options.embedded_broker = true;
  options.facilities_file = facilities_file;
  auto facilities = records::FacilityDirectory::Load(facilities_file, options.default_region);
  if (!facilities.ok()) {
    std::cerr << "hisbridge demo: " << facilities.status().message() << "\n";
    return 1;
  }
  std::shared_ptr<grpc::ChannelCredentials> load_credentials = grpc::InsecureChannelCredentials();
  std::shared_ptr<grpc::ChannelCredentials> read_credentials = grpc::InsecureChannelCredentials();
  if (tls) {
    const std::string certs = data_dir + "/certs";
    security::DevCertOptions cert_options;
    cert_options.out_dir = certs;
    auto written = security::WriteDevCertificates(cert_options);
    if (written.ok()) s = security::KeyRing::Generate().Save(certs + "/keys.conf");
    if (!written.ok() || !s.ok()) {
      std::cerr << "hisbridge demo: " << (written.ok() ? s : written.status()).message() << "\n";
      return 1;
    }
    options.tls = {certs + "/server.crt", certs + "/server.key", certs + "/ca.crt"};
    options.policy_file = certs + "/policy.txt";
    options.keys_file = certs + "/keys.conf";
    // The gateway certificate loads (a clinic for every facility); the
    // lead hospital's reader certificate reads, stating its purpose.
    auto load = security::GrpcClientCredentials({certs + "/gateway.crt", certs + "/gateway.key", certs + "/ca.crt"});
    auto read = security::GrpcClientCredentials({certs + "/reader.crt", certs + "/reader.key", certs + "/ca.crt"});
    if (!load.ok() || !read.ok()) {
      std::cerr << "hisbridge demo: " << (load.ok() ? read.status() : load.status()).message() << "\n";
      return 1;
    }
    load_credentials = *load;
    read_credentials = *read;
    std::cout << "hisbridge demo: TLS on: certificates, policy and at-rest keys in " << certs << "\n";
  }
  const absl::Time started = absl::Now();
  auto node = std::make_unique<Node>(options);
  s = node->Start();
  if (!s.ok()) {
    std::cerr << "hisbridge demo: cannot start: " << s.message() << "\n";
    return 1;
  }
  std::cout << "hisbridge demo: all roles running; gRPC " << node->grpc_address() << ", development broker "
            << node->kafka_bootstrap() << "\n";
  std::cout << "loading " << input << " over gRPC ...\n";
  auto report = LoadFile(node->grpc_address(), input, 200, absl::Minutes(5), load_credentials);
  if (!report.ok()) {
    std::cerr << "hisbridge demo: load failed: " << report.status().message() << "\n";
    return 1;
  }
  std::cout << DescribeLoad(*report, 10);

  // Wait until the query side reflects every accepted record.
  std::vector<hisbridge::v1::LogPosition> positions(report->response.positions().begin(),
                                                    report->response.positions().end());
  absl::Notification linked;
  bool reached = false;
  node->views()->WaitFor(positions, absl::Now() + absl::Seconds(60), [&](bool ok) {
    reached = ok;
    linked.Notify();
  });
  linked.WaitForNotification();
  if (!reached || !node->Health().ok()) {
    std::cerr << "hisbridge demo: records were not all linked within 60s: " << node->Health().message() << "\n";
    return 1;
  }

  // Summary from the query side's own store.
  int64_t patients = 0, sources = 0, multi_facility = 0, events = 0;
  std::vector<std::pair<int, std::string>> by_facilities;
  s = node->views()->store().ForEachPatient([&](const hisbridge::v1::Patient& p) {
    if (p.status() != hisbridge::v1::PATIENT_STATUS_ACTIVE) return true;
    ++patients;
    sources += p.sources_size();
    events += p.events_size();
    std::set<std::string> distinct;
    for (const auto& src : p.sources()) distinct.insert(src.facility_id());
    if (distinct.size() > 1) ++multi_facility;
    by_facilities.emplace_back(-static_cast<int>(distinct.size()) * 1000 - p.events_size(), p.patient_id());
    return true;
  });
  if (!s.ok()) {
    std::cerr << "hisbridge demo: " << s.message() << "\n";
    return 1;
  }
  std::sort(by_facilities.begin(), by_facilities.end());
  std::cout << absl::StrFormat(
      "\nlinked in %.1fs: %d live source records -> %d unified patients (%d known at more than one facility), "
      "%d clinical events\n",
      absl::ToDoubleSeconds(absl::Now() - started), sources, patients, multi_facility, events);

  // Two integrated examples, read back through the public QueryService.
  auto channel = grpc::CreateChannel(node->grpc_address(), read_credentials);
  auto query = hisbridge::v1::QueryService::NewStub(channel);
  std::cout << "\ntwo integrated cross-facility views (QueryService.GetPatient):";
  for (size_t i = 0; i < std::min<size_t>(2, by_facilities.size()); ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    context.AddMetadata(security::kPurposeHeader, "treatment");
    hisbridge::v1::GetPatientRequest request;
    request.set_patient_id(by_facilities[i].second);
    hisbridge::v1::Patient patient;
    grpc::Status status = query->GetPatient(&context, request, &patient);
    if (!status.ok()) {
      std::cerr << "hisbridge demo: GetPatient failed: " << status.error_message() << "\n";
      return 1;
    }
    PrintPatient(patient, *facilities);
  }
  std::cout << "\n";
  if (keep_running) {
    std::cout << "services are up: gRPC " << node->grpc_address() << "  Kafka " << node->kafka_bootstrap()
              << "\npress Ctrl-C to stop\n"
              << std::flush;
    WaitForShutdownSignal();
  }
  node->Stop();
  node.reset();
  if (temporary) (void)RemoveRecursively(data_dir);
  std::cout << "hisbridge demo: done\n";
  return 0;
}

}  // namespace hisbridge::cli
