#!/usr/bin/env bash
# A client nobody on the team wrote: Debian's /usr/bin/python3 with
# python3-grpcio and stubs generated from proto/ submits records to
# `hisbridge serve --roles=all` and reads them back.
set -euo pipefail
hisbridge="$1"
source_dir="$2"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$hisbridge" serve --roles=all --data-dir "$work/data" --listen 127.0.0.1:0 \
  --address-file "$work/address" --log-level warning &
server_pid=$!
for _ in $(seq 1 100); do [ -s "$work/address" ] && break; sleep 0.1; done
[ -s "$work/address" ] || { echo "server did not start"; exit 1; }
address="$(cat "$work/address")"

/usr/bin/python3 "$source_dir/examples/python/hisbridge_client.py" --target "$address" \
  --stubs-dir "$work/stubs" demo | tee "$work/out.txt"
grep -q "the two clinics' records are one patient" "$work/out.txt"
/usr/bin/python3 "$source_dir/examples/python/hisbridge_client.py" --target "$address" \
  --stubs-dir "$work/stubs" lookup 450321-WS-001 PY-WS-9 | grep "覃秀娟" >/dev/null
echo "python client OK"
