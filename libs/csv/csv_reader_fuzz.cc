// Fuzzes the CSV reader and the per-field conversion the file connector
// does after it: no input may crash, hang or produce offsets outside the
// data, and rows must make progress.
#include <cstddef>
#include <cstdint>

#include "libs/charset/charset.h"
#include "libs/csv/csv_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  hisbridge::csv::CsvOptions options;
  options.max_field_bytes = 4096;
  options.max_fields = 64;
  hisbridge::csv::CsvReader reader(input, 0, 1, options);
  hisbridge::csv::CsvRow row;
  int64_t last_end = 0;
  auto encoding = hisbridge::charset::DetectEncoding(input.substr(0, 1024));
  while (reader.Next(&row)) {
    if (row.end_offset <= last_end && row.end_offset != static_cast<int64_t>(size)) __builtin_trap();
    if (row.begin_offset < 0 || row.end_offset > static_cast<int64_t>(size)) __builtin_trap();
    last_end = row.end_offset;
    for (const std::string& f : row.fields) {
      if (encoding.ok()) (void)hisbridge::charset::ToUtf8(f, *encoding);
    }
  }
  return 0;
}
