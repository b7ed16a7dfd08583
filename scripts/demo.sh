#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: every role in one
# process on the embedded development broker with a sample county.
# Extra arguments go to `hisbridge demo` (e.g. --keep-running).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
exec "${HISBRIDGE_BUILD_DIR:-$root/build}/tools/hisbridge/hisbridge" demo "$@"
