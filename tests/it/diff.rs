//! `argon diff` and `argon show`: what changed, document by document,
//! between HEAD's live data and a version or between two versions, through
//! every output shape a git user reaches for; and a damaged store reported
//! as damage, never as a difference.

use std::collections::HashSet;

use mongodb::bson::doc;

use crate::harness::{stored_chunks, Backend, Project, Run};

fn diff(p: &Project, args: &[&str]) -> Run {
    let mut all = vec!["diff", "--no-pager", "--color", "never"];
    all.extend_from_slice(args);
    p.run(&all)
}

fn diff_ok(p: &Project, args: &[&str]) -> String {
    let r = diff(p, args);
    assert_eq!(r.code, 0, "argon diff {args:?}: {}", r.stderr);
    r.stdout
}

/// `--format json` lines, parsed.
fn json_lines(p: &Project, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["--format", "json", "diff"];
    all.extend_from_slice(args);
    let r = p.run(&all);
    assert_eq!(r.code, 0, "argon diff {args:?}: {}", r.stderr);
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A base version: 300 users (an index on name) and 50 orders.
fn base(p: &Project) -> String {
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    m.insert(
        "app",
        "users",
        (0..300)
            .map(|i| doc! { "_id": i, "name": format!("u{i}"), "n": i, "pad": "x".repeat(200) })
            .collect(),
    );
    m.insert(
        "app",
        "orders",
        (0..50)
            .map(|i| doc! { "_id": i, "total": i * 10 })
            .collect(),
    );
    m.command("app", doc! { "createIndexes": "users", "indexes": [ { "key": { "name": 1 }, "name": "name_1" } ] });
    p.commit("base")
}

/// Every kind of change, uncommitted on HEAD.
fn change_everything(p: &Project) {
    let m = p.mongo();
    m.command(
        "app",
        doc! { "update": "users", "updates": [
            { "q": { "_id": 5 }, "u": { "$set": { "name": "five" } } },
            { "q": { "_id": 6 }, "u": { "$set": { "n": 6_i64 } } },
        ] },
    );
    m.command(
        "app",
        doc! { "delete": "users", "deletes": [ { "q": { "_id": 7 }, "limit": 1 } ] },
    );
    m.insert("app", "users", vec![doc! { "_id": 1000, "name": "new" }]);
    m.command("app", doc! { "drop": "orders" });
    m.insert("app", "logs", vec![doc! { "_id": 1, "line": "hello" }]);
    m.command(
        "app",
        doc! { "createIndexes": "users", "indexes": [ { "key": { "n": 1 }, "name": "n_1" } ] },
    );
}

#[test]
fn diff_shows_uncommitted_changes_document_by_document() {
    let p = Project::new("diff-live", Backend::File);
    let v1 = base(&p);
    assert_eq!(diff_ok(&p, &[]), "", "nothing changed yet");
    assert_eq!(diff(&p, &["--exit-code"]).code, 0);

    change_everything(&p);
    let text = diff_ok(&p, &[]);
    for expected in [
        "diff app.logs\n+++ created (collection)",
        "@@ inserted _id: 1 @@",
        "diff app.orders\n--- dropped (collection)",
        "@@ deleted _id: 0 @@",
        "diff app.users",
        "+index: {\"v\":",
        "\"n_1\"",
        "@@ updated _id: 5 @@",
        "-  \"name\": \"u5\",",
        "+  \"name\": \"five\",",
        "   \"pad\": \"",
        "@@ updated _id: 6 @@",
        "(int32 -> int64)",
        "@@ deleted _id: 7 @@",
        "@@ inserted _id: 1000 @@",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Untouched documents are not part of it.
    let users = &text[text.find("diff app.users").unwrap()..];
    assert!(!users.contains("_id: 8 @@"), "{users}");
    assert_eq!(text.matches("@@ updated").count(), 2, "{text}");
    assert_eq!(diff(&p, &["--exit-code"]).code, 1);
    // Against the version by name (and by tag) it is the same diff.
    p.ok(&["tag", "start", &v1]);
    assert_eq!(diff_ok(&p, &["start"]), text);

    // Committed, nothing is uncommitted any more.
    p.commit("everything");
    assert_eq!(diff_ok(&p, &[]), "");
    assert_eq!(diff(&p, &["--exit-code"]).code, 0);
}

#[test]
fn versions_compare_in_every_shape_and_namespace() {
    let p = Project::new("diff-versions", Backend::File);
    let v1 = base(&p);
    change_everything(&p);
    let v2 = p.commit("everything");

    let stat = diff_ok(&p, &[&v1, &v2, "--stat"]);
    assert!(
        stat.contains(" app.users | 1 inserted, 2 updated, 1 deleted"),
        "{stat}"
    );
    assert!(
        stat.contains(" app.orders | dropped, 0 inserted, 0 updated, 50 deleted"),
        "{stat}"
    );
    assert!(stat.contains("3 namespace(s) changed"), "{stat}");
    let range = format!("{v1}..{v2}");
    assert_eq!(
        diff_ok(&p, &[&range, "--name-status"]),
        "A\tapp.logs\nD\tapp.orders\nM\tapp.users\n"
    );
    assert_eq!(
        diff_ok(&p, &["main~1", "main", "--name-only", "--", "app.users"]),
        "app.users\n"
    );

    // JSON lines: updates as field paths, with types kept.
    let changes = json_lines(&p, &[&v1, &v2, "--", "app.users"]);
    assert!(
        changes.iter().all(|c| c["ns"] == "app.users"),
        "{changes:?}"
    );
    let update6 = changes
        .iter()
        .find(|c| c["op"] == "update" && c["_id"]["$numberInt"] == "6")
        .unwrap_or_else(|| panic!("{changes:?}"));
    assert_eq!(
        update6["set"],
        serde_json::json!({"n": {"$numberLong": "6"}})
    );
    assert_eq!(update6["unset"], serde_json::json!([]));
    let ops: HashSet<String> = changes
        .iter()
        .map(|c| c["op"].as_str().unwrap().to_string())
        .collect();
    let expected: HashSet<String> = ["create_index", "update", "insert", "delete"]
        .map(String::from)
        .into();
    assert_eq!(ops, expected);
    // Reversed, an insert is a delete.
    let back = json_lines(&p, &[&v2, &v1, "--", "app.users"]);
    assert!(back
        .iter()
        .any(|c| c["op"] == "delete" && c["_id"]["$numberInt"] == "1000"));

    // A document deleted and inserted again unchanged moves in the stored
    // order but is no difference.
    let m = p.mongo();
    let doc9 = doc! { "_id": 9, "name": "u9", "n": 9, "pad": "x".repeat(200) };
    m.command(
        "app",
        doc! { "delete": "users", "deletes": [ { "q": { "_id": 9 }, "limit": 1 } ] },
    );
    m.insert("app", "users", vec![doc9]);
    let v3 = p.commit("moved");
    assert_eq!(diff_ok(&p, &[&v2, &v3]), "");

    // Bad input: one line, a hint, exit 2.
    let r = diff(&p, &[&v1, &v2, "--", "nope.x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: namespace 'nope.x' exists on neither side"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    let r = diff(&p, &["nosuchrev"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: unknown revision"),
        "{}",
        r.stderr
    );

    // show: the version, what it holds, then its diff against its parent.
    let shown = p.ok(&["show", "--no-pager", "--color", "never", &v2]);
    assert!(shown.starts_with(&format!("version {v2}\n")), "{shown}");
    assert!(shown.contains(&format!("Parent:  {v1}")), "{shown}");
    assert!(shown.contains("app.users"), "{shown}");
    assert!(shown.contains("@@ updated _id: 5 @@"), "{shown}");
    let first = p.ok(&["show", "--no-pager", "--stat", &v1]);
    assert!(
        first.contains(" app.users | created, 300 inserted"),
        "{first}"
    );
    assert!(!first.contains("@@"), "{first}");
}

#[test]
fn a_damaged_chunk_is_an_error_never_a_difference() {
    let p = Project::new("diff-damaged", Backend::File);
    let store = p.dir.parent().unwrap().join("store");
    let v1 = base(&p);
    let before: HashSet<_> = stored_chunks(&store).into_iter().map(|c| c.id).collect();
    p.mongo().command("app", doc! { "update": "users", "updates": [ { "q": { "_id": 150 }, "u": { "$set": { "name": "changed" } } } ] });
    let v2 = p.commit("one change");
    let added: Vec<_> = stored_chunks(&store)
        .into_iter()
        .filter(|c| !before.contains(&c.id))
        .collect();
    assert!(!added.is_empty());
    for chunk in &added {
        chunk.overwrite();
    }
    let r = diff(&p, &[&v1, &v2]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(
        r.stderr.contains("damaged") || r.stderr.contains("corrupt"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("@@"),
        "no difference is claimed: {}",
        r.stdout
    );
}

#[test]
fn views_and_renamed_collections_are_part_of_the_diff() {
    let p = Project::new("diff-views", Backend::File);
    let v1 = base(&p);
    let m = p.mongo();
    m.command("app", doc! { "create": "big_users", "viewOn": "users", "pipeline": [ { "$match": { "n": { "$gt": 100 } } } ] });
    m.command(
        "admin",
        doc! { "renameCollection": "app.orders", "to": "app.purchases" },
    );
    let v2 = p.commit("a view, a rename");
    let text = diff_ok(&p, &[&v1, &v2]);
    assert!(
        text.contains("diff app.big_users\n+++ created (view)"),
        "{text}"
    );
    assert!(
        text.contains("diff app.purchases\nrenamed from app.orders"),
        "{text}"
    );
    assert!(!text.contains("@@"), "a rename moves no document: {text}");
    assert_eq!(
        diff_ok(&p, &[&v1, &v2, "--name-status"]),
        "A\tapp.big_users\nR\tapp.orders\tapp.purchases\n"
    );
}
