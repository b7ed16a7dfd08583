#!/usr/bin/env bash
# A client nobody on the team wrote: Debian's /usr/bin/python3 with
# python3-grpcio and stubs generated from proto/ submits records to
# `hisbridge serve --roles=all`, then looks them up, matches, searches and
# prints the integrated view (examples/python/hisbridge_client.py).
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

cat > "$work/facilities.csv" <<'CSV'
facility_id,name,region,tier
450321-CS-011,遇龙村卫生室,450321,village_clinic
450321-WS-001,白沙镇卫生院,450321,township_health_centre
CSV
"$hisbridge" serve --roles=all --data-dir "$work/data" --listen 127.0.0.1:0 \
  --facilities "$work/facilities.csv" --address-file "$work/address" --log-level warning &
server_pid=$!
for _ in $(seq 1 100); do [ -s "$work/address" ] && break; sleep 0.1; done
[ -s "$work/address" ] || { echo "server did not start"; exit 1; }
address="$(cat "$work/address")"
client() {
  /usr/bin/python3 "$source_dir/examples/python/hisbridge_client.py" --target "$address" --stubs-dir "$work/stubs" "$@"
}
expect() {  # expect FILE TEXT: the output must contain TEXT
  grep -qF -- "$2" "$1" || { echo "expected \"$2\" in the output of $(basename "$1"):"; cat "$1"; exit 1; }
}

client demo | tee "$work/demo.txt"
expect "$work/demo.txt" "the two clinics' records are one patient"
expect "$work/demo.txt" "遇龙村卫生室 -> 白沙镇卫生院"
expect "$work/demo.txt" "氨氯地平片"

client lookup 450321-WS-001 PY-WS-9 > "$work/lookup.txt"
expect "$work/lookup.txt" "覃秀娟"
patient="$(awk 'NR==1 {print $1}' "$work/lookup.txt")"

client match --name 覃秀娟 --id-number 450321197206150025 > "$work/match.txt"
expect "$work/match.txt" "1. $patient certain"
expect "$work/match.txt" "resident_id  exact"

client search --phone 139-7731-8642 > "$work/search.txt"
expect "$work/search.txt" "$patient  覃秀娟"

client timeline "$patient" --kinds medication > "$work/timeline.txt"
expect "$work/timeline.txt" "timeline (1 events)"
expect "$work/timeline.txt" "白沙镇卫生院  medication"

# Errors carry the status code and the field.
if client timeline "$patient" --from yesterday 2> "$work/error.txt"; then
  echo "a bad --from was accepted"; exit 1
fi
expect "$work/error.txt" "INVALID_ARGUMENT: from:"
echo "python client OK"
