//! Leaving or committing an unchanged branch does not read its data again,
//! and no kind of write slips past that shortcut.

use mongodb::bson::doc;

use crate::harness::{Backend, Project};

fn commit(p: &Project, msg: &str) -> serde_json::Value {
    p.json(&["commit", "-m", msg])
}

/// Makes one kind of change on HEAD, then requires that argon notices it:
/// status says changed, and commit writes a version after reading the data.
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

    // Nothing written: argon knows without reading.
    let again = commit(&p, "again");
    assert!(again["version"].is_null(), "{again}");
    assert_eq!(again["checked_by"], "counters", "{again}");
    assert_eq!(p.json(&["status"])["changed"], false);

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
    assert_seen(&p, "database created", |m| {
        m.insert("other", "c", vec![doc! { "x": 1 }])
    });
    assert_seen(&p, "database dropped", |m| {
        m.command("other", doc! { "dropDatabase": 1 });
    });

    // Leaving an unchanged branch is a stop, not a save; a new branch copied
    // from it, a stopped-and-resumed branch and a restored one all start clean.
    let b = p.json(&["checkout", "-b", "copy"]);
    assert_eq!(b["checked_by"], "counters", "{b}");
    assert!(b["saved"].is_null(), "{b}");
    assert_eq!(commit(&p, "copy unchanged")["checked_by"], "counters");
    let back = p.json(&["checkout", "main"]);
    assert_eq!(back["checked_by"], "counters", "{back}");
    assert_eq!(commit(&p, "main resumed")["checked_by"], "counters");
    p.ok(&["stash"]);
    assert_eq!(
        p.json(&["status"])["changed"],
        false,
        "a stashed branch was saved"
    );
    p.ok(&["stash", "pop"]);
    assert_eq!(commit(&p, "after pop")["checked_by"], "counters");
    p.ok(&["checkout", "-b", "old", "main~3"]);
    assert_eq!(commit(&p, "restored")["checked_by"], "counters");
    // And a write right after a restart is still seen.
    p.ok(&["checkout", "main"]);
    assert_seen(&p, "write after resume", |m| {
        m.insert("app", "users", vec![doc! { "_id": 2000 }])
    });
}

#[test]
fn the_shortcut_holds_on_an_engine_saved_by_paused_copy() {
    let p = Project::with_engine("changes-standalone", Backend::File, true);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": 1 }]);
    let first = commit(&p, "first");
    assert_eq!(
        p.json(&["log", "-n", "1"])[0]["capture"],
        "paused-copy",
        "{first}"
    );
    assert_eq!(commit(&p, "again")["checked_by"], "counters");
    assert_seen(&p, "update", |m| {
        m.command(
            "app",
            doc! { "update": "t", "updates": [{ "q": { "_id": 1 }, "u": { "$set": { "v": 2 } } }] },
        );
    });
    let left = p.json(&["checkout", "-b", "next"]);
    assert_eq!(left["checked_by"], "counters", "{left}");
}
