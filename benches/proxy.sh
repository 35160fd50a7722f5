#!/usr/bin/env bash
# benches/proxy.sh [OPS]: a client workload through argon's proxy vs direct to HEAD's engine (its published
# port, and its own address on its network), alternating (release argon).
# Needs a built release argon (cargo build --release; ARGON_BENCH_BIN names another) and scripts/test-services.sh
# started; makes target/bench-venv (pymongo) when missing. Prints each round and
# the ratio of the best proxied round to the best direct one, and the median of
# each round's ratio (ROUNDS rounds, default 5).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source $ROOT/target/test-services.env
source "$ROOT/benches/lib.sh"
bench_venv
ARGON=${ARGON_BENCH_BIN:-$ROOT/target/release/argon}
bench_project pbench
"$ARGON" checkout -b main >/dev/null
c=$(head_container)
hp=$(published_port "$c")
ip=$(container_ip "$c")
"$VENV/bin/python" - "mongodb://127.0.0.1:$PORT/?directConnection=true" "mongodb://127.0.0.1:$hp/?directConnection=true" "${1:-100000}" "mongodb://$ip:27017/?directConnection=true" "${ROUNDS:-5}" <<'PY'
import sys, time
from pymongo import MongoClient
def run(uri, n, tag):
    c = MongoClient(uri)[f"pb_{tag}"]["w"]; c.drop(); t0 = time.time()
    for i in range(n): c.insert_one({"_id": i, "v": i})
    for i in range(n): c.find_one({"_id": i})
    s = time.time() - t0; c.drop(); return 2 * n / s
import statistics
n = int(sys.argv[3]); rounds = int(sys.argv[5]); p, d, a = [], [], []
for r in range(rounds):
    # Each round runs the three back to back, in an order that turns every
    # round, so a drift in the machine's speed falls on each alike.
    order = [("d", sys.argv[2], d), ("p", sys.argv[1], p), ("a", sys.argv[4], a)]
    for tag, uri, out in order[r % 3:] + order[:r % 3]:
        out.append(run(uri, n, f"{tag}{r}"))
print("published port", [round(x) for x in d], "proxy", [round(x) for x in p], "container address", [round(x) for x in a])
print("ratio of bests: proxy / published port", round(max(p)/max(d), 3), "; proxy / container address", round(max(p)/max(a), 3))
print("median of each round's ratio: proxy / published port", round(statistics.median(x/y for x, y in zip(p, d)), 3),
      "; proxy / container address", round(statistics.median(x/y for x, y in zip(p, a)), 3))
PY
docker ps -aq --filter "name=argon-pbench-" | xargs -r docker rm -f -v >/dev/null
docker volume ls -q --filter "name=argon-pbench-" | xargs -r docker volume rm -f >/dev/null
rm -rf "$WORK"
