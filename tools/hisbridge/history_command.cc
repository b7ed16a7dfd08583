// hisbridge history: one patient's audit trail (services/admin/
// patient_history.h) — every automatic decision with its model version,
// score and explanation, every steward action with who and why — from
//
//   --target HOST:PORT   a running linker over gRPC
//                        (AdminService.GetPatientHistory, role admin;
//                        the read is recorded in that linker's access log)
//   --data-dir DIR       a linker's data directory (its patient index, read
//                        as a RocksDB secondary: fine while `serve` runs on
//                        it); nothing is recorded — whoever reads the disk
//                        needs no permission from hisbridge
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/admin.grpc.pb.h"
#include "libs/base/status_macros.h"
#include "services/admin/patient_history.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"
#include "tools/hisbridge/data_dir.h"

namespace hisbridge::cli {
namespace {

struct HistoryFlags {
  std::string patient;
  std::string target;
  std::string data_dir;
  std::string keys;
  std::string format = "table";
  absl::Duration timeout = absl::Seconds(30);
  ClientTlsFlags tls;
  LogFlags logging;
};

absl::StatusOr<hisbridge::v1::PatientHistory> FromService(const HistoryFlags& f) {
  HB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials, f.tls.Credentials());
  auto stub = hisbridge::v1::AdminService::NewStub(grpc::CreateChannel(f.target, credentials));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + f.timeout));
  hisbridge::v1::GetPatientHistoryRequest request;
  request.set_patient_id(f.patient);
  hisbridge::v1::PatientHistory history;
  const grpc::Status status = stub->GetPatientHistory(&context, request, &history);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat(f.target, ": ", status.error_message()));
  }
  return history;
}

absl::StatusOr<hisbridge::v1::PatientHistory> FromDataDir(const HistoryFlags& f, std::string* source) {
  HB_ASSIGN_OR_RETURN(std::string store, FindLinkerStore(f.data_dir));
  HB_ASSIGN_OR_RETURN(std::shared_ptr<const index::ValueCipher> cipher, LoadCipher(f.keys));
  HB_ASSIGN_OR_RETURN(SecondaryIndex opened, OpenIndexAsSecondary(store, std::move(cipher)));
  *source = absl::StrCat("patient index ", store);
  // Every region of the index, and no size limit: nothing goes over gRPC.
  return admin::ReadPatientHistory(*opened.index, f.patient);
}

// "450321-WS-001/A1", or "" for an entry about the patient as a whole.
std::string RecordOf(const hisbridge::v1::HistoryEntry& e) {
  if (e.record_id().empty()) return "";
  return absl::StrCat(e.facility_id(), "/", e.record_id());
}

// What decided: the steward (actor: reason), or the model and its score.
std::string DecidedBy(const hisbridge::v1::HistoryEntry& e) {
  if (!e.actor().empty()) {
    return e.reason().empty() ? absl::StrCat("steward ", e.actor())
                              : absl::StrCat("steward ", e.actor(), ": ", e.reason());
  }
  if (!e.model_version().empty()) {
    if (e.score() == 0 && e.explanation().fields_size() == 0) {
      return absl::StrCat("linker (model ", e.model_version(), ")");
    }
    return absl::StrFormat("linker, score %.2f (model %s)", e.score(), e.model_version());
  }
  return e.cause().topic().empty() ? "" : "linker";
}

std::string CauseOf(const hisbridge::v1::HistoryEntry& e) {
  if (e.cause().topic().empty()) return "";
  return absl::StrCat(e.cause().partition(), "@", e.cause().offset());
}

// The comparison behind an automatic decision, without the compared values
// (names and ids stay in --format=json).
std::string WhyOf(const hisbridge::v1::Explanation& x) {
  std::vector<std::string> parts;
  for (const auto& field : x.fields()) {
    parts.push_back(absl::StrFormat("%s %s %+.1f", field.field(), field.level(), field.weight()));
  }
  std::string why = absl::StrJoin(parts, ", ");
  if (x.rules_size() > 0) absl::StrAppend(&why, why.empty() ? "" : "; ", "rules: ", absl::StrJoin(x.rules(), ", "));
  return why;
}

std::string FormatTable(const hisbridge::v1::PatientHistory& history, const std::string& source) {
  const std::vector<std::string> header = {"time", "action", "record", "other patient", "inbox", "decided by"};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> why;
  for (const auto& e : history.entries()) {
    rows.push_back({e.time(), e.action(), RecordOf(e), e.other_patient_id(), CauseOf(e), DecidedBy(e)});
    why.push_back(WhyOf(e.explanation()));
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      // The last column is free text (a steward's reason, often Chinese):
      // no padding after it.
      absl::StrAppend(&out, cells[c], c + 1 == cells.size() ? "" : std::string(width[c] - cells[c].size() + 2, ' '));
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = absl::StrFormat("patient %s: %d audit entries, oldest first (source: %s)\n\n",
                                    history.patient_id(), history.entries_size(), source);
  out += line(header);
  for (size_t i = 0; i < rows.size(); ++i) {
    out += line(rows[i]);
    if (!why[i].empty()) absl::StrAppend(&out, std::string(width[0] + 2, ' '), "why: ", why[i], "\n");
  }
  bool merged = false;
  for (const auto& e : history.entries()) merged = merged || e.action() == "merged";
  if (merged) {
    out += "\nA merge keeps each patient's own entries under its own id: run `hisbridge history --patient "
           "<other patient>` for the other side.\n";
  }
  return out;
}

int Fail(const absl::Status& status, int code = 1) {
  std::cerr << "hisbridge history: " << status.message() << "\n";
  return code;
}

}  // namespace

int HistoryCommand(int argc, char** argv) {
  HistoryFlags f;
  FlagSet flags("history",
                "Print one patient's audit trail, oldest first: when each record was linked to it or left it "
                "(with the model version, score and the field comparisons of every automatic decision), "
                "merges and unmerges, review items opened and resolved, and for every steward action who did "
                "it and why. Reads --target (a running linker over gRPC, AdminService.GetPatientHistory; role "
                "admin, recorded in its access log) or --data-dir (a linker's data directory; also while serve "
                "runs on it).");
  flags.String("patient", &f.patient, "unified patient id, e.g. 450321-P0000001", /*required=*/true);
  flags.String("target", &f.target, "host:port of a running linker (AdminService.GetPatientHistory)");
  flags.String("data-dir", &f.data_dir, "a linker's data directory (DIR/linker), or the linker store itself");
  flags.String("keys", &f.keys, "with --data-dir: at-rest key file of an encrypted data directory");
  flags.String("format", &f.format, "table (aligned, for people) or json (every field, explanations with values)");
  flags.Duration("timeout", &f.timeout, "with --target: deadline of the gRPC call");
  f.tls.Register(&flags);
  f.logging.Register(&flags);
  flags.SetEpilog(
      "A merged-away patient keeps its own history (read it by its own id); the survivor's history has the "
      "matching \"merged\" entry naming it. Examples:\n"
      "  hisbridge history --patient 450321-P0000001 --target 127.0.0.1:7070 --tls-ca ca.crt --tls-cert admin.crt "
      "--tls-key admin.key\n"
      "  hisbridge history --patient 450321-P0000001 --data-dir /var/lib/hisbridge --keys keys.json --format=json\n"
      "More: docs/operations.md, \"Patient audit history\".\n");
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  absl::Status s = f.logging.Apply();
  if (!s.ok()) return Fail(s, 2);
  if (f.target.empty() == f.data_dir.empty()) {
    return Fail(absl::InvalidArgumentError("give exactly one of --target and --data-dir"), 2);
  }
  if (f.format != "table" && f.format != "json") {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--format: \"", f.format, "\" is neither table nor json")),
                2);
  }
  s = admin::RegionOfPatientId(f.patient).status();
  if (!s.ok()) return Fail(absl::InvalidArgumentError(absl::StrCat("--patient: ", s.message())), 2);

  std::string source = absl::StrCat("linker ", f.target);
  absl::StatusOr<hisbridge::v1::PatientHistory> history =
      f.target.empty() ? FromDataDir(f, &source) : FromService(f);
  if (!history.ok()) return Fail(history.status());

  if (f.format == "json") {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    std::string json;
    const auto printed = google::protobuf::util::MessageToJsonString(*history, &json, options);
    if (!printed.ok()) return Fail(absl::InternalError(printed.ToString()));
    std::cout << json << std::flush;
  } else {
    std::cout << FormatTable(*history, source) << std::flush;
  }
  return 0;
}

}  // namespace hisbridge::cli
