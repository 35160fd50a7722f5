//! Bad input and faults: a clear one-line error with a hint, a non-zero exit,
//! and nothing lost.

use mongodb::bson::doc;

use crate::harness::{free_port, seed, snapshot, Backend, Project, Run};

/// One `error:` line (plus an optional `hint:` line), never a panic or backtrace.
fn assert_clean_error(r: &Run, code: i32, needle: &str) {
    assert_eq!(r.code, code, "exit code; stderr: {}", r.stderr);
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "stderr: {}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "expected {needle:?} in: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(r.stderr.contains("hint: "), "a hint is given: {}", r.stderr);
}

#[test]
fn invalid_branch_names_are_refused() {
    let p = Project::new("badnames", Backend::File);
    for bad in [
        "a..b",
        "has space",
        "x.lock",
        "a~1",
        "x:y",
        "HEAD",
        "trailing/",
    ] {
        let r = p.run(&["checkout", "-b", bad]);
        assert_clean_error(&r, 2, "not a valid branch name");
    }
    let r = p.run(&["checkout", "-b", "--", "-x"]);
    assert_clean_error(&r, 2, "not a valid branch name");
    p.ok(&["checkout", "-b", "main"]);
    let r = p.run(&["branch", "-m", "main", "bad name"]);
    assert_clean_error(&r, 2, "not a valid branch name");
    let r = p.run(&["branch", "bad^"]);
    assert_clean_error(&r, 2, "not a valid branch name");
    // Nothing was created by the refused commands.
    assert_eq!(p.json(&["branch"]).as_array().unwrap().len(), 1);
}

#[test]
fn unknown_and_malformed_revisions() {
    let p = Project::new("badrevs", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "c", vec![doc! { "v": 1 }]);
    p.ok(&["commit", "-m", "one"]);
    assert_clean_error(&p.run(&["log", "nosuch"]), 2, "unknown revision 'nosuch'");
    assert_clean_error(&p.run(&["log", "deadbeef"]), 2, "unknown revision");
    assert_clean_error(&p.run(&["log", "main~5"]), 2, "goes back further");
    assert_clean_error(
        &p.run(&["log", "main@{yesterday}"]),
        2,
        "no version at or before",
    );
    assert_clean_error(&p.run(&["log", "main@{whenever}"]), 2, "bad revision");
    assert_clean_error(
        &p.run(&["checkout", "-b", "x", "main~9"]),
        2,
        "goes back further",
    );
    // The failed checkout changed nothing.
    assert_eq!(p.json(&["status"])["head"], "main");
    assert_eq!(p.json(&["status"])["state"], "running");
}

#[test]
fn deleting_head_or_unknown_branches_is_refused() {
    let p = Project::new("baddelete", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    assert_clean_error(&p.run(&["branch", "-d", "main"]), 2, "checked out");
    assert_clean_error(&p.run(&["branch", "-d", "ghost"]), 2, "does not exist");
    assert_clean_error(&p.run(&["checkout", "ghost"]), 2, "does not exist");
    assert_clean_error(&p.run(&["checkout", "-b", "main"]), 2, "already exists");
    assert_eq!(p.json(&["status"])["state"], "running");
}

#[test]
fn not_a_project_and_bad_config() {
    let p = Project::new("badconfig", Backend::File);
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = p.command(&["status"]);
    cmd.current_dir(elsewhere.path());
    let out = cmd.output().unwrap();
    let r = Run {
        code: out.status.code().unwrap(),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    assert_clean_error(&r, 2, "no argon.toml");

    let toml = std::fs::read_to_string(p.dir.join("argon.toml")).unwrap();
    std::fs::write(
        p.dir.join("argon.toml"),
        format!("{toml}\n[engine2]\nx = 1\n"),
    )
    .unwrap();
    assert_clean_error(&p.run(&["status"]), 2, "argon.toml is not valid");
    std::fs::write(
        p.dir.join("argon.toml"),
        toml.replace("[serve]\nport =", "[serve]\nport = 80 #"),
    )
    .unwrap();
    assert_clean_error(&p.run(&["status"]), 2, "privileged");
    let r = p.run_with(&["status"], &[("ARGON_STORE", "ftp://nope")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn docker_unreachable() {
    let p = Project::new("nodocker", Backend::File);
    let r = p.run_with(
        &["checkout", "-b", "main"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_clean_error(&r, 1, "cannot reach the Docker engine");
    assert!(
        p.json(&["branch"]).as_array().unwrap().is_empty(),
        "no branch left behind"
    );
}

#[test]
fn image_missing() {
    let p = Project::new("noimage", Backend::File);
    let r = p.run_with(
        &["checkout", "-b", "main"],
        &[("ARGON_IMAGE", "argon-test/does-not-exist:0")],
    );
    assert_clean_error(&r, 1, "could not be pulled");
    assert!(
        p.json(&["branch"]).as_array().unwrap().is_empty(),
        "no branch left behind"
    );
}

#[test]
fn port_in_use() {
    let p = Project::new("portbusy", Backend::File);
    let busy = free_port();
    let _listener = std::net::TcpListener::bind(("127.0.0.1", busy)).unwrap();
    let r = p.run_with(
        &["checkout", "-b", "main"],
        &[("ARGON_PORT", &busy.to_string())],
    );
    assert_clean_error(&r, 1, &format!("port {busy}"));
    // Without the override it works.
    p.ok(&["checkout", "-b", "main"]);
}

#[test]
fn store_unreachable_leaves_no_half_version() {
    let p = Project::new("s3down", Backend::S3);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    seed(&m, "down");
    p.ok(&["commit", "-m", "good"]);
    m.insert("app", "c", vec![doc! { "v": 1 }]);
    let dead = format!("http://127.0.0.1:{}", free_port());
    let r = p.run_with(
        &["commit", "-m", "lost?"],
        &[("ARGON_STORE_ENDPOINT", &dead)],
    );
    assert_clean_error(&r, 1, "cannot reach the store");
    let log = p.json(&["log"]);
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "metadata unchanged: {log}"
    );
    // The data is still there and the next save succeeds.
    assert_eq!(p.mongo().count("app", "c"), 1);
    p.ok(&["commit", "-m", "retry"]);
    assert_eq!(p.json(&["log"]).as_array().unwrap().len(), 2);
}

#[test]
fn wrong_credentials_are_reported_without_printing_them() {
    let p = Project::new("s3creds", Backend::S3);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "c", vec![doc! { "v": 1 }]);
    let secret = "definitely-not-the-secret";
    let r = p.run_with(&["commit", "-m", "x"], &[("AWS_SECRET_ACCESS_KEY", secret)]);
    assert_clean_error(&r, 1, "refused argon's credentials");
    assert!(!r.stderr.contains(secret), "the secret is never printed");
    assert!(p.json(&["log"]).as_array().is_some_and(|l| l.is_empty()));
}

/// main (HEAD) and other, with data on main not saved yet; and a store
/// endpoint nothing answers on.
fn precious_main_and_a_dead_store(p: &Project) -> (crate::harness::Snapshot, String) {
    p.ok(&["checkout", "-b", "main"]);
    p.ok(&["checkout", "-b", "other"]);
    p.ok(&["checkout", "main"]);
    let m = p.mongo();
    seed(&m, "precious");
    let dead = format!("http://127.0.0.1:{}", free_port());
    (snapshot(&m), dead)
}

/// With background saves (the default) the switch does not need the store:
/// it succeeds, and the save of the branch left, which cannot reach the
/// store, stays pending with the data in its volume. `status` says so, a
/// command meeting it gets a clean error naming the branch, and once the
/// store answers the next command records it: nothing lost.
#[test]
fn a_background_save_that_fails_keeps_the_data_and_is_tried_again() {
    let p = Project::new("bgsavefail", Backend::S3);
    let (state, dead) = precious_main_and_a_dead_store(&p);
    let bad = [("ARGON_STORE_ENDPOINT", dead.as_str())];
    // The background save it starts inherits the unreachable store (and no
    // earlier one, which would reach it, is left to take main's save).
    p.settle_background_saves();
    let r = p.run_with(&["checkout", "other"], &bad);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let start = std::time::Instant::now();
    let status = loop {
        let status = p.json(&["status"]);
        let pending = &status["pending_saves"][0];
        if pending["branch"] == "main" && pending["running"] == false {
            break status;
        }
        assert!(start.elapsed().as_secs() < 60, "{status}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    assert_eq!(status["head"], "other", "{status}");
    let human = p.ok(&["status"]);
    assert!(human.contains("Saving:    main"), "{human}");
    let r = p.run_with(&["wait"], &bad);
    assert_clean_error(&r, 1, "could not finish saving branch 'main'");
    assert!(
        r.stderr.contains("safe in its local volume"),
        "{}",
        r.stderr
    );
    let done = p.json(&["wait"]);
    assert_eq!(done[0]["branch"], "main", "{done}");
    assert!(done[0]["version"].is_object(), "{done}");
    assert!(p.json(&["status"])["pending_saves"]
        .as_array()
        .unwrap()
        .is_empty());
    p.ok(&["checkout", "main"]);
    assert_eq!(snapshot(&p.mongo()), state, "nothing lost");
}

#[test]
fn checkout_keeps_head_when_its_save_fails() {
    let p = Project::new("savefail", Backend::S3);
    let (state, dead) = precious_main_and_a_dead_store(&p);
    // Saved before the switch (background saves off): the switch fails.
    let r = p.run_with(
        &["checkout", "other"],
        &[
            ("ARGON_STORE_ENDPOINT", &dead),
            ("ARGON_BACKGROUND_SAVE", "false"),
        ],
    );
    assert_clean_error(&r, 1, "cannot reach the store");
    let status = p.json(&["status"]);
    assert_eq!(status["head"], "main");
    assert_eq!(status["state"], "running", "HEAD stays usable");
    let m = p.mongo();
    assert_eq!(snapshot(&m), state, "nothing lost");
    m.insert("app", "more", vec![doc! { "ok": true }]);
}

#[test]
fn killed_mid_save_leaves_a_consistent_state() {
    // A standalone engine takes the paused-copy path, whose pause and private
    // container must be undone after a kill.
    let p = Project::with_engine("killed", Backend::File, true);
    p.ok(&["checkout", "-b", "main"]);
    let m = p.mongo();
    let big: Vec<_> = (0..20_000)
        .map(|i| doc! { "_id": i, "pad": "x".repeat(200) })
        .collect();
    m.insert("app", "big", big);
    p.ok(&["commit", "-m", "first"]);
    // This test engine drops idle connections when its container is frozen.
    p.mongo().insert("app", "c", vec![doc! { "v": 1 }]);

    for delay_ms in [150u64, 400, 900] {
        let mut child = p.command(&["commit", "-m", "killed"]).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();

        // The next run recovers; every listed version is complete and readable.
        p.ok(&["status"]);
        let log = p.json(&["log"]);
        for v in log.as_array().unwrap() {
            let id = v["id"].as_str().unwrap();
            p.ok(&[
                "checkout",
                "-b",
                &format!("check-{}-{delay_ms}", &id[..8]),
                id,
            ]);
            p.ok(&["checkout", "main"]);
        }
        // HEAD answers and accepts writes (not left paused or locked).
        let m = p.mongo();
        m.insert("app", "c", vec![doc! { "v": delay_ms as i64 }]);
    }
    p.ok(&["commit", "-m", "after"]);
}

#[test]
fn a_second_writer_is_told_the_project_is_busy() {
    let p = Project::new("locked", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    let locks = p.home.join("argon/locks");
    let lock_path = std::fs::read_dir(&locks)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&p.name)
        })
        .expect("the project has a lock file");
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_path)
        .unwrap();
    held.lock().unwrap();
    let r = p.run(&["commit", "-m", "x"]);
    assert_clean_error(&r, 1, "another argon process");
    // Readers are not blocked by a writer.
    p.ok(&["status"]);
    held.unlock().unwrap();
    p.ok(&["commit", "-m", "x"]);
}
