#include "libs/linker/index_dump.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/status_macros.h"

namespace hisbridge::linker {

absl::StatusOr<std::string> DumpIndex(const index::PatientIndex& index, const DumpOptions& options) {
  std::string out;
  std::vector<hisbridge::index::v1::RegionMeta> regions;
  HB_RETURN_IF_ERROR(index.ForEachRegion([&](const hisbridge::index::v1::RegionMeta& meta) {
    regions.push_back(meta);
    return true;
  }));
  for (const auto& meta : regions) {
    absl::StrAppend(&out, "region ", meta.region(), " partition ", meta.inbox_partition(), " next_patient ",
                    meta.next_patient_seq(), " next_review ", meta.next_review_seq(), " next_audit ",
                    meta.next_audit_seq(), "\n");
    HB_RETURN_IF_ERROR(index.ForEachRecord(meta.region(), [&](const hisbridge::index::v1::StoredRecord& r) {
      absl::StrAppend(&out, "record ", r.record().facility_id(), "/", r.record().record_id(),
                      r.deleted() ? " deleted" : "", r.merged_into_record_id().empty() ? "" : " merged_into=",
                      r.merged_into_record_id(), " t=", r.event_time_micros(), " keys=",
                      absl::StrJoin(r.blocking_tokens(), "|"), " absorbed=", absl::StrJoin(r.absorbed_record_ids(), "|"),
                      " review=", r.open_review_id(), " name=", r.record().name(), "\n");
      return true;
    }));
    HB_RETURN_IF_ERROR(index.ForEachLink(meta.region(), [&](absl::string_view facility, absl::string_view record,
                                                            const hisbridge::index::v1::StoredLink& link) {
      absl::StrAppend(&out, "link ", facility, "/", record, " -> ", link.patient_id(), " method=",
                      hisbridge::v1::LinkMethod_Name(link.link().method()), " score=", link.link().score(),
                      " pinned=", link.link().pinned(), options.include_times ? " at=" : "",
                      options.include_times ? link.link().decided_at() : "", "\n");
      return true;
    }));
    std::vector<std::string> patient_ids;
    HB_RETURN_IF_ERROR(index.ForEachPatient(meta.region(), [&](const hisbridge::index::v1::StoredPatient& p) {
      std::vector<std::string> members;
      for (const auto& m : p.members()) members.push_back(absl::StrCat(m.facility_id(), "/", m.record_id()));
      absl::StrAppend(&out, "patient ", p.patient_id(), " v", p.version(), " ",
                      hisbridge::v1::PatientStatus_Name(p.status()), " merged_into=", p.merged_into(), " members=",
                      absl::StrJoin(members, "|"), "\n");
      patient_ids.push_back(p.patient_id());
      return true;
    }));
    // The audit trail: an input applied twice would show twice here (each
    // entry names the inbox position that caused it).
    for (const std::string& patient_id : patient_ids) {
      HB_RETURN_IF_ERROR(index.ForEachAudit(meta.region(), patient_id,
                                            [&](uint64_t sequence, const hisbridge::v1::HistoryEntry& e) {
                                              absl::StrAppend(&out, "audit ", patient_id, " #", sequence, " ",
                                                              e.action(), " ", e.facility_id(), "/", e.record_id(),
                                                              " other=", e.other_patient_id(), " cause=",
                                                              e.cause().partition(), ":", e.cause().offset(),
                                                              " actor=", e.actor(),
                                                              options.include_times ? " at=" : "",
                                                              options.include_times ? e.time() : "", "\n");
                                              return true;
                                            }));
    }
    HB_RETURN_IF_ERROR(index.ForEachReviewItem(meta.region(), [&](const hisbridge::v1::ReviewItem& item) {
      std::vector<std::string> candidates;
      for (const auto& c : item.candidates()) candidates.push_back(absl::StrCat(c.patient_id(), "@", c.score()));
      absl::StrAppend(&out, "review ", item.review_id(), " ", hisbridge::v1::ReviewStatus_Name(item.status()), " ",
                      item.facility_id(), "/", item.record_id(), " patient=", item.patient_id(), " reason=",
                      item.reason(), " candidates=", absl::StrJoin(candidates, "|"), " resolved_by=",
                      item.resolved_by(), options.include_times ? " at=" : "",
                      options.include_times ? item.created_at() : "", "\n");
      return true;
    }));
  }
  return out;
}

absl::StatusOr<std::vector<LinkRow>> LiveLinks(const index::PatientIndex& index) {
  std::vector<std::string> regions;
  HB_RETURN_IF_ERROR(index.ForEachRegion([&](const hisbridge::index::v1::RegionMeta& meta) {
    regions.push_back(meta.region());
    return true;
  }));
  std::vector<LinkRow> rows;
  for (const std::string& region : regions) {
    // The linker drops the link of a record that leaves the index; the
    // tombstones are checked too, so an export never shows a deleted record.
    std::set<std::pair<std::string, std::string>> tombstones;
    HB_RETURN_IF_ERROR(index.ForEachRecord(region, [&](const hisbridge::index::v1::StoredRecord& r) {
      if (r.deleted()) tombstones.emplace(r.record().facility_id(), r.record().record_id());
      return true;
    }));
    HB_RETURN_IF_ERROR(index.ForEachLink(region, [&](absl::string_view facility, absl::string_view record,
                                                     const hisbridge::index::v1::StoredLink& link) {
      if (link.patient_id().empty()) return true;
      if (tombstones.count({std::string(facility), std::string(record)}) > 0) return true;
      rows.push_back({std::string(facility), std::string(record), link.patient_id()});
      return true;
    }));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

namespace {

void AppendCsvField(const std::string& field, std::string* out) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) {
    out->append(field);
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

absl::Status WriteLinkCsv(const std::vector<LinkRow>& rows, const std::string& path) {
  FILE* out = path == "-" ? stdout : std::fopen(path.c_str(), "w");
  if (out == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  std::string line = "facility_id,record_id,patient_id\n";
  bool failed = std::fwrite(line.data(), 1, line.size(), out) != line.size();
  for (const LinkRow& row : rows) {
    if (failed) break;
    line.clear();
    for (int i = 0; i < 3; ++i) {
      AppendCsvField(row[i], &line);
      line.push_back(i == 2 ? '\n' : ',');
    }
    failed = std::fwrite(line.data(), 1, line.size(), out) != line.size();
  }
  failed = failed || std::ferror(out) != 0;
  if (out == stdout) {
    failed = std::fflush(out) != 0 || failed;
  } else {
    failed = std::fclose(out) != 0 || failed;
  }
  if (failed) return absl::InternalError(absl::StrCat("error writing ", path));
  return absl::OkStatus();
}

}  // namespace hisbridge::linker
