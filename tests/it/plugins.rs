//! argon-* plugins: dispatch, environment, exit codes, and the shipped plugins.

use std::os::unix::fs::PermissionsExt;

use mongodb::bson::doc;

use crate::harness::{snapshot, Backend, Project};

fn write_plugin(dir: &std::path::Path, name: &str, body: &str) {
    let path = dir.join(format!("argon-{name}"));
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn plugins_receive_arguments_environment_and_return_their_exit_code() {
    let p = Project::new("plugins", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let bin = tempfile::tempdir().unwrap();
    let out = bin.path().join("out");
    write_plugin(
        bin.path(),
        "hello",
        &format!(
            "printf '%s|' \"$@\" > '{o}'; echo >> '{o}'; echo \"$ARGON_PROJECT $ARGON_BRANCH $ARGON_MONGODB_URI $ARGON_STORE $ARGON_BIN\" >> '{o}'; exit 3",
            o = out.display()
        ),
    );
    write_plugin(bin.path(), "status", "echo shadow; exit 9");
    let path = format!("{}:{}", bin.path().display(), crate::harness::test_path());

    let r = p.run_with(&["hello", "a b", "--flag", "-x"], &[("PATH", &path)]);
    assert_eq!(r.code, 3, "the plugin's exit code is argon's: {}", r.stderr);
    let got = std::fs::read_to_string(&out).unwrap();
    let (args, env) = got.split_once('\n').unwrap();
    assert_eq!(args, "a b|--flag|-x|", "arguments pass unchanged");
    assert!(
        env.starts_with(&format!("{} main mongodb://127.0.0.1:{}/", p.name, p.port)),
        "{env}"
    );
    assert!(
        env.contains("file://") && env.trim_end().ends_with("/argon"),
        "{env}"
    );

    // Builtins cannot be shadowed.
    let r = p.run_with(&["status"], &[("PATH", &path)]);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("shadow"));

    // help -a lists builtins and plugins.
    let list = p
        .run_with(&["help", "-a", "--format", "json"], &[("PATH", &path)])
        .json();
    assert!(list["builtins"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"] == "checkout"));
    assert!(list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .any(|pl| pl["name"] == "hello"));

    // An unknown command gets git's style of message and a suggestion.
    let r = p.run(&["chekout", "main"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("'chekout' is not an argon command"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("the most similar command is 'checkout'"),
        "{}",
        r.stderr
    );
}

#[test]
fn argon_seed_loads_extended_json_fixtures() {
    let p = Project::new("seedplugin", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let fixtures = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(fixtures.path().join("app")).unwrap();
    std::fs::write(
        fixtures.path().join("app/users.json"),
        r#"[{"_id": {"$oid": "65a000000000000000000001"}, "name": "ada", "joined": {"$date": "2026-01-02T03:04:05Z"}},
            {"_id": 2, "name": "bob", "balance": {"$numberDecimal": "10.50"}}]"#,
    )
    .unwrap();
    std::fs::write(
        fixtures.path().join("app/events.jsonl"),
        "{\"n\": 1}\n{\"n\": 2}\n\n{\"n\": 3}\n",
    )
    .unwrap();

    let out = p.ok(&["seed", fixtures.path().to_str().unwrap()]);
    assert!(out.contains("seeded 5 documents into main"), "{out}");
    let m = p.mongo();
    assert_eq!(m.count("app", "users"), 2);
    assert_eq!(m.count("app", "events"), 3);
    let ada = m.command("app", doc! { "find": "users", "filter": { "name": "ada" } });
    let first = ada
        .get_document("cursor")
        .unwrap()
        .get_array("firstBatch")
        .unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert!(
        first.get_datetime("joined").is_ok(),
        "extended JSON types are kept: {first}"
    );
    assert!(first.get_object_id("_id").is_ok());

    // --drop replaces instead of appending; bad input is one clear error.
    p.ok(&["seed", "--drop", fixtures.path().to_str().unwrap()]);
    assert_eq!(p.mongo().count("app", "events"), 3);
    std::fs::write(fixtures.path().join("app/bad.json"), "{not json").unwrap();
    let r = p.run(&["seed", fixtures.path().to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with("error: ") && r.stderr.contains("bad.json"),
        "{}",
        r.stderr
    );
}

#[test]
fn argon_exec_runs_on_a_throwaway_branch() {
    let p = Project::new("execplugin", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    m.insert("app", "users", vec![doc! { "_id": 1 }]);
    let before = snapshot(&m);
    // The command sees a copy (MONGODB_URI set) and may overwrite it freely.
    let fixtures = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(fixtures.path().join("app")).unwrap();
    std::fs::write(fixtures.path().join("app/users.jsonl"), "{\"_id\": 99}\n").unwrap();
    let script = format!(
        "test -n \"$MONGODB_URI\" && argon seed --drop '{}' && exit 7",
        fixtures.path().display()
    );
    let r = p.run(&["exec", "--", "sh", "-c", &script]);
    assert_eq!(r.code, 7, "the command's exit code: {}", r.stderr);
    assert_eq!(p.json(&["status"])["head"], "main", "back on main");
    assert_eq!(snapshot(&p.mongo()), before, "main untouched");
    let branches = p.json(&["branch"]);
    assert_eq!(
        branches.as_array().unwrap().len(),
        1,
        "throwaway branch deleted: {branches}"
    );
}
