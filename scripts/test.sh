#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit and
# integration tests (ctest), then every libFuzzer target for a short,
# bounded time in a separate clang build.
#
#   HISBRIDGE_FUZZ_SECONDS=20   seconds per fuzz target (0 skips fuzzing)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${HISBRIDGE_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"

echo "== unit and integration tests"
ctest --test-dir "$build_dir" --output-on-failure --parallel 2 --timeout 600

fuzz_seconds="${HISBRIDGE_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" != "0" ]; then
  echo "== fuzzing (${fuzz_seconds}s per target)"
  fuzz_dir="$build_dir-fuzz"
  CC=clang CXX=clang++ cmake -S "$root" -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHISBRIDGE_FUZZ=ON >/dev/null
  cmake --build "$fuzz_dir" --parallel "$(nproc)"
  mapfile -t fuzzers < <(find "$fuzz_dir" -type f -executable -name '*_fuzz' | sort)
  if ((${#fuzzers[@]} == 0)); then echo "no fuzz targets built"; exit 1; fi
  for f in "${fuzzers[@]}"; do
    name="$(basename "$f")"
    corpus_src="$(find "$root/libs" -type d -path "*fuzz_corpus/${name%_fuzz}" | head -n 1)"
    work="$(mktemp -d)"
    [ -n "$corpus_src" ] && cp -r "$corpus_src/." "$work/"
    echo "-- $name"
    "$f" -max_total_time="$fuzz_seconds" -print_final_stats=0 "$work" 2>&1 | tail -n 2
    rm -rf "$work"
  done
fi
echo "== all tests passed"
