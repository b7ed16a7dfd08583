#include "libs/view/patient_wire.h"

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace hisbridge::view {
namespace {

using google::protobuf::internal::WireFormatLite;

constexpr int kPatientIdField = hisbridge::v1::Patient::kPatientIdFieldNumber;
constexpr int kVersionField = hisbridge::v1::Patient::kVersionFieldNumber;
constexpr int kStatusField = hisbridge::v1::Patient::kStatusFieldNumber;
constexpr int kMergedIntoField = hisbridge::v1::Patient::kMergedIntoFieldNumber;
constexpr int kEventsField = hisbridge::v1::Patient::kEventsFieldNumber;

constexpr int kEventKindField = hisbridge::v1::ClinicalEvent::kKindFieldNumber;
constexpr int kEventFacilityField = hisbridge::v1::ClinicalEvent::kFacilityIdFieldNumber;
constexpr int kEventIdField = hisbridge::v1::ClinicalEvent::kEventIdFieldNumber;
constexpr int kEventTimeField = hisbridge::v1::ClinicalEvent::kEventTimeFieldNumber;
constexpr int kEventRecordField = hisbridge::v1::ClinicalEvent::kRecordFieldNumber;
constexpr int kEncounterTypeField = hisbridge::v1::Record::kEncounterTypeFieldNumber;
constexpr int kReferralToField = hisbridge::v1::Record::kReferralToFieldNumber;
constexpr int kReferralFromField = hisbridge::v1::Record::kReferralFromFieldNumber;

absl::Status Malformed() { return absl::DataLossError("stored patient view is not a well-formed message"); }

// Calls fn(field_number, wire_type, begin, end) for every top-level field,
// where [begin, end) are the field's bytes including its tag. Stops at the
// first malformed field.
template <typename Fn>
absl::Status ForEachField(absl::string_view bytes, Fn&& fn) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(bytes.size()) + 1);
  while (true) {
    const int begin = in.CurrentPosition();
    if (begin == static_cast<int>(bytes.size())) return absl::OkStatus();
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return Malformed();  // a truncated tag, or field number 0
    const int field = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    const auto wire_type = WireFormatLite::GetTagWireType(tag);
    uint64_t varint = 0;
    absl::string_view payload;
    switch (wire_type) {
      case WireFormatLite::WIRETYPE_VARINT:
        if (!in.ReadVarint64(&varint)) return Malformed();
        break;
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t length = 0;
        if (!in.ReadVarint32(&length)) return Malformed();
        const int start = in.CurrentPosition();
        if (!in.Skip(static_cast<int>(length))) return Malformed();
        payload = bytes.substr(static_cast<size_t>(start), length);
        break;
      }
      default:
        if (!WireFormatLite::SkipField(&in, tag)) return Malformed();
        break;
    }
    const int end = in.CurrentPosition();
    fn(field, varint, payload, bytes.substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin)));
  }
}

}  // namespace

absl::Status ForEachPatientEvent(absl::string_view serialized, std::string* without_events,
                                 const std::function<void(const EventFields&)>& fn) {
  if (without_events != nullptr) {
    without_events->clear();
    without_events->reserve(serialized.size() / 4);
  }
  absl::Status inner;
  EventFields event;
  absl::Status s = ForEachField(serialized, [&](int field, uint64_t, absl::string_view payload,
                                                absl::string_view whole) {
    if (field != kEventsField) {
      if (without_events != nullptr) without_events->append(whole.data(), whole.size());
      return;
    }
    if (!inner.ok()) return;
    event = EventFields();
    event.serialized = payload;
    // A field given twice keeps its last value, and a sub-message given
    // twice is merged, as a parser would.
    absl::Status record_status;
    absl::Status fields = ForEachField(payload, [&](int f, uint64_t, absl::string_view value, absl::string_view) {
      switch (f) {
        case kEventKindField: event.kind = value; break;
        case kEventFacilityField: event.facility_id = value; break;
        case kEventIdField: event.event_id = value; break;
        case kEventTimeField: event.event_time = value; break;
        case kEventRecordField: {
          absl::Status record = ForEachField(value, [&](int r, uint64_t, absl::string_view v, absl::string_view) {
            switch (r) {
              case kEncounterTypeField: event.encounter_type = v; break;
              case kReferralToField: event.referral_to = v; break;
              case kReferralFromField: event.referral_from = v; break;
              default: break;
            }
          });
          if (!record.ok()) record_status = record;
          break;
        }
        default: break;
      }
    });
    inner = fields.ok() ? record_status : fields;
    if (inner.ok()) fn(event);
  });
  if (!s.ok()) return s;
  return inner;
}

absl::StatusOr<PatientHeader> ReadPatientHeader(absl::string_view serialized) {
  PatientHeader header;
  absl::Status s = ForEachField(serialized, [&](int field, uint64_t varint, absl::string_view payload,
                                                absl::string_view) {
    switch (field) {
      case kPatientIdField:
        header.patient_id.assign(payload.data(), payload.size());
        break;
      case kVersionField:
        header.version = static_cast<int64_t>(varint);
        break;
      case kStatusField:
        header.status = static_cast<hisbridge::v1::PatientStatus>(varint);
        break;
      case kMergedIntoField:
        header.merged_into.assign(payload.data(), payload.size());
        break;
      default:
        break;
    }
  });
  if (!s.ok()) return s;
  return header;
}

absl::StatusOr<std::string> StripPatientEvents(absl::string_view serialized) {
  std::string out;
  out.reserve(serialized.size());
  absl::Status s = ForEachField(serialized, [&](int field, uint64_t, absl::string_view, absl::string_view whole) {
    if (field != kEventsField) out.append(whole.data(), whole.size());
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace hisbridge::view
