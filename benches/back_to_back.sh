#!/usr/bin/env bash
# benches/back_to_back.sh [MB]: cold switches ([serve] warm = 0) between two
# branches of MB (default 100) MB each, each right after the last one's
# stable URI answered, so each goes to the branch whose background save has
# just started. Prints each switch's time to a ping and how long each
# background save's capture engine took to exit once told to make way (from
# `docker events`); the first switch has nothing to make way and is the
# same run's baseline.
#
#   ARGON_BENCH_BIN=target/release/argon bash benches/back_to_back.sh 100
set -euo pipefail
MB=${1:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/benches/lib.sh"
bench_setup

bench_project b2b
"$ARGON" checkout -b main >/dev/null
"$VENV/bin/python" "$ROOT/benches/gen_data.py" "$URI" "$MB" >/dev/null
"$ARGON" commit -m data >/dev/null
"$ARGON" checkout -b other >/dev/null
"$ARGON" wait >/dev/null
export ARGON_WARM=0
"$ARGON" checkout main >/dev/null
"$ARGON" wait >/dev/null

events="$WORK/events"
docker events --filter type=container --format '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}' >"$events" &
watcher=$!
head=main times=()
for _ in 1 2 3 4 5; do
  target=$([ "$head" = main ] && echo other || echo main)
  t0=$(now); "$ARGON" checkout "$target" >/dev/null; t1=$(ping_stable)
  times+=("$(secs "$t0" "$t1")")
  head=$target
done
sleep 1; kill "$watcher"

exits=$(python3 - "$events" <<'PY'
import sys
told = None
out = []
for line in open(sys.argv[1]):
    ns, action, name = line.split()[:3]
    if not name.endswith("-capture"):
        continue
    if action == "kill" and told is None:
        told = int(ns)
    elif action == "die" and told is not None:
        out.append(f"{(int(ns) - told) / 1e9:.3f}")
        told = None
print(" ".join(out) or "none")
PY
)
cat <<OUT

argon back-to-back cold switches ($(nproc) cores, ${MB} MB per branch, warm = 0)
  first switch (no save to make way): ${times[0]} s
  back to back: ${times[*]:1} s, median $(median "${times[@]:1}") s
  capture engines, told to make way to exited: ${exits} s
OUT
