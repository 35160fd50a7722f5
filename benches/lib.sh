# benches/lib.sh: what the bench scripts share; sourced, not run.
#   bench_setup                test services up, their environment, the venv, ARGON
#   bench_venv                 makes target/bench-venv (pymongo) when missing; sets VENV
#   bench_project NAME         a new project in a temporary folder, removed on exit
#   bench_durable              its engine syncs every write ([engine] durable_writes)
#   now, secs, median, ratio   timing and figures
#   ping_uri URI, ping_stable  wait until an engine answers a ping; print when
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

# bench_setup: the test services up (scripts/test-services.sh) and their
# environment loaded, the Python venv made, ARGON set (ARGON_BENCH_BIN, else
# the release build).
bench_setup() {
  bash "$ROOT/scripts/test-services.sh" >/dev/null
  source "$ROOT/target/test-services.env"
  bench_venv
  ARGON=${ARGON_BENCH_BIN:-$ROOT/target/release/argon}
}

# bench_project NAME: a new project NAME (its engines argon-NAME-*) in a
# temporary folder WORK, with its store and ARGON_HOME there, on a free
# stable port (PORT, URI); changes into it, and removes it all on exit.
bench_project() {
  BENCH_PROJECT=$1
  WORK=$(mktemp -d)
  export ARGON_HOME="$WORK/home"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/app" && cd "$WORK/app"
  trap bench_cleanup EXIT
  # shellcheck disable=SC2086
  "$ARGON" init --name "$1" --image "$ARGON_TEST_IMAGE" --port "$PORT" --store "file://$WORK/store" \
    --command $ARGON_TEST_ENGINE_COMMAND >/dev/null
  URI="mongodb://127.0.0.1:$PORT/?directConnection=true"
}

# bench_durable: the project's engine (in the current folder) syncs every
# write before acknowledging it (secantusd-rs --sync-on-commit), and argon is
# told so ([engine] durable_writes): the test engine cannot fence its writes,
# and only then may `checkout -b` hand HEAD's running engine over, as it does
# with MongoDB's fsyncLock. Before the first engine starts.
bench_durable() {
  python3 - <<'PY'
import re
text = open("argon.toml").read()
text = re.sub(r'^(command = \[.*)\]$', r'\1, "--sync-on-commit"]', text, count=1, flags=re.M)
text = text.replace("[engine]\n", "[engine]\ndurable_writes = true\n", 1)
open("argon.toml", "w").write(text)
PY
}

bench_cleanup() {
  # A background save still running writes into $WORK: it goes first.
  [ -f "$WORK/app/argon.toml" ] && "$ARGON" wait >/dev/null 2>&1 || true
  docker ps -aq --filter "name=argon-$BENCH_PROJECT-" | xargs -r docker rm -f -v >/dev/null
  docker volume ls -q --filter "name=argon-$BENCH_PROJECT-" | xargs -r docker volume rm -f >/dev/null
  docker network ls -q --filter "name=argon-$BENCH_PROJECT-" | xargs -r docker network rm >/dev/null 2>&1 || true
  rm -rf "$WORK" 2>/dev/null || { sleep 2; rm -rf "$WORK"; }
}

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

# ping_uri URI: waits until the engine at URI answers a ping and prints the
# moment it did (epoch seconds), which callers take as the end of what they
# time. A MongoDB ping by hand (OP_MSG over a socket), polled every few ms:
# a driver would add its import before the first attempt and its threads'
# shutdown after the answer, half a second that is not the engine's.
ping_uri() {
  python3 - "$1" <<'PY'
import socket, struct, sys, time, urllib.parse
host, port = urllib.parse.urlsplit(sys.argv[1]).netloc.rsplit("@", 1)[-1].rsplit(":", 1)
def cstring(s): return s.encode() + b"\0"
body = b"\x10" + cstring("ping") + struct.pack("<i", 1) + b"\x02" + cstring("$db") + struct.pack("<i", 6) + cstring("admin") + b"\0"
doc = struct.pack("<i", len(body) + 4) + body
msg = struct.pack("<I", 0) + b"\0" + doc
packet = struct.pack("<iiii", 16 + len(msg), 1, 0, 2013) + msg
ok = b"\x01ok\x00" + struct.pack("<d", 1.0)
while True:
    try:
        with socket.create_connection((host, int(port)), timeout=0.5) as s:
            s.sendall(packet)
            reply = b""
            while len(reply) < 4 or len(reply) < struct.unpack("<i", reply[:4])[0]:
                part = s.recv(65536)
                if not part:
                    break
                reply += part
            if ok in reply:
                print(f"{time.time():.6f}")
                break
    except OSError:
        pass
    time.sleep(0.005)
PY
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
#   rotate        default settings, round four branches (BENCH_A, BENCH_B,
#                 BENCH_C, BENCH_D): each goes to the branch left three
#                 switches before, stashed by then (only two stay warm), and
#                 the oldest warm branch is stopped; each after the last
#                 switch's save
switch_median() {
  local mode=$1 head target i t0 t1 times=() env=()
  case $mode in cold | back-to-back) env=(ARGON_WARM=0) ;; esac
  head=$("$ARGON" status --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')
  for i in $(seq 1 "$RUNS"); do
    target=$(next_branch "$mode" "$head")
    head=$target
    case $mode in
      written) touch_data "w$i" ;;
      cold | rotate) env "${env[@]}" "$ARGON" wait >/dev/null ;;
    esac
    t0=$(now); env "${env[@]}" "$ARGON" checkout "$target" >/dev/null; t1=$(ping_stable)
    times+=("$(secs "$t0" "$t1")")
  done
  median "${times[@]}"
}

# next_branch MODE HEAD: the branch switch_median goes to from HEAD.
next_branch() {
  case $1 in
    rotate)
      case $2 in
        "$BENCH_A") echo "$BENCH_B" ;;
        "$BENCH_B") echo "$BENCH_C" ;;
        "$BENCH_C") echo "$BENCH_D" ;;
        *) echo "$BENCH_A" ;;
      esac ;;
    *) [ "$2" = "$BENCH_A" ] && echo "$BENCH_B" || echo "$BENCH_A" ;;
  esac
}

# published_port C, container_ip C: where container C's engine listens on
# this machine, and its own address on its network.
published_port() { docker port "$1" 27017/tcp | head -1 | sed 's/.*://'; }
container_ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }

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
  port=$(published_port "$c")
  for i in $(seq 1 "$RUNS"); do
    t0=$(now); docker unpause "$c" >/dev/null
    t1=$(ping_uri "mongodb://127.0.0.1:$port/?directConnection=true")
    times+=("$(secs "$t0" "$t1")"); docker pause "$c" >/dev/null
  done
  median "${times[@]}"
}

# Baseline for a cold switch: `docker stop`, then `docker start` of HEAD's
# container to a ping on its own published port (the start alone is timed),
# median of RUNS; HEAD ends running.
start_median() {
  local c port i t0 t1 times=()
  c=$(head_container)
  port=$(published_port "$c")
  for i in $(seq 1 "$RUNS"); do
    docker stop -t 30 "$c" >/dev/null
    t0=$(now); docker start "$c" >/dev/null
    t1=$(ping_uri "mongodb://127.0.0.1:$port/?directConnection=true")
    times+=("$(secs "$t0" "$t1")")
  done
  median "${times[@]}"
}
