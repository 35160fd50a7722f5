# benches/lib.sh: what the bench scripts share; sourced, not run.
#   bench_venv                 makes target/bench-venv (pymongo) when missing; sets VENV
#   now, secs, median, ratio   timing and figures
#   ping_uri URI, ping_stable  wait until an engine answers a ping
#   touch_data TAG             one write to HEAD through the stable URI
#   switch_median MODE         RUNS switches between BENCH_A and BENCH_B, median
#   unpause_median, start_median   the switches' baselines without argon
# The switching helpers expect ARGON, URI, RUNS, VENV, BENCH_A, BENCH_B and
# BENCH_PROJECT (the project's name: its containers are argon-NAME-*).

bench_venv() {
  VENV="$ROOT/target/bench-venv"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -c 'import pymongo' 2>/dev/null || "$VENV/bin/pip" install -q pymongo
}

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

ping_uri() {
  until "$VENV/bin/python" -c "import pymongo; pymongo.MongoClient('$1', serverSelectionTimeoutMS=200).admin.command('ping')" 2>/dev/null; do :; done
}
ping_stable() { ping_uri "$URI"; }

touch_data() {
  "$VENV/bin/python" -c "import pymongo; pymongo.MongoClient('$URI').shop.orders.update_one({}, {'\$set': {'status': '$1'}})"
}

# switch_median MODE: RUNS switches back and forth between BENCH_A and
# BENCH_B (from whichever is HEAD), each timed from the command's start to
# the stable URI answering a ping; prints the median. MODE:
#   warm          default settings (the branch left stays warm)
#   written       the same, with a write before each switch: the branch left
#                 changed, so the next switch comes while its save runs
#   cold          [serve] warm = 0, each after the last switch's save
#   back-to-back  [serve] warm = 0, each right after the last, its save running
switch_median() {
  local mode=$1 head target i t0 t1 times=() env=()
  case $mode in cold | back-to-back) env=(ARGON_WARM=0) ;; esac
  head=$("$ARGON" status --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')
  for i in $(seq 1 "$RUNS"); do
    target=$([ "$head" = "$BENCH_A" ] && echo "$BENCH_B" || echo "$BENCH_A")
    head=$target
    case $mode in
      written) touch_data "w$i" ;;
      cold) env "${env[@]}" "$ARGON" wait >/dev/null ;;
    esac
    t0=$(now); env "${env[@]}" "$ARGON" checkout "$target" >/dev/null; ping_stable; t1=$(now)
    times+=("$(secs "$t0" "$t1")")
  done
  median "${times[@]}"
}

# The engine container of HEAD (running), and of a warm branch (paused).
head_container() {
  docker ps --filter "name=argon-$BENCH_PROJECT-" --filter "status=running" --format '{{.Names}}' | grep -v -- '-capture$' | head -1
}
warm_container() {
  docker ps --filter "name=argon-$BENCH_PROJECT-" --filter "status=paused" --format '{{.Names}}' | head -1
}

# Baseline for a warm switch: `docker unpause` of a paused engine to a ping
# on its own published port (paused again after each), median of RUNS.
unpause_median() {
  local c port i t0 t1 times=()
  c=$(warm_container)
  port=$(docker port "$c" 27017/tcp | head -1 | sed 's/.*://')
  for i in $(seq 1 "$RUNS"); do
    t0=$(now); docker unpause "$c" >/dev/null
    ping_uri "mongodb://127.0.0.1:$port/?directConnection=true"
    t1=$(now); times+=("$(secs "$t0" "$t1")"); docker pause "$c" >/dev/null
  done
  median "${times[@]}"
}

# Baseline for a cold switch: `docker stop`, then `docker start` of HEAD's
# container to the stable URI answering (the start alone is timed), median
# of RUNS; HEAD ends running.
start_median() {
  local c i t0 t1 times=()
  c=$(head_container)
  for i in $(seq 1 "$RUNS"); do
    docker stop -t 30 "$c" >/dev/null
    t0=$(now); docker start "$c" >/dev/null; ping_stable; t1=$(now)
    times+=("$(secs "$t0" "$t1")")
  done
  median "${times[@]}"
}
