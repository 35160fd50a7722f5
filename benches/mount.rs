//! Benchmark of `argon mount`: prints figures, each against a baseline measured
//! in the same run (these machines are noisy; absolute numbers mean little).
//!
//!   cargo bench --bench mount
//!   ARGON_BENCH_MOUNT_MB=256 ARGON_BENCH_VERSIONS=200 cargo bench --bench mount
//!
//! It writes a store directly with argon's own chunker and format (no engine
//! needed): one version holding a large collection (default 1 GB of BSON), and
//! many small versions (default 1,000 x 20 collections) for listing. Then it
//! mounts the store with the release `argon` and measures:
//! - `find MOUNT | wc -l` over every version, cold and warm;
//! - sequential reads of the large collection as `.bson` and `.jsonl`, against
//!   reading the same chunks straight from the store in this process (and
//!   rendering them to JSON lines for the `.jsonl` baseline);
//! - the mount process's peak RSS, against its memory-cache ceiling.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon::snapshot::{
    decode_chunk, CaptureMethod, ChunkRef, CollectionEntry, DatabaseEntry, Manifest,
    MANIFEST_FORMAT, NO_DOCUMENT_START,
};
use argon::store::chunker::{Chunker, DEFAULT_SIZES};
use argon::store::{Backend, ChunkId, Hash, LocalBackend, ObjectKey, VersionId};
use futures_util::stream::{self, StreamExt};
use mongodb::bson::{doc, Bson, DateTime, RawDocumentBuf};

const PROJECT: &str = "bench";
const CACHE_MEMORY: &str = "64M";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A deterministic, realistic-looking event document of about 400 bytes.
fn event(i: u64, rng: &mut u64) -> Vec<u8> {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let kinds = ["click", "view", "purchase", "signup", "search"];
    let d = doc! {
        "_id": i as i64,
        "kind": kinds[(next() % 5) as usize],
        "at": DateTime::from_millis(1_700_000_000_000 + (i as i64) * 997),
        "user": { "id": (next() % 100_000) as i64, "plan": if next() % 3 == 0 { "pro" } else { "free" },
                  "geo": { "country": format!("C{}", next() % 60), "city": format!("city-{}", next() % 5000) } },
        "items": (0..(next() % 4)).map(|k| Bson::Document(doc! { "sku": format!("SKU-{:06}", next() % 1_000_000), "qty": (k + 1) as i32, "price": (next() % 10_000) as f64 / 100.0 })).collect::<Vec<_>>(),
        "session": format!("{:016x}{:016x}", next(), next()),
        "note": "lorem ipsum dolor sit amet ".repeat((next() % 4) as usize),
    };
    let mut out = Vec::new();
    d.to_writer(&mut out).expect("serializing a document");
    out
}

fn put_chunk(rt: &tokio::runtime::Runtime, store: &LocalBackend, bytes: &[u8]) -> ChunkRef {
    let id = ChunkId(Hash::of(bytes));
    let compressed = zstd::bulk::compress(bytes, 3).expect("compressing");
    rt.block_on(store.put_bytes(ObjectKey::Chunk(id), compressed))
        .expect("writing a chunk");
    ChunkRef(id, bytes.len() as u32)
}

fn put_version(rt: &tokio::runtime::Runtime, store: &LocalBackend, m: &Manifest) -> VersionId {
    let bytes = m.to_bytes();
    let id = VersionId(Hash::of(&bytes));
    rt.block_on(store.put_bytes(ObjectKey::Version(id), bytes))
        .expect("writing a manifest");
    id
}

fn manifest(
    branch: &str,
    at: chrono::DateTime<chrono::Utc>,
    colls: Vec<CollectionEntry>,
) -> Manifest {
    Manifest {
        format: MANIFEST_FORMAT,
        project: PROJECT.into(),
        branch: branch.into(),
        parent: None,
        created_at: at,
        message: "bench".into(),
        capture: CaptureMethod::SnapshotRead,
        engine_version: None,
        databases: vec![DatabaseEntry {
            name: "shop".into(),
            collections: colls,
        }],
        written_bytes: 0,
    }
}

fn collection(name: &str, chunks: Vec<ChunkRef>, documents: u64) -> CollectionEntry {
    CollectionEntry {
        name: name.into(),
        kind: "collection".into(),
        options: serde_json::json!({}),
        indexes: vec![
            serde_json::json!({"v": {"$numberInt": "2"}, "key": {"_id": {"$numberInt": "1"}}, "name": "_id_"}),
        ],
        documents,
        bytes: chunks.iter().map(|c| u64::from(c.1)).sum(),
        chunks,
        doc_starts: Vec::new(),
    }
}

/// Reads a file front to back in 1 MiB reads; returns bytes read.
fn read_all(path: &Path) -> u64 {
    let mut f = std::fs::File::open(path).expect("opening a mounted file");
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = f.read(&mut buf).expect("reading a mounted file");
        if n == 0 {
            return total;
        }
        total += n as u64;
    }
}

/// VmRSS (now) or VmHWM (peak) of a process, in MiB.
fn rss_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / test discovery
    }
    let big_mb = env_num("ARGON_BENCH_MOUNT_MB", 1024);
    let versions = env_num("ARGON_BENCH_VERSIONS", 1000);
    let per_version = env_num("ARGON_BENCH_COLLECTIONS", 20);
    let work = tempfile::tempdir().expect("a temporary folder");
    let store_root = work.path().join("store");
    let store = LocalBackend::new(store_root.join(PROJECT));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");

    // 1. The large collection, chunked exactly as a save would.
    eprintln!("writing a {big_mb} MB collection ...");
    let started = Instant::now();
    let mut chunks = Vec::new();
    let mut chunker = Chunker::new(DEFAULT_SIZES);
    let (mut bytes, mut docs, mut rng) = (0u64, 0u64, 0x9e37_79b9_7f4a_7c15u64);
    let mut batch = Vec::with_capacity(1 << 20);
    let mut doc_offsets = Vec::new();
    while bytes < big_mb << 20 {
        let d = event(docs, &mut rng);
        doc_offsets.push(bytes);
        bytes += d.len() as u64;
        docs += 1;
        batch.extend_from_slice(&d);
        if batch.len() >= 1 << 20 {
            chunker
                .push::<()>(&batch, |c| {
                    chunks.push(put_chunk(&rt, &store, c));
                    Ok(())
                })
                .ok();
            batch.clear();
        }
    }
    chunker
        .push::<()>(&batch, |c| {
            chunks.push(put_chunk(&rt, &store, c));
            Ok(())
        })
        .ok();
    chunker
        .finish::<()>(|c| {
            chunks.push(put_chunk(&rt, &store, c));
            Ok(())
        })
        .ok();
    let now = chrono::Utc::now();
    // As a save records it: where the first document starting in each chunk starts.
    let mut starts = doc_offsets.iter().peekable();
    let mut chunk_start = 0u64;
    let doc_starts = chunks
        .iter()
        .map(|c| {
            let end = chunk_start + u64::from(c.1);
            let first = starts
                .next_if(|&&s| s < end)
                .map_or(NO_DOCUMENT_START, |&s| (s - chunk_start) as u32);
            while starts.next_if(|&&s| s < end).is_some() {}
            chunk_start = end;
            first
        })
        .collect();
    let mut events = collection("events", chunks.clone(), docs);
    events.doc_starts = doc_starts;
    // The same collection as versions saved before argon recorded that.
    let old_events = CollectionEntry {
        name: "old_events".into(),
        doc_starts: Vec::new(),
        ..events.clone()
    };
    let big = manifest("big", now, vec![events, old_events]);
    let big_id = put_version(&rt, &store, &big);
    eprintln!(
        "  {} chunks in {:.1} s",
        chunks.len(),
        started.elapsed().as_secs_f64()
    );

    // 2. Many small versions: 10 branches, collections of a few shared chunks.
    eprintln!("writing {versions} versions x {per_version} collections ...");
    let mut rng2 = 42u64;
    let small_pool: Vec<ChunkRef> = (0..64)
        .map(|k| {
            let mut b = Vec::new();
            for j in 0..20 {
                b.extend(event(k * 100 + j, &mut rng2));
            }
            put_chunk(&rt, &store, &b)
        })
        .collect();
    for v in 0..versions {
        let colls = (0..per_version)
            .map(|c| {
                let pick = ((v + c) % 64) as usize;
                collection(&format!("c{c:02}"), vec![small_pool[pick]], 20)
            })
            .collect();
        let at = now - chrono::Duration::seconds((versions - v) as i64 * 60);
        put_version(&rt, &store, &manifest(&format!("b{}", v % 10), at, colls));
    }

    // 3. Mount it with the release binary.
    let app = work.path().join("app");
    std::fs::create_dir_all(&app).expect("app folder");
    let argon = env!("CARGO_BIN_EXE_argon");
    let home = work.path().join("home");
    let run = |args: &[&str]| {
        Command::new(argon)
            .args(args)
            .current_dir(&app)
            .env("ARGON_HOME", &home)
            .output()
            .expect("running argon")
    };
    let init = run(&[
        "init",
        "--name",
        PROJECT,
        "--store",
        &format!("file://{}", store_root.display()),
    ]);
    assert!(
        init.status.success(),
        "init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mnt = work.path().join("mnt");
    std::fs::create_dir_all(&mnt).expect("mount point");
    let out_file = work.path().join("mount.out");
    let mut child = Command::new(argon)
        .args([
            "mount",
            mnt.to_str().unwrap(),
            "--cache-memory",
            CACHE_MEMORY,
        ])
        .current_dir(&app)
        .env("ARGON_HOME", &home)
        .stdout(std::fs::File::create(&out_file).expect("log"))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("argon mount");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(&out_file)
        .unwrap_or_default()
        .contains("mounted")
    {
        assert!(Instant::now() < deadline, "mount did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mount_ready = started.elapsed();

    // 4. Listing.
    let find = |dir: &Path, label: &str| {
        let t = Instant::now();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("find {} | wc -l", dir.display()))
            .output()
            .expect("find");
        let secs = t.elapsed().as_secs_f64();
        let n: u64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        println!(
            "listing ({label}): find | wc -l = {n} entries in {secs:.2} s ({:.0} entries/s)",
            n as f64 / secs
        );
        secs
    };
    let cold = find(&mnt, "mount, cold");
    let warm = find(&mnt, "mount, warm");
    // Baseline: the same tree as empty files in an ordinary folder.
    let tree = work.path().join("tree");
    std::fs::create_dir_all(&tree).expect("tree folder");
    let copied = Command::new("cp")
        .args(["-r", "--attributes-only"])
        .arg(mnt.join("."))
        .arg(&tree)
        .status()
        .expect("cp");
    assert!(copied.success(), "copying the tree's shape");
    let plain = find(&tree, "ordinary folder of the same shape");
    println!(
        "  mount cold / warm take {:.1}x / {:.1}x the time of the ordinary folder",
        cold / plain,
        warm / plain
    );
    let rss_idle = rss_mib(child.id(), "VmRSS:");

    // 5. Sequential reads of the large collection.
    let vdir = mnt.join("versions").join(big_id.to_string()).join("shop");
    let mb = bytes as f64 / 1_048_576.0;
    let t = Instant::now();
    let n = read_all(&vdir.join("events.bson"));
    assert_eq!(n, bytes, ".bson has the stream's size");
    let bson_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let json_bytes = read_all(&vdir.join("events.jsonl"));
    let jsonl_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let old_json_bytes = read_all(&vdir.join("old_events.jsonl"));
    let old_jsonl_s = t.elapsed().as_secs_f64();
    assert_eq!(
        old_json_bytes, json_bytes,
        "both renders of the stream agree"
    );
    let rss = rss_mib(child.id(), "VmHWM:");

    // Baselines: the same chunks read straight from the store, in this process,
    // with the same parallelism the mount uses (8 in flight).
    let store = Arc::new(store);
    let t = Instant::now();
    let direct: u64 = rt.block_on(async {
        stream::iter(chunks.iter().copied().map(|c| {
            let store = store.clone();
            async move {
                let z = store.get_bytes(ObjectKey::Chunk(c.0)).await.expect("chunk");
                tokio::task::spawn_blocking(move || {
                    decode_chunk(&z, c).expect("valid").len() as u64
                })
                .await
                .expect("join")
            }
        }))
        .buffered(8)
        .fold(0u64, |a, b| async move { a + b })
        .await
    });
    assert_eq!(direct, bytes);
    let direct_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let rendered: u64 = rt.block_on(async {
        let mut carry: Vec<u8> = Vec::new();
        let mut total = 0u64;
        let mut out = Vec::with_capacity(4 << 20);
        let mut fetched = stream::iter(chunks.iter().copied().map(|c| {
            let store = store.clone();
            async move {
                let z = store.get_bytes(ObjectKey::Chunk(c.0)).await.expect("chunk");
                decode_chunk(&z, c).expect("valid")
            }
        }))
        .buffered(8);
        while let Some(raw) = fetched.next().await {
            carry.extend_from_slice(&raw);
            let mut at = 0;
            while carry.len() - at >= 4 {
                let n = i32::from_le_bytes(carry[at..at + 4].try_into().unwrap()) as usize;
                if carry.len() - at < n {
                    break;
                }
                let d = RawDocumentBuf::from_bytes(carry[at..at + n].to_vec())
                    .unwrap()
                    .to_document()
                    .unwrap();
                serde_json::to_writer(&mut out, &Bson::Document(d).into_relaxed_extjson()).unwrap();
                out.push(b'\n');
                at += n;
            }
            carry.drain(..at);
            total += out.len() as u64;
            out.clear();
        }
        total
    });
    let render_s = t.elapsed().as_secs_f64();
    assert_eq!(
        rendered, json_bytes,
        ".jsonl is the rendering of every document"
    );

    println!(
        "sequential read of a {mb:.0} MB collection ({} chunks):",
        chunks.len()
    );
    println!(
        "  .bson  through the mount: {:.1} MB/s; direct chunk reads: {:.1} MB/s; ratio {:.2}",
        mb / bson_s,
        mb / direct_s,
        direct_s / bson_s
    );
    println!(
        "  .jsonl through the mount: {:.1} MB/s of BSON ({:.0} MB of JSON); direct read + render: {:.1} MB/s; ratio {:.2}",
        mb / jsonl_s,
        json_bytes as f64 / 1_048_576.0,
        mb / render_s,
        render_s / jsonl_s
    );
    println!(
        "  .jsonl of a version saved without document starts (rendered in order): {:.1} MB/s; ratio {:.2} against direct read + render",
        mb / old_jsonl_s,
        render_s / old_jsonl_s
    );
    println!(
        "peak RSS of the mount process: {rss:.0} MiB after reading {mb:.0} MB three times ({:.1}% of it); {rss_idle:.0} MiB after mounting and listing; memory cache ceiling {CACHE_MEMORY}",
        rss / (mb * 3.0) * 100.0
    );
    println!(
        "(listing: {versions} versions x {per_version} collections; {:.1} s to write the store)",
        mount_ready.as_secs_f64()
    );

    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}
