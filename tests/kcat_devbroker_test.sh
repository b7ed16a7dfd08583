#!/usr/bin/env bash
# kcat, a Kafka client nobody on the team wrote, reads the inbox topic of a
# standalone `hisbridge devbroker` after `hisbridge load` fed it through a
# separately started `hisbridge serve` pointed at that broker.
set -euo pipefail
hisbridge="$1"
source_dir="$2"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$hisbridge" devbroker --bootstrap-file "$work/bootstrap" --inbox-partitions 2 --log-level warning >/dev/null &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
bootstrap="$(cat "$work/bootstrap")"

"$hisbridge" serve --roles=ingest,linker,query --kafka-bootstrap "$bootstrap" --data-dir "$work/data" \
  --listen 127.0.0.1:0 --address-file "$work/address" --insecure-plaintext \
  --facilities "$source_dir/samples/county-small.facilities.csv" --log-level warning &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/address" ] && break; sleep 0.1; done
"$hisbridge" load --input "$source_dir/samples/county-small.jsonl" --target "$(cat "$work/address")" \
  > "$work/load.txt"
accepted="$(sed -n 's/.*accepted: \([0-9]*\).*/\1/p' "$work/load.txt")"
echo "accepted $accepted records"

# Count the inbox messages with kcat: every accepted record is there.
kcat -b "$bootstrap" -C -t hisbridge.inbox -o beginning -e -q -f '%p %o %k\n' > "$work/kcat.txt"
count="$(wc -l < "$work/kcat.txt")"
echo "kcat read $count inbox messages"
[ "$count" -eq "$accepted" ]
# Every key is the region the record belongs to.
[ "$(cut -d' ' -f3 "$work/kcat.txt" | sort -u)" = "450321" ]
echo "kcat OK"
