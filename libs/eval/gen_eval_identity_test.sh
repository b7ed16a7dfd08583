#!/bin/bash
# hisbridge gen on a small county, then hisbridge eval of its truth against
# itself: every figure must be perfect, in the table and in --json.
set -euo pipefail
HISBRIDGE="$1"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT

"$HISBRIDGE" gen --people 1500 --seed 3 --out "$DIR/county" --threads 2
for f in records.jsonl truth.csv errors.csv facilities.csv; do
  test -s "$DIR/county/$f" || { echo "missing $f"; exit 1; }
done
"$HISBRIDGE" gen --people 1500 --seed 3 --out "$DIR/again" --threads 1
cmp "$DIR/county/records.jsonl" "$DIR/again/records.jsonl"
cmp "$DIR/county/errors.csv" "$DIR/again/errors.csv"

# The truth scored against itself (person_id read as the predicted label).
"$HISBRIDGE" eval --truth "$DIR/county/truth.csv" --pred "$DIR/county/truth.csv" > "$DIR/table.txt"
cat "$DIR/table.txt"
grep -Eq '^pairwise +1\.0000 +1\.0000 +1\.0000' "$DIR/table.txt"
grep -Eq '^B-cubed +1\.0000 +1\.0000 +1\.0000' "$DIR/table.txt"
grep -Eq '^false merges among twins +0 pairs' "$DIR/table.txt"

"$HISBRIDGE" eval --json --truth "$DIR/county/truth.csv" --pred "$DIR/county/truth.csv" > "$DIR/scores.json"
grep -q '"pairwise":{"precision":1.000000,"recall":1.000000,"f1":1.000000' "$DIR/scores.json"
grep -q '"placeholder_pairs":0' "$DIR/scores.json"

# Bad usage is exit code 2 with a message naming the flag.
if "$HISBRIDGE" eval --truth "$DIR/county/truth.csv" 2> "$DIR/err.txt"; then exit 1; fi
grep -q -- '--pred' "$DIR/err.txt"
echo "gen_eval_identity_test: ok"
