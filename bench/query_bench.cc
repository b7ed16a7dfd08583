// Query latency and freshness of the query role, over gRPC, on this machine.
//
// 1. Populate (once; kept in --data-dir, redone with --rebuild): the county
//    `hisbridge gen` wrote to --county is linked in memory by the batch
//    linker (the streaming linker's engine, default matcher), one Patient
//    view per unified patient is built the way the linker publishes it
//    (libs/linker ViewBuilder: golden demographics, provenance, every
//    source) with its clinical events from the file, and the views are
//    applied to a query ViewStore. The development broker keeps only about
//    5 MiB per partition, so a county this size cannot pass through Kafka.
// 2. Serve: this binary started again as a child process (internal flag
//    --serve-address-file): a Node with only the query role on that
//    directory (it rebuilds its match and search indexes at start), against
//    an in-process development broker with empty topics; health checking,
//    reflection, the access log and the metrics interceptor are on, as in
//    production. Its resident memory and its CPU per request are read from
//    /proc, apart from the load generator's.
// 3. Load, one method at a time: an open-loop generator (a generic stub,
//    which does not parse the answers, on gRPC's callback API, or with
//    --client-api async on the asynchronous API with one completion queue;
//    the callback client costs 73-84 us of CPU per GetPatient against
//    61-70 us, with the same latencies, and the generator shares the two
//    cores with the server it measures) sends requests
//    at their rate (--methods GetPatient:5000,...) for --duration after a
//    --warmup, each with a 5 s deadline, and prints the rate achieved, the
//    latency percentiles from the moment each request was sent to its
//    answer, the CPU per request of the server and of the generator, the
//    mean answer size and the machine's load average. Requests pick
//    uniformly among all patients (GetPatient), all source records
//    (LookupBySource), the demographics of sampled source records without
//    their resident id (Match: the blocking and scoring path, not the id
//    lookup), name + birth year of sampled sources (SearchPatients), and
//    patients with about --view-events clinical events (GetIntegratedView).
// 4. --freshness: a Node with every role (embedded broker, 8 inbox and
//    views partitions) takes the first records of --county through Submit
//    at --freshness-rate records/s in batches; after each Submit returns, a
//    LookupBySource of the batch's last record with ReadConsistency(after =
//    the returned positions) measures the time until the change is visible
//    in query. After a --freshness-warmup, prints p50/p90/p99/max, and p50
//    and max by second.
//
//   hisbridge gen --people 200000 --seed 7 --events 6 --out /tmp/county
//   query_bench --county /tmp/county [--data-dir DIR] [--methods M:RATE,...]
//               [--duration 10s] [--freshness]
// (--events 6: with the default 3 events per record no patient has 50.)
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/flags.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/base/time_format.h"
#include "libs/index/kv_store.h"
#include "libs/kafka/dev_broker.h"
#include "libs/linker/batch_linker.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/streaming_linker.h"
#include "libs/linker/view_builder.h"
#include "libs/match/matcher.h"
#include "libs/records/facility_directory.h"
#include "libs/records/line_reader.h"
#include "libs/records/record_json.h"
#include "libs/metrics/registry.h"
#include "libs/records/validate.h"
#include "libs/view/view_materializer.h"
#include "libs/view/view_store.h"
#include "services/node/node.h"

namespace hisbridge {
namespace {

// The load generator's gRPC API (see Load).
enum class ClientApi { kAsync, kCallback };

struct Options {
  std::string county;
  std::string data_dir = "/tmp/hisbridge-query-bench";
  bool rebuild = false;
  std::vector<std::string> methods = {"GetPatient:5000", "LookupBySource:5000", "Match:500",
                                      "GetIntegratedView:1000", "SearchPatients:500"};
  double rate = 1000;
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(2);
  // Each method is measured this many times in a row; with more than one
  // a summary line gives the median and the range of each percentile.
  int64_t rounds = 1;
  int64_t view_events = 50;
  // Set in the server child process (see SpawnServer).
  std::string serve_address_file;
  bool freshness = false;
  bool skip_load = false;
  // The load generator's gRPC API: the callback API, as the services use,
  // or the asynchronous one with a completion queue of our own.
  ClientApi client_api = ClientApi::kCallback;
  // The server's query block cache and access-log delay (NodeOptions).
  int64_t block_cache_mib = 512;
  bool warm_cache = true;
  int disk_read_threads = 2;
  absl::Duration access_log_delay = absl::Milliseconds(5);
  // Compact the populated store before serving (rewrites it with the
  // query role's compression).
  bool compact = false;
  int64_t freshness_rate = 5000;
  int64_t freshness_batch = 50;
  absl::Duration freshness_duration = absl::Seconds(5);
  absl::Duration freshness_warmup = absl::Seconds(1);
};

// CPU time this process (server, client and all) has used so far.
absl::Duration ProcessCpu() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[i];
}

// --- 1. populate ---

absl::Status Populate(const Options& o, const std::string& store_dir) {
  const absl::Time started = absl::Now();
  HB_ASSIGN_OR_RETURN(records::FacilityDirectory facilities,
                      records::FacilityDirectory::Load(o.county + "/facilities.csv", "000000"));
  HB_ASSIGN_OR_RETURN(std::unique_ptr<match::Matcher> matcher, match::MakeMatcher("fs", ""));
  linker::EngineOptions engine_options;
  engine_options.keep_history = false;  // as `hisbridge link`: the links are what matter here
  linker::LinkEngine engine(matcher.get(), &facilities, engine_options);
  linker::BatchLinker batch(&engine, &facilities);
  int64_t rejected = 0;
  HB_RETURN_IF_ERROR(batch.AddFile(o.county + "/records.jsonl",
                                   [&](int64_t, absl::string_view, const std::vector<hisbridge::v1::FieldIssue>&) {
                                     ++rejected;
                                   }));
  const absl::Time linked = absl::Now();
  std::printf("populate: linked %s in %.1f s (%lld rejected)\n", (o.county + "/records.jsonl").c_str(),
              absl::ToDoubleSeconds(linked - started), static_cast<long long>(rejected));

  // Clinical events, grouped by the patient of their source record.
  std::map<std::pair<std::string, std::string>, std::string> patient_of;
  for (const auto& row : batch.Links()) patient_of[{row[0], row[1]}] = row[2];
  struct Timed {
    absl::Time time;
    hisbridge::v1::ClinicalEvent event;
  };
  std::map<std::string, std::vector<Timed>> events;
  {
    HB_ASSIGN_OR_RETURN(auto reader, records::LineReader::Open(o.county + "/records.jsonl"));
    records::RecordJsonParser parser;
    records::ParsedRecord parsed;
    records::Line line;
    while (reader->Next(&line)) {
      if (line.too_long) continue;
      parser.Parse(line.text, &parsed, /*padded=*/true);
      if (!parsed.ok() || parsed.record.kind() == "patient" || parsed.record.kind().empty()) continue;
      auto it = patient_of.find({parsed.record.facility_id(), parsed.record.record_id()});
      if (it == patient_of.end()) continue;  // its record was deleted or merged away
      Timed t;
      auto time = ParseRfc3339(parsed.record.event_time());
      t.time = time.ok() ? *time : absl::InfinitePast();
      t.event.set_kind(parsed.record.kind());
      t.event.set_facility_id(parsed.record.facility_id());
      t.event.set_record_id(parsed.record.record_id());
      t.event.set_event_id(records::EventId(parsed.record));
      t.event.set_event_time(parsed.record.event_time());
      *t.event.mutable_record() = std::move(parsed.record);
      events[it->second].push_back(std::move(t));
    }
    HB_RETURN_IF_ERROR(reader->status());
  }

  (void)RemoveRecursively(store_dir);
  view::ViewStoreOptions store_options;
  store_options.matcher = matcher.get();
  HB_ASSIGN_OR_RETURN(auto store, view::ViewStore::Open(store_dir, store_options));
  linker::ViewBuilder builder(&facilities, &engine.options(), nullptr);
  view::ViewStore::Batch out = store->NewBatch();
  int64_t patients = 0, in_batch = 0, event_count = 0;
  absl::Status failed;
  for (const linker::RegionState* state : batch.Regions()) {
    state->ForEachPatient([&](const linker::PatientState& p) {
      if (!failed.ok()) return;
      auto view = builder.Build(*state, p);
      if (!view.ok()) {
        failed = view.status();
        return;
      }
      auto it = events.find(view->patient_id());
      if (it != events.end()) {
        std::stable_sort(it->second.begin(), it->second.end(), [](const Timed& a, const Timed& b) {
          if (a.time != b.time) return a.time < b.time;
          return a.event.event_id() < b.event.event_id();
        });
        for (Timed& t : it->second) *view->add_events() = std::move(t.event);
        event_count += static_cast<int64_t>(it->second.size());
        events.erase(it);
      }
      auto put = out.PutPatient(*view);
      if (!put.ok()) {
        failed = put.status();
        return;
      }
      ++patients;
      if (++in_batch == 2000) {
        failed = store->Commit(&out);
        in_batch = 0;
      }
    });
  }
  HB_RETURN_IF_ERROR(failed);
  HB_RETURN_IF_ERROR(store->Commit(&out));
  std::printf("populate: %lld patient views with %lld clinical events applied to %s in %.1f s\n",
              static_cast<long long>(patients), static_cast<long long>(event_count), store_dir.c_str(),
              absl::ToDoubleSeconds(absl::Now() - linked));
  return absl::OkStatus();
}

// A long-running replica's store is mostly compacted, with the query
// role's compression (LZ4 throughout, see services/node): so is the
// bench's, once populated.
absl::Status Compact(const std::string& store_dir) {
  const absl::Time started = absl::Now();
  index::KvStoreOptions kv;
  HB_ASSIGN_OR_RETURN(kv.families, index::KvStore::ListFamilies(store_dir));
  kv.create_if_missing = false;
  kv.zstd_bottommost = false;
  HB_ASSIGN_OR_RETURN(auto store, index::KvStore::Open(store_dir, kv));
  HB_RETURN_IF_ERROR(store->CompactAll());
  std::printf("populate: compacted %s in %.1f s (%.0f MiB of files)\n", store_dir.c_str(),
              absl::ToDoubleSeconds(absl::Now() - started), static_cast<double>(store->GetStats().sst_bytes) / (1 << 20));
  return absl::OkStatus();
}

// --- what the load asks for ---

struct Samples {
  std::vector<std::string> patient_ids;
  std::vector<std::pair<std::string, std::string>> sources;
  std::vector<hisbridge::v1::Demographics> demographics;  // id_number removed
  std::vector<std::pair<std::string, std::string>> name_years;
  // GetIntegratedView asks for the patients whose event count is nearest
  // --view-events.
  std::vector<std::string> view_patients;
  double view_mean_events = 0;
  int view_min_events = 0;
  int view_max_events = 0;
};

absl::Status Sample(const std::string& store_dir, int view_events, Samples* s) {
  // The views as stored, read directly (a ViewStore would rebuild its
  // indexes first, which the server does anyway).
  index::KvStoreOptions kv;
  HB_ASSIGN_OR_RETURN(kv.families, index::KvStore::ListFamilies(store_dir));
  kv.read_only = true;
  kv.create_if_missing = false;
  HB_ASSIGN_OR_RETURN(auto store, index::KvStore::Open(store_dir, kv));
  const int patients = store->Family("patients");
  if (patients < 0) return absl::NotFoundError(absl::StrCat(store_dir, " is not a query store"));
  std::mt19937_64 rng(7);
  std::vector<std::pair<int, std::string>> by_events;
  hisbridge::v1::Patient p;
  absl::Status parsed;
  HB_RETURN_IF_ERROR(store->Scan(patients, "", [&](absl::string_view key, absl::string_view value) {
    if (!p.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      parsed = absl::DataLossError(absl::StrCat("corrupt view of patient ", key));
      return false;
    }
    if (p.status() != hisbridge::v1::PATIENT_STATUS_ACTIVE) return true;
    s->patient_ids.push_back(p.patient_id());
    by_events.emplace_back(p.events_size(), p.patient_id());
    for (const auto& src : p.sources()) {
      s->sources.emplace_back(src.facility_id(), src.record_id());
      if (rng() % 20 == 0 && !src.demographics().name().empty()) {
        hisbridge::v1::Demographics d = src.demographics();
        d.clear_id_number();
        s->demographics.push_back(d);
        if (src.demographics().birth_date().size() >= 4) {
          s->name_years.emplace_back(src.demographics().name(), src.demographics().birth_date().substr(0, 4));
        }
      }
    }
    return true;
  }));
  HB_RETURN_IF_ERROR(parsed);
  if (by_events.empty()) return absl::OkStatus();
  std::sort(by_events.begin(), by_events.end());
  const int most = by_events.back().first;
  const int median = by_events[by_events.size() / 2].first;
  // Up to 2,000 patients with the fewest events at or above the wanted
  // count (fewer patients have many events, so "nearest" would lean low);
  // when there are not even 200, the 2,000 with the most.
  const auto at_least = std::lower_bound(by_events.begin(), by_events.end(), std::make_pair(view_events, std::string()));
  std::rotate(by_events.begin(), at_least, by_events.end());
  const size_t above = static_cast<size_t>(by_events.end() - at_least);
  if (above < 2000) std::reverse(by_events.begin() + static_cast<std::ptrdiff_t>(above), by_events.end());
  const size_t count = std::min<size_t>(by_events.size(), above >= 200 ? std::min<size_t>(above, 2000) : 2000);
  int64_t total = 0;
  s->view_min_events = by_events.front().first;
  s->view_max_events = by_events.front().first;
  for (size_t i = 0; i < count; ++i) {
    s->view_patients.push_back(by_events[i].second);
    total += by_events[i].first;
    s->view_min_events = std::min(s->view_min_events, by_events[i].first);
    s->view_max_events = std::max(s->view_max_events, by_events[i].first);
  }
  s->view_mean_events = static_cast<double>(total) / static_cast<double>(count);
  std::printf("samples: %zu active patients, %zu source records, %zu demographics for Match and search; events per "
              "patient: median %d, most %d; GetIntegratedView asks for %zu patients with about %d events (%d-%d, "
              "mean %.1f)\n",
              s->patient_ids.size(), s->sources.size(), s->demographics.size(), median, most, count, view_events,
              s->view_min_events, s->view_max_events, s->view_mean_events);
  if (s->view_mean_events < 0.8 * view_events) {
    std::printf("samples: WARNING: this county has too few patients with ~%d events; generate it with more events "
                "per record (hisbridge gen --events 6, see docs/query.md)\n",
                view_events);
  }
  return absl::OkStatus();
}

// --- 3. the open-loop load ---

struct PhaseResult {
  std::string method;
  double rate = 0;
  double achieved = 0;
  int64_t ok = 0;
  int64_t errors = 0;
  std::string first_error;
  std::vector<double> latencies_ms;
  // CPU per measured request of the server process and of this one (the
  // load generator).
  double server_cpu_us = 0;
  double client_cpu_us = 0;
  double mean_answer_bytes = 0;
  // How late the requests were sent against their schedule (p99): the
  // generator keeping its rate, or not.
  double late_p99_ms = 0;
};

// The load generator: a generic stub, on the asynchronous API with one
// completion queue (ClientApi::kAsync) or on the callback API
// (ClientApi::kCallback). The pacing thread sends each request at its time (requests
// are serialized before the phase starts, so sending is only the gRPC
// call); the answers are taken off the queue by one thread of ours (async)
// or by gRPC's callback threads (callback), which count their bytes without
// parsing them and record the latency from the moment the request was sent.
// Server and generator share this machine's two cores: the generator spends
// as little as it can (no parse, no per-call allocation of its own), so that
// the server's share is what is measured.
class Load {
 public:
  Load(std::shared_ptr<grpc::Channel> channel, ClientApi api, const Samples* samples,
       std::function<absl::Duration()> server_cpu)
      : stub_(std::move(channel)), api_(api), samples_(samples), server_cpu_(std::move(server_cpu)) {}

  PhaseResult Run(const std::string& method, double rate, absl::Duration warmup, absl::Duration duration) {
    const int64_t total = static_cast<int64_t>(rate * absl::ToDoubleSeconds(warmup + duration));
    const int64_t measured_from = static_cast<int64_t>(rate * absl::ToDoubleSeconds(warmup));
    const std::string path = absl::StrCat("/hisbridge.v1.QueryService/", method);
    // Every request of the phase, drawn as before from all patients /
    // records, serialized up front.
    std::vector<grpc::ByteBuffer> requests(static_cast<size_t>(total));
    {
      std::mt19937_64 rng(11);
      for (grpc::ByteBuffer& b : requests) Build(method, rng(), &b);
    }
    std::vector<Call> calls(static_cast<size_t>(total));
    std::vector<absl::Time> due(static_cast<size_t>(total));

    grpc::CompletionQueue cq;
    Tally tally;
    // An answered call, on the thread that took its answer.
    auto answered_call = [&tally](Call* call) {
      call->latency_ms = absl::ToDoubleMilliseconds(absl::Now() - call->sent);
      call->ok = call->status.ok();
      // The sending thread frees the call's gRPC state: memory goes back
      // to the thread that allocates it (glibc's per-thread caches).
      std::lock_guard<std::mutex> lock(tally.mu);
      if (call->ok) {
        call->answer_bytes = call->response.Length();
      } else if (tally.first_error.empty()) {
        tally.first_error = absl::StrCat(call->status.error_code(), ": ", call->status.error_message());
      }
      tally.answered.push_back(call);
      tally.done.fetch_add(1, std::memory_order_release);
    };
    std::thread answers([&cq, &answered_call] {
      void* tag = nullptr;
      bool ok = false;
      while (cq.Next(&tag, &ok)) answered_call(static_cast<Call*>(tag));
    });
    // Frees the gRPC state of the calls answered so far.
    std::vector<Call*> answered;
    auto release = [&tally, &answered] {
      {
        std::lock_guard<std::mutex> lock(tally.mu);
        answered.swap(tally.answered);
      }
      for (Call* call : answered) {
        call->response.Clear();
        call->rpc.reset();
        call->context.reset();
      }
      answered.clear();
    };

    const absl::Time start = absl::Now() + absl::Milliseconds(20);
    absl::Time measure_start = absl::InfiniteFuture();
    absl::Duration cpu_start, server_cpu_start;
    for (int64_t i = 0; i < total; ++i) {
      const size_t k = static_cast<size_t>(i);
      due[k] = start + absl::Seconds(static_cast<double>(i) / rate);
      if (due[k] - absl::Now() > absl::Microseconds(50)) release();  // time to spare
      const absl::Duration ahead = due[k] - absl::Now();
      if (ahead > absl::ZeroDuration()) absl::SleepFor(ahead);
      if (i == measured_from) {
        measure_start = absl::Now();
        cpu_start = ProcessCpu();
        server_cpu_start = server_cpu_();
      }
      Call& call = calls[k];
      call.context.emplace();
      call.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      call.sent = absl::Now();
      if (api_ == ClientApi::kCallback) {
        stub_.UnaryCall(&*call.context, path, grpc::StubOptions(), &requests[k], &call.response,
                        [&call, &answered_call](grpc::Status status) {
                          call.status = std::move(status);
                          answered_call(&call);
                        });
      } else {
        call.rpc = stub_.PrepareUnaryCall(&*call.context, path, requests[k], &cq);
        call.rpc->StartCall();
        call.rpc->Finish(&call.response, &call.status, &call);
      }
    }
    const absl::Time sent = absl::Now();
    // Every call has a deadline, so every call completes.
    while (tally.done.load(std::memory_order_acquire) < total) absl::SleepFor(absl::Milliseconds(5));
    PhaseResult r;
    r.method = method;
    r.rate = rate;
    const double measured = static_cast<double>(std::max<int64_t>(1, total - measured_from));
    r.client_cpu_us = absl::ToDoubleMicroseconds(ProcessCpu() - cpu_start) / measured;
    r.server_cpu_us = absl::ToDoubleMicroseconds(server_cpu_() - server_cpu_start) / measured;
    cq.Shutdown();
    answers.join();
    release();
    int64_t answer_bytes = 0;
    std::vector<double> late_ms;
    for (int64_t i = measured_from; i < total; ++i) {
      const Call& call = calls[static_cast<size_t>(i)];
      late_ms.push_back(absl::ToDoubleMilliseconds(call.sent - due[static_cast<size_t>(i)]));
      if (call.latency_ms < 0 || !call.ok) {
        ++r.errors;  // never answered, or an error
        continue;
      }
      ++r.ok;
      r.latencies_ms.push_back(call.latency_ms);
      answer_bytes += static_cast<int64_t>(call.answer_bytes);
    }
    r.first_error = tally.first_error;
    r.achieved = static_cast<double>(total - measured_from) / absl::ToDoubleSeconds(sent - measure_start);
    r.mean_answer_bytes = r.ok == 0 ? 0 : static_cast<double>(answer_bytes) / static_cast<double>(r.ok);
    std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
    std::sort(late_ms.begin(), late_ms.end());
    r.late_p99_ms = Percentile(late_ms, 99);
    return r;
  }

 private:
  struct Call {
    std::optional<grpc::ClientContext> context;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> rpc;
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Time sent;
    double latency_ms = -1;  // set when answered
    bool ok = false;
    size_t answer_bytes = 0;
  };
  struct Tally {
    std::atomic<int64_t> done{0};
    std::string first_error;  // guarded by mu
    std::mutex mu;
    std::vector<Call*> answered;  // whose gRPC state is still to be freed
  };

  static void Serialize(const google::protobuf::Message& request, grpc::ByteBuffer* out) {
    bool own_buffer = false;
    if (!grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(request, out, &own_buffer).ok()) {
      std::fprintf(stderr, "query_bench: cannot serialize a request\n");
      std::abort();
    }
  }

  void Build(const std::string& method, uint64_t random, grpc::ByteBuffer* out) const {
    const Samples& s = *samples_;
    if (method == "GetPatient") {
      hisbridge::v1::GetPatientRequest r;
      r.set_patient_id(s.patient_ids[random % s.patient_ids.size()]);
      Serialize(r, out);
    } else if (method == "LookupBySource") {
      const auto& [facility, record] = s.sources[random % s.sources.size()];
      hisbridge::v1::LookupBySourceRequest r;
      r.set_facility_id(facility);
      r.set_record_id(record);
      Serialize(r, out);
    } else if (method == "Match") {
      hisbridge::v1::MatchRequest r;
      *r.mutable_demographics() = s.demographics[random % s.demographics.size()];
      Serialize(r, out);
    } else if (method == "GetIntegratedView") {
      hisbridge::v1::GetIntegratedViewRequest r;
      r.set_patient_id(s.view_patients[random % s.view_patients.size()]);
      Serialize(r, out);
    } else if (method == "SearchPatients") {
      const auto& [name, year] = s.name_years[random % s.name_years.size()];
      hisbridge::v1::SearchPatientsRequest r;
      r.set_name(name);
      r.set_birth_date(year);
      Serialize(r, out);
    }
  }

  grpc::GenericStub stub_;
  ClientApi api_;
  const Samples* samples_;
  std::function<absl::Duration()> server_cpu_;
};

// The machine's 1-minute load average: the cores are shared, so every
// figure is printed with it.
double LoadAverage() {
  double load[1] = {0};
  return getloadavg(load, 1) == 1 ? load[0] : -1;
}

void PrintHeader() {
  std::printf("%-18s %7s %10s %7s %6s %7s %7s %7s %8s %7s %10s %10s %9s %9s %6s\n", "method", "rate/s",
              "achieved/s", "ok", "errors", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "server us",
              "client us", "answer KB", "late99 ms", "load1");
}

void PrintRow(const PhaseResult& r) {
  const auto& l = r.latencies_ms;
  std::printf("%-18s %7.0f %10.1f %7lld %6lld %7.3f %7.3f %7.3f %8.3f %7.3f %10.0f %10.0f %9.1f %9.3f %6.2f\n",
              r.method.c_str(), r.rate, r.achieved, static_cast<long long>(r.ok), static_cast<long long>(r.errors),
              Percentile(l, 50), Percentile(l, 90), Percentile(l, 99), Percentile(l, 99.9), l.empty() ? 0.0 : l.back(),
              r.server_cpu_us, r.client_cpu_us, r.mean_answer_bytes / 1024.0, r.late_p99_ms, LoadAverage());
  if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
  std::fflush(stdout);
}

// Rounds of one method on a shared machine differ by more than the
// server's own variation (other tenants, the host's scheduling of this
// VM's cores): each percentile's median over the rounds, with its range,
// says what a single round cannot.
void PrintRoundsSummary(const std::vector<PhaseResult>& rounds) {
  if (rounds.size() < 2) return;
  auto summary = [&rounds](double p) {
    std::vector<double> v;
    for (const PhaseResult& r : rounds) v.push_back(Percentile(r.latencies_ms, p));
    std::sort(v.begin(), v.end());
    return absl::StrFormat("%.3f (%.3f-%.3f)", v[v.size() / 2], v.front(), v.back());
  };
  int64_t over_1ms = 0;
  for (const PhaseResult& r : rounds) over_1ms += Percentile(r.latencies_ms, 99) > 1.0 ? 1 : 0;
  std::printf("  %s over %zu rounds, median (range) in ms: p50 %s, p99 %s, p99.9 %s; p99 above 1 ms in %lld of %zu\n",
              rounds.front().method.c_str(), rounds.size(), summary(50).c_str(), summary(99).c_str(),
              summary(99.9).c_str(), static_cast<long long>(over_1ms), rounds.size());
  std::fflush(stdout);
}

// --- 2. serve: a child process of its own ---

// CPU time and resident memory of another process, from /proc.
struct ProcessFigures {
  absl::Duration cpu;
  int64_t rss_bytes = 0;
};

ProcessFigures FiguresOf(pid_t pid) {
  ProcessFigures f;
  auto stat = ReadFileToString(absl::StrCat("/proc/", pid, "/stat"));
  if (stat.ok()) {
    // Fields after the command name (which may hold spaces): state is the
    // 3rd field, utime the 14th and stime the 15th, rss (pages) the 24th.
    const size_t close = stat->rfind(')');
    std::vector<absl::string_view> fields =
        absl::StrSplit(absl::string_view(*stat).substr(close + 2), ' ', absl::SkipEmpty());
    int64_t utime = 0, stime = 0, rss = 0;
    if (fields.size() > 21 && absl::SimpleAtoi(fields[11], &utime) && absl::SimpleAtoi(fields[12], &stime) &&
        absl::SimpleAtoi(fields[21], &rss)) {
      const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      f.cpu = absl::Seconds(static_cast<double>(utime + stime) / tick);
      f.rss_bytes = rss * sysconf(_SC_PAGESIZE);
    }
  }
  return f;
}

// The child: a Node with only the query role on the populated directory,
// until its stdin closes (the parent exits or is done).
absl::Status ServeQuery(const Options& o) {
  const kafka::TopicNames topics;
  HB_ASSIGN_OR_RETURN(auto broker, kafka::DevBroker::Start({{topics.inbox, 1},
                                                            {topics.views, 1},
                                                            {topics.changes, 1},
                                                            {topics.rejects, 1}}));
  NodeOptions node_options;
  node_options.roles = {Role::kQuery};
  node_options.data_dir = o.data_dir;
  node_options.kafka.bootstrap = broker->bootstrap();
  node_options.facilities_file = o.county.empty() ? "" : o.county + "/facilities.csv";
  node_options.query_block_cache_bytes = static_cast<size_t>(o.block_cache_mib) << 20;
  node_options.access_log_max_delay = o.access_log_delay;
  node_options.query_warm_cache = o.warm_cache;
  node_options.query_disk_read_threads = o.disk_read_threads;
  Node node(node_options);
  const absl::Time starting = absl::Now();
  HB_RETURN_IF_ERROR(node.Start());
  std::printf("serve: query role (pid %d) on %s, ready in %.1f s (indexes rebuilt: %zu patients, %zu sources, %zu "
              "blocking tokens in memory)\n",
              static_cast<int>(getpid()), node.grpc_address().c_str(), absl::ToDoubleSeconds(absl::Now() - starting),
              node.views()->store().match_index().patient_count(), node.views()->store().match_index().source_count(),
              node.views()->store().match_index().token_count());
  HB_RETURN_IF_ERROR(WriteFileAtomically(o.serve_address_file, node.grpc_address()));
  char byte;
  while (read(STDIN_FILENO, &byte, 1) > 0) {
  }
  // How many calls needed the disk (their blocks were not cached): the
  // node's own counter, as /metrics shows it.
  const std::string scrape = node.metrics()->Render();
  const std::string counter = "\nhisbridge_query_disk_read_answers_total ";
  const size_t at = scrape.find(counter);
  if (at != std::string::npos) {
    const size_t end = scrape.find('\n', at + counter.size());
    std::printf("serve: %s calls answered on the disk-read threads (--disk-read-threads %d)\n",
                scrape.substr(at + counter.size(), end - at - counter.size()).c_str(), o.disk_read_threads);
  }
  node.Stop();
  return absl::OkStatus();
}

// Runs this binary again as the server (ServeQuery); closing `*stdin_fd`
// stops it.
absl::StatusOr<pid_t> SpawnServer(const Options& o, const std::string& address_file, int* stdin_fd) {
  int fds[2];
  if (pipe(fds) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<std::string> args = {"query_bench",       "--serve-address-file",
                                   address_file,        "--data-dir",
                                   o.data_dir,          "--block-cache-mib",
                                   absl::StrCat(o.block_cache_mib), "--access-log-delay",
                                   absl::FormatDuration(o.access_log_delay),
                                   o.warm_cache ? "--warm-cache" : "--no-warm-cache",
                                   "--disk-read-threads",
                                   absl::StrCat(o.disk_read_threads)};
  if (!o.county.empty()) {
    args.push_back("--county");
    args.push_back(o.county);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[0]);
  if (spawned != 0) {
    close(fds[1]);
    return absl::InternalError(absl::StrCat("cannot start the server process: ", std::strerror(spawned)));
  }
  *stdin_fd = fds[1];
  return pid;
}

absl::Status RunLoad(const Options& o) {
  const std::string store_dir = o.data_dir + "/query";
  const std::string marker = o.data_dir + "/POPULATED";
  if (o.rebuild || !PathExists(marker)) {
    if (o.county.empty()) return absl::InvalidArgumentError("--county is required to populate the query store");
    HB_RETURN_IF_ERROR(MakeDirectories(o.data_dir));
    HB_RETURN_IF_ERROR(Populate(o, store_dir));
    HB_RETURN_IF_ERROR(Compact(store_dir));
    HB_RETURN_IF_ERROR(WriteFileAtomically(marker, o.county + "\n"));
  } else {
    std::printf("populate: reusing %s (--rebuild to redo)\n", store_dir.c_str());
    if (o.compact) HB_RETURN_IF_ERROR(Compact(store_dir));
  }
  Samples samples;
  HB_RETURN_IF_ERROR(Sample(store_dir, static_cast<int>(o.view_events), &samples));
  if (samples.patient_ids.empty() || samples.demographics.empty() || samples.name_years.empty()) {
    return absl::FailedPreconditionError("the query store holds no patients to ask for");
  }

  // The server runs in a process of its own, as in production, so that its
  // CPU and memory are measured apart from the load generator's.
  const std::string address_file = absl::StrCat(o.data_dir, "/server-address-", getpid());
  (void)RemoveRecursively(address_file);
  int server_stdin = -1;
  HB_ASSIGN_OR_RETURN(const pid_t server, SpawnServer(o, address_file, &server_stdin));
  auto stop_server = [&] {
    close(server_stdin);
    int status = 0;
    waitpid(server, &status, 0);
    (void)RemoveRecursively(address_file);
  };
  std::string address;
  const absl::Time wait_until = absl::Now() + absl::Minutes(5);
  while (true) {
    auto read = ReadFileToString(address_file);
    if (read.ok() && !read->empty()) {
      address = *read;
      break;
    }
    int status = 0;
    if (waitpid(server, &status, WNOHANG) == server) {
      close(server_stdin);
      return absl::InternalError("the server process exited before it served");
    }
    if (absl::Now() > wait_until) {
      stop_server();
      return absl::DeadlineExceededError("the server process did not start within 5 minutes");
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  // What the idle server costs (the materializer's polls, compactions
  // after the open): the figures below include it.
  const ProcessFigures idle_start = FiguresOf(server);
  absl::SleepFor(absl::Seconds(2));
  const ProcessFigures idle_end = FiguresOf(server);
  std::printf("serve: server process resident memory %.0f MiB, idle CPU %.1f%% of a core\n",
              static_cast<double>(idle_end.rss_bytes) / (1 << 20),
              100 * absl::ToDoubleSeconds(idle_end.cpu - idle_start.cpu) / 2);

  grpc::ChannelArguments args;
  // Transparent retries buffer every call; these calls are idempotent reads
  // measured one by one.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  const ClientApi api = o.client_api;
  Load load(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args), api, &samples,
            [server] { return FiguresOf(server).cpu; });
  std::printf("\nopen-loop load, one method at a time: %.0f s each after %.0f s of warm-up; latency from send to "
              "answer; CPU per request of the server process and of the load generator (gRPC %s API)\n",
              absl::ToDoubleSeconds(o.duration), absl::ToDoubleSeconds(o.warmup),
              api == ClientApi::kCallback ? "callback" : "asynchronous");
  PrintHeader();
  absl::Status status;
  for (const std::string& spec : o.methods) {
    std::vector<std::string> parts = absl::StrSplit(spec, ':');
    double rate = o.rate;
    if (parts.size() == 2 && !absl::SimpleAtod(parts[1], &rate)) {
      status = absl::InvalidArgumentError(absl::StrCat("--methods: bad rate in \"", spec, "\""));
      break;
    }
    const std::string& method = parts[0];
    if (method != "GetPatient" && method != "LookupBySource" && method != "Match" && method != "GetIntegratedView" &&
        method != "SearchPatients") {
      status = absl::InvalidArgumentError(absl::StrCat("--methods: unknown method \"", method, "\""));
      break;
    }
    std::vector<PhaseResult> rounds;
    for (int64_t round = 0; round < std::max<int64_t>(1, o.rounds); ++round) {
      rounds.push_back(load.Run(method, rate, o.warmup, o.duration));
      PrintRow(rounds.back());
    }
    PrintRoundsSummary(rounds);
    if (method == "GetIntegratedView") {
      std::printf("  (patients with %d-%d clinical events, %.1f on average)\n", samples.view_min_events,
                  samples.view_max_events, samples.view_mean_events);
    }
  }
  std::printf("serve: server process resident memory %.0f MiB after the load\n",
              static_cast<double>(FiguresOf(server).rss_bytes) / (1 << 20));
  stop_server();
  return status;
}

// --- 4. freshness ---

absl::Status RunFreshness(const Options& o) {
  if (o.county.empty()) return absl::InvalidArgumentError("--freshness needs --county");
  const int64_t wanted = static_cast<int64_t>(static_cast<double>(o.freshness_rate) *
                                              absl::ToDoubleSeconds(o.freshness_warmup + o.freshness_duration));
  std::vector<hisbridge::v1::Record> records;
  {
    HB_ASSIGN_OR_RETURN(auto reader, records::LineReader::Open(o.county + "/records.jsonl"));
    records::RecordJsonParser parser;
    records::ParsedRecord parsed;
    records::Line line;
    while (static_cast<int64_t>(records.size()) < wanted && reader->Next(&line)) {
      parser.Parse(line.text, &parsed, true);
      if (parsed.ok()) records.push_back(parsed.record);
    }
  }
  HB_ASSIGN_OR_RETURN(std::string dir, MakeTempDirectory("query_bench_freshness"));
  NodeOptions node_options;
  node_options.data_dir = dir;
  node_options.embedded_broker = true;
  node_options.inbox_partitions = 8;
  node_options.views_partitions = 8;
  node_options.facilities_file = o.county + "/facilities.csv";
  node_options.linker_group = absl::StrCat("bench-", getpid());
  auto node = std::make_unique<Node>(node_options);
  HB_RETURN_IF_ERROR(node->Start());
  const absl::Time joined_by = absl::Now() + absl::Seconds(30);
  while (node->linker()->AssignedPartitions().empty() && absl::Now() < joined_by) absl::SleepFor(absl::Milliseconds(50));
  auto channel = grpc::CreateChannel(node->grpc_address(), grpc::InsecureChannelCredentials());
  auto ingest = hisbridge::v1::IngestService::NewStub(channel);
  auto query = hisbridge::v1::QueryService::NewStub(channel);

  struct Shared {
    absl::Mutex mu;
    std::vector<double> freshness_ms;
    // (second of the run the Submit returned in, ms): shows whether the
    // pipeline keeps up or falls behind.
    std::vector<std::pair<int, double>> by_second;
    int64_t outstanding = 0;
    int64_t failures = 0;
    int64_t accepted = 0;
    std::string first_error;
  } shared;
  const int64_t batch = std::max<int64_t>(1, o.freshness_batch);
  const int64_t batches = (static_cast<int64_t>(records.size()) + batch - 1) / batch;
  const double batches_per_second = static_cast<double>(o.freshness_rate) / static_cast<double>(batch);
  std::printf("freshness: %zu records of %s through Submit at %lld records/s (%lld per Submit), all roles in one "
              "process on the development broker\n",
              records.size(), o.county.c_str(), static_cast<long long>(o.freshness_rate),
              static_cast<long long>(batch));
  const absl::Time start = absl::Now() + absl::Milliseconds(20);
  const absl::Time measure_from = start + o.freshness_warmup;
  for (int64_t b = 0; b < batches; ++b) {
    const absl::Time due = start + absl::Seconds(static_cast<double>(b) / batches_per_second);
    const absl::Duration ahead = due - absl::Now();
    if (ahead > absl::ZeroDuration()) absl::SleepFor(ahead);
    struct Call {
      grpc::ClientContext submit_context;
      hisbridge::v1::SubmitRequest request;
      hisbridge::v1::SubmitResponse response;
      grpc::ClientContext lookup_context;
      hisbridge::v1::LookupBySourceRequest lookup;
      hisbridge::v1::Patient patient;
      absl::Time returned;
    };
    auto* call = new Call;
    const size_t begin = static_cast<size_t>(b * batch);
    const size_t end = std::min(records.size(), begin + static_cast<size_t>(batch));
    for (size_t i = begin; i < end; ++i) *call->request.add_records() = records[i];
    // The change to look for: the batch's last record.
    call->lookup.set_facility_id(records[end - 1].facility_id());
    call->lookup.set_record_id(records[end - 1].record_id());
    call->lookup.set_omit_events(true);
    call->submit_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    {
      absl::MutexLock lock(&shared.mu);
      ++shared.outstanding;
    }
    auto fail = [&shared](Call* c, const grpc::Status& s) {
      absl::MutexLock lock(&shared.mu);
      ++shared.failures;
      if (shared.first_error.empty()) shared.first_error = absl::StrCat(s.error_code(), ": ", s.error_message());
      --shared.outstanding;
      delete c;
    };
    ingest->async()->Submit(
        &call->submit_context, &call->request, &call->response,
        [call, &shared, &query, fail, start, measure_from](grpc::Status s) {
          if (!s.ok()) return fail(call, s);
          call->returned = absl::Now();
          {
            absl::MutexLock lock(&shared.mu);
            shared.accepted += call->response.accepted();
          }
          *call->lookup.mutable_consistency()->mutable_after() = call->response.positions();
          call->lookup_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          query->async()->LookupBySource(&call->lookup_context, &call->lookup, &call->patient,
                                         [call, &shared, fail, start, measure_from](grpc::Status s) {
                                           // NOT_FOUND is an answer: the position is reflected and the
                                           // record (an event of a deleted record) has no patient.
                                           if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
                                             return fail(call, s);
                                           }
                                           const double ms = absl::ToDoubleMilliseconds(absl::Now() - call->returned);
                                           absl::MutexLock lock(&shared.mu);
                                           // The first Submits only warm the pipeline up
                                           // (consumers' first fetches, the linker's first
                                           // batches).
                                           if (call->returned >= measure_from) shared.freshness_ms.push_back(ms);
                                           shared.by_second.emplace_back(
                                               static_cast<int>(absl::ToDoubleSeconds(call->returned - start)), ms);
                                           --shared.outstanding;
                                           delete call;
                                         });
        });
  }
  const absl::Time sent = absl::Now();
  {
    absl::MutexLock lock(&shared.mu);
    shared.mu.AwaitWithTimeout(absl::Condition(+[](Shared* s) { return s->outstanding == 0; }, &shared),
                               absl::Seconds(60));
  }
  absl::MutexLock lock(&shared.mu);
  std::sort(shared.freshness_ms.begin(), shared.freshness_ms.end());
  const auto& f = shared.freshness_ms;
  std::printf("freshness: submitted at %.0f records/s (%lld accepted); Submit returning -> visible in query, over the %zu "
              "batches after the warm-up: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; %lld failures\n",
              static_cast<double>(records.size()) / absl::ToDoubleSeconds(sent - start),
              static_cast<long long>(shared.accepted), f.size(), Percentile(f, 50), Percentile(f, 90),
              Percentile(f, 99), f.empty() ? 0.0 : f.back(), static_cast<long long>(shared.failures));
  std::map<int, std::vector<double>> seconds;
  for (const auto& [second, ms] : shared.by_second) seconds[second].push_back(ms);
  std::printf("freshness: p50/max ms by second of the run:");
  for (auto& [second, values] : seconds) {
    std::sort(values.begin(), values.end());
    std::printf(" %ds %.0f/%.0f", second, Percentile(values, 50), values.back());
  }
  std::printf("; load1 %.2f\n", LoadAverage());
  if (!shared.first_error.empty()) std::printf("  first error: %s\n", shared.first_error.c_str());
  node->Stop();
  node.reset();
  (void)RemoveRecursively(dir);
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  Options o;
  FlagSet flags("query_bench", "Query latency per method at a given rate, and freshness (see the file's comment).");
  flags.String("county", &o.county, "directory `hisbridge gen` wrote (records.jsonl, facilities.csv)");
  flags.String("data-dir", &o.data_dir, "where the populated query store is kept between runs");
  flags.Bool("rebuild", &o.rebuild, "populate the query store again");
  flags.StringList("methods", &o.methods, "methods and rates, METHOD[:RATE] (GetPatient, LookupBySource, Match, "
                                          "GetIntegratedView, SearchPatients)");
  flags.Double("rate", &o.rate, "requests/s for methods given without a rate");
  flags.Duration("duration", &o.duration, "measured time per method");
  flags.Duration("warmup", &o.warmup, "unmeasured time per method before it (each round)");
  flags.Int("rounds", &o.rounds, "measure each method this many times and summarise the rounds");
  flags.Int("view-events", &o.view_events, "GetIntegratedView asks for the patients with about this many events");
  flags.String("serve-address-file", &o.serve_address_file,
               "internal: serve the populated store and write the address here (the bench starts itself so)");
  flags.Bool("skip-load", &o.skip_load, "skip the per-method load (e.g. with --freshness)");
  std::string client_api = "callback";
  flags.String("client-api", &client_api,
               "the load generator's gRPC API: callback, or async (one completion queue of its own)");
  flags.Int("block-cache-mib", &o.block_cache_mib, "the server's query block cache (serve --query-block-cache)");
  flags.Bool("warm-cache", &o.warm_cache, "the server fills its block cache before serving (serve --query-warm-cache)");
  flags.Int("disk-read-threads", &o.disk_read_threads,
            "the server's threads for calls whose data is not in memory (serve --query-disk-read-threads)");
  flags.Duration("access-log-delay", &o.access_log_delay,
                 "the server's access-log batching delay (serve --access-log-delay; 0: one write per read)");
  flags.Bool("compact", &o.compact, "compact the populated store before serving (done after every populate)");
  flags.Bool("freshness", &o.freshness, "also measure Submit -> visible in query while ingesting");
  flags.Int("freshness-rate", &o.freshness_rate, "records/s submitted in the freshness run");
  flags.Int("freshness-batch", &o.freshness_batch, "records per Submit in the freshness run");
  flags.Duration("freshness-warmup", &o.freshness_warmup, "ingesting before the freshness is measured");
  flags.Duration("freshness-duration", &o.freshness_duration,
                 "how long freshness is measured after the warm-up (rate x (warm-up + duration) records are sent: keep "
                 "them well under the development broker's ~5 MiB per partition)");
  absl::Status s = flags.Parse(argc, argv);
  if (!s.ok()) {
    std::cerr << "query_bench: " << s.message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (client_api == "callback") {
    o.client_api = ClientApi::kCallback;
  } else if (client_api == "async") {
    o.client_api = ClientApi::kAsync;
  } else {
    std::cerr << "query_bench: --client-api must be async or callback, not \"" << client_api << "\"\n";
    return 2;
  }
  log::SetLevel(log::Level::kWarning);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows as it happens, also in a file
  if (!o.serve_address_file.empty()) {
    s = ServeQuery(o);
  } else if (!o.skip_load) {
    s = RunLoad(o);
  }
  if (s.ok() && o.freshness && o.serve_address_file.empty()) s = RunFreshness(o);
  if (!s.ok()) {
    std::cerr << "query_bench: " << s << "\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace hisbridge

int main(int argc, char** argv) {
  // Debian's abseil is built with mutex deadlock detection on, which gRPC's
  // own locks (absl::Mutex) then pay on every call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return hisbridge::Main(argc, argv);
}
