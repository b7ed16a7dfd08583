#include "tools/hisbridge/load_client.h"

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "libs/records/line_reader.h"

namespace hisbridge::cli {

absl::StatusOr<LoadReport> LoadFile(const std::string& target, const std::string& path, int chunk_lines,
                                    absl::Duration timeout, std::shared_ptr<grpc::ChannelCredentials> credentials) {
  auto reader = records::LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  auto channel = grpc::CreateChannel(target, credentials != nullptr ? credentials : grpc::InsecureChannelCredentials());
  auto stub = hisbridge::v1::IngestService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.AddMetadata("x-hisbridge-channel", "load");
  LoadReport report;
  const absl::Time started = absl::Now();
  std::unique_ptr<grpc::ClientWriter<hisbridge::v1::SubmitRequest>> writer = stub->Stream(&context, &report.response);
  hisbridge::v1::SubmitRequest chunk;
  records::Line line;
  bool write_failed = false;
  auto flush = [&]() {
    if (chunk.json_lines_size() == 0 || write_failed) return;
    if (!writer->Write(chunk)) write_failed = true;
    chunk.Clear();
  };
  while ((*reader)->Next(&line)) {
    // first_line_number numbers a chunk's lines consecutively; a skipped
    // blank line starts a new chunk.
    if (chunk.json_lines_size() > 0 && line.number != chunk.first_line_number() + chunk.json_lines_size()) flush();
    if (chunk.json_lines_size() == 0) chunk.set_first_line_number(line.number);
    if (line.too_long) {
      // Send the head only: ingest rejects it as malformed JSON with the
      // line number, and the rejects topic keeps what was readable.
      chunk.add_json_lines(std::string(line.text.substr(0, 4096)));
    } else {
      chunk.add_json_lines(std::string(line.text));
    }
    report.line_numbers.push_back(line.number);
    ++report.lines;
    if (chunk.json_lines_size() >= chunk_lines) flush();
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  flush();
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  report.elapsed = absl::Now() - started;
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("ingest at ", target, ": ", status.error_message()));
  }
  return report;
}

std::string DescribeLoad(const LoadReport& report, int max_examples) {
  const auto& r = report.response;
  std::string out = absl::StrCat("lines read: ", report.lines, "  accepted: ", r.accepted(), "  rejected: ",
                                 r.rejected(), "  unavailable: ", r.unavailable(), "  (",
                                 absl::FormatDuration(report.elapsed), ")\n");
  std::map<std::string, int> by_rule;
  int shown = 0;
  std::string examples;
  for (int i = 0; i < r.results_size(); ++i) {
    const auto& result = r.results(i);
    if (result.outcome() == hisbridge::v1::RECORD_OUTCOME_ACCEPTED || result.errors_size() == 0) continue;
    const auto& first = result.errors(0);
    ++by_rule[absl::StrCat(hisbridge::v1::RejectReason_Name(result.reason()), " / ", first.rule())];
    if (shown++ < max_examples) absl::StrAppend(&examples, "  ", first.message(), "\n");
  }
  for (const auto& [rule, count] : by_rule) absl::StrAppend(&out, "  rejected ", count, " x ", rule, "\n");
  if (!examples.empty()) absl::StrAppend(&out, "first rejections:\n", examples);
  return out;
}

}  // namespace hisbridge::cli
