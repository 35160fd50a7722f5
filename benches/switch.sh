#!/usr/bin/env bash
# benches/switch.sh [MB] [RUNS]: only the switching goals of issue #13, with MB
# (default 1000) of data on each branch; each figure beside its baseline from
# the same run. benches/run.sh measures everything at a smaller size; this one
# is for the size the goals name, without an hour of the rest.
#
#   ARGON_BENCH_BIN=target/release/argon bash benches/switch.sh 1000
#   BENCH_DURABLE=1 FORK_RUNS=5 ... (an engine checkout -b may hand over)
set -euo pipefail
MB=${1:-1000}
RUNS=${2:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/benches/lib.sh"
bench_setup
BENCH_A=main BENCH_B=other BENCH_C=third BENCH_D=fourth

bench_project swbench
# BENCH_DURABLE=1: an engine that syncs every write, which `checkout -b` may
# hand over (see bench_durable); else it is stopped and copied.
[ -n "${BENCH_DURABLE:-}" ] && bench_durable

"$ARGON" checkout -b main >/dev/null
echo "generating ${MB} MB dataset..."
"$VENV/bin/python" "$ROOT/benches/gen_data.py" "$URI" "$MB"
t0=$(now); "$ARGON" commit -m "dataset" >/dev/null; t1=$(now)
commit_s=$(secs "$t0" "$t1")
bytes=$("$ARGON" log -n 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["bytes"])')

# checkout -b from the running branch after a write, FORK_RUNS times: to the
# stable URI answering, the left branch's save in the background (then timed
# to its end). The first fork is `other`, used below; the others go again.
forks=(); fork_saves=()
for i in $(seq 1 "${FORK_RUNS:-5}"); do
  name=$([ "$i" = 1 ] && echo other || echo "fork$i")
  touch_data "fork$i"
  t0=$(now); "$ARGON" checkout -b "$name" >/dev/null; t1=$(ping_stable)
  "$ARGON" wait >/dev/null; t2=$(now)
  forks+=("$(secs "$t0" "$t1")"); fork_saves+=("$(secs "$t1" "$t2")")
  "$ARGON" checkout main >/dev/null
  [ "$i" = 1 ] || "$ARGON" branch -D "$name" >/dev/null
  "$ARGON" wait >/dev/null
done
fork_s=$(median "${forks[@]}"); fork_save_s=$(median "${fork_saves[@]}")
# The same, HEAD stopped and its volume copied for a new engine (what an
# engine that can neither fence nor sync every write gets), save in the background.
touch_data stopcopy
t0=$(now); ARGON_ENGINE_DURABLE_WRITES=0 "$ARGON" checkout -b stopcopy >/dev/null; t1=$(ping_stable)
fork_stop_s=$(secs "$t0" "$t1")
"$ARGON" checkout main >/dev/null
"$ARGON" branch -D stopcopy >/dev/null
"$ARGON" wait >/dev/null
touch_data second
t0=$(now); ARGON_BACKGROUND_SAVE=0 "$ARGON" checkout -b other2 >/dev/null; t1=$(ping_stable)
fork_sync_s=$(secs "$t0" "$t1")
"$ARGON" checkout main >/dev/null
"$ARGON" branch -D other2 >/dev/null
"$ARGON" wait >/dev/null

# Warm switches between main and other (both MB of data), default settings;
# then with a write before each; then cold ones ([serve] warm = 0), each
# after the last one's save and back to back; each beside its baseline.
"$ARGON" checkout other >/dev/null; "$ARGON" checkout main >/dev/null; "$ARGON" wait >/dev/null
warm_med=$(switch_median warm)
warm_written_med=$(switch_median written)
"$ARGON" wait >/dev/null
unpause_med=$(unpause_median)
ARGON_WARM=0 "$ARGON" checkout main >/dev/null
cold_med=$(switch_median cold)
b2b_med=$(switch_median back-to-back)
ARGON_WARM=0 "$ARGON" wait >/dev/null
start_med=$(start_median)

# Round four branches with the default settings: two more copies of main,
# one round untimed, so that each timed switch finds its target stashed.
"$ARGON" checkout main >/dev/null
"$ARGON" checkout -b "$BENCH_C" >/dev/null
"$ARGON" checkout -b "$BENCH_D" >/dev/null
for b in "$BENCH_A" "$BENCH_B" "$BENCH_C" "$BENCH_D"; do "$ARGON" checkout "$b" >/dev/null; done
"$ARGON" wait >/dev/null
rotate_med=$(switch_median rotate)

cat <<EOF

argon switching benchmark (2 cores, $(python3 -c "print(f'{$bytes/1048576:.1f}')") MiB of BSON per branch; commit of it ${commit_s} s)
  checkout -b after a write, to the stable URI answering: median ${fork_s} s over ${#forks[@]} (${forks[*]}); the left branch's save then took a median ${fork_save_s} s in the background; HEAD stopped and copied for a new engine instead (no hand-over): ${fork_stop_s} s; with the save first (background_save = false): ${fork_sync_s} s; a new engine's start on this data (docker start + ping, below): ${start_med} s
  checkout to a warm branch, to a ping: median ${warm_med} s over ${RUNS}; docker unpause + ping of the same paused engine: median ${unpause_med} s; difference $(python3 -c "print(f'{$warm_med - $unpause_med:.3f}')") s
            after a write each time (the last switch's save still running): median ${warm_written_med} s; difference $(python3 -c "print(f'{$warm_written_med - $unpause_med:.3f}')") s
  checkout to a stashed branch ([serve] warm = 0), each after the last one's save: median ${cold_med} s; docker start + ping of the same container: median ${start_med} s; difference $(python3 -c "print(f'{$cold_med - $start_med:.3f}')") s
            back to back (the last one's save still running): median ${b2b_med} s
            with the default settings (round four branches; two stay warm, the oldest is stopped): median ${rotate_med} s; difference $(python3 -c "print(f'{$rotate_med - $start_med:.3f}')") s
EOF
