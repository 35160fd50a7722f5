#!/usr/bin/env bash
# benches/switch.sh [MB] [RUNS]: only the switching goals of issue #13, with MB
# (default 1000) of data on each branch; each figure beside its baseline from
# the same run. benches/run.sh measures everything at a smaller size; this one
# is for the size the goals name, without an hour of the rest.
#
#   ARGON_BENCH_BIN=target/release/argon bash benches/switch.sh 1000
set -euo pipefail
MB=${1:-1000}
RUNS=${2:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/test-services.sh >/dev/null
source target/test-services.env
VENV="$ROOT/target/bench-venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import pymongo' 2>/dev/null || "$VENV/bin/pip" install -q pymongo
ARGON=${ARGON_BENCH_BIN:-$ROOT/target/release/argon}

WORK=$(mktemp -d)
export ARGON_HOME="$WORK/home"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/app" && cd "$WORK/app"
cleanup() {
  docker ps -aq --filter "name=argon-swbench-" | xargs -r docker rm -f -v >/dev/null
  docker volume ls -q --filter "name=argon-swbench-" | xargs -r docker volume rm -f >/dev/null
  docker network ls -q --filter "name=argon-swbench-" | xargs -r docker network rm >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck disable=SC2086
"$ARGON" init --name swbench --image "$ARGON_TEST_IMAGE" --port "$PORT" --store "file://$WORK/store" \
  --command $ARGON_TEST_ENGINE_COMMAND >/dev/null
URI="mongodb://127.0.0.1:$PORT/?directConnection=true"
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
ping_stable() {
  until "$VENV/bin/python" -c "import pymongo; pymongo.MongoClient('$URI', serverSelectionTimeoutMS=200).admin.command('ping')" 2>/dev/null; do :; done
}
touch_data() {
  "$VENV/bin/python" -c "import pymongo; pymongo.MongoClient('$URI').shop.orders.update_one({}, {'\$set': {'status': '$1'}})"
}

"$ARGON" checkout -b main >/dev/null
echo "generating ${MB} MB dataset..."
"$VENV/bin/python" "$ROOT/benches/gen_data.py" "$URI" "$MB"
t0=$(now); "$ARGON" commit -m "dataset" >/dev/null; t1=$(now)
commit_s=$(secs "$t0" "$t1")
bytes=$("$ARGON" log -n 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["bytes"])')

# checkout -b from the running branch after a write: to the stable URI
# answering, the left branch's save in the background (then timed to its end).
touch_data first
t0=$(now); "$ARGON" checkout -b other >/dev/null; ping_stable; t1=$(now)
"$ARGON" wait >/dev/null; t2=$(now)
fork_s=$(secs "$t0" "$t1"); fork_save_s=$(secs "$t1" "$t2")
"$ARGON" checkout main >/dev/null
"$ARGON" wait >/dev/null
touch_data second
t0=$(now); ARGON_BACKGROUND_SAVE=0 "$ARGON" checkout -b other2 >/dev/null; ping_stable; t1=$(now)
fork_sync_s=$(secs "$t0" "$t1")
"$ARGON" checkout main >/dev/null
"$ARGON" branch -D other2 >/dev/null
"$ARGON" wait >/dev/null

# Warm switches between main and other (both MB of data), default settings.
"$ARGON" checkout other >/dev/null; "$ARGON" checkout main >/dev/null; "$ARGON" wait >/dev/null
times=()
for i in $(seq 1 "$RUNS"); do
  target=$([ $((i % 2)) = 1 ] && echo other || echo main)
  t0=$(now); "$ARGON" checkout "$target" >/dev/null; ping_stable; t1=$(now)
  times+=("$(secs "$t0" "$t1")")
done
warm_med=$(median "${times[@]}")
# The same, with a write before each switch: the branch left changed, so its
# save is pending, and the next switch comes while that save runs.
times=()
head=$("$ARGON" status --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')
for i in $(seq 1 "$RUNS"); do
  target=$([ "$head" = main ] && echo other || echo main); head=$target
  touch_data "w$i"
  t0=$(now); "$ARGON" checkout "$target" >/dev/null; ping_stable; t1=$(now)
  times+=("$(secs "$t0" "$t1")")
done
warm_written_med=$(median "${times[@]}")
"$ARGON" wait >/dev/null
warm_container=$(docker ps --filter "name=argon-swbench-" --filter "status=paused" --format '{{.Names}}' | head -1)
warm_port=$(docker port "$warm_container" 27017/tcp | head -1 | sed 's/.*://')
btimes=()
for i in $(seq 1 "$RUNS"); do
  t0=$(now); docker unpause "$warm_container" >/dev/null
  until "$VENV/bin/python" -c "import pymongo; pymongo.MongoClient('mongodb://127.0.0.1:$warm_port/?directConnection=true', serverSelectionTimeoutMS=200).admin.command('ping')" 2>/dev/null; do :; done
  t1=$(now); btimes+=("$(secs "$t0" "$t1")"); docker pause "$warm_container" >/dev/null
done
unpause_med=$(median "${btimes[@]}")

# Cold switches ([serve] warm = 0), each after the last one's background save.
ARGON_WARM=0 "$ARGON" checkout main >/dev/null
times=()
for i in $(seq 1 "$RUNS"); do
  target=$([ $((i % 2)) = 1 ] && echo other || echo main)
  ARGON_WARM=0 "$ARGON" wait >/dev/null
  t0=$(now); ARGON_WARM=0 "$ARGON" checkout "$target" >/dev/null; ping_stable; t1=$(now)
  times+=("$(secs "$t0" "$t1")")
done
cold_med=$(median "${times[@]}")
# Back to back: the next switch right after the last, its save still running.
times=()
for i in $(seq 1 "$RUNS"); do
  target=$([ $((i % 2)) = 1 ] && echo other || echo main)
  t0=$(now); ARGON_WARM=0 "$ARGON" checkout "$target" >/dev/null; ping_stable; t1=$(now)
  times+=("$(secs "$t0" "$t1")")
done
b2b_med=$(median "${times[@]}")
ARGON_WARM=0 "$ARGON" wait >/dev/null
container=$(docker ps --filter "name=argon-swbench-" --filter "status=running" --format '{{.Names}}' | grep -v -- '-capture$' | head -1)
docker stop -t 30 "$container" >/dev/null
btimes=()
for i in $(seq 1 "$RUNS"); do
  t0=$(now); docker start "$container" >/dev/null; ping_stable; t1=$(now)
  btimes+=("$(secs "$t0" "$t1")"); docker stop -t 30 "$container" >/dev/null
done
start_med=$(median "${btimes[@]}")

cat <<EOF

argon switching benchmark (2 cores, $(python3 -c "print(f'{$bytes/1048576:.1f}')") MiB of BSON per branch; commit of it ${commit_s} s)
  checkout -b after a write, to the stable URI answering: ${fork_s} s (the left branch's save then took ${fork_save_s} s in the background); with the save first (background_save = false): ${fork_sync_s} s
  checkout to a warm branch, to a ping: median ${warm_med} s over ${RUNS}; docker unpause + ping of the same paused engine: median ${unpause_med} s; difference $(python3 -c "print(f'{$warm_med - $unpause_med:.3f}')") s
            after a write each time (the last switch's save still running): median ${warm_written_med} s; difference $(python3 -c "print(f'{$warm_written_med - $unpause_med:.3f}')") s
  checkout to a stashed branch ([serve] warm = 0), each after the last one's save: median ${cold_med} s; docker start + ping of the same container: median ${start_med} s; difference $(python3 -c "print(f'{$cold_med - $start_med:.3f}')") s
            back to back (the last one's save still running): median ${b2b_med} s
EOF
