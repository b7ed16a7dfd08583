#include "libs/linker/batch_linker.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "hisbridge/v1/events.pb.h"
#include "libs/records/line_reader.h"
#include "libs/records/record_json.h"
#include "libs/records/validate.h"

namespace hisbridge::linker {

BatchLinker::BatchLinker(const LinkEngine* engine, const records::FacilityDirectory* facilities)
    : engine_(engine), facilities_(facilities) {}

RegionState* BatchLinker::RegionFor(const std::string& region) {
  auto& slot = regions_[region];
  if (slot == nullptr) slot = std::make_unique<RegionState>(region, 0);
  return slot.get();
}

void BatchLinker::AddRecord(const hisbridge::v1::Record& record, int64_t line_number, absl::string_view raw,
                            const RejectFn& on_reject) {
  ++stats_.lines;
  records::ValidationResult validation = records::ValidateRecord(record);
  if (!validation.ok()) {
    ++stats_.rejected;
    if (on_reject) on_reject(line_number, raw, validation.errors);
    return;
  }
  if (records::ParseKind(record.kind()) != records::RecordKind::kPatient) {
    ++stats_.clinical_events;
    return;
  }
  ++stats_.patient_records;
  hisbridge::v1::InboxEvent event;
  event.set_region(facilities_->RegionOf(record.facility_id()));
  *event.mutable_record() = record;
  RegionState* state = RegionFor(event.region());
  // The batch has no inbox; the input's own event time stands in for the
  // message time so decisions are stamped as in streaming.
  InputPosition position{"file", 0, sequence_++, validation.event_time};
  RegionChanges& changes = changes_.For(state);
  (void)engine_->Apply(event, position, state, &changes, &stats_.engine);
  // Nothing is persisted in batch mode; forget what changed.
  changes_.Clear();
}

absl::Status BatchLinker::AddFile(const std::string& path, const RejectFn& on_reject, const ProgressFn& on_progress) {
  auto reader = records::LineReader::Open(path);
  if (!reader.ok()) return reader.status();
  records::RecordJsonParser parser;
  records::ParsedRecord parsed;
  records::Line line;
  int64_t next_progress = 0;
  while ((*reader)->Next(&line)) {
    if (line.too_long) {
      ++stats_.lines;
      ++stats_.rejected;
      if (on_reject) {
        on_reject(line.number, line.text.substr(0, 200),
                  {records::MakeIssue("", "line.too_long",
                                      absl::StrCat("line is longer than ", records::kMaxLineBytes, " bytes"))});
      }
      continue;
    }
    parser.Parse(line.text, &parsed, /*padded=*/true);
    if (!parsed.ok()) {
      ++stats_.lines;
      ++stats_.rejected;
      if (on_reject) on_reject(line.number, line.text, parsed.errors);
      continue;
    }
    AddRecord(parsed.record, line.number, line.text, on_reject);
    if (on_progress && line.end_offset >= next_progress) {
      on_progress(line.end_offset);
      next_progress = line.end_offset + (8 << 20);
    }
  }
  if (on_progress) on_progress(-1);
  return (*reader)->status();
}

std::vector<std::array<std::string, 3>> BatchLinker::Links() const {
  std::vector<std::array<std::string, 3>> rows;
  for (const auto& [region, state] : regions_) {
    for (RecordHandle h = 0; h < state->record_count(); ++h) {
      const RecordState& r = state->record(h);
      if (!r.live() || r.patient_id().empty()) continue;
      rows.push_back({r.facility_id(), r.record_id(), r.patient_id()});
    }
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

absl::Status BatchLinker::WriteLinks(const std::string& path) const {
  FILE* out = path == "-" ? stdout : std::fopen(path.c_str(), "w");
  if (out == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  std::fputs("facility_id,record_id,patient_id\n", out);
  for (const auto& row : Links()) {
    // Identifiers cannot hold control characters; quote only when a comma
    // or quote makes it necessary (RFC 4180).
    for (int i = 0; i < 3; ++i) {
      const std::string& field = row[i];
      if (field.find_first_of(",\"") != std::string::npos) {
        std::string quoted = "\"";
        for (char c : field) {
          if (c == '"') quoted.push_back('"');
          quoted.push_back(c);
        }
        quoted.push_back('"');
        std::fputs(quoted.c_str(), out);
      } else {
        std::fwrite(field.data(), 1, field.size(), out);
      }
      std::fputc(i == 2 ? '\n' : ',', out);
    }
  }
  const bool failed = std::ferror(out) != 0;
  if (out != stdout) {
    if (std::fclose(out) != 0 || failed) return absl::InternalError(absl::StrCat("error writing ", path));
  } else {
    std::fflush(out);
  }
  return absl::OkStatus();
}

std::vector<const RegionState*> BatchLinker::Regions() const {
  std::vector<const RegionState*> out;
  for (const auto& [region, state] : regions_) out.push_back(state.get());
  return out;
}

BatchLinkStats BatchLinker::Stats() const {
  BatchLinkStats stats = stats_;
  stats.live_records = 0;
  stats.patients = 0;
  for (const auto& [region, state] : regions_) {
    for (RecordHandle h = 0; h < state->record_count(); ++h) {
      if (state->record(h).live() && !state->record(h).patient_id().empty()) ++stats.live_records;
    }
    state->ForEachPatient([&](const PatientState& p) {
      if (!p.members.empty()) ++stats.patients;
    });
  }
  stats.review_items = stats_.engine.review_items;
  return stats;
}

}  // namespace hisbridge::linker
