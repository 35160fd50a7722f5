#!/usr/bin/env bash
# argon benchmarks: prints figures, each with a baseline measured in the same run.
#   benches/run.sh [DATASET_MB]    (default 250)
# Needs what the tests need (scripts/test-services.sh sets it up) plus python
# pymongo, zstd and GNU time, which this script installs when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MB=${1:-250}
RUNS=${BENCH_RUNS:-7}
cd "$ROOT"

bash scripts/test-services.sh
source target/test-services.env
command -v zstd >/dev/null && [ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq zstd time >/dev/null; }
source benches/lib.sh
bench_venv
# ARGON_BENCH_BIN measures an already built binary instead of building one.
if [ -z "${ARGON_BENCH_BIN:-}" ]; then
  cargo build --release --locked -q
fi
ARGON=${ARGON_BENCH_BIN:-$ROOT/target/release/argon}

bench_project bench
# The test engine builds indexes over existing data slowly (it retries on write
# conflicts for minutes), so restores here create indexes before the data.
sed -i 's/^\[engine\]$/[engine]\nrestore_indexes = "before-data"/' argon.toml
BENCH_A=main BENCH_B=restored
peak_rss() { /usr/bin/time -f '%M' -o "$WORK/rss" "$@" >/dev/null; echo $(( $(cat "$WORK/rss") / 1024 )); }

"$ARGON" checkout -b main >/dev/null
echo "generating ${MB} MB dataset..."
"$VENV/bin/python" "$ROOT/benches/gen_data.py" "$URI" "$MB"

echo "measuring (keep the machine otherwise idle)..."
# Save (capture + compress + store) of the whole dataset.
t0=$(now); save_rss=$(peak_rss "$ARGON" commit -m "bench dataset"); t1=$(now)
save_s=$(secs "$t0" "$t1")
bytes=$("$ARGON" log -n 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["bytes"])')
data_mb=$(python3 -c "print(f'{$bytes/1048576:.1f}')")
capture=$("$ARGON" log -n 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["capture"])')

# Baseline: tar | zstd -1 of the same BSON streams, as files.
mkdir -p "$WORK/bson"
# The BSON streams, rebuilt from the stored chunks (each chunk is one zstd frame).
"$VENV/bin/python" - "$WORK/store" "$WORK/bson" "$ROOT/benches" <<'PY'
import json, pathlib, sys
sys.path.insert(0, sys.argv[3])
from stored_chunks import Chunks
store, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
project = next(p for p in store.iterdir() if p.is_dir())
chunks = Chunks(project)
manifest = json.loads(next((project / "versions").iterdir()).read_text())
for db in manifest["databases"]:
    for c in db["collections"]:
        with open(out / f'{db["name"]}.{c["name"]}.bson', "wb") as f:
            for cid, _ in c["chunks"]:
                f.write(chunks.data(cid))
PY
t0=$(now); tar -C "$WORK/bson" -c . | zstd -q -1 > /dev/null; t1=$(now)
tar_s=$(secs "$t0" "$t1")
save_mbps=$(python3 -c "print(f'{$bytes/1048576/$save_s:.1f}')")
tar_mbps=$(python3 -c "print(f'{$bytes/1048576/$tar_s:.1f}')")

manifest_field() { # newest manifest's field
  python3 - "$WORK/store" "$1" <<'PY'
import json, pathlib, sys
project = next(p for p in pathlib.Path(sys.argv[1]).iterdir() if p.is_dir())
newest = max((json.loads(p.read_text()) for p in (project / "versions").iterdir()), key=lambda m: m["created_at"])
print(newest[sys.argv[2]])
PY
}
first_written=$(manifest_field written_bytes)

# Export of the version to a mongodump folder, against reading the same
# version's .bson files through `argon mount` (a sequential read of each).
t0=$(now); "$ARGON" export main "$WORK/export" >/dev/null; t1=$(now)
export_s=$(secs "$t0" "$t1")
mkdir -p "$WORK/mnt"
"$ARGON" mount "$WORK/mnt" >"$WORK/mount.log" 2>&1 &
mount_pid=$!
for _ in $(seq 1 100); do [ -d "$WORK/mnt/branches/main/latest" ] && break; sleep 0.1; done
t0=$(now); find "$WORK/mnt/branches/main/latest/" -name '*.bson' -exec cat {} + >/dev/null; t1=$(now)
mount_read_s=$(secs "$t0" "$t1")
# The .jsonl renders of the same collections (relaxed extended JSON, made
# from the BSON as they are read); MB/s counts BSON bytes, as the goal does.
t0=$(now); find "$WORK/mnt/branches/main/latest/" -name '*.jsonl' -exec cat {} + >/dev/null; t1=$(now)
jsonl_read_s=$(secs "$t0" "$t1")
"$ARGON" umount "$WORK/mnt" >/dev/null 2>&1 || kill "$mount_pid"
wait "$mount_pid" 2>/dev/null || true
rm -rf "$WORK/export"
# The same version as one mongodump archive, plain and gzip-compressed.
t0=$(now); "$ARGON" export main --archive "$WORK/main.archive" >/dev/null; t1=$(now)
archive_s=$(secs "$t0" "$t1")
t0=$(now); "$ARGON" export main --archive "$WORK/main.archive.gz" --gzip >/dev/null; t1=$(now)
archive_gz_s=$(secs "$t0" "$t1")
rm -f "$WORK/main.archive.gz"

# Imports into a second project with its own, empty store (every chunk is
# new there, as for a user's first import): from the archive, and from the
# running engine (read only, through a snapshot session where it has one).
mkdir -p "$WORK/app2"
# shellcheck disable=SC2086
(cd "$WORK/app2" && "$ARGON" init --name bench2 --image "$ARGON_TEST_IMAGE" --port "$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')" \
  --store "file://$WORK/store2" --command $ARGON_TEST_ENGINE_COMMAND >/dev/null)
t0=$(now); "$ARGON" -C "$WORK/app2" import --archive "$WORK/main.archive" -b from-archive >/dev/null; t1=$(now)
import_archive_s=$(secs "$t0" "$t1")
rm -f "$WORK/main.archive"
t0=$(now); import_live_rss=$(peak_rss "$ARGON" -C "$WORK/app2" import "$URI" -b live); t1=$(now)
import_live_s=$(secs "$t0" "$t1")
import_live_bytes=$("$ARGON" -C "$WORK/app2" log live -n 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["bytes"])')
import_live_consistency=$("$ARGON" -C "$WORK/app2" log live -n 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["message"].rsplit("(", 1)[-1].rstrip(")"))')

# Incremental saves: 1% of the documents of one collection of five change, ten times.
inc_times=(); inc_written=()
for i in $(seq 1 10); do
  "$VENV/bin/python" - "$URI" "$i" <<'PY'
import random, sys
from pymongo import MongoClient, UpdateOne
db = MongoClient(sys.argv[1]).shop
n = db.orders.estimated_document_count()
rng = random.Random(int(sys.argv[2]))
ids = rng.sample(range(n), max(1, n // 100))
db.orders.bulk_write([UpdateOne({"_id": i}, {"$set": {"status": rng.choice(["new", "paid", "shipped", "returned"])}}) for i in ids])
PY
  t0=$(now); "$ARGON" commit -m "incremental $i" >/dev/null; t1=$(now)
  inc_times+=("$(secs "$t0" "$t1")"); inc_written+=("$(manifest_field written_bytes)")
done
inc_time=$(median "${inc_times[@]}")
inc_bytes=$(median "${inc_written[@]}")
store_bytes=$(du -sb "$WORK/store" | cut -f1)

# Diff of the last two versions (1% of the documents of one collection of
# five changed), then the same diff reading both versions whole, every
# collection (ARGON_DIFF_READ_WHOLE): the baseline, in the same run.
t0=$(now); diff_rss=$(peak_rss "$ARGON" diff --no-pager main~1 main --stat); t1=$(now)
diff_s=$(secs "$t0" "$t1")
t0=$(now); whole_rss=$(peak_rss env ARGON_DIFF_READ_WHOLE=1 "$ARGON" diff --no-pager main~1 main --stat); t1=$(now)
whole_s=$(secs "$t0" "$t1")
# The same share of documents changed together (1% of orders with
# neighbouring _ids, as an application touching its recent records does).
"$VENV/bin/python" - "$URI" <<'PY'
import sys
from pymongo import MongoClient
db = MongoClient(sys.argv[1]).shop
n = db.orders.estimated_document_count()
db.orders.update_many({"_id": {"$gte": n // 2, "$lt": n // 2 + max(1, n // 100)}}, {"$set": {"status": "batch"}})
PY
"$ARGON" commit -m "clustered" >/dev/null
t0=$(now); "$ARGON" diff --no-pager main~1 main --stat >/dev/null; t1=$(now)
clustered_s=$(secs "$t0" "$t1")
t0=$(now); ARGON_DIFF_READ_WHOLE=1 "$ARGON" diff --no-pager main~1 main --stat >/dev/null; t1=$(now)
clustered_whole_s=$(secs "$t0" "$t1")
# Uncommitted changes (1% more), against a save of the same state.
"$VENV/bin/python" - "$URI" 11 <<'PY'
import random, sys
from pymongo import MongoClient, UpdateOne
db = MongoClient(sys.argv[1]).shop
n = db.orders.estimated_document_count()
rng = random.Random(int(sys.argv[2]))
db.orders.bulk_write([UpdateOne({"_id": i}, {"$set": {"status": "diffed"}}) for i in rng.sample(range(n), max(1, n // 100))])
PY
t0=$(now); live_rss=$(peak_rss "$ARGON" diff --no-pager --stat); t1=$(now)
live_s=$(secs "$t0" "$t1")
t0=$(now); "$ARGON" commit -m "after diff" >/dev/null; t1=$(now)
live_save_s=$(secs "$t0" "$t1")

# A branch from the running branch's current state (local volume copy):
# right after a commit (unchanged: no capture), then after one more write.
t0=$(now); "$ARGON" checkout -b fastcopy >/dev/null; t1=$(now)
fastcopy_s=$(secs "$t0" "$t1")
"$ARGON" checkout main >/dev/null
touch_data touched
# Timed to the stable URI answering; the branch left is saved in the
# background ([serve] background_save), and `argon wait` times that save.
"$ARGON" wait >/dev/null
t0=$(now); "$ARGON" checkout -b fastcopy2 >/dev/null; t1=$(ping_stable)
fastcopy_dirty_s=$(secs "$t0" "$t1")
"$ARGON" wait >/dev/null; t2=$(now)
fastcopy_save_s=$(secs "$t1" "$t2")
# The same with the save before the switch ([serve] background_save = false).
"$ARGON" checkout main >/dev/null
touch_data "touched again"
t0=$(now); ARGON_BACKGROUND_SAVE=0 "$ARGON" checkout -b fastcopy3 >/dev/null; t1=$(ping_stable)
fastcopy_sync_s=$(secs "$t0" "$t1")
"$ARGON" checkout main >/dev/null

# Restore into a new branch (new volume, private engine, then the stable port).
t0=$(now); restore_rss=$(peak_rss "$ARGON" checkout -b restored main); t1=$(now)
restore_s=$(secs "$t0" "$t1")
restore_mbps=$(python3 -c "print(f'{$bytes/1048576/$restore_s:.1f}')")

# Checkout between two branches with local volumes, the default way (the
# branch left stays warm, so every switch after the first is to a warm
# branch), timed from the command's start to the stable URI answering a ping.
"$ARGON" checkout main >/dev/null
"$ARGON" checkout restored >/dev/null
"$ARGON" checkout main >/dev/null
warm_med=$(switch_median warm)
# With a write before each switch: the next switch comes while the save of
# the branch left runs (switching back takes its volume back).
warm_written_med=$(switch_median written)
"$ARGON" wait >/dev/null
warm_states=$("$ARGON" branch --format json | python3 -c 'import json,sys; print(",".join(b["name"]+"="+b["state"] for b in json.load(sys.stdin)))')
# Baseline: unpause of the paused (warm) engine container to a ping on its own port.
unpause_med=$(unpause_median)

# The same switches with nothing kept warm ([serve] warm = 0): to a cold
# stashed branch, a container start. (The first switch stops the warm one.)
# Each after the last switch's background save, as between two git
# checkouts; then back to back, each right after the last, whose save (a
# private engine reading the stopped volume: this engine has no fsyncLock to
# vouch for "unchanged") is still running, as with two quick git checkouts.
ARGON_WARM=0 "$ARGON" checkout main >/dev/null
checkout_med=$(switch_median cold)
back_to_back_med=$(switch_median back-to-back)
# The last switch's background save done: HEAD's engine is the one running.
ARGON_WARM=0 "$ARGON" wait >/dev/null
# Baseline: stop and start of the same engine container to a ping, without argon.
container=$(head_container)
btimes=()
for i in $(seq 1 "$RUNS"); do
  t0=$(now); docker stop -t 30 "$container" >/dev/null; docker start "$container" >/dev/null
  t1=$(ping_stable); btimes+=("$(secs "$t0" "$t1")")
done
docker_med=$(median "${btimes[@]}")
# Baseline for the cold switch alone: a plain start of a stopped container to a ping.
start_only_s=$(start_median)
# That stop took the proxy off the engine's own address (its canary saw the
# engine go): the next command that takes the project routes it there again.
"$ARGON" wait >/dev/null

# A client workload through the proxy on the stable port against the same
# engine on its private port: inserts then finds by _id, one at a time.
# Two baselines: the engine's published port (what a client used before the
# proxy, through Docker's own userland proxy), and the container's address on
# its network (no proxy at all; the argon proxy splices to it on Linux).
head_port=$(published_port "$container")
head_ip=$(container_ip "$container")
read -r proxy_ops direct_ops network_ops < <("$VENV/bin/python" - "$URI" "mongodb://127.0.0.1:$head_port/?directConnection=true" "${PROXY_OPS:-100000}" "mongodb://$head_ip:27017/?directConnection=true" <<'PY'
import sys, time
from pymongo import MongoClient
def run(uri, n, tag):
    c = MongoClient(uri)[f"proxybench_{tag}"]["w"]
    c.drop()
    t0 = time.time()
    for i in range(n):
        c.insert_one({"_id": i, "v": i})
    for i in range(n):
        c.find_one({"_id": i})
    s = time.time() - t0
    c.drop()
    return 2 * n / s
n = int(sys.argv[3])
proxied, direct, network = [], [], []
for round in range(2):
    direct.append(run(sys.argv[2], n, f"d{round}"))
    proxied.append(run(sys.argv[1], n, f"p{round}"))
    network.append(run(sys.argv[4], n, f"n{round}"))
print(f"{max(proxied):.0f} {max(direct):.0f} {max(network):.0f}")
PY
)
# The proxy's own memory after that workload.
proxy_pid=$(pgrep -f -- "__proxy 127.0.0.1:$PORT " | head -1)
proxy_rss_mib=$(( $(awk '/VmHWM/ {print $2}' "/proc/$proxy_pid/status") / 1024 ))

# Engine baselines, last (they touch HEAD's data): what the engine itself does
# for a client reading every collection, and inserting the same documents into
# a fresh database with the same indexes created first (as this bench's
# restores do), both through pymongo with raw BSON (no decoding).
# Straight to HEAD's container at its own address: no proxy of argon's nor of
# Docker's in the way of the baseline.
read -r engine_read_s engine_write_s < <("$VENV/bin/python" - "mongodb://$head_ip:27017/?directConnection=true" "$WORK/store" "$ROOT/benches" <<'PY'
import json, pathlib, sys, time
sys.path.insert(0, sys.argv[3])
from stored_chunks import Chunks
from bson import json_util
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient
client = MongoClient(sys.argv[1], document_class=RawBSONDocument)
project = next(p for p in pathlib.Path(sys.argv[2]).iterdir() if p.is_dir())
chunks = Chunks(project)
first = min((json.loads(p.read_text()) for p in (project / "versions").iterdir()), key=lambda m: m["created_at"])
t0 = time.time()
for db in first["databases"]:
    for c in db["collections"]:
        for _ in client[db["name"]][c["name"]].find({}, batch_size=10000):
            pass
read_s = time.time() - t0
t0 = time.time()
for db in first["databases"]:
    target = client["baseline_" + db["name"]]
    for c in db["collections"]:
        for ix in c["indexes"]:
            spec = json_util.loads(json.dumps(ix))
            if spec["name"] != "_id_":
                target[c["name"]].create_index(list(spec["key"].items()), name=spec["name"], unique=spec.get("unique", False))
        batch, size = [], 0
        stream = b"".join(chunks.data(cid) for cid, _ in c["chunks"])
        at = 0
        while at < len(stream):
            n = int.from_bytes(stream[at:at + 4], "little")
            batch.append(RawBSONDocument(stream[at:at + n])); size += n; at += n
            if size > 8 << 20:
                target[c["name"]].insert_many(batch, ordered=True); batch, size = [], 0
        if batch:
            target[c["name"]].insert_many(batch, ordered=True)
write_s = time.time() - t0
print(f"{read_s:.3f} {write_s:.3f}")
PY
)
engine_read_mbps=$(python3 -c "print(f'{$bytes/1048576/$engine_read_s:.1f}')")
engine_write_mbps=$(python3 -c "print(f'{$bytes/1048576/$engine_write_s:.1f}')")

cat <<REPORT

argon benchmark ($(nproc) cores, dataset ${data_mb} MB of BSON in 5 collections, capture: $capture)
  save:     ${save_s} s = ${save_mbps} MB/s; tar|zstd -1 of the same BSON: ${tar_mbps} MB/s; ratio $(ratio "$save_mbps" "$tar_mbps"); peak RSS ${save_rss} MiB
            the engine serving a plain client read of every collection: ${engine_read_mbps} MB/s; ratio $(ratio "$save_mbps" "$engine_read_mbps")
  restore:  ${restore_s} s = ${restore_mbps} MB/s (new branch from a version); peak RSS ${restore_rss} MiB
            the engine taking a plain client insert of the same documents (indexes first): ${engine_write_mbps} MB/s; ratio $(ratio "$restore_mbps" "$engine_write_mbps")
  export to a mongodump folder: ${export_s} s = $(python3 -c "print(f'{$bytes/1048576/$export_s:.1f}')") MB/s; the same .bson files read through argon mount: $(python3 -c "print(f'{$bytes/1048576/$mount_read_s:.1f}')") MB/s; ratio $(ratio "$mount_read_s" "$export_s")
  .jsonl render through argon mount: $(python3 -c "print(f'{$bytes/1048576/$jsonl_read_s:.1f}')") MB/s of BSON; ratio $(ratio "$mount_read_s" "$jsonl_read_s") against the mount's .bson read
  export to a mongodump archive: ${archive_s} s = $(python3 -c "print(f'{$bytes/1048576/$archive_s:.1f}')") MB/s (ratio $(ratio "$mount_read_s" "$archive_s") against the mount's read); with --gzip: $(python3 -c "print(f'{$bytes/1048576/$archive_gz_s:.1f}')") MB/s
  import into an empty store, from that archive: $(python3 -c "print(f'{$bytes/1048576/$import_archive_s:.1f}')") MB/s
            from the running engine: ${import_live_s} s = $(python3 -c "print(f'{$import_live_bytes/1048576/$import_live_s:.1f}')") MB/s, peak RSS ${import_live_rss} MiB ($import_live_consistency)
            against the engine serving a plain client read of every collection: ratio $(python3 -c "print(f'{($import_live_bytes/1048576/$import_live_s)/($bytes/1048576/$engine_read_s):.2f}')")
  incremental save (1% of one collection of five changed), median of 10:
            ${inc_time} s = $(ratio "$inc_time" "$save_s") of the full save's time; $(python3 -c "print(f'{$inc_bytes/1048576:.2f}')") MiB written = $(python3 -c "print(f'{$inc_bytes/$first_written:.3f}')") of the full save's bytes
  store after 1 full + 10 incremental saves: $(python3 -c "print(f'{$store_bytes/1048576:.1f}')") MiB = $(python3 -c "print(f'{$store_bytes/(10*$first_written):.3f}')") of 10 full saves ($(python3 -c "print(f'{$first_written/1048576:.1f}')") MiB each)
  diff of two versions (1% of one collection of five changed, at random): ${diff_s} s, peak RSS ${diff_rss} MiB
            the same diff reading both versions whole: ${whole_s} s, peak RSS ${whole_rss} MiB; ratio $(ratio "$diff_s" "$whole_s")
  diff of two versions, 1% of one collection changed together: ${clustered_s} s; reading both whole: ${clustered_whole_s} s; ratio $(ratio "$clustered_s" "$clustered_whole_s")
  diff of uncommitted changes (1% of one collection): ${live_s} s, peak RSS ${live_rss} MiB
            a save of the same state: ${live_save_s} s; ratio $(ratio "$live_s" "$live_save_s")
  checkout -b from the running branch (local volume copy + start): ${fastcopy_s} s unchanged since its last version; after one more write, to the stable URI answering: ${fastcopy_dirty_s} s (its save then finished in the background ${fastcopy_save_s} s later), ${fastcopy_sync_s} s with the save first (background_save = false)
  checkout to a warm branch (default settings), command start to the stable URI answering a ping: median ${warm_med} s over ${RUNS} (${warm_states})
            docker unpause of the same paused engine to a ping on its own port: median ${unpause_med} s; difference $(python3 -c "print(f'{$warm_med - $unpause_med:.3f}')") s
            after a write each time (the last switch's save still running): median ${warm_written_med} s; difference $(python3 -c "print(f'{$warm_written_med - $unpause_med:.3f}')") s
  checkout between two stashed branches ([serve] warm = 0), to a ping: median ${checkout_med} s over ${RUNS} (each after the previous switch's background save finished, as between two git checkouts)
            docker stop+start+ping of the same container: median ${docker_med} s; ratio $(ratio "$checkout_med" "$docker_med")
            docker start+ping alone: median ${start_only_s} s; difference $(python3 -c "print(f'{$checkout_med - $start_only_s:.3f}')") s
            back to back (each switch right after the last, its save still running): median ${back_to_back_med} s over ${RUNS}
  client workload (${PROXY_OPS:-100000} inserts + as many finds by _id, best of 2): through the proxy ${proxy_ops} ops/s, direct to the engine's published port ${direct_ops} ops/s (ratio $(ratio "$proxy_ops" "$direct_ops")), direct to its own address ${network_ops} ops/s (ratio $(ratio "$proxy_ops" "$network_ops")); the proxy's peak RSS ${proxy_rss_mib} MiB
REPORT
