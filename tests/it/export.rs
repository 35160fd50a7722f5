//! `argon export` and `argon import`: versions out as mongodump folders and
//! archives, byte for byte the documents the engine held, and branches in
//! from a live engine, a folder, an archive or fixtures; refused onto a
//! target in use or from damaged input, and never left half-made.

use mongodb::bson::doc;

use crate::harness::{stored_chunks, Backend, Project};

fn setup(p: &Project) -> String {
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    m.insert(
        "app",
        "users",
        (0..500)
            .map(|i| doc! { "_id": i, "name": format!("u{i}"), "pad": "p".repeat(300) })
            .collect(),
    );
    m.insert(
        "app",
        "orders",
        (0..20).map(|i| doc! { "_id": i, "total": i }).collect(),
    );
    m.insert("other", "things", vec![doc! { "_id": "a" }]);
    m.command("app", doc! { "createIndexes": "users", "indexes": [ { "key": { "name": 1 }, "name": "name_1", "unique": true } ] });
    m.command(
        "app",
        doc! { "create": "big", "viewOn": "users", "pipeline": [] },
    );
    p.commit("exported")
}

#[test]
fn a_version_exports_as_a_mongodump_folder() {
    let p = Project::new("export", Backend::File);
    let v = setup(&p);
    let out = p.dir.join("dump");
    let report = p.json(&["export", &v, out.to_str().unwrap()]);
    assert_eq!(report["collections"], 4, "{report}");
    assert_eq!(report["documents"], 521, "{report}");

    // The .bson files are the engine's documents, in its order, byte for byte.
    let m = p.mongo();
    for (db, coll) in [("app", "users"), ("app", "orders"), ("other", "things")] {
        let file = std::fs::read(out.join(db).join(format!("{coll}.bson"))).unwrap();
        assert_eq!(file, m.raw_docs(db, coll).concat(), "{db}.{coll}");
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("app/users.metadata.json")).unwrap())
            .unwrap();
    assert_eq!(meta["collectionName"], "users");
    assert!(
        meta["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ix| ix["name"] == "name_1" && ix["unique"] == true),
        "{meta}"
    );
    // A view is its metadata only, as mongodump writes it.
    assert!(out.join("app/big.metadata.json").exists());
    assert!(!out.join("app/big.bson").exists());

    // --ns limits it; a namespace the version lacks is refused.
    let some = p.dir.join("some");
    p.ok(&[
        "export",
        "main",
        some.to_str().unwrap(),
        "--ns",
        "app.orders",
        "--ns",
        "other",
    ]);
    let mut files: Vec<String> = walk(&some);
    files.sort();
    assert_eq!(
        files,
        [
            "app/orders.bson",
            "app/orders.metadata.json",
            "other/things.bson",
            "other/things.metadata.json"
        ]
    );
    let r = p.run(&[
        "export",
        "main",
        p.dir.join("x").to_str().unwrap(),
        "--ns",
        "app.nope",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: namespace 'app.nope' is not in version"),
        "{}",
        r.stderr
    );
    assert!(!p.dir.join("x").exists());

    // A folder with something in it is never written into.
    let r = p.run(&["export", "main", some.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not empty") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_failed_export_leaves_nothing_behind() {
    let p = Project::new("export-damaged", Backend::File);
    let store = p.dir.parent().unwrap().join("store");
    let v = setup(&p);
    for chunk in stored_chunks(&store) {
        chunk.overwrite();
    }
    let out = p.dir.join("dump");
    let r = p.run(&["export", &v, out.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(!out.exists(), "no half-made export");
    let leftovers: Vec<_> = std::fs::read_dir(&p.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".argon-export-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for db in std::fs::read_dir(dir).unwrap() {
        let db = db.unwrap();
        for f in std::fs::read_dir(db.path()).unwrap() {
            out.push(format!(
                "{}/{}",
                db.file_name().to_string_lossy(),
                f.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    out
}

#[test]
fn an_export_imports_back_as_the_same_data() {
    let p = Project::new("import", Backend::File);
    setup(&p);
    let m = p.mongo();
    let before: Vec<(String, String, Vec<Vec<u8>>)> =
        [("app", "users"), ("app", "orders"), ("other", "things")]
            .iter()
            .map(|(db, c)| (db.to_string(), c.to_string(), m.raw_docs(db, c)))
            .collect();
    let users_indexes = m.indexes("app", "users");
    let dump = p.dir.join("dump");
    p.ok(&["export", "main", dump.to_str().unwrap()]);
    // gzip one stream, as mongodump --gzip does.
    assert!(std::process::Command::new("gzip")
        .arg(dump.join("other/things.bson"))
        .status()
        .unwrap()
        .success());

    let report = p.json(&["import", dump.to_str().unwrap(), "--branch", "imported"]);
    assert_eq!(report["documents"], 521, "{report}");
    p.ok(&["checkout", "imported"]);
    let m = p.mongo();
    for (db, c, docs) in &before {
        assert_eq!(&m.raw_docs(db, c), docs, "{db}.{c} byte for byte");
    }
    assert_eq!(m.indexes("app", "users"), users_indexes);
    let views: Vec<String> = m
        .collections("app")
        .iter()
        .filter(|c| c.get_str("type") == Ok("view"))
        .map(|c| c.get_str("name").unwrap().to_string())
        .collect();
    assert_eq!(views, ["big"]);
    // The imported branch's first version is the same data: no difference.
    let r = p.run(&["diff", "--no-pager", "--exit-code", "main", "imported"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // --ns and --exclude choose namespaces.
    let r = p.json(&[
        "import",
        dump.to_str().unwrap(),
        "-b",
        "only-app",
        "--ns",
        "app",
        "--exclude",
        "app.orders",
    ]);
    assert_eq!(r["collections"], 2, "{r}");
}

#[test]
fn bad_dumps_are_refused_and_leave_no_branch() {
    let p = Project::new("import-bad", Backend::File);
    setup(&p);
    let dump = p.dir.join("dump");
    p.ok(&["export", "main", dump.to_str().unwrap()]);
    let branches = || p.ok(&["branch"]);
    let before = branches();

    // Not a dump.
    let empty = p.dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = p.run(&["import", empty.to_str().unwrap(), "-b", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: ") && r.stderr.contains("is not a mongodump folder"),
        "{}",
        r.stderr
    );
    // A truncated stream.
    let users = dump.join("app/users.bson");
    let bytes = std::fs::read(&users).unwrap();
    std::fs::write(&users, &bytes[..bytes.len() - 100]).unwrap();
    let r = p.run(&["import", dump.to_str().unwrap(), "-b", "y"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("truncated") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    // A name that breaks git's rules, or a branch that exists.
    assert_eq!(
        p.run(&["import", dump.to_str().unwrap(), "-b", "bad..name"])
            .code,
        2
    );
    assert_eq!(
        p.run(&["import", dump.to_str().unwrap(), "-b", "main"])
            .code,
        2
    );
    assert_eq!(branches(), before, "no half-made branch");
}

#[test]
fn a_live_engine_imports_as_a_branch_without_showing_its_password() {
    let source = Project::new("import-source", Backend::File);
    setup(&source);
    let uri = source.ok(&["uri"]).trim().to_string();
    let p = Project::new("import-live", Backend::File);
    let report = p.json(&["import", &uri, "-b", "copy", "--exclude", "other"]);
    assert_eq!(report["collections"], 3, "{report}");
    assert_eq!(report["documents"], 520, "{report}");
    p.ok(&["checkout", "copy"]);
    let (from, to) = (source.mongo(), p.mongo());
    for (db, coll) in [("app", "users"), ("app", "orders")] {
        assert_eq!(
            to.raw_docs(db, coll),
            from.raw_docs(db, coll),
            "{db}.{coll}"
        );
    }
    assert_eq!(to.indexes("app", "users"), from.indexes("app", "users"));
    assert!(!to.databases().contains(&"other".to_string()));

    // A server that does not answer, with a password in its URI: one line,
    // a hint, no password, no branch.
    let r = p.run(&[
        "import",
        "mongodb://someone:hunter2@127.0.0.1:9/?serverSelectionTimeoutMS=300",
        "-b",
        "never",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: cannot import from mongodb://someone:****@127.0.0.1:9/"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint:") && !r.stderr.contains("hunter2"),
        "{}",
        r.stderr
    );
    assert!(!p.ok(&["branch"]).contains("never"));
}

/// What a user would compare after a round trip: every document byte for
/// byte, the indexes, and the collections with their options (the view too).
fn data_of(m: &crate::harness::Mongo) -> Vec<String> {
    let mut out = Vec::new();
    for (db, coll) in [("app", "users"), ("app", "orders"), ("other", "things")] {
        out.push(format!("{db}.{coll}: {:?}", m.raw_docs(db, coll)));
    }
    out.push(format!("indexes: {:?}", m.indexes("app", "users")));
    for db in ["app", "other"] {
        out.push(format!("{db}: {:?}", m.collections(db)));
    }
    out
}

#[test]
fn live_engine_folder_and_archives_round_trip_to_the_same_data() {
    let source = Project::new("roundtrip-source", Backend::File);
    setup(&source);
    let want = data_of(&source.mongo());
    let uri = source.ok(&["uri"]).trim().to_string();
    let p = Project::new("roundtrip", Backend::File);
    let path = |name: &str| p.dir.join(name).to_str().unwrap().to_string();

    // live engine -> import -> export folder -> import -> export archive
    // (gzip) -> import -> export archive -> import again.
    p.json(&["import", &uri, "-b", "live"]);
    p.ok(&["export", "live", &path("folder")]);
    p.json(&["import", &path("folder"), "-b", "from-folder"]);
    let gz = p.json(&[
        "export",
        "from-folder",
        "--archive",
        &path("a.gz"),
        "--gzip",
    ]);
    assert_eq!(gz["collections"], 4, "{gz}");
    let bytes = std::fs::read(path("a.gz")).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip-compressed");
    let r = p.json(&[
        "import",
        "--archive",
        &path("a.gz"),
        "--gzip",
        "-b",
        "from-gz",
    ]);
    assert_eq!(
        (r["collections"].clone(), r["documents"].clone()),
        (4.into(), 521.into()),
        "{r}"
    );
    p.ok(&["export", "from-gz", "--archive", &path("a.archive")]);
    let bytes = std::fs::read(path("a.archive")).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0x6d, 0xe2, 0x99, 0x81],
        "mongodump's magic number"
    );
    p.json(&["import", &path("a.archive"), "-b", "from-archive"]);

    for branch in ["live", "from-folder", "from-gz", "from-archive"] {
        p.ok(&["checkout", branch]);
        assert_eq!(data_of(&p.mongo()), want, "{branch}");
    }
    let r = p.run(&["diff", "--no-pager", "--exit-code", "live", "from-archive"]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    // An archive that exists is never written over.
    let r = p.run(&["export", "live", "--archive", &path("a.archive")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read(path("a.archive")).unwrap(), bytes);
}

#[test]
fn damaged_archives_are_refused_and_leave_no_branch() {
    let p = Project::new("archive-bad", Backend::File);
    setup(&p);
    let archive = p.dir.join("a.archive");
    p.ok(&["export", "main", "--archive", archive.to_str().unwrap()]);
    let bytes = std::fs::read(&archive).unwrap();
    let before = p.ok(&["branch"]);
    let bad = p.dir.join("bad.archive");
    let refused = |content: &[u8], what: &str| {
        std::fs::write(&bad, content).unwrap();
        let r = p.run(&["import", bad.to_str().unwrap(), "-b", "x"]);
        assert_eq!(r.code, 1, "{what}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("error: ")
                && r.stderr.contains(what)
                && r.stderr.contains("hint:"),
            "{what}: {}",
            r.stderr
        );
    };
    refused(&bytes[..bytes.len() / 2], "truncated");
    refused(&bytes[..bytes.len() - 4], "truncated");
    // One byte of a document changed: the namespace's CRC-64 says so.
    let mut flipped = bytes.clone();
    let at = flipped.windows(3).rposition(|w| w == b"ppp").unwrap();
    flipped[at] = b'q';
    refused(&flipped, "do not match their checksum");
    // Not an archive at all.
    std::fs::write(&bad, b"hello").unwrap();
    let r = p.run(&["import", "--archive", bad.to_str().unwrap(), "-b", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("is not a mongodump folder or archive"),
        "{}",
        r.stderr
    );
    assert_eq!(p.ok(&["branch"]), before, "no half-made branch");
}

/// A TCP relay that cuts every connection once, after `cut_after` bytes have
/// gone from the server to the client; later connections pass untouched.
struct CuttingRelay {
    port: u16,
    cuts: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// Bytes relayed from the server, before and after the cut.
    relayed: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl CuttingRelay {
    fn start(upstream: u16, cut_after: u64) -> CuttingRelay {
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cuts = Arc::new(AtomicU32::new(0));
        let relayed = Arc::new(AtomicU64::new(0));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (cuts_in, relayed_out) = (cuts.clone(), relayed.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                open.lock().unwrap().push(client.try_clone().unwrap());
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut &c2, &mut &s2);
                    let _ = s2.shutdown(Shutdown::Both);
                });
                let (relayed, open, cuts) = (relayed.clone(), open.clone(), cuts_in.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match std::io::Read::read(&mut &server, &mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if std::io::Write::write_all(&mut &client, &buf[..n]).is_err() {
                            break;
                        }
                        let before = relayed.fetch_add(n as u64, Ordering::SeqCst);
                        if before < cut_after && before + n as u64 >= cut_after {
                            // The network fault: every connection open now dies.
                            cuts.fetch_add(1, Ordering::SeqCst);
                            for s in open.lock().unwrap().drain(..) {
                                let _ = s.shutdown(Shutdown::Both);
                            }
                            break;
                        }
                    }
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.shutdown(Shutdown::Both);
                });
            }
        });
        CuttingRelay {
            port,
            cuts,
            relayed: relayed_out,
        }
    }
}

/// Imports 20,000 documents through a relay that cuts the connection once
/// part way; the import resumes and the branch holds every document.
/// Returns the import's consistency.
fn import_through_a_cut(name: &str, standalone: bool) -> String {
    let source = Project::with_engine(&format!("{name}-source"), Backend::File, standalone);
    source.ok(&["checkout", "-b", "main"]);
    let m = source.mongo();
    for part in 0..4 {
        m.insert(
            "app",
            "events",
            (0..5_000)
                .map(|i| doc! { "_id": part * 5_000 + i, "pad": "e".repeat(400) })
                .collect(),
        );
    }
    let port: u16 = source
        .ok(&["uri"])
        .trim()
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // About 10 MB of documents; the connection dies 3 MB in.
    let relay = CuttingRelay::start(port, 3 << 20);
    let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", relay.port);
    let p = Project::new(name, Backend::File);
    let r = p.json(&["import", &uri, "-b", "copy"]);
    assert_eq!(
        relay.cuts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the relay cut"
    );
    assert!(r["resumed"].as_u64().unwrap_or(0) >= 1, "{r}");
    assert_eq!(r["documents"], 20_000, "{r}");
    p.ok(&["checkout", "copy"]);
    assert_eq!(
        p.mongo().raw_docs("app", "events"),
        m.raw_docs("app", "events")
    );
    // Through a snapshot session the read goes on where it stopped: about
    // the data once, plus what was in flight. Without one the cut
    // collection is read again: the 3 MB before the cut come twice.
    let data: usize = m.raw_docs("app", "events").iter().map(Vec::len).sum();
    let relayed = relay.relayed.load(std::sync::atomic::Ordering::SeqCst) as usize;
    let consistency = r["consistency"].as_str().unwrap().to_string();
    match consistency.as_str() {
        "snapshot-read" => assert!(relayed < data + (2 << 20), "{relayed} for {data}"),
        _ => assert!(relayed > data + (3 << 20), "{relayed} for {data}"),
    }
    consistency
}

#[test]
fn a_snapshot_read_cut_by_a_network_fault_resumes_where_it_stopped() {
    assert_eq!(import_through_a_cut("import-cut", false), "snapshot-read");
}

#[test]
fn a_plain_read_cut_by_a_network_fault_reads_the_collection_again() {
    assert_eq!(import_through_a_cut("import-cut-plain", true), "plain");
}

#[test]
fn seed_and_import_read_folders_and_archives_alike() {
    let p = Project::new("seed-import", Backend::File);
    setup(&p);
    let archive = p.dir.join("a.archive");
    p.ok(&["export", "main", "--archive", archive.to_str().unwrap()]);
    let want = data_of(&p.mongo());

    // argon seed loads the archive into an empty engine: the same data,
    // options, view and indexes.
    let q = Project::new("seed-archive", Backend::File);
    q.ok(&["checkout", "-b", "main"]);
    let out = q.ok(&["seed", archive.to_str().unwrap()]);
    assert!(out.contains("seeded 521 documents into main"), "{out}");
    assert_eq!(data_of(&q.mongo()), want);

    // argon import reads seed's fixture folders: the same documents as a seed.
    let fixtures = p.dir.join("fixtures");
    std::fs::create_dir_all(fixtures.join("shop")).unwrap();
    std::fs::write(
        fixtures.join("shop/items.json"),
        r#"[{"_id": 1, "at": {"$date": "2026-01-02T03:04:05Z"}, "price": {"$numberDecimal": "9.99"}}, {"_id": 2}]"#,
    )
    .unwrap();
    std::fs::write(
        fixtures.join("shop/log.jsonl"),
        "{\"_id\": \"a\"}\n{\"_id\": \"b\", \"n\": 1.5}\n",
    )
    .unwrap();
    let f = Project::new("seed-fixtures", Backend::File);
    f.ok(&["checkout", "-b", "main"]);
    f.ok(&["seed", fixtures.to_str().unwrap()]);
    f.commit("seeded");
    let r = f.json(&["import", fixtures.to_str().unwrap(), "-b", "imported"]);
    assert_eq!(r["documents"], 4, "{r}");
    let d = f.run(&["diff", "--no-pager", "--exit-code", "main", "imported"]);
    assert_eq!(d.code, 0, "{}{}", d.stdout, d.stderr);
}

#[test]
fn a_live_import_with_a_login_never_shows_the_password() {
    let source = Project::new("import-auth-source", Backend::File).with_auth();
    source.ok(&["checkout", "-b", "main"]);
    let uri = source.ok(&["uri"]).trim().to_string();
    crate::harness::Mongo::connect_uri(&uri).insert(
        "app",
        "users",
        (0..10).map(|i| doc! { "_id": i }).collect(),
    );
    let password = uri
        .split("argon:")
        .nth(1)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_string();
    let p = Project::new("import-auth", Backend::File);

    // Wrong credentials: one line with a hint, the password masked, no branch.
    let wrong = uri.replace(&password, "not-the-password");
    let r = p.run(&["import", &wrong, "-b", "refused"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: cannot import from mongodb://argon:****@")
            && r.stderr.contains("hint:")
            && !r.stderr.contains("not-the-password"),
        "{}",
        r.stderr
    );
    assert!(!p.ok(&["branch"]).contains("refused"));

    // The right ones: imported, and neither the report nor the version's
    // message holds the password.
    let report = p.ok(&["import", &uri, "-b", "copy"]);
    assert!(!report.contains(&password), "{report}");
    assert!(report.contains("argon:****@"), "{report}");
    let shown = p.ok(&["show", "copy", "--stat"]);
    assert!(!shown.contains(&password), "{shown}");
    let toml = std::fs::read_to_string(p.dir.join("argon.toml")).unwrap();
    assert!(!toml.contains(&password));
}
