#!/usr/bin/env bash
# benches/back_to_back.sh [MB]: cold switches ([serve] warm = 0) between two
# branches of MB (default 100) MB each, each right after the last one's
# stable URI answered, so each goes to the branch whose save is pending (its
# background save waiting for the project to be left alone); then each once
# that save's capture engine runs. Prints each switch's time to a ping and how long each
# background save's capture engine took to exit once told to make way (from
# `docker events`); the first switch has nothing to make way and is the
# same run's baseline for argon's part, and `docker start` + ping of HEAD's
# container (median of RUNS) the goal's.
#
# MIDSAVE (default 10) sets how many mid-save switches are timed, and RUNS
# (default 7) how many `docker start` + ping baselines: on a noisy machine a
# difference of 0.05 s needs more samples than a few.
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
# Then each switch once the last one's background save has its capture
# engine running (it waits until the project has been left alone for two
# seconds): the switch makes it stop first.
midsave=()
for _ in $(seq 1 "${MIDSAVE:-10}"); do
  for _ in $(seq 1 200); do
    [ -n "$(docker ps -q --filter "name=argon-$BENCH_PROJECT-.*-capture" --filter status=running)" ] && break
    sleep 0.05
  done
  target=$([ "$head" = main ] && echo other || echo main)
  t0=$(now); "$ARGON" checkout "$target" >/dev/null; t1=$(ping_stable)
  midsave+=("$(secs "$t0" "$t1")")
  head=$target
done
sleep 1; kill "$watcher"
# The goal's baseline: docker stop, then docker start of HEAD's container to
# a ping on its published port (what a cold switch cannot beat).
"$ARGON" wait >/dev/null
RUNS=${RUNS:-7} start_med=$(start_median)

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
  docker start + ping of HEAD's container: median ${start_med} s over $RUNS; back to back minus it: $(python3 -c "print(f'{$(median "${times[@]:1}") - $start_med:.3f}')") s (goal: within 0.3 s)
  each once the last one's save had its capture engine running: ${midsave[*]} s, median $(median "${midsave[@]}") s; minus docker start + ping: $(python3 -c "print(f'{$(median "${midsave[@]}") - $start_med:.3f}')") s
  capture engines, told to make way to exited: ${exits} s
OUT
