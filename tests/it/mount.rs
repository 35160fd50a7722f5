//! `argon mount`: saved versions as read-only files through a real FUSE mount,
//! over both store backends.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mongodb::bson::{doc, Bson, RawDocumentBuf};

use crate::harness::{is_mount_point, required_env, seed, stored_chunks, Backend, Project};

fn ls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("ls {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Documents as mongoexport would print them: relaxed extended JSON, one per
/// line (compared as text: parsing JSON numbers back can round them).
fn relaxed(raw_docs: &[Vec<u8>]) -> Vec<String> {
    raw_docs
        .iter()
        .map(|b| {
            let d = RawDocumentBuf::from_bytes(b.clone())
                .unwrap()
                .to_document()
                .unwrap();
            serde_json::to_string(&Bson::Document(d).into_relaxed_extjson()).unwrap()
        })
        .collect()
}

fn jsonl(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("each line is JSON");
            l.to_string()
        })
        .collect()
}

/// Same documents in the same order; on a mismatch, shows the first difference only.
fn assert_same_docs(got: &[String], want: &[String], what: &str) {
    let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
    if let Some(i) = first_diff {
        panic!(
            "{what}: document {i} differs:\n got  {}\n want {}",
            got[i], want[i]
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: number of documents");
}

fn sh(cmd: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(cmd).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn version_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("VERSION.json")).unwrap()).unwrap()
}

fn mount_dir(p: &Project) -> PathBuf {
    p.dir.parent().unwrap().join("mnt")
}

#[test]
fn mount_shows_every_version_as_files_standard_tools_read() {
    let p = Project::new("mount-files", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    seed(&m, "v1");
    p.ok(&["commit", "-m", "first"]);
    let v1 = p.version_of("main");
    p.ok(&["tag", "release", &v1]);
    m.insert("app", "orders", vec![doc! { "_id": 1000, "total": 2.5 }]);
    p.ok(&["commit", "-m", "second"]);
    let v2 = p.version_of("main");
    let v2_orders = m.raw_docs("app", "orders");

    let mnt = mount_dir(&p);
    let mount = p.mount(&mnt, &[]);

    // Every level of the layout.
    assert_eq!(ls(&mnt), ["branches", "tags", "versions"]);
    assert_eq!(ls(&mnt.join("branches")), ["main"]);
    let main = ls(&mnt.join("branches/main"));
    assert_eq!(main.len(), 3, "two versions and latest: {main:?}");
    assert_eq!(main[2], "latest");
    let latest = std::fs::read_link(mnt.join("branches/main/latest")).unwrap();
    assert_eq!(latest, Path::new(&main[1]), "latest points at the newest");
    assert_eq!(version_json(&mnt.join("branches/main/latest"))["id"], v2);
    assert_eq!(
        version_json(&mnt.join("branches/main").join(&main[0]))["id"],
        v1
    );
    let mut ids = vec![v1.clone(), v2.clone()];
    ids.sort();
    assert_eq!(ls(&mnt.join("versions")), ids);
    assert_eq!(ls(&mnt.join("tags")), ["release"]);
    let tagged = mnt.join("tags/release");
    assert_eq!(ls(&tagged), ["VERSION.json", "analytics", "app"]);
    assert_eq!(
        ls(&tagged.join("app")),
        [
            "adults.metadata.json", // a view: metadata only, as mongodump writes it
            "events.bson",
            "events.jsonl",
            "events.metadata.json",
            "orders.bson",
            "orders.jsonl",
            "orders.metadata.json",
            "users.bson",
            "users.jsonl",
            "users.metadata.json",
        ]
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tagged.join("app/users.metadata.json")).unwrap())
            .unwrap();
    assert_eq!(meta["collectionName"], "users");
    let index_names: BTreeSet<&str> = meta["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(index_names, BTreeSet::from(["_id_", "email_1", "city_age"]));

    // The tagged version, restored through argon, read through the driver.
    p.ok(&["checkout", "-b", "restored", &v1]);
    let restored = p.mongo();
    let users = restored.raw_docs("app", "users");
    let bson = std::fs::read(tagged.join("app/users.bson")).unwrap();
    assert!(bson == users.concat(), ".bson is the exact document stream");
    assert_eq!(
        std::fs::metadata(tagged.join("app/users.bson"))
            .unwrap()
            .len(),
        bson.len() as u64
    );
    assert_same_docs(
        &jsonl(&tagged.join("app/users.jsonl")),
        &relaxed(&users),
        "users.jsonl",
    );
    let v2_dir = mnt.join("versions").join(&v2);
    assert_same_docs(
        &jsonl(&v2_dir.join("app/orders.jsonl")),
        &relaxed(&v2_orders),
        "orders.jsonl",
    );

    // Ordinary tools, though .jsonl sizes are not known up front.
    let events = tagged.join("app/events.jsonl");
    assert_eq!(
        sh(
            "grep",
            &["-c", "\"kind\":\"click\"", events.to_str().unwrap()]
        )
        .1
        .trim(),
        "50"
    );
    assert_eq!(
        sh(
            "wc",
            &["-l", tagged.join("app/users.jsonl").to_str().unwrap()]
        )
        .1
        .split_whitespace()
        .next(),
        Some("500")
    );
    let copy = p.dir.parent().unwrap().join("users-copy.jsonl");
    assert_eq!(
        sh(
            "cp",
            &[
                tagged.join("app/users.jsonl").to_str().unwrap(),
                copy.to_str().unwrap()
            ]
        )
        .0,
        0
    );
    assert_same_docs(&jsonl(&copy), &relaxed(&users), "cp of users.jsonl");
    let (_, cat) = sh("cat", &[v2_dir.join("app/orders.jsonl").to_str().unwrap()]);
    assert_eq!(cat.lines().count(), v2_orders.len());

    // diff between two versions shows exactly the changed collection.
    let v1_dir = mnt.join("versions").join(&v1);
    let (code, out) = sh(
        "diff",
        &["-rq", v1_dir.to_str().unwrap(), v2_dir.to_str().unwrap()],
    );
    assert_eq!(code, 1, "the versions differ");
    let changed: BTreeSet<String> = out
        .lines()
        .map(|l| {
            let a = l.split(' ').nth(1).unwrap();
            a.strip_prefix(v1_dir.to_str().unwrap())
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        changed,
        BTreeSet::from([
            "/VERSION.json".to_string(),
            "/app/orders.bson".to_string(),
            "/app/orders.jsonl".to_string()
        ])
    );

    // Read-only: every kind of write is refused with EROFS.
    let erofs = |r: std::io::Result<()>| r.unwrap_err().raw_os_error();
    assert_eq!(
        erofs(std::fs::write(v1_dir.join("new.txt"), b"x")),
        Some(30)
    );
    assert_eq!(
        erofs(
            std::fs::OpenOptions::new()
                .append(true)
                .open(v1_dir.join("app/users.bson"))
                .map(drop)
        ),
        Some(30)
    );
    assert_eq!(erofs(std::fs::create_dir(mnt.join("versions/x"))), Some(30));
    assert_eq!(
        erofs(std::fs::remove_file(v1_dir.join("VERSION.json"))),
        Some(30)
    );

    // A version saved while mounted appears without remounting.
    p.ok(&["checkout", "main"]);
    p.mongo()
        .insert("app", "orders", vec![doc! { "_id": 1001, "total": 3.5 }]);
    p.ok(&["commit", "-m", "third"]);
    let v3 = p.version_of("main");
    let deadline = Instant::now() + Duration::from_secs(20);
    while version_json(&mnt.join("branches/main/latest"))["id"] != v3 {
        assert!(
            Instant::now() < deadline,
            "v3 never appeared: {}",
            mount.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(ls(&mnt.join("versions")).contains(&v3));
}

#[test]
fn mount_reads_an_s3_store_and_refuses_corrupt_chunks() {
    let p = Project::new("mount-s3", Backend::S3);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    seed(&m, "s3");
    p.ok(&["commit", "-m", "first"]);
    let v1 = p.version_of("main");
    let users = m.raw_docs("app", "users");

    let mnt = mount_dir(&p);
    let cache = p.dir.parent().unwrap().join("chunk-cache");
    let mount = p.mount(
        &mnt,
        &[
            "--cache-memory",
            "1M",
            "--cache-dir",
            cache.to_str().unwrap(),
            "--cache-size",
            "64K",
        ],
    );
    assert_eq!(ls(&mnt), ["branches", "tags", "versions"]);
    assert_eq!(ls(&mnt.join("versions")), vec![v1.clone()]);
    let v = mnt.join("versions").join(&v1);
    assert_eq!(ls(&v), ["VERSION.json", "analytics", "app"]);
    assert_eq!(
        ls(&v.join("analytics")),
        ["daily.bson", "daily.jsonl", "daily.metadata.json"]
    );
    assert!(std::fs::read(v.join("app/users.bson")).unwrap() == users.concat());
    assert_same_docs(
        &jsonl(&v.join("app/users.jsonl")),
        &relaxed(&users),
        "users.jsonl",
    );
    // The disk cache keeps compressed chunks, within its ceiling.
    let cached: Vec<u64> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .collect();
    assert!(!cached.is_empty(), "chunks were cached on disk");
    assert!(cached.iter().sum::<u64>() <= 64 * 1024, "{cached:?}");

    // Damage every stored chunk: a read not served from memory must fail
    // with EIO (never wrong bytes) and the log must name the chunk.
    let bucket_dir = PathBuf::from(required_env("ARGON_TEST_S3_DIR"));
    let chunks: Vec<_> = stored_chunks(&bucket_dir)
        .into_iter()
        .filter(|c| c.file.to_str().unwrap().contains(&p.name))
        .collect();
    assert!(!chunks.is_empty());
    for c in &chunks {
        c.damage();
    }
    let err = std::fs::read(v.join("app/orders.bson")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO, not data: {err}");
    let err = std::fs::read(v.join("app/orders.jsonl")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), ".jsonl too: {err}");
    let log = mount.log_text();
    let named = chunks
        .iter()
        .any(|c| log.contains(&format!("chunk {} is corrupt", c.id)));
    assert!(named, "the log names the corrupt chunk: {log}");
    assert!(log.contains("app.orders"), "and what was being read: {log}");
}

#[test]
fn mount_unmounts_cleanly_and_recovers_from_a_killed_process() {
    let p = Project::new("mount-life", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "things", vec![doc! { "_id": 1 }]);
    p.ok(&["commit", "-m", "one"]);
    let mnt = mount_dir(&p);

    // Bad mount points: clear one-line errors, exit 2.
    let missing = p.run(&["mount", p.dir.join("nope").to_str().unwrap()]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("hint: create it first"),
        "{}",
        missing.stderr
    );
    let not_empty = p.run(&["mount", p.dir.to_str().unwrap()]);
    assert_eq!(not_empty.code, 2, "{}", not_empty.stderr);
    assert!(
        not_empty.stderr.contains("is not empty"),
        "{}",
        not_empty.stderr
    );
    let not_mounted = p.run(&["umount", p.dir.to_str().unwrap()]);
    assert_eq!(not_mounted.code, 2, "{}", not_mounted.stderr);

    // Ctrl-C / SIGTERM: unmounted, exit 0, the folder is empty again.
    for sig in ["-INT", "-TERM"] {
        let mut mount = p.mount(&mnt, &[]);
        assert!(is_mount_point(&mnt));
        assert_eq!(mount.signal(sig), Some(0), "{}", mount.log_text());
        assert!(!is_mount_point(&mnt), "still mounted after {sig}");
        assert!(ls(&mnt).is_empty());
    }

    // argon umount from another shell: the mount process ends by itself.
    let mut mount = p.mount(&mnt, &[]);
    p.ok(&["umount", mnt.to_str().unwrap()]);
    let mut child = mount.child.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "mount process did not exit");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{}", mount.log_text());
    assert!(!is_mount_point(&mnt));

    // Killed outright: the mount is left dead; argon umount clears it ...
    let mut mount = p.mount(&mnt, &[]);
    assert_eq!(mount.signal("-KILL"), None);
    assert!(is_mount_point(&mnt), "a killed process leaves its mount");
    p.ok(&["umount", mnt.to_str().unwrap()]);
    assert!(!is_mount_point(&mnt));
    // ... and a new mount over a dead one recovers it by itself.
    let mut mount = p.mount(&mnt, &[]);
    assert_eq!(mount.signal("-KILL"), None);
    let mut again = p.mount(&mnt, &[]);
    assert!(
        again.log_text().contains("was left mounted"),
        "{}",
        again.log_text()
    );
    assert_eq!(ls(&mnt.join("branches")), ["main"]);
    assert_eq!(again.signal("-TERM"), Some(0));
    assert!(!is_mount_point(&mnt));
}
