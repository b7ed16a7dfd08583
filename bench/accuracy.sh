#!/bin/bash
# Linkage accuracy on a synthetic county: generate a county (hisbridge gen),
# link it with every matcher the binary has (hisbridge link --matcher=...),
# score each against the truth (hisbridge eval) and print the figures side
# by side with the timings. The id-exact column is the deterministic
# baseline most county HIS use today (same 18-digit id, else a new
# patient), so every report shows the gap to it.
#
#   bench/accuracy.sh [--people N] [--seed S] [--build-dir DIR] [--error-scale X]
#                     [--matchers "id-exact fs"] [--keep DIR]
#
# A matcher the binary does not know (link exits with a usage error) is
# skipped with a note. See docs/synthetic-county.md for the metrics.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEOPLE=20000
SEED=1
BUILD_DIR="$ROOT/build"
SCALE=1
MATCHERS="id-exact fs"
KEEP=""

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --people) PEOPLE="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --build-dir) BUILD_DIR="$2"; shift 2 ;;
    --error-scale) SCALE="$2"; shift 2 ;;
    --matchers) MATCHERS="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "accuracy.sh: unknown argument $1" >&2; usage ;;
  esac
done

HB="$BUILD_DIR/tools/hisbridge/hisbridge"
if [ ! -x "$HB" ]; then
  echo "accuracy.sh: $HB not found; build it (cmake --build $BUILD_DIR --target hisbridge) or pass --build-dir" >&2
  exit 2
fi
if [ -n "$KEEP" ]; then
  WORK="$KEEP"
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/hisbridge-accuracy.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
fi

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "hisbridge accuracy: $PEOPLE people, seed $SEED, error scale $SCALE ($WORK)"
t0=$(now)
"$HB" gen --people "$PEOPLE" --seed "$SEED" --error-scale "$SCALE" --out "$WORK/county" 2> "$WORK/gen.log" \
  || { cat "$WORK/gen.log" >&2; exit 1; }
GEN_SECONDS=$(seconds "$t0" "$(now)")
sed -n '2p' "$WORK/gen.log"

# One JSON object per matcher; pick fields out of it without jq.
field() {  # field JSON SECTION KEY
  printf '%s' "$1" | sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9.]*\).*/\1/p"
}
stratum() {  # stratum JSON NAME -> recall
  printf '%s' "$1" | sed -n "s/.*\"$2\":{\"true_pairs\":[0-9]*,\"found_pairs\":[0-9]*,\"recall\":\([0-9.]*\).*/\1/p"
}

declare -a NAMES=() COLUMNS=() NOTES=()
for m in $MATCHERS; do
  t1=$(now)
  set +e
  "$HB" link --matcher="$m" --input "$WORK/county/records.jsonl" --facilities "$WORK/county/facilities.csv" \
    --output "$WORK/links-$m.csv" --truth "$WORK/county/truth.csv" > "$WORK/link-$m.log" 2>&1
  rc=$?
  set -e
  LINK_SECONDS=$(seconds "$t1" "$(now)")
  if [ $rc -eq 2 ]; then
    NOTES+=("matcher $m skipped: this binary does not support it ($(head -n1 "$WORK/link-$m.log"))")
    continue
  elif [ $rc -ne 0 ]; then
    NOTES+=("matcher $m failed (exit $rc): $(tail -n1 "$WORK/link-$m.log")")
    continue
  fi
  t2=$(now)
  json=$("$HB" eval --json --truth "$WORK/county/truth.csv" --pred "$WORK/links-$m.csv" 2> "$WORK/eval-$m.log")
  EVAL_SECONDS=$(seconds "$t2" "$(now)")
  # Share of true pairs that meet in some block (printed by link --truth).
  BLOCKING=$(sed -n 's/^blocking recall *\([0-9.]*\).*/\1/p' "$WORK/link-$m.log" | head -n1)
  NAMES+=("$m")
  COLUMNS+=("$(field "$json" pairwise precision)|$(field "$json" pairwise recall)|$(field "$json" pairwise f1)|\
$(field "$json" bcubed precision)|$(field "$json" bcubed recall)|$(field "$json" bcubed f1)|\
$(field "$json" clusters predicted)|$(field "$json" clusters true_persons)|\
$(stratum "$json" both_valid_id)|$(stratum "$json" not_both_valid_id)|$(stratum "$json" name_variant)|\
$(field "$json" false_merges twin_pairs)|$(field "$json" false_merges placeholder_pairs)|\
${BLOCKING:--}|$LINK_SECONDS|$EVAL_SECONDS")
done

ROWS=("pairwise precision" "pairwise recall" "pairwise F1" "B-cubed precision" "B-cubed recall" "B-cubed F1"
      "predicted clusters" "true persons" "recall: both valid ids" "recall: not both valid ids"
      "recall: name variant" "false merges: twins (pairs)" "false merges: placeholders" "blocking recall" "link seconds"
      "eval seconds")
echo
printf '%-30s' ""
for n in "${NAMES[@]}"; do printf '%14s' "$n"; done
echo
for i in "${!ROWS[@]}"; do
  printf '%-30s' "${ROWS[$i]}"
  for c in "${COLUMNS[@]}"; do
    IFS='|' read -r -a v <<< "$c"
    printf '%14s' "${v[$i]}"
  done
  echo
done
echo
echo "gen seconds: $GEN_SECONDS"
for note in "${NOTES[@]+"${NOTES[@]}"}"; do echo "note: $note"; done
