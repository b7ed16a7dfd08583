#include "libs/linker/batch_linker.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "hisbridge/v1/events.pb.h"
#include "libs/records/line_reader.h"
#include "libs/records/record_json.h"
#include "libs/records/validate.h"

namespace hisbridge::linker {

struct BatchLinker::Prepared {
  int64_t line = 0;
  // The line as read; kept only when it is rejected (for the callback).
  std::string raw;
  hisbridge::v1::Record record;
  std::vector<hisbridge::v1::FieldIssue> errors;
  absl::Time event_time;
  bool is_patient = false;
  bool prepared = false;
  std::string region;
  PreparedUpsert upsert;
};

struct BatchLinker::Chunk {
  struct LineRef {
    size_t offset = 0;
    size_t length = 0;
    int64_t number = 0;
    bool too_long = false;
  };
  // The chunk's lines separated by '\n' and followed by padding, so every
  // line has the readable bytes after it that the JSON parser wants.
  std::string text;
  std::vector<LineRef> lines;
  std::vector<Prepared> items;
  int64_t end_offset = 0;
  bool done = false;
};

namespace {

constexpr size_t kChunkLines = 2048;

}  // namespace

BatchLinker::BatchLinker(const LinkEngine* engine, const records::FacilityDirectory* facilities, int threads)
    : engine_(engine), facilities_(facilities), threads_(std::max(1, threads)) {}

RegionState* BatchLinker::RegionFor(const std::string& region) {
  auto& slot = regions_[region];
  if (slot == nullptr) slot = std::make_unique<RegionState>(region, 0, engine_->options().keep_records);
  return slot.get();
}

void BatchLinker::PrepareChunk(Chunk* chunk) const {
  thread_local records::RecordJsonParser parser;
  thread_local records::ParsedRecord parsed;
  // Chunks are recycled: the items keep their strings' capacity, so the
  // steady state parses without allocating (and never frees on another
  // thread what this one allocated, which glibc makes expensive).
  chunk->items.resize(chunk->lines.size());
  for (size_t i = 0; i < chunk->lines.size(); ++i) {
    const Chunk::LineRef& ref = chunk->lines[i];
    Prepared& item = chunk->items[i];
    item.line = ref.number;
    item.raw.clear();
    item.errors.clear();
    item.is_patient = false;
    item.prepared = false;
    const absl::string_view text(chunk->text.data() + ref.offset, ref.length);
    if (ref.too_long) {
      item.raw = std::string(text);
      item.errors.push_back(records::MakeIssue(
          "", "line.too_long", absl::StrCat("line is longer than ", records::kMaxLineBytes, " bytes")));
      continue;
    }
    parser.Parse(text, &parsed, /*padded=*/true);
    if (!parsed.ok()) {
      item.raw = std::string(text);
      item.errors = parsed.errors;
      continue;
    }
    records::ValidationResult validation = records::ValidateRecord(parsed.record);
    if (!validation.ok()) {
      item.raw = std::string(text);
      item.errors = std::move(validation.errors);
      continue;
    }
    item.event_time = validation.event_time;
    if (records::ParseKind(parsed.record.kind()) != records::RecordKind::kPatient) continue;
    item.is_patient = true;
    item.region = facilities_->RegionOf(parsed.record.facility_id());
    item.record.Swap(&parsed.record);
    if (records::ParseOp(item.record.op()) == records::RecordOp::kUpsert) {
      engine_->PrepareUpsert(item.record, LinkEngine::RecordDay(absl::ToUnixMicros(item.event_time)), item.region,
                             &item.upsert);
      item.prepared = true;
    }
  }
}

void BatchLinker::Apply(Prepared* item, const RejectFn& on_reject) {
  ++stats_.lines;
  if (!item->errors.empty()) {
    ++stats_.rejected;
    if (on_reject) on_reject(item->line, item->raw, item->errors);
    return;
  }
  if (!item->is_patient) {
    ++stats_.clinical_events;
    return;
  }
  ++stats_.patient_records;
  hisbridge::v1::InboxEvent event;
  event.set_region(item->region);
  event.mutable_record()->Swap(&item->record);
  RegionState* state = RegionFor(event.region());
  // The batch has no inbox; the input's own event time stands in for the
  // message time so decisions are stamped as in streaming.
  InputPosition position{"file", 0, sequence_++, item->event_time};
  RegionChanges& changes = changes_.For(state);
  (void)engine_->Apply(event, position, state, &changes, &stats_.engine, item->prepared ? &item->upsert : nullptr);
  // Nothing is persisted in batch mode; forget what changed.
  changes_.Clear();
  // Hand the record's memory back to the item for the next use of its chunk.
  event.mutable_record()->Swap(&item->record);
}

void BatchLinker::AddRecord(const hisbridge::v1::Record& record, int64_t line_number, absl::string_view raw,
                            const RejectFn& on_reject) {
  Prepared item;
  item.line = line_number;
  records::ValidationResult validation = records::ValidateRecord(record);
  if (!validation.ok()) {
    item.raw = std::string(raw);
    item.errors = std::move(validation.errors);
  } else {
    item.event_time = validation.event_time;
    item.is_patient = records::ParseKind(record.kind()) == records::RecordKind::kPatient;
    item.record = record;
    item.region = facilities_->RegionOf(record.facility_id());
  }
  Apply(&item, on_reject);
}

absl::Status BatchLinker::AddFile(const std::string& path, const RejectFn& on_reject, const ProgressFn& on_progress) {
  auto opened = records::LineReader::Open(path);
  if (!opened.ok()) return opened.status();
  records::LineReader& reader = **opened;
  bool input_done = false;
  // Linked chunks wait here for reuse (guarded by `pool_mu`: the reading
  // thread takes them, the linking thread returns them).
  std::mutex pool_mu;
  std::vector<std::unique_ptr<Chunk>> pool;
  auto recycle = [&](std::unique_ptr<Chunk> chunk) {
    std::lock_guard<std::mutex> lock(pool_mu);
    pool.push_back(std::move(chunk));
  };
  // Reads the next chunk of lines; null at the end of the input.
  auto read_chunk = [&]() -> std::unique_ptr<Chunk> {
    if (input_done) return nullptr;
    std::unique_ptr<Chunk> chunk;
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!pool.empty()) {
        chunk = std::move(pool.back());
        pool.pop_back();
      }
    }
    if (chunk == nullptr) chunk = std::make_unique<Chunk>();
    chunk->text.clear();
    chunk->lines.clear();
    chunk->end_offset = 0;
    chunk->done = false;
    records::Line line;
    while (chunk->lines.size() < kChunkLines) {
      if (!reader.Next(&line)) {
        input_done = true;
        break;
      }
      Chunk::LineRef ref;
      ref.offset = chunk->text.size();
      ref.number = line.number;
      ref.too_long = line.too_long;
      const absl::string_view text = line.too_long ? line.text.substr(0, 200) : line.text;
      ref.length = text.size();
      chunk->text.append(text.data(), text.size());
      chunk->text.push_back('\n');
      chunk->end_offset = line.end_offset;
      chunk->lines.push_back(ref);
    }
    if (chunk->lines.empty()) {
      recycle(std::move(chunk));
      return nullptr;
    }
    chunk->text.append(records::kLinePadding, '\0');
    return chunk;
  };
  int64_t next_progress = 0;
  auto apply_chunk = [&](Chunk* chunk) {
    for (Prepared& item : chunk->items) Apply(&item, on_reject);
    if (on_progress && chunk->end_offset >= next_progress) {
      on_progress(chunk->end_offset);
      next_progress = chunk->end_offset + (8 << 20);
    }
  };

  if (threads_ <= 1) {
    while (auto chunk = read_chunk()) {
      PrepareChunk(chunk.get());
      apply_chunk(chunk.get());
      recycle(std::move(chunk));
    }
  } else {
    // Workers prepare chunks in any order; this thread reads ahead a few
    // chunks and links them in file order as they become ready.
    std::mutex mu;
    std::condition_variable work_ready, chunk_done;
    std::deque<Chunk*> work;
    bool stopping = false;
    std::vector<std::thread> workers;
    for (int i = 0; i + 1 < threads_; ++i) {
      workers.emplace_back([&] {
        std::unique_lock<std::mutex> lock(mu);
        while (true) {
          work_ready.wait(lock, [&] { return stopping || !work.empty(); });
          if (work.empty()) return;
          Chunk* chunk = work.front();
          work.pop_front();
          lock.unlock();
          PrepareChunk(chunk);
          lock.lock();
          chunk->done = true;
          chunk_done.notify_all();
        }
      });
    }
    std::deque<std::unique_ptr<Chunk>> in_flight;
    const size_t max_in_flight = static_cast<size_t>(threads_) * 3;
    while (true) {
      while (in_flight.size() < max_in_flight) {
        std::unique_ptr<Chunk> chunk = read_chunk();
        if (chunk == nullptr) break;
        std::lock_guard<std::mutex> lock(mu);
        work.push_back(chunk.get());
        in_flight.push_back(std::move(chunk));
        work_ready.notify_one();
      }
      if (in_flight.empty()) break;
      Chunk* front = in_flight.front().get();
      {
        std::unique_lock<std::mutex> lock(mu);
        chunk_done.wait(lock, [&] { return front->done; });
      }
      apply_chunk(front);
      recycle(std::move(in_flight.front()));
      in_flight.pop_front();
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
      work_ready.notify_all();
    }
    for (std::thread& t : workers) t.join();
  }
  if (on_progress) on_progress(-1);
  return reader.status();
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
