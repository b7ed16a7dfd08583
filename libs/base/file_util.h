// Small filesystem helpers with absl::Status errors that name the path.
//
// Thread-safe (no shared state); concurrent writers to the same path must
// coordinate themselves.
#ifndef HISBRIDGE_LIBS_BASE_FILE_UTIL_H_
#define HISBRIDGE_LIBS_BASE_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge {

absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes `contents` to a temporary sibling, fsyncs it and renames it over
// `path`, so readers see either the old or the new file, never a torn one.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// Creates `path` and missing parents (like mkdir -p).
absl::Status MakeDirectories(const std::string& path);

// Creates a fresh directory under $TMPDIR (or /tmp) named <prefix>XXXXXX.
absl::StatusOr<std::string> MakeTempDirectory(absl::string_view prefix);

// Removes `path` recursively; a missing path is not an error.
absl::Status RemoveRecursively(const std::string& path);

bool PathExists(const std::string& path);

// Writes back and then drops from the OS page cache every regular file
// under `dir` (recursively), so that the next read of them waits for the
// device: how tests and benchmarks make a store "cold" without root.
// Returns the number of files dropped.
absl::StatusOr<int> EvictFromPageCache(const std::string& dir);

}  // namespace hisbridge

#endif  // HISBRIDGE_LIBS_BASE_FILE_UTIL_H_
