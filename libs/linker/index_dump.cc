#include "libs/linker/index_dump.h"

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
                    meta.next_patient_seq(), " next_review ", meta.next_review_seq(), "\n");
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
    HB_RETURN_IF_ERROR(index.ForEachPatient(meta.region(), [&](const hisbridge::index::v1::StoredPatient& p) {
      std::vector<std::string> members;
      for (const auto& m : p.members()) members.push_back(absl::StrCat(m.facility_id(), "/", m.record_id()));
      absl::StrAppend(&out, "patient ", p.patient_id(), " v", p.version(), " ",
                      hisbridge::v1::PatientStatus_Name(p.status()), " merged_into=", p.merged_into(), " members=",
                      absl::StrJoin(members, "|"), "\n");
      return true;
    }));
  }
  return out;
}

}  // namespace hisbridge::linker
