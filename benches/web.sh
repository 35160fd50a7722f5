#!/usr/bin/env bash
# argon web benchmark: the branch view of a project with many branches and
# versions, rendered by the server (median of 15 requests), against the same
# process answering its smallest authenticated request (/state) in the same
# run.
#   benches/web.sh [BRANCHES] [VERSIONS]    (default 100 1000)
# Needs what the tests need (scripts/test-services.sh sets it up).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BRANCHES=${1:-100}
VERSIONS=${2:-1000}
cd "$ROOT"
bash scripts/test-services.sh
source target/test-services.env
if [ -z "${ARGON_BENCH_BIN:-}" ]; then
  cargo build --release --locked -q -p argon -p argon-web
fi
BIN=$(dirname "${ARGON_BENCH_BIN:-$ROOT/target/release/argon}")
export PATH="$BIN:$PATH"

WORK=$(mktemp -d)
export ARGON_HOME="$WORK/home"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/app" && cd "$WORK/app"
cleanup() {
  [ -n "${WEB_PID:-}" ] && kill "$WEB_PID" 2>/dev/null
  docker ps -aq --filter "name=argon-webbench-" | xargs -r docker rm -f -v >/dev/null
  docker volume ls -q --filter "name=argon-webbench-" | xargs -r docker volume rm -f >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck disable=SC2086
argon init --name webbench --image "$ARGON_TEST_IMAGE" --port "$PORT" --store "file://$WORK/store" \
  --command $ARGON_TEST_ENGINE_COMMAND >/dev/null
argon checkout -b main >/dev/null
mkdir -p fx/app
echo "making $VERSIONS versions on $BRANCHES branches..."
for i in $(seq 1 "$VERSIONS"); do
  echo "{\"_id\": $i, \"n\": $i}" > fx/app/items.jsonl
  argon seed fx >/dev/null
  argon commit -m "version $i" >/dev/null
  # Every VERSIONS/BRANCHES versions, a new branch from here (no container).
  if [ $(( i % (VERSIONS / BRANCHES) )) = 0 ] && [ "$(argon branch --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -lt "$BRANCHES" ]; then
    argon branch "b$i" >/dev/null
  fi
done
branches=$(argon branch --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
versions=$(argon log --all --format json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' || echo "$VERSIONS")

WEB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
argon web --port "$WEB_PORT" > "$WORK/web.out" &
WEB_PID=$!
for _ in $(seq 1 100); do grep -q token "$WORK/web.out" 2>/dev/null && break; sleep 0.1; done
TOKEN=$(sed -n 's/.*token=\([0-9a-f]*\).*/\1/p' "$WORK/web.out" | head -1)
time_of() { curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: argon_web_token=$TOKEN" "http://127.0.0.1:$WEB_PORT$1"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
time_of / >/dev/null
view=(); state=()
for _ in $(seq 1 15); do view+=("$(time_of /)"); state+=("$(time_of /state)"); done
size=$(curl -s -H "Cookie: argon_web_token=$TOKEN" "http://127.0.0.1:$WEB_PORT/" | wc -c)
cat <<REPORT

argon web benchmark ($(nproc) cores; $branches branches, $versions versions)
  branch view (/): median $(median "${view[@]}") s over 15, $size bytes of HTML with the history graph
  the same server's /state (HEAD, branches and tags only): median $(median "${state[@]}") s
REPORT
