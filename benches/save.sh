#!/usr/bin/env bash
# benches/save.sh [MB]: only the save goal of issue #13 (a first full save
# against the engine's own plain read of every collection), with MB (default
# 250) of data; the engine's read is timed in the same run, before and after
# the save, and the better of the two taken.
#
#   ARGON_BENCH_BIN=target/release/argon bash benches/save.sh 250
set -euo pipefail
MB=${1:-250}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/benches/lib.sh"
bench_setup

bench_project svbench
"$ARGON" checkout -b main >/dev/null
echo "generating ${MB} MB dataset..."
"$VENV/bin/python" "$ROOT/benches/gen_data.py" "$URI" "$MB"
container=$(head_container)
head_ip=$(container_ip "$container")

# The engine's plain read of every collection, as raw BSON (no decoding),
# at the container's own address: no proxy in the way.
engine_read() {
  "$VENV/bin/python" - "mongodb://$head_ip:27017/?directConnection=true" <<'PY'
import sys, time
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient
client = MongoClient(sys.argv[1], document_class=RawBSONDocument)
t0 = time.time()
for name in client.list_database_names():
    if name in ("admin", "local", "config"):
        continue
    for c in client[name].list_collection_names():
        for _ in client[name][c].find({}, batch_size=10000):
            pass
print(f"{time.time() - t0:.3f}")
PY
}
read_before=$(engine_read)
t0=$(now); "$ARGON" commit -m "bench dataset" >/dev/null; t1=$(now)
save_s=$(secs "$t0" "$t1")
read_after=$(engine_read)
read_s=$(python3 -c "print(min($read_before, $read_after))")
bytes=$("$ARGON" log -n 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["bytes"])')
stored=$(du -sb "$WORK/store" | cut -f1)
mib() { python3 -c "print(f'{$1/1048576:.1f}')"; }
cat <<OUT

argon save benchmark (2 cores, $(mib "$bytes") MiB of BSON)
  first full save (argon commit): ${save_s} s = $(python3 -c "print(f'{$bytes/1048576/$save_s:.1f}')") MB/s; store $(mib "$stored") MiB
  the engine's plain read of every collection: ${read_s} s (${read_before} before the save, ${read_after} after) = $(python3 -c "print(f'{$bytes/1048576/$read_s:.1f}')") MB/s
  ratio: $(python3 -c "print(f'{$read_s/$save_s:.2f}')")
OUT
