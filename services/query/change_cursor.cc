#include "services/query/change_cursor.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hisbridge::query {

std::string FormatChangeCursor(const ChangePositions& positions) {
  std::string out;
  for (const auto& [partition, offset] : positions) {
    absl::StrAppend(&out, out.empty() ? "" : ",", "p", partition, ":o", offset);
  }
  return out;
}

absl::StatusOr<ChangePositions> ParseChangeCursor(absl::string_view cursor) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("cursor: \"", cursor, "\" is not a cursor this service returned (",
                                                   why, "); pass an event's cursor unchanged, \"\" for the oldest "
                                                   "change or \"now\" for new changes only"));
  };
  ChangePositions positions;
  for (absl::string_view part : absl::StrSplit(cursor, ',')) {
    const size_t colon = part.find(":o");
    int32_t partition = 0;
    int64_t offset = 0;
    if (part.size() < 4 || part[0] != 'p' || colon == absl::string_view::npos ||
        !absl::SimpleAtoi(part.substr(1, colon - 1), &partition) || !absl::SimpleAtoi(part.substr(colon + 2), &offset)) {
      return bad(absl::StrCat("\"", part, "\" is not p<partition>:o<offset>"));
    }
    if (partition < 0 || offset < 0) return bad("negative partition or offset");
    if (!positions.emplace(partition, offset).second) return bad(absl::StrCat("partition ", partition, " twice"));
  }
  return positions;
}

}  // namespace hisbridge::query
