//! The branch lifecycle of the scenario, against both store backends.

use mongodb::bson::doc;

use crate::harness::{seed, snapshot, Backend, Project};

fn branch_list(p: &Project) -> Vec<(String, bool, String, u64)> {
    p.json(&["branch"])
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap().to_string(),
                b["head"].as_bool().unwrap(),
                b["state"].as_str().unwrap().to_string(),
                b["versions"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn scenario(backend: Backend) {
    let p = Project::new("scenario", backend);
    p.ok(&["checkout", "-b", "main"]);
    let uri = p.ok(&["uri"]).trim().to_string();
    assert_eq!(
        uri,
        format!("mongodb://127.0.0.1:{}/?directConnection=true", p.port)
    );
    assert_eq!(p.ok(&["env"]).trim(), format!("MONGODB_URI={uri}"));

    let m = p.mongo();
    seed(&m, "main");
    let seeded = snapshot(&m);
    let out = p.ok(&["commit", "-m", "seeded"]);
    assert!(out.contains("seeded"), "{out}");

    // A new branch starts from main's current state, including unsaved writes.
    m.insert(
        "app",
        "users",
        vec![doc! { "_id": 1000, "name": "late", "email": "late@example.com" }],
    );
    let main_state = snapshot(&m);
    p.ok(&["checkout", "-b", "feature"]);
    let status = p.json(&["status"]);
    assert_eq!(status["head"], "feature");
    assert_eq!(status["state"], "running");
    assert_eq!(
        status["uri"],
        uri.as_str(),
        "the connection string never changes"
    );
    let m = p.mongo();
    assert_eq!(
        snapshot(&m),
        main_state,
        "feature starts as an exact copy of main"
    );

    // Writes on feature stay on feature.
    m.insert(
        "app",
        "users",
        vec![doc! { "_id": 2000, "name": "feature-only", "email": "f@example.com" }],
    );
    let feature_state = snapshot(&m);
    p.ok(&["checkout", "main"]);
    let m = p.mongo();
    assert_eq!(snapshot(&m), main_state, "main is back with its own data");
    assert_eq!(m.count("app", "users"), 501);

    let branches = branch_list(&p);
    assert!(
        branches.contains(&("main".into(), true, "running".into(), 2)),
        "{branches:?}"
    );
    assert!(
        branches
            .iter()
            .any(|b| b.0 == "feature" && !b.1 && b.2 == "warm"),
        "{branches:?}"
    );

    // Stash and pop keep the data (the volume stays; pop is a start).
    p.ok(&["stash"]);
    assert_eq!(p.json(&["status"])["state"], "stashed");
    assert!(crate::harness::free_port() > 0);
    let stashed = p.json(&["stash", "list"]);
    assert_eq!(stashed.as_array().unwrap().len(), 2, "{stashed}");
    p.ok(&["stash", "pop"]);
    assert_eq!(snapshot(&p.mongo()), main_state);

    // The log of main, newest first.
    let log = p.json(&["log", "main"]);
    let messages: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        ["checkout: moving from main to feature", "seeded"]
    );
    let oneline = p.ok(&["log", "--oneline", "main"]);
    assert_eq!(oneline.lines().count(), 2);

    // Time travel: a new branch from an older version has exactly that data.
    p.ok(&["checkout", "-b", "old", "main~1"]);
    assert_eq!(snapshot(&p.mongo()), seeded);
    assert_eq!(p.json(&["status"])["head"], "old");

    // Feature kept its writes through all of this.
    p.ok(&["checkout", "feature"]);
    assert_eq!(snapshot(&p.mongo()), feature_state);

    // Rename and delete.
    p.ok(&["checkout", "main"]);
    p.ok(&["branch", "-m", "feature", "feat"]);
    let names: Vec<String> = branch_list(&p).into_iter().map(|b| b.0).collect();
    assert_eq!(names, ["feat", "main", "old"]);
    p.ok(&["branch", "-d", "feat"]);
    let names: Vec<String> = branch_list(&p).into_iter().map(|b| b.0).collect();
    assert_eq!(names, ["main", "old"]);
    // Its versions stay in the store: the version can still be checked out.
    let all = p.json(&["log", "--all"]);
    let feat_version = all
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["branch"] == "feature")
        .expect("feature's versions are kept")["id"]
        .as_str()
        .unwrap()
        .to_string();
    p.ok(&["checkout", "-b", "revived", &feat_version[..10]]);
    assert_eq!(snapshot(&p.mongo()), feature_state);
}

#[test]
fn scenario_with_file_store() {
    scenario(Backend::File);
}

#[test]
fn scenario_with_s3_store() {
    scenario(Backend::S3);
}

#[test]
fn reset_hard_saves_the_state_it_leaves() {
    let p = Project::new("reset", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    seed(&m, "v1");
    p.ok(&["commit", "-m", "v1"]);
    let v1 = snapshot(&m);
    m.insert("app", "orders", vec![doc! { "_id": 5000, "total": 1.0 }]);
    m.command("app", doc! { "drop": "events" });
    let unsaved = snapshot(&m);

    let r = p.json(&["reset", "--hard", "main"]);
    assert_eq!(snapshot(&p.mongo()), v1, "data is back at the target");
    let saved = r["saved"]
        .as_str()
        .expect("the left state was saved")
        .to_string();
    // The branch now points at the target, and the left state is still reachable by id.
    assert_eq!(p.version_of("main"), r["target"].as_str().unwrap());
    assert_eq!(saved.len(), 64, "JSON carries full version ids");
    p.ok(&["reset", "--hard", &saved]);
    assert_eq!(snapshot(&p.mongo()), unsaved, "nothing was lost");
}

#[test]
fn time_travel_by_date() {
    let p = Project::new("timetravel", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    m.insert("app", "c", vec![doc! { "v": 1 }]);
    p.ok(&["commit", "-m", "one"]);
    let one = snapshot(&m);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let between = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    m.insert("app", "c", vec![doc! { "v": 2 }]);
    p.ok(&["commit", "-m", "two"]);

    p.ok(&["checkout", "-b", "then", &format!("main@{{{between}}}")]);
    assert_eq!(snapshot(&p.mongo()), one);
    // Before the first version there is nothing to travel to.
    let r = p.run(&["checkout", "-b", "ancient", "main@{1 hour ago}"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no version at or before"), "{}", r.stderr);
}

#[test]
fn nothing_to_commit_writes_no_version() {
    let p = Project::new("noop", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "c", vec![doc! { "v": 1 }]);
    let first = p.json(&["commit", "-m", "one"]);
    assert!(first["version"].is_object());
    let again = p.json(&["commit", "-m", "again"]);
    assert!(again["version"].is_null(), "{again}");
    assert_eq!(p.json(&["log"]).as_array().unwrap().len(), 1);
}

#[test]
fn paused_copy_capture_on_a_standalone_engine() {
    // The engine refuses snapshot reads and fsyncLock here, so the capture must
    // fall back to a paused private copy, and say so in the version.
    let p = Project::with_engine("pausedcopy", Backend::File, true);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    seed(&m, "solo");
    let state = snapshot(&m);
    let v = p.json(&["commit", "-m", "solo"]);
    assert_eq!(v["version"]["capture"], "paused-copy");
    // HEAD keeps serving after the pause, and writes still work. (This test
    // engine drops idle connections when its container is frozen, so connect anew.)
    p.mongo().insert("app", "after", vec![doc! { "x": 1 }]);
    p.ok(&["checkout", "-b", "copy", "main"]);
    assert_eq!(snapshot(&p.mongo()), state);
}

#[test]
fn branch_pointer_is_created_without_a_container() {
    let p = Project::new("pointer", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    seed(&m, "ptr");
    p.ok(&["commit", "-m", "base"]);
    let base = snapshot(&m);
    let b = p.json(&["branch", "later"]);
    assert_eq!(b["state"], "archived");
    m.insert("app", "c", vec![doc! { "v": 1 }]);
    p.ok(&["checkout", "later"]);
    assert_eq!(snapshot(&p.mongo()), base);
}

#[test]
fn a_branch_from_head_copies_local_data_instead_of_restoring() {
    // The engine image has `cp`: the volume is copied inside Docker.
    branch_from_head_copies(&Project::new("fastbranch", Backend::File));
}

#[test]
fn a_branch_from_head_copies_local_data_with_an_image_without_cp() {
    // No `cp` in the image: the copy goes through Docker's archive API.
    let image = crate::harness::required_env("ARGON_TEST_IMAGE_NO_CP");
    branch_from_head_copies(&Project::with_image(
        "fastbranch-nocp",
        Backend::File,
        false,
        &image,
    ));
}

fn branch_from_head_copies(p: &Project) {
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    seed(&m, "fast");
    m.insert("app", "late", vec![doc! { "unsaved": true }]);
    let state = snapshot(&m);
    let r = p.json(&["checkout", "-b", "quick"]);
    assert_eq!(r["copied_from"], "main", "{r}");
    assert!(r["restored"].is_null(), "{r}");
    assert_eq!(
        snapshot(&p.mongo()),
        state,
        "an exact copy, indexes and options included"
    );
    // From an explicit revision it restores from the store.
    let r = p.json(&["checkout", "-b", "from-store", "main"]);
    assert!(
        r["copied_from"].is_null() && r["restored"].is_string(),
        "{r}"
    );
    assert_eq!(snapshot(&p.mongo()), state);
}

#[test]
fn restore_can_build_indexes_before_the_data() {
    let p = Project::new("indexfirst", Backend::File);
    let toml = std::fs::read_to_string(p.dir.join("argon.toml")).unwrap();
    let toml = toml.replace(
        "[engine]\n",
        "[engine]\nrestore_indexes = \"before-data\"\n",
    );
    std::fs::write(p.dir.join("argon.toml"), toml).unwrap();
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    seed(&m, "ixfirst");
    let state = snapshot(&m);
    p.ok(&["commit", "-m", "v1"]);
    p.ok(&["checkout", "-b", "again", "main"]);
    assert_eq!(snapshot(&p.mongo()), state);
}
