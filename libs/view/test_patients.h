// Patients for the libs/view tests.
#ifndef HISBRIDGE_LIBS_VIEW_TEST_PATIENTS_H_
#define HISBRIDGE_LIBS_VIEW_TEST_PATIENTS_H_

#include <string>

#include "hisbridge/v1/patient.pb.h"

namespace hisbridge::view::testing {

struct Person {
  std::string name;
  std::string id_number;
  std::string birth_date;
  std::string sex;
  std::string phone;
  std::string address;
};

inline hisbridge::v1::SourceIdentity Source(const std::string& facility, const std::string& record, const Person& p) {
  hisbridge::v1::SourceIdentity s;
  s.set_facility_id(facility);
  s.set_record_id(record);
  s.set_event_time("2026-03-01T08:00:00+08:00");
  auto* d = s.mutable_demographics();
  d->set_name(p.name);
  d->set_id_number(p.id_number);
  d->set_birth_date(p.birth_date);
  d->set_sex(p.sex);
  d->set_phone(p.phone);
  d->set_address(p.address);
  return s;
}

inline hisbridge::v1::Patient OnePatient(const std::string& id, int64_t version, const Person& p,
                                         const std::string& record = "R1") {
  hisbridge::v1::Patient patient;
  patient.set_patient_id(id);
  patient.set_version(version);
  patient.set_status(hisbridge::v1::PATIENT_STATUS_ACTIVE);
  patient.set_region(id.substr(0, id.rfind("-P")));
  *patient.add_sources() = Source(patient.region() + "-WS-001", record, p);
  return patient;
}

}  // namespace hisbridge::view::testing

#endif  // HISBRIDGE_LIBS_VIEW_TEST_PATIENTS_H_
