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

# In a browser: headless chromium (through chromedriver) loads the branch
# view 7 times; the page's own navigation timing, from the request to the
# load event (parsed, laid out, graph drawn, script run).
DRIVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chromedriver --port="$DRIVER_PORT" >/dev/null 2>&1 &
DRIVER_PID=$!
read -r browser_load browser_dcl < <(python3 - "$DRIVER_PORT" "http://127.0.0.1:$WEB_PORT" "$TOKEN" <<'PY'
import json, statistics, sys, time, urllib.request
port, base, token = sys.argv[1], sys.argv[2], sys.argv[3]
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=120))["value"]
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=1); break
    except Exception:
        time.sleep(0.1)
caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]}}}}
session = call("POST", "/session", caps)["sessionId"]
call("POST", f"/session/{session}/url", {"url": f"{base}/?token={token}"})
load, dcl = [], []
for _ in range(7):
    call("POST", f"/session/{session}/url", {"url": f"{base}/"})
    t = call("POST", f"/session/{session}/execute/sync", {"script":
        "const n = performance.getEntriesByType('navigation')[0]; return [n.loadEventEnd, n.domContentLoadedEventEnd];", "args": []})
    load.append(t[0] / 1000); dcl.append(t[1] / 1000)
call("DELETE", f"/session/{session}")
print(f"{statistics.median(load):.3f} {statistics.median(dcl):.3f}")
PY
)
kill "$DRIVER_PID" 2>/dev/null || true

cat <<REPORT

argon web benchmark ($(nproc) cores; $branches branches, $versions versions)
  branch view (/): median $(median "${view[@]}") s over 15, $size bytes of HTML with the history graph
  the same server's /state (HEAD, branches and tags only): median $(median "${state[@]}") s
  in headless chromium, request to the load event: median ${browser_load} s over 7 (DOM ready ${browser_dcl} s)
REPORT
