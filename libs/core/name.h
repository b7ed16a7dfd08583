// Personal names as county clinics record them, normalised for matching.
//
//   "王 小明", "王小明(新)", "王小明*", "ＷＡＮＧ　ＸＩＡＯＭＩＮＧ", "王曉明",
//   "阿卜杜拉·买买提", "XIAOMING WANG", "wang xiao ming", "无名氏", "李梅之子"
//
// NormalizeName applies, in order: strict UTF-8 validation (invalid text is
// an issue, never a crash); NFKC (full width to half width); removal of
// bracketed notes ("(新)", "【重复】"), of junk (digits, '*', symbols) and of
// spaces and punctuation between Han characters; traditional to simplified
// (Unihan kSimplifiedVariant); the surname split (compound surnames such as
// 欧阳, 司马, 诸葛 recognised); toneless pinyin per character with every
// reading, surname readings first for the surname (单 shan, 曾 zeng, 解 xie,
// 朴 piao, 仇 qiu, 区 ou, 查 zha, 盖 ge, ...); four-corner codes; and
// placeholder detection (无名氏, 某某, 新生儿, X之子, 小宝, ...). Names written
// in latin letters are split into pinyin syllables and put surname first,
// so "XIAOMING WANG" and 王小明 become comparable.
//
// Names joined by a middle dot (Uyghur, Tibetan and foreign names written in
// Han characters) have no surname: `surname` is empty, `segmented` is true.
//
// Pure functions; thread-safe. NormalizedName owns all its data.
#ifndef HISBRIDGE_LIBS_CORE_NAME_H_
#define HISBRIDGE_LIBS_CORE_NAME_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/core/han.h"
#include "libs/core/pinyin.h"

namespace hisbridge::core {

enum class NameScript : uint8_t {
  kEmpty,  // nothing name-like (see placeholder for why)
  kHan,    // Han characters (latin letters mixed in are dropped)
  kLatin,  // latin letters only: pinyin or a foreign name
};

// Why a name must never drive a link on its own.
enum class PlaceholderReason : uint8_t {
  kNone,
  kUnknownPerson,   // 无名氏, 无名男, 未知, 不详, 匿名, "unknown"
  kSomebody,        // 某某, 张某, 张某某
  kNewborn,         // 新生儿, 婴儿, 男婴, 王芳之女婴, "baby"
  kChildOf,         // 李梅之子, 李梅之女
  kInfantNickname,  // 小宝, 宝宝, 王宝宝, 张小宝, 大宝, 二宝
  kSurnameOnly,     // 王, 王氏, 张王氏, 欧阳
  kTestRecord,      // 测试, 测试患者, "test"
  kNotAName,        // nothing name-like left after cleaning ("***", "123"), or absurdly long
};

// Stable snake_case name: "unknown_person", "child_of", ...; "none".
absl::string_view PlaceholderReasonName(PlaceholderReason reason);

// Bits of NormalizedName::issues: what cleaning found and did.
enum class NameIssue : uint32_t {
  kInvalidUtf8 = 1u << 0,
  kSeparatorsRemoved = 1u << 1,  // spaces or punctuation between Han characters
  kJunkRemoved = 1u << 2,        // digits, '*', '#', symbols
  kNoteRemoved = 1u << 3,        // a bracketed note: (新), 【重复】
  kLatinDropped = 1u << 4,       // latin letters inside a Han name
  kTraditional = 1u << 5,        // traditional characters were simplified
  kUnknownCharacter = 1u << 6,   // a Han character without a known reading
  kLostCharacter = 1u << 7,      // '?' or U+FFFD: an encoding conversion lost a character
  kTooLong = 1u << 8,            // more than kMaxNameCharacters
  kNotPinyin = 1u << 9,          // written in latin letters that are not pinyin
};

inline constexpr size_t kMaxNameCharacters = 32;
inline constexpr size_t kMaxReadingsPerCharacter = 6;
// In NormalizedName::syllables, for a character without a reading.
inline constexpr SyllableId kNoSyllable = 0xFFFF;

struct NameChar {
  char32_t cp = 0;        // simplified
  char32_t original = 0;  // as written (after NFKC), e.g. 曉 for 晓
  FourCornerCode four_corner;
  std::array<SyllableId, kMaxReadingsPerCharacter> reading_ids{};
  uint8_t reading_count = 0;

  // Every toneless reading; for surname characters the surname readings
  // come first (单 -> shan, dan, chan). Empty when unknown.
  absl::Span<const SyllableId> readings() const {
    return absl::Span<const SyllableId>(reading_ids.data(), reading_count);
  }
};

struct NormalizedName {
  NameScript script = NameScript::kEmpty;

  // Simplified Han characters without separators: "王小明", "欧阳娜娜",
  // "阿卜杜拉买买提". Empty for latin names.
  std::string han;
  // One entry per character of `han`.
  absl::InlinedVector<NameChar, 4> chars;

  // Surname and given name: Han text for Han names ("欧阳", "娜娜"), pinyin
  // for latin names ("wang", "xiaoming"; a foreign name's tokens go to
  // `given`, space-separated, and `surname` stays empty).
  std::string surname;
  std::string given;
  // Characters (Han) or syllables (latin pinyin) that form the surname.
  uint8_t surname_length = 0;

  // Primary reading per character (kNoSyllable when unknown), or the
  // segmented syllables of a latin pinyin name, surname first.
  SyllableList syllables;
  // The primary full pinyin without separators: "wangxiaoming"; for a
  // foreign latin name its lower-case letters in written order.
  std::string pinyin;
  std::string surname_pinyin;  // "wang", "ouyang", "shan" (for 单)
  std::string given_initials;  // "xm"

  // Latin-letter names: whether the letters are pinyin.
  bool is_pinyin = false;
  // Joined by a middle dot (阿卜杜拉·买买提): no surname split.
  bool segmented = false;

  PlaceholderReason placeholder = PlaceholderReason::kNone;
  uint32_t issues = 0;

  bool empty() const { return script == NameScript::kEmpty; }
  bool is_placeholder() const { return placeholder != PlaceholderReason::kNone; }
  bool has(NameIssue issue) const { return (issues & static_cast<uint32_t>(issue)) != 0; }
};

// Normalises `raw` into *out, reusing its storage (for hot loops).
void NormalizeName(absl::string_view raw, NormalizedName* out);
NormalizedName NormalizeName(absl::string_view raw);

// How two names relate, strongest first. The matcher turns these into
// graded agreement levels.
enum class NameMatch : uint8_t {
  kMissing,             // either name is empty
  kExact,               // same characters as written (or same pinyin, both latin)
  kTraditionalVariant,  // same after simplification: 王曉明 / 王晓明
  kLatinEqual,          // one written in pinyin spells the other: "Wang Xiaoming" / 王小明
  kHomophone,           // same length, every character shares a reading: 王晓明 / 王小明
  kVisuallySimilar,  // as homophone, but some characters only share a four-corner code: 王己 / 王已
  kReordered,        // the same latin tokens in another order
  kPinyinClose,      // primary pinyin within a small edit distance: 王晓明 / 王小敏
  kDifferent,
};

absl::string_view NameMatchName(NameMatch match);

NameMatch CompareNames(const NormalizedName& a, const NormalizedName& b);

// Edit distance (with transpositions) between the primary pinyin strings.
int PinyinDistance(const NormalizedName& a, const NormalizedName& b);

// Readings a character has as a surname (单 -> shan; 曾 -> zeng; 乐 -> yue,
// le); empty when its surname reading is its customary one.
absl::Span<const absl::string_view> SurnameReadings(char32_t cp);

// The compound surname a Han name starts with (欧阳 of 欧阳娜娜), or "".
absl::string_view CompoundSurnamePrefix(absl::string_view han);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_NAME_H_
