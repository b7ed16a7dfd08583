#!/usr/bin/env bash
# Installs the Debian 12 packages hisbridge needs (only those missing), then
# configures and builds it (Release, warnings as errors) in build/.
#
#   scripts/setup.sh            install + build
#   HISBRIDGE_BUILD_DIR=dir     build somewhere else
#   HISBRIDGE_SKIP_BUILD=1      install only
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${HISBRIDGE_BUILD_DIR:-$root/build}"

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # libraries
  libabsl-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  librocksdb-dev librdkafka-dev libssl-dev libicu-dev libsimdjson-dev
  libcpp-httplib-dev libjemalloc-dev
  libgtest-dev libgmock-dev
  # Unihan and region data used at build time
  unicode-data bzip2
  # tools the tests drive: kcat (Kafka client), Python gRPC client
  kcat python3 python3-grpcio python3-protobuf
  # tools the deployment tests drive: kubectl (kustomize), JSON schema
  # validation of the rendered manifests
  kubernetes-client python3-jsonschema python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  # Any kubectl will do for `kubectl kustomize` (some machines have one from
  # another package, which conflicts with kubernetes-client).
  if [ "$p" = kubernetes-client ] && command -v kubectl >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

if [ "${HISBRIDGE_SKIP_BUILD:-0}" = "1" ]; then exit 0; fi

cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHISBRIDGE_WERROR=ON >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
