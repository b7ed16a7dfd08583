// Surnames and given-name characters for the synthetic population.
//
// Surnames: the national top 100 with their approximate population shares
// (rank order and shares as published from the 2010 census and the public
// security surname statistics: 王 7.1%, 李 7.0%, 张 6.4%, 刘 5.2%, 陈 4.3%,
// ...), a handful of compound surnames (欧阳, 司马, 诸葛, ...), and Guangxi's
// own: regional surnames (覃 韦 蓝 莫 蒙 农 盘 ...) and regional weights for
// the national ones (黄, 梁, 唐, 蒋 are far commoner there). Zhuang and Yao
// households draw from their own lists.
//
// Given names: frequency-weighted characters per sex and birth cohort (a
// woman born in 1940 is 秀英 or 桂兰, a girl born in 2015 is 梓涵 or 欣怡),
// so the same given name recurs as it does in life.
//
// Thread safety: the tables are immutable; NameTables::Get() is safe to call
// from any thread.
#ifndef HISBRIDGE_LIBS_SYNTH_NAME_TABLES_H_
#define HISBRIDGE_LIBS_SYNTH_NAME_TABLES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/synth/random.h"

namespace hisbridge::synth {

enum class Ethnicity : uint8_t { kHan, kZhuang, kYao };
// GB/T 3304 code and name: 01 汉族, 08 壮族, 13 瑶族.
absl::string_view EthnicityCode(Ethnicity e);
absl::string_view EthnicityText(Ethnicity e);

struct WeightedText {
  absl::string_view text;
  double weight;
};

// The national top-100 surnames with approximate shares in percent.
absl::Span<const WeightedText> NationalSurnames();
absl::Span<const WeightedText> CompoundSurnames();

// Birth cohorts for given names.
enum class Cohort : uint8_t { kBefore1950, k1950s60s, k1970s80s, k1990s, k2005On };
Cohort CohortOf(int birth_year);

class NameTables {
 public:
  static const NameTables& Get();

  // A surname for a household of this ethnicity in Guangxi.
  const std::string& DrawSurname(Ethnicity ethnicity, Rng& rng) const;
  // A one- or two-character given name.
  std::string DrawGivenName(bool male, int birth_year, Rng& rng) const;
  // One given-name character.
  const std::string& DrawGivenChar(bool male, int birth_year, Rng& rng) const;
  // The share of one-character given names in a cohort.
  static double SingleCharShare(Cohort cohort);

  // Every character that DrawGivenName can produce (for tests and for the
  // error model's preference of name-like substitutes), sorted.
  const std::vector<char32_t>& GivenNameCharacters() const { return given_chars_; }
  bool IsGivenNameCharacter(char32_t cp) const;

 private:
  NameTables();

  struct Table {
    std::vector<std::string> items;
    WeightedChoice choice;
  };
  Table han_surnames_, zhuang_surnames_, yao_surnames_;
  Table given_[2][5];  // [female, male][cohort]
  std::vector<char32_t> given_chars_;
};

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_NAME_TABLES_H_
