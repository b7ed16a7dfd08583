// The demographic fields of a county patient record, as strings exactly as
// the clinic sent them (each optional; empty means absent). The record
// reader converts the protobuf Record into this plain struct so that
// libs/core stays free of protobuf.
//
// A plain value type; not synchronised.
#ifndef HISBRIDGE_LIBS_CORE_PATIENT_H_
#define HISBRIDGE_LIBS_CORE_PATIENT_H_

#include <string>

namespace hisbridge::core {

struct PatientFields {
  std::string name;            // 姓名: Han characters, or pinyin/latin letters
  std::string sex;             // GB/T 2261.1: "0" unknown, "1" male, "2" female, "9" unstated
  std::string birth_date;      // YYYY-MM-DD in the spec; exports vary
  std::string id_type;         // CV02.01.101 身份证件类别 ("01" resident id card when empty)
  std::string id_number;       // the document number of id_type
  std::string insurance_id;    // 医保号
  std::string health_card_id;  // 居民健康卡号
  std::string phone;           // mobile or landline, any punctuation
  std::string address;         // free text 省/市/县/乡镇/村…组
  std::string address_code;    // 12-digit 统计用区划代码 of the village or community
  std::string ethnicity;       // GB/T 3304 code
};

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_PATIENT_H_
