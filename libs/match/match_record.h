// A patient record prepared for matching: its demographics normalised once
// (libs/core) into the compact form the comparators read, plus the blocking
// tokens it is indexed and searched under.
//
// PrepareMatchRecord is the only place a protobuf Record becomes matching
// input, so the streaming linker, the batch `link` command, the query
// service's Match and `hisbridge train` all see exactly the same fields.
//
// Blocking keys are text such as "nb:wangxiaoming:1985" (kind, then the
// values); records are indexed under 64-bit tokens of those keys, never the
// plaintext, so the index holds no identifiers and a key costs 8 bytes. A
// collision only adds a candidate that scoring then rejects.
//
// A value type; PrepareMatchRecord is pure and thread-safe.
#ifndef HISBRIDGE_LIBS_MATCH_MATCH_RECORD_H_
#define HISBRIDGE_LIBS_MATCH_MATCH_RECORD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/core/address.h"
#include "libs/core/date.h"
#include "libs/core/name.h"
#include "libs/core/phone.h"
#include "libs/core/resident_id.h"
#include "libs/core/sex.h"

namespace hisbridge::match {

// A document number other than the resident id, with its type so that a
// passport number is never compared with an insurance number.
struct OtherIdentifier {
  uint8_t type = 0;  // core::IdType
  std::string value;
};

// The characters of a resident id, held inside the record: a std::string
// of 18 characters lives on the heap, which cost one cache miss for every
// candidate pair the matcher compared. Holds up to 18 characters; longer
// text is not an id and is held as empty.
class IdDigits {
 public:
  static constexpr size_t kCapacity = 18;

  IdDigits() = default;
  IdDigits& operator=(absl::string_view text) {
    size_ = text.size() <= kCapacity ? static_cast<uint8_t>(text.size()) : 0;
    for (size_t i = 0; i < size_; ++i) chars_[i] = text[i];
    return *this;
  }
  void clear() { size_ = 0; }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  absl::string_view view() const { return absl::string_view(chars_, size_); }
  operator absl::string_view() const { return view(); }  // NOLINT: reads as the text it holds
  friend bool operator==(const IdDigits& a, const IdDigits& b) { return a.view() == b.view(); }
  friend bool operator!=(const IdDigits& a, const IdDigits& b) { return !(a == b); }

 private:
  char chars_[kCapacity] = {};
  uint8_t size_ = 0;
};

struct MatchRecord {
  // --- resident identity card ---
  // Canonical 18-character id when it validates; empty otherwise.
  std::string resident_id;
  // The 18 characters as read even when the check digit, date or region is
  // wrong (for typo comparisons); empty when not id-shaped.
  IdDigits id_digits18;
  bool id_valid = false;
  // The record carries a relative's id (its birth date cannot be the
  // record's own): set aside, the fields above are empty.
  bool id_of_relative = false;

  // --- other documents, insurance and health card numbers ---
  absl::InlinedVector<OtherIdentifier, 1> other_ids;

  // --- name ---
  core::NormalizedName name;
  // FastHash of the simplified characters and of the full pinyin, for term
  // frequencies (0 when the name is empty).
  uint64_t name_token = 0;
  uint64_t pinyin_token = 0;
  // Never links without an agreeing identifier (无名氏, 王之子, ...).
  bool placeholder_name = false;

  // --- birth date and sex: as stated, and as the resident id says ---
  core::BirthDate birth_date;
  core::BirthDate id_birth_date;
  core::Sex sex = core::Sex::kUnknown;
  core::Sex id_sex = core::Sex::kUnknown;
  // Age in whole years on the record's own date (PrepareOptions::today),
  // from the best birth date; -1 when unknown.
  int age_years = -1;

  // --- phones (usable numbers only) ---
  absl::InlinedVector<core::PhoneNumber, 1> phones;
  // FastHash of the phones' digits, for term frequencies.
  absl::InlinedVector<uint64_t, 1> phone_tokens;

  // --- address: comparison keys (empty when unknown) ---
  std::string county_key;
  std::string township_key;
  std::string village_key;
  // The village's name without suffix, to compare a resolved village with
  // one only named in the text.
  std::string village_name;

  // Sorted, unique blocking tokens.
  std::vector<uint64_t> blocking_tokens;

  // The best birth date to show and block on: stated, else from the id.
  const core::BirthDate& best_birth_date() const {
    return birth_date.ok() ? birth_date : id_birth_date;
  }
};

struct PrepareOptions {
  // The day the record describes (its event time's date), never the wall
  // clock, so replays prepare identically.
  absl::CivilDay today;
  // The submitting facility's county (6 digits), for addresses that start
  // at the township.
  absl::string_view county_hint;
  // Only the resident id and its blocking key (the id-exact baseline).
  bool id_only = false;
};

// The 64-bit token of a blocking key: the first 8
// bytes of HMAC-SHA256 under the process token key (security::
// SetProcessTokenKey, set at start from the key file; a fixed development
// key otherwise). Stable across processes and versions for one key: tokens
// are persisted, so changing the key means re-blocking (`hisbridge
// rebuild`).
uint64_t Token(absl::string_view text);

// A fast unkeyed 64-bit hash for values that stay in memory (term
// frequencies, record fingerprints). Stable across processes.
uint64_t FastHash(absl::string_view text);

// The canonical resident id of a record when id_type says it is one ("01",
// empty, or a type numbered by the resident id) and it validates; "".
std::string CanonicalResidentId(const hisbridge::v1::Record& patient, absl::CivilDay today);

// Normalises `patient` into *out (reusing its storage).
void PrepareMatchRecord(const hisbridge::v1::Record& patient, const PrepareOptions& options,
                        MatchRecord* out);

// The blocking keys of a prepared record as text (for tests, `hisbridge
// explain` and the blocking-recall report); PrepareMatchRecord stores their
// tokens.
std::vector<std::string> BlockingKeys(const MatchRecord& record);

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_MATCH_RECORD_H_
