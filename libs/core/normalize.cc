#include "libs/core/normalize.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/ethnicity.h"
#include "libs/core/region.h"
#include "libs/core/utf8.h"

namespace hisbridge::core {
namespace {

constexpr size_t kMaxQuoted = 64;

// YYYY-MM-DD without a general formatter: dates appear in many findings.
std::string Iso(absl::CivilDay d) {
  const int64_t y = d.year();
  if (y < 0 || y > 9999) return absl::StrFormat("%04d-%02d-%02d", y, d.month(), d.day());
  std::string s = "0000-00-00";
  s[0] = static_cast<char>('0' + y / 1000), s[1] = static_cast<char>('0' + y / 100 % 10);
  s[2] = static_cast<char>('0' + y / 10 % 10), s[3] = static_cast<char>('0' + y % 10);
  s[5] = static_cast<char>('0' + d.month() / 10), s[6] = static_cast<char>('0' + d.month() % 10);
  s[8] = static_cast<char>('0' + d.day() / 10), s[9] = static_cast<char>('0' + d.day() % 10);
  return s;
}

// The value for a message: quoted and cut at 64 bytes (on a character
// boundary), or a note when it is not UTF-8 and cannot be shown.
std::string Quote(absl::string_view raw) {
  if (!IsValidUtf8(raw)) return "(a value that is not valid UTF-8)";
  if (raw.size() <= kMaxQuoted) return absl::StrCat("\"", raw, "\"");
  size_t cut = kMaxQuoted;
  while (cut > 0 && (static_cast<unsigned char>(raw[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat("\"", raw.substr(0, cut), "...\"");
}

class Reporter {
 public:
  explicit Reporter(std::vector<Finding>* out) : out_(out) {}
  void Add(absl::string_view field, absl::string_view code, Severity severity,
           std::string message) {
    out_->push_back(Finding{field, code, std::move(message), severity});
  }

 private:
  std::vector<Finding>* out_;
};

void NormalizeNameField(const PatientFields& r, NormalizedPatient* p, Reporter& report) {
  NormalizeName(r.name, &p->name);
  const NormalizedName& n = p->name;
  if (n.has(NameIssue::kInvalidUtf8)) {
    report.Add("name", "name.invalid_utf8", Severity::kError, "name is not valid UTF-8");
    return;
  }
  if (n.issues == 0 && !n.is_placeholder()) return;  // the common case: nothing to say
  const std::string q = Quote(r.name);
  if (n.has(NameIssue::kTooLong)) {
    report.Add("name", "name.too_long", Severity::kError,
               absl::StrCat("name ", q, " is longer than ", kMaxNameCharacters, " characters"));
  }
  if (n.is_placeholder()) {
    report.Add("name", "name.placeholder", Severity::kWarning,
               absl::StrCat("name ", q, " is a placeholder (", PlaceholderReasonName(n.placeholder),
                            "), not a person's name; it cannot link records on its own"));
  }
  if (n.has(NameIssue::kJunkRemoved)) {
    report.Add("name", "name.junk_removed", Severity::kWarning,
               absl::StrCat("name ", q, " contains digits or symbols, removed"));
  }
  if (n.has(NameIssue::kNoteRemoved)) {
    report.Add("name", "name.note_removed", Severity::kInfo,
               absl::StrCat("name ", q, " contains a bracketed note, removed"));
  }
  if (n.has(NameIssue::kLatinDropped)) {
    report.Add("name", "name.mixed_script", Severity::kWarning,
               absl::StrCat("name ", q,
                            " mixes Han characters and latin letters; the letters were removed"));
  }
  if (n.has(NameIssue::kLostCharacter)) {
    report.Add(
        "name", "name.lost_character", Severity::kWarning,
        absl::StrCat("name ", q,
                     " contains '?' or U+FFFD: a character was lost in an encoding conversion"));
  }
  if (n.has(NameIssue::kSeparatorsRemoved)) {
    report.Add(
        "name", "name.separators_removed", Severity::kInfo,
        absl::StrCat("name ", q, " has spaces or punctuation between its characters, removed"));
  }
  if (n.has(NameIssue::kTraditional)) {
    report.Add(
        "name", "name.traditional", Severity::kInfo,
        absl::StrCat("name ", q, " is written in traditional characters; compared as ", n.han));
  }
  if (n.has(NameIssue::kUnknownCharacter)) {
    report.Add("name", "name.unknown_character", Severity::kWarning,
               absl::StrCat("name ", q, " contains a character with no known pinyin reading"));
  }
  if (n.has(NameIssue::kNotPinyin) && !n.is_placeholder()) {
    report.Add(
        "name", "name.not_pinyin", Severity::kInfo,
        absl::StrCat("name ", q,
                     " is written in latin letters that are not pinyin; compared as written"));
  }
}

void NormalizeSexField(const PatientFields& r, NormalizedPatient* p, Reporter& report) {
  const SexResult sex = ParseSex(r.sex);
  p->sex = sex.sex;
  if (sex.status == SexStatus::kNonStandard) {
    report.Add("sex", "sex.non_standard", Severity::kInfo,
               absl::StrCat("sex ", Quote(r.sex), " is not a GB/T 2261.1 code; read as ",
                            SexCode(sex.sex)));
  } else if (sex.status == SexStatus::kInvalid) {
    report.Add("sex", "sex.invalid", Severity::kWarning,
               absl::StrCat("sex ", Quote(r.sex), " is not a GB/T 2261.1 code (0, 1, 2, 9)"));
  }
}

void NormalizeBirthDateField(const PatientFields& r, const NormalizeOptions& o,
                             NormalizedPatient* p, Reporter& report) {
  p->birth_date = ParseBirthDate(r.birth_date, o.today);
  const BirthDate& d = p->birth_date;
  const auto problem = [&] { return DescribeBirthDateProblem(d, r.birth_date); };
  switch (d.status) {
    case DateStatus::kEmpty:
      return;
    case DateStatus::kBadFormat:
      report.Add("birth_date", "birth_date.bad_format", Severity::kError, problem());
      return;
    case DateStatus::kImpossible:
      report.Add("birth_date", "birth_date.impossible", Severity::kError, problem());
      return;
    case DateStatus::kDefaultValue:
      report.Add("birth_date", "birth_date.default_value", Severity::kWarning, problem());
      return;
    case DateStatus::kFuture:
      report.Add("birth_date", "birth_date.future", Severity::kError, problem());
      return;
    case DateStatus::kTooOld:
      report.Add("birth_date", "birth_date.too_old", Severity::kWarning, problem());
      return;
    case DateStatus::kValid:
      break;
  }
  if (d.precision == DatePrecision::kYear) {
    report.Add("birth_date", "birth_date.year_only", Severity::kWarning, problem());
  } else if (d.precision == DatePrecision::kMonth) {
    report.Add("birth_date", "birth_date.year_month_only", Severity::kWarning, problem());
  } else if (!d.standard_format) {
    report.Add("birth_date", "birth_date.non_standard_format", Severity::kInfo,
               absl::StrCat("birth date ", Quote(r.birth_date),
                            " is not written YYYY-MM-DD; read as ", Iso(d.date)));
  }
}

absl::string_view ResidentIdFindingCode(ResidentIdStatus status) {
  switch (status) {
    case ResidentIdStatus::kBadCharacters:
      return "id_number.bad_characters";
    case ResidentIdStatus::kBadLength:
      return "id_number.bad_length";
    case ResidentIdStatus::kImpossibleDate:
      return "id_number.impossible_date";
    case ResidentIdStatus::kFutureDate:
      return "id_number.future_date";
    case ResidentIdStatus::kUnknownRegion:
      return "id_number.unknown_region";
    case ResidentIdStatus::kBadCheckDigit:
      return "id_number.bad_check_digit";
    case ResidentIdStatus::kValid:
    case ResidentIdStatus::kEmpty:
      break;
  }
  return "";
}

// Whether a value has the shape of a resident id (15 or 18 characters of
// digits and X once spaces are gone), whatever its validity.
bool ShapedLikeResidentId(const ResidentIdResult& id) {
  return id.status != ResidentIdStatus::kBadCharacters &&
         id.status != ResidentIdStatus::kBadLength && id.status != ResidentIdStatus::kEmpty;
}

void ReportResidentId(const PatientFields& r, NormalizedPatient* p, Reporter& report) {
  const ResidentIdResult& id = p->resident_id;
  if (id.status == ResidentIdStatus::kEmpty) return;
  if (!id.ok()) {
    std::string message = DescribeResidentIdProblem(id);
    if (id.status == ResidentIdStatus::kBadCharacters ||
        id.status == ResidentIdStatus::kBadLength) {
      absl::StrAppend(&message, ": ", Quote(r.id_number));
      if (r.id_number.find('E') != std::string::npos ||
          r.id_number.find('e') != std::string::npos) {
        absl::StrAppend(&message, " (looks like a number mangled by a spreadsheet)");
      }
    }
    report.Add("id_number", ResidentIdFindingCode(id.status), Severity::kError, std::move(message));
  }
  if (id.upgraded_from_15) {
    report.Add(
        "id_number", "id_number.upgraded_from_15", Severity::kInfo,
        absl::StrCat("15-digit resident id ", Quote(r.id_number), " upgraded to ", id.digits18));
  }
  // Former mainland counties only: Taiwan, Hong Kong and Macao have no
  // county codes in GB/T 2260.
  const absl::string_view province = absl::string_view(id.region_code).substr(0, 2);
  if (!id.region_code.empty() && !id.county_known && IsProvinceCode(province) && province != "71" &&
      province != "81" && province != "82") {
    report.Add(
        "id_number", "id_number.former_region", Severity::kInfo,
        absl::StrCat(
            "resident id region ", id.region_code,
            " is not a current county code (possibly a former county; ids keep it for life)"));
  }
  if (id.ok() && (id.region_code[0] == '8') && p->id_type == IdType::kResidentIdCard) {
    report.Add("id_number", "id_number.residence_permit", Severity::kInfo,
               absl::StrCat("resident id ", id.canonical,
                            " is the number of a Hong Kong, Macao or Taiwan "
                            "resident's residence permit"));
  }
}

void NormalizeIds(const PatientFields& r, const NormalizeOptions& o, NormalizedPatient* p,
                  Reporter& report) {
  const IdTypeResult type = ParseIdType(r.id_type);
  p->id_type = type.type;
  if (type.status == IdTypeStatus::kNonStandard) {
    report.Add("id_type", "id_type.non_standard", Severity::kInfo,
               absl::StrCat("id_type ", Quote(r.id_type), " is not a CV02.01.101 code; read as ",
                            IdTypeCode(type.type), " (", IdTypeName(type.type), ")"));
  } else if (type.status == IdTypeStatus::kUnknown) {
    report.Add("id_type", "id_type.unknown", Severity::kWarning,
               absl::StrCat("id_type ", Quote(r.id_type),
                            " is not a supported CV02.01.101 code; the number is "
                            "kept as another document"));
  }

  const bool numbered_by_resident_id =
      type.type == IdType::kHouseholdRegister || type.type == IdType::kDrivingLicence;
  if (type.type == IdType::kResidentIdCard) {
    ParseResidentId(r.id_number, o.today, &p->resident_id);
    ReportResidentId(r, p, report);
  } else if (r.id_number.empty()) {
    ParseResidentId("", o.today, &p->resident_id);
  } else {
    ResidentIdResult as_resident = ParseResidentId(r.id_number, o.today);
    if (numbered_by_resident_id && ShapedLikeResidentId(as_resident)) {
      p->resident_id = std::move(as_resident);
      report.Add("id_number", "id_number.resident_id_via_other_type", Severity::kInfo,
                 absl::StrCat(IdTypeName(type.type), " number ", Quote(r.id_number),
                              " is the holder's resident id number and is used as such"));
      ReportResidentId(r, p, report);
    } else {
      Identifier id = NormalizeIdentifier(type.type, r.id_number);
      if (!IsValidUtf8(r.id_number)) {
        report.Add("id_number", "id_number.invalid_utf8", Severity::kError,
                   "id_number is not valid UTF-8");
      } else if (!id.value.empty() && !id.well_formed) {
        report.Add("id_number", "id_number.malformed", Severity::kWarning,
                   absl::StrCat(IdTypeName(type.type), " number ", Quote(r.id_number),
                                " does not have the form of one"));
      }
      if (as_resident.ok() && !numbered_by_resident_id &&
          type.type != IdType::kHkMacaoResidencePermit &&
          type.type != IdType::kTaiwanResidencePermit) {
        report.Add("id_number", "id_number.resident_id_under_other_type", Severity::kWarning,
                   absl::StrCat("id_number ", Quote(r.id_number),
                                " is a valid resident id but id_type says ", IdTypeCode(type.type),
                                " (", IdTypeName(type.type), "); it is not used as a resident id"));
      }
      if (!id.value.empty()) p->identifiers.push_back(std::move(id));
      ParseResidentId("", o.today, &p->resident_id);
    }
  }

  const auto other = [&](const std::string& raw, IdType t, absl::string_view field,
                         absl::string_view invalid_code, absl::string_view malformed_code) {
    if (raw.empty()) return;
    if (!IsValidUtf8(raw)) {
      report.Add(field, invalid_code, Severity::kError, absl::StrCat(field, " is not valid UTF-8"));
      return;
    }
    Identifier id = NormalizeIdentifier(t, raw);
    if (id.value.empty()) return;
    if (!id.well_formed) {
      report.Add(
          field, malformed_code, Severity::kWarning,
          absl::StrCat(IdTypeName(t), " ", Quote(raw), " should be 6 to 32 letters and digits"));
    }
    p->identifiers.push_back(std::move(id));
  };
  other(r.insurance_id, IdType::kMedicalInsurance, "insurance_id", "insurance_id.invalid_utf8",
        "insurance_id.malformed");
  other(r.health_card_id, IdType::kHealthCard, "health_card_id", "health_card_id.invalid_utf8",
        "health_card_id.malformed");
}

void NormalizePhoneField(const PatientFields& r, NormalizedPatient* p, Reporter& report) {
  if (r.phone.empty()) return;
  PhoneResult phones = ParsePhones(r.phone);
  const std::string q = Quote(r.phone);
  if (phones.invalid_utf8) {
    report.Add("phone", "phone.invalid_utf8", Severity::kError, "phone is not valid UTF-8");
    return;
  }
  if (phones.placeholder) {
    report.Add("phone", "phone.placeholder", Severity::kWarning,
               absl::StrCat("phone ", q, " holds no number"));
    return;
  }
  if (phones.numbers.size() > 1) {
    report.Add(
        "phone", "phone.multiple", Severity::kInfo,
        absl::StrCat("phone ", q, " holds ", phones.numbers.size(), " numbers; all are kept"));
  }
  for (const PhoneNumber& n : phones.numbers) {
    if (n.junk) {
      report.Add("phone", "phone.junk", Severity::kWarning,
                 absl::StrCat("phone ", n.digits,
                              " is a filler (one digit repeated or a counting sequence), "
                              "not a real number"));
      continue;
    }
    switch (n.kind) {
      case PhoneKind::kInvalid:
        report.Add(
            "phone", "phone.invalid", Severity::kWarning,
            absl::StrCat("phone ", q,
                         " is neither an 11-digit mobile number nor a landline with area code"));
        break;
      case PhoneKind::kService:
        report.Add("phone", "phone.service_number", Severity::kWarning,
                   absl::StrCat("phone ", n.digits,
                                " is a service number (110, 120, 400, 95xxx...), not a patient's"));
        break;
      case PhoneKind::kLocal:
        report.Add("phone", "phone.no_area_code", Severity::kInfo,
                   absl::StrCat("landline ", n.digits, " has no area code"));
        break;
      case PhoneKind::kForeign:
        report.Add("phone", "phone.foreign", Severity::kInfo,
                   absl::StrCat("phone ", n.digits, " is outside mainland China"));
        break;
      case PhoneKind::kMobile:
        if (n.unallocated_prefix) {
          report.Add("phone", "phone.unallocated_prefix", Severity::kWarning,
                     absl::StrCat("mobile ", n.digits, " starts with ",
                                  absl::string_view(n.digits).substr(0, 3),
                                  ", a prefix not allocated to any operator"));
        }
        break;
      case PhoneKind::kLandline:
        break;
    }
    if (n.had_extension) {
      report.Add("phone", "phone.extension_removed", Severity::kInfo,
                 absl::StrCat("phone ", q, " has an extension, removed"));
    }
  }
  p->phones = std::move(phones.numbers);
}

void NormalizeAddressField(const PatientFields& r, const NormalizeOptions& o, NormalizedPatient* p,
                           Reporter& report) {
  AddressContext context;
  context.county_hint = o.county_hint;
  ParseAddress(r.address, r.address_code, context, &p->address);
  const NormalizedAddress& a = p->address;
  if (a.has(AddressIssue::kInvalidUtf8)) {
    report.Add("address", "address.invalid_utf8", Severity::kError, "address is not valid UTF-8");
  }
  if (a.has(AddressIssue::kPlaceholder)) {
    report.Add("address", "address.placeholder", Severity::kWarning,
               absl::StrCat("address ", Quote(r.address), " holds no address"));
  }
  if (a.has(AddressIssue::kTooLong)) {
    report.Add(
        "address", "address.too_long", Severity::kWarning,
        absl::StrCat("address is longer than ", kMaxAddressBytes, " bytes; the rest was ignored"));
  }
  if (a.has(AddressIssue::kAmbiguousCounty)) {
    report.Add(
        "address", "address.ambiguous_county", Severity::kInfo,
        absl::StrCat("address names county ", a.county, ", which exists in several prefectures"));
  }
  if (a.has(AddressIssue::kAddressCodeMalformed)) {
    report.Add(
        "address_code", "address_code.malformed", Severity::kWarning,
        absl::StrCat("address_code ", Quote(r.address_code), " is not a 12-digit 统计用区划代码"));
  }
  if (a.has(AddressIssue::kAddressCodeUnknown)) {
    report.Add("address_code", "address_code.unknown_county", Severity::kWarning,
               absl::StrCat("address_code ", a.address_code, " starts with ",
                            a.address_code.substr(0, 6), ", which is not a current county code"));
  }
  if (a.has(AddressIssue::kCodeTextMismatch)) {
    report.Add(
        "address", "address.code_mismatch", Severity::kWarning,
        absl::StrCat("address ", Quote(r.address),
                     " names another county or township than address_code ", a.address_code));
  }
}

void NormalizeEthnicityField(const PatientFields& r, NormalizedPatient* p, Reporter& report) {
  const EthnicityResult e = ParseEthnicity(r.ethnicity);
  p->ethnicity.assign(e.code.data(), e.code.size());
  if (e.status == EthnicityStatus::kNonStandard) {
    report.Add("ethnicity", "ethnicity.non_standard", Severity::kInfo,
               absl::StrCat("ethnicity ", Quote(r.ethnicity), " is not a GB/T 3304 code; read as ",
                            e.code, " (", EthnicityName(e.code), ")"));
  } else if (e.status == EthnicityStatus::kInvalid) {
    report.Add("ethnicity", "ethnicity.invalid", Severity::kWarning,
               absl::StrCat("ethnicity ", Quote(r.ethnicity), " is not a GB/T 3304 code"));
  }
}

// Fields that contradict each other: a typo in one of them, or two people's
// data in one record.
void CrossCheck(NormalizedPatient* p, Reporter& report) {
  const ResidentIdResult& id = p->resident_id;
  if (!id.ok()) return;
  const BirthDate& d = p->birth_date;
  if (d.ok()) {
    const bool agrees = d.precision == DatePrecision::kDay ? d.date == id.birth_date
                        : d.precision == DatePrecision::kMonth
                            ? d.year == id.birth_date.year() && d.month == id.birth_date.month()
                            : d.year == id.birth_date.year();
    if (!agrees) {
      report.Add("birth_date", "birth_date.mismatch_resident_id", Severity::kWarning,
                 absl::StrCat("birth date ", Iso(d.date), " differs from ", Iso(id.birth_date),
                              " in resident id ", id.canonical));
    }
  }
  if (IsKnownSex(p->sex) && p->sex != id.sex) {
    report.Add(
        "sex", "sex.mismatch_resident_id", Severity::kWarning,
        absl::StrCat("sex ", SexCode(p->sex), " differs from the sex encoded in resident id ",
                     id.canonical, " (", SexCode(id.sex), ")"));
  }
}

}  // namespace

absl::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "warning";
}

const Identifier* NormalizedPatient::FindIdentifier(IdType type) const {
  for (const Identifier& id : identifiers) {
    if (id.type == type) return &id;
  }
  return nullptr;
}

bool NormalizedPatient::HasFinding(absl::string_view code) const {
  for (const Finding& f : findings) {
    if (f.code == code) return true;
  }
  return false;
}

void Normalize(const PatientFields& record, const NormalizeOptions& options,
               NormalizedPatient* out) {
  out->findings.clear();
  out->identifiers.clear();
  out->phones.clear();
  out->ethnicity.clear();
  Reporter report(&out->findings);
  NormalizeNameField(record, out, report);
  NormalizeSexField(record, out, report);
  NormalizeBirthDateField(record, options, out, report);
  NormalizeIds(record, options, out, report);
  NormalizePhoneField(record, out, report);
  NormalizeAddressField(record, options, out, report);
  NormalizeEthnicityField(record, out, report);
  CrossCheck(out, report);
}

NormalizedPatient Normalize(const PatientFields& record, const NormalizeOptions& options) {
  NormalizedPatient p;
  Normalize(record, options, &p);
  return p;
}

}  // namespace hisbridge::core
