//! `argon export`: a version written out as a mongodump folder, byte for
//! byte the documents the engine held; refused onto a folder in use, and
//! never left half-made.

use mongodb::bson::doc;

use crate::harness::{chunk_files, Backend, Project};

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
    for chunk in chunk_files(&store) {
        std::fs::write(chunk, b"damaged").unwrap();
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
