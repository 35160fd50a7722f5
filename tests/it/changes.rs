//! `status` knows whether HEAD changed without reading it; leaving an
//! unchanged branch makes no version; and no write is ever lost to a
//! shortcut: `commit` always compares content, and counters count as
//! evidence only when read with writes fenced.

use mongodb::bson::doc;

use crate::harness::{Backend, Project};

fn commit(p: &Project, msg: &str) -> serde_json::Value {
    p.json(&["commit", "-m", msg])
}

/// Makes one kind of change on HEAD, then requires that argon notices it
/// without reading the data (status), and that commit saves it.
fn assert_seen(p: &Project, what: &str, change: impl FnOnce(&crate::harness::Mongo)) {
    change(&p.mongo());
    assert_eq!(p.json(&["status"])["changed"], true, "status after {what}");
    let r = commit(p, what);
    assert!(
        r["version"].is_object(),
        "{what} must make a new version: {r}"
    );
    assert_eq!(r["checked_by"], "capture", "{r}");
    assert_eq!(
        p.json(&["status"])["changed"],
        false,
        "status after committing {what}"
    );
}

#[test]
fn unchanged_branches_are_not_read_again_and_every_kind_of_write_is_seen() {
    let p = Project::new("changes", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    m.insert(
        "app",
        "users",
        (0..200)
            .map(|i| doc! { "_id": i, "n": i, "s": "x" })
            .collect(),
    );
    m.insert(
        "app",
        "orders",
        (0..50).map(|i| doc! { "_id": i, "total": i }).collect(),
    );
    let first = commit(&p, "first");
    assert_eq!(first["checked_by"], "capture");

    // Nothing written: status knows without reading; commit compares content.
    assert_eq!(p.json(&["status"])["changed"], false);
    let again = commit(&p, "again");
    assert!(again["version"].is_null(), "{again}");
    assert_eq!(again["checked_by"], "capture", "{again}");

    assert_seen(&p, "insert", |m| {
        m.insert("app", "users", vec![doc! { "_id": 1000 }])
    });
    assert_seen(&p, "same-size update", |m| {
        m.command("app", doc! { "update": "users", "updates": [{ "q": { "_id": 5 }, "u": { "$set": { "s": "y" } } }] });
    });
    assert_seen(&p, "findAndModify", |m| {
        m.command("app", doc! { "findAndModify": "users", "query": { "_id": 6 }, "update": { "$set": { "s": "z" } } });
    });
    assert_seen(&p, "delete", |m| {
        m.command(
            "app",
            doc! { "delete": "users", "deletes": [{ "q": { "_id": 7 }, "limit": 1 }] },
        );
    });
    assert_seen(&p, "empty collection created", |m| {
        m.command("app", doc! { "create": "empty" });
    });
    assert_seen(&p, "index created", |m| {
        m.command(
            "app",
            doc! { "createIndexes": "users", "indexes": [{ "key": { "n": 1 }, "name": "n_1" }] },
        );
    });
    assert_seen(&p, "index dropped", |m| {
        m.command("app", doc! { "dropIndexes": "users", "index": "n_1" });
    });
    assert_seen(&p, "collection renamed", |m| {
        m.command(
            "admin",
            doc! { "renameCollection": "app.empty", "to": "app.renamed" },
        );
    });
    assert_seen(&p, "collection dropped", |m| {
        m.command("app", doc! { "drop": "renamed" });
    });
    assert_seen(&p, "aggregate $out", |m| {
        m.command("app", doc! { "aggregate": "orders", "pipeline": [{ "$match": { "total": { "$gte": 10 } } }, { "$out": "big_orders" }], "cursor": {} });
    });
    // A write this engine does not count: commit still finds it.
    merge(&p.mongo(), "big_orders");
    let r = commit(&p, "merged");
    assert!(r["version"].is_object(), "commit reads the data: {r}");
    assert_seen(&p, "database created", |m| {
        m.insert("other", "c", vec![doc! { "x": 1 }])
    });
    assert_seen(&p, "database dropped", |m| {
        m.command("other", doc! { "dropDatabase": 1 });
    });

    // Leaving an unchanged branch makes no version; a new branch copied from
    // it, a stopped-and-resumed branch and a restored one all start clean.
    // This engine cannot fence writes (no fsyncLock), so the counters, read
    // while clients could still write, are not evidence: the branch left is
    // stopped first and compared from its volume, by the background save.
    let versions = p.json(&["log", "--all"]).as_array().unwrap().len();
    let b = p.json(&["checkout", "-b", "copy"]);
    assert_eq!(b["pending_save"], true, "{b}");
    assert!(b["saved"].is_null(), "{b}");
    p.ok(&["wait"]);
    let after = p.json(&["log", "--all"]).as_array().unwrap().len();
    assert_eq!(after, versions, "unchanged: no new version");
    assert_eq!(p.json(&["status"])["changed"], false, "a copy starts clean");
    let back = p.json(&["checkout", "main"]);
    assert!(back["saved"].is_null(), "{back}");
    assert_eq!(p.json(&["status"])["changed"], false, "resumed clean");
    let stash = p.json(&["stash"]);
    assert!(stash["version"].is_null(), "{stash}");
    p.ok(&["stash", "pop"]);
    assert_eq!(p.json(&["status"])["changed"], false, "popped clean");
    p.ok(&["checkout", "-b", "old", "main~3"]);
    assert_eq!(p.json(&["status"])["changed"], false, "restored clean");
    // A write right after a restart is still seen.
    p.ok(&["checkout", "main"]);
    assert_seen(&p, "write after resume", |m| {
        m.insert("app", "users", vec![doc! { "_id": 2000 }])
    });
}

/// An aggregation `$merge`: the test engine writes the documents but does not
/// count them (nor may other engines), which is why counters alone never
/// decide that data may be thrown away.
fn merge(m: &crate::harness::Mongo, into: &str) {
    m.command("app", doc! { "aggregate": "orders", "pipeline": [{ "$match": { "total": { "$lt": 5 } } }, { "$set": { "merged": true } }, { "$merge": { "into": into } }], "cursor": {} });
}

#[test]
fn a_volume_left_on_the_counters_word_is_read_in_full_before_it_is_deleted() {
    let p = Project::new("changes-delete", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert(
        "app",
        "orders",
        (0..50).map(|i| doc! { "_id": i, "total": i }).collect(),
    );
    p.ok(&["commit", "-m", "base"]);
    p.ok(&["checkout", "-b", "feat"]);
    p.ok(&["commit", "-m", "feat base"]);
    merge(&p.mongo(), "merged_orders");
    p.ok(&["checkout", "main"]);
    // Whatever the counters said when feat was left, deleting it saves what its volume holds.
    let d = p.json(&["branch", "-D", "feat"]);
    let latest = d["latest"].as_str().unwrap().to_string();
    p.ok(&["checkout", "-b", "check", &latest]);
    assert_eq!(
        p.mongo().count("app", "merged_orders"),
        5,
        "the merged documents were saved"
    );
}

#[test]
fn status_knows_unchanged_on_an_engine_saved_by_paused_copy() {
    let p = Project::with_engine("changes-standalone", Backend::File, true);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": 1 }]);
    let first = commit(&p, "first");
    assert_eq!(
        p.json(&["log", "-n", "1"])[0]["capture"],
        "paused-copy",
        "{first}"
    );
    assert_eq!(p.json(&["status"])["changed"], false);
    assert_seen(&p, "update", |m| {
        m.command(
            "app",
            doc! { "update": "t", "updates": [{ "q": { "_id": 1 }, "u": { "$set": { "v": 2 } } }] },
        );
    });
    // Unchanged since the commit; without a write fence, leaving compares
    // content from the stopped volume and makes no version.
    let versions = p.json(&["log", "--all"]).as_array().unwrap().len();
    let left = p.json(&["checkout", "-b", "next"]);
    assert_eq!(left["pending_save"], true, "{left}");
    p.ok(&["wait"]);
    let after = p.json(&["log", "--all"]).as_array().unwrap().len();
    assert_eq!(after, versions, "unchanged: no new version");
}
