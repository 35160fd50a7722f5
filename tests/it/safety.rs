//! Nothing lost, nobody let in: the data-loss paths of a careful user's day
//! (an application writing while the branch is left or reset, a HEAD stopped
//! by `docker stop`, a volume removed outside argon) and the files argon
//! leaves on disk.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use mongodb::bson::doc;

use crate::harness::{Backend, Project, Writer};

fn base_data(p: &Project, n: i64) {
    p.mongo().insert(
        "app",
        "base",
        (0..n)
            .map(|i| doc! { "_id": i, "pad": "x".repeat(300) })
            .collect(),
    );
}

fn missing(acked: &[i64], found: &HashSet<i64>) -> Vec<i64> {
    acked
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect()
}

/// An application keeps writing while the user switches branches: every
/// write the engine acknowledged is in the branch left (its version, its
/// volume) or in the branch switched to, even after the branch left loses
/// its local volume to `gc --local`.
#[test]
fn writes_while_a_branch_is_left_are_never_lost() {
    let p = Project::new("safety-switch", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    base_data(&p, 3000);
    let base = p.commit("base");
    let writer = Writer::start(p.port, 0);
    std::thread::sleep(Duration::from_millis(500));
    // feat starts from the committed base: what main took meanwhile is main's alone.
    let left = p.json(&["checkout", "-b", "feat", &base]);
    std::thread::sleep(Duration::from_millis(300));
    let acked = writer.finish();
    assert!(!acked.is_empty(), "the writer got writes in");
    assert_eq!(
        left["pending_save"], true,
        "main's writes are saved in the background: {left}"
    );
    let in_feat = p.mongo().ids("app", "w");
    // main's volume goes; what it held must be in its versions.
    let gc = p.json(&["gc", "--local"]);
    assert!(
        gc["evicted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b == "main"),
        "{gc}"
    );
    p.ok(&["checkout", "main"]);
    let in_main = p.mongo().ids("app", "w");
    let all: HashSet<i64> = in_feat.union(&in_main).copied().collect();
    let lost = missing(&acked, &all);
    eprintln!(
        "fault-table: checkout -b, then gc --local under writes: acknowledged {}, lost {}",
        acked.len(),
        lost.len()
    );
    assert_eq!(lost, Vec::<i64>::new(), "acknowledged writes lost");
}

/// HEAD stopped outside argon (`docker stop`, a crash) after a commit and
/// more writes: argon does not claim it unchanged, saves it from its volume
/// when it is left, and nothing is lost when that volume goes. HEAD's
/// container also has a restart policy, so a Docker restart brings it back.
#[test]
fn a_head_stopped_outside_argon_is_read_before_anything_is_dropped() {
    let p = Project::new("safety-stopped", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    base_data(&p, 100);
    let base = p.commit("base");
    let container = p.docker_objects("container", "main", "engine");
    assert_eq!(container.len(), 1, "{container:?}");
    let policy = p.docker(&[
        "inspect",
        "-f",
        "{{.HostConfig.RestartPolicy.Name}}",
        &container[0],
    ]);
    assert_eq!(policy.trim(), "unless-stopped");
    // On the project's own network only: not on Docker's default bridge,
    // where every other container could reach it.
    let networks = p.docker(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &container[0],
    ]);
    assert_eq!(networks.split_whitespace().count(), 1, "{networks}");
    assert!(
        networks.trim().starts_with(&format!("argon-{}-", p.name)),
        "{networks}"
    );
    p.mongo().insert(
        "app",
        "late",
        (0..10).map(|i| doc! { "_id": 1000 + i as i64 }).collect(),
    );
    p.docker(&["stop", &container[0]]);
    let status = p.json(&["status"]);
    assert_ne!(status["changed"], false, "not known unchanged: {status}");
    let left = p.json(&["checkout", "-b", "other", &base]);
    assert_eq!(left["pending_save"], true, "{left}");
    p.ok(&["wait"]);
    assert_ne!(p.version_of("main"), base, "saved from its volume");
    p.json(&["gc", "--local"]);
    p.ok(&["checkout", "main"]);
    assert_eq!(
        p.mongo().count("app", "late"),
        10,
        "the late writes survived"
    );
}

/// `docker volume rm` of a branch's data: the branch keeps its last version
/// (never an empty one made from the volume Docker would create anew).
#[test]
fn a_volume_removed_outside_argon_never_becomes_an_empty_version() {
    let p = Project::new("safety-volume", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    base_data(&p, 50);
    let base = p.commit("base");
    // Left on a path that needs its volume read later: stopped outside argon.
    let container = p.docker_objects("container", "main", "engine");
    p.docker(&["rm", "-f", &container[0]]);
    for v in p.docker_objects("volume", "main", "data") {
        p.docker(&["volume", "rm", &v]);
    }
    let r = p.run(&["checkout", "-b", "feat", &base]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("removed outside argon"),
        "the user is told: {}",
        r.stderr
    );
    p.json(&["gc", "--local"]);
    assert_eq!(p.version_of("main"), base, "main keeps its last version");
    p.ok(&["checkout", "main"]);
    assert_eq!(p.mongo().count("app", "base"), 50);
}

/// `reset --hard` while the application writes: each acknowledged write is
/// in the state the reset left (saved first) or in the reset branch.
#[test]
fn reset_hard_under_writes_loses_nothing() {
    let p = Project::new("safety-reset", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    base_data(&p, 2000);
    let c1 = p.commit("c1");
    p.mongo().insert("app", "more", vec![doc! { "_id": 1 }]);
    p.ok(&["commit", "-m", "c2"]);
    let writer = Writer::start(p.port, 0);
    std::thread::sleep(Duration::from_millis(500));
    let reset = p.json(&["reset", "--hard", &c1]);
    std::thread::sleep(Duration::from_millis(300));
    let acked = writer.finish();
    assert!(!acked.is_empty());
    assert_eq!(p.mongo().count("app", "more"), 0, "HEAD is at c1: {reset}");
    let live = p.mongo().ids("app", "w");
    let saved = reset["saved"].as_str().unwrap().to_string();
    p.ok(&["checkout", "-b", "left", &saved]);
    let in_saved = p.mongo().ids("app", "w");
    let all: HashSet<i64> = live.union(&in_saved).copied().collect();
    let lost = missing(&acked, &all);
    eprintln!(
        "fault-table: reset --hard under writes: acknowledged {}, lost {}",
        acked.len(),
        lost.len()
    );
    assert_eq!(lost, Vec::<i64>::new(), "acknowledged writes lost");
    // The reset left no volume behind: main has exactly one.
    assert_eq!(p.docker_objects("volume", "main", "data").len(), 1);
}

/// Snapshots are database contents: argon's state folder, its metadata and
/// the local store are readable by their owner only.
#[test]
fn state_and_store_are_private_to_their_owner() {
    let p = Project::new("safety-perms", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    base_data(&p, 10);
    p.ok(&["commit", "-m", "one"]);
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let home = p.home.join("argon");
    assert_eq!(mode(&home), 0o700, "ARGON_HOME");
    assert_eq!(mode(&home.join("argon.db")), 0o600, "metadata");
    let store = p.dir.parent().unwrap().join("store");
    let mut files = 0;
    let mut stack = vec![store.clone()];
    while let Some(dir) = stack.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
    }
    assert!(files > 2, "the store holds chunks and a manifest");
}

/// Tag names may hold '/', as git's do: they are escaped in store keys, so
/// gc, fetch and tag -d keep working.
#[test]
fn tags_with_slashes_work_everywhere() {
    let p = Project::new("safety-tags", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    base_data(&p, 5);
    p.ok(&["commit", "-m", "one"]);
    p.ok(&["tag", "rel/v1"]);
    p.json(&["gc", "--dry-run"]);
    let other = p.another_machine();
    let fetched = other.json(&["fetch"]);
    assert_eq!(fetched["new_tags"][0], "rel/v1", "{fetched}");
    other.ok(&["log", "rel/v1"]);
    p.ok(&["tag", "-d", "rel/v1"]);
    assert!(p.json(&["tag"]).as_array().unwrap().is_empty());
}

/// Revisions far outside the calendar are bad input, not a crash.
#[test]
fn absurd_revisions_are_errors_not_panics() {
    let p = Project::new("safety-revs", Backend::File);
    for rev in ["main@{300000 years ago}", "main@{99999999999999 weeks ago}"] {
        let r = p.run(&["log", rev]);
        assert_eq!(r.code, 2, "{rev}: {}", r.stderr);
        assert!(r.stderr.starts_with("error:"), "{}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

/// Machine B fetches, drops its copy of a branch and runs the strictest gc:
/// machine A's branch heads, published as refs in the store, survive, and A
/// keeps saving on top of them.
#[test]
fn gc_on_one_machine_keeps_every_machines_branch_heads() {
    let a = Project::new("shared-refs", Backend::S3);
    a.ok(&["checkout", "-b", "main"]);
    base_data(&a, 200);
    a.ok(&["commit", "-m", "a1"]);
    a.ok(&["checkout", "-b", "feat"]);
    a.mongo().insert("app", "feat", vec![doc! { "_id": 1 }]);
    a.ok(&["commit", "-m", "f1"]);
    let f1 = a.version_of("feat");
    a.ok(&["checkout", "main"]);

    let b = a.another_machine();
    b.ok(&["fetch"]);
    b.ok(&["branch", "-D", "feat"]);
    let r = b.json(&["gc", "--keep-last", "0", "--grace", "0s", "--yes"]);
    let deleted = crate::harness::deleted_version_ids(&r);
    let deleted: Vec<&str> = deleted.iter().map(String::as_str).collect();
    assert!(
        !deleted.contains(&f1.as_str()),
        "A's head is protected: {r}"
    );

    a.ok(&["checkout", "feat"]);
    a.mongo().insert("app", "feat", vec![doc! { "_id": 2 }]);
    a.ok(&["commit", "-m", "f2"]);
    let f = a.json(&["fsck", "--read-data"]);
    assert!(f["damaged"].as_array().unwrap().is_empty(), "{f}");
    let log = a.json(&["log", "feat"]);
    let ids: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[1], f1, "f2 continues f1: {log}");
}

/// A save in progress holds a lease: a sweep on another machine does not
/// delete chunks while it lasts, and says why.
#[test]
fn a_live_lease_defers_the_sweep() {
    let p = Project::new("lease", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "m", vec![doc! { "_id": 1 }]);
    p.ok(&["commit", "-m", "main"]);
    // A branch whose only version expires once the branch is gone.
    p.ok(&["checkout", "-b", "tmp"]);
    base_data(&p, 100);
    p.ok(&["commit", "-m", "tmp"]);
    p.ok(&["checkout", "main"]);
    p.ok(&["branch", "-D", "tmp"]);
    // A lease of a live process on another machine, as a save writes it.
    let leases = p
        .dir
        .parent()
        .unwrap()
        .join("store")
        .join(&p.name)
        .join("leases");
    std::fs::create_dir_all(&leases).unwrap();
    let now = chrono::Utc::now().to_rfc3339();
    std::fs::write(
        leases.join("othermachine-1"),
        format!(r#"{{"machine":"othermachine","host":"b","pid":1,"op":"save","started_at":"{now}","refreshed_at":"{now}"}}"#),
    )
    .unwrap();
    let r = p.json(&["gc", "--keep-last", "0", "--grace", "0s", "--yes"]);
    assert!(r["marked_chunks"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["deleted_chunks"], 0, "{r}");
    assert!(
        r["sweep_deferred"].as_str().unwrap_or("").contains("save"),
        "{r}"
    );
    // The lease ends: the next gc sweeps what was marked.
    std::fs::remove_file(leases.join("othermachine-1")).unwrap();
    let r = p.json(&["gc", "--keep-last", "0", "--grace", "0s", "--yes"]);
    assert!(r["deleted_chunks"].as_u64().unwrap() > 0, "{r}");
    let f = p.json(&["fsck", "--read-data"]);
    assert!(f["damaged"].as_array().unwrap().is_empty(), "{f}");
}

/// With `[engine] auth`, only argon's generated login reaches a branch:
/// anonymous clients are refused on every engine argon starts (a new branch,
/// a copy of a running one, one restored from a version), while `argon uri`
/// hands the login over, reports mask it, and saves and restores still work.
#[test]
fn engines_with_auth_let_in_only_argons_login() {
    let p = Project::new("safety-auth", Backend::File).with_auth();
    p.ok(&["checkout", "-b", "main"]);

    let refused = |what: &str| {
        let anon = crate::harness::Mongo::connect(p.port);
        let e = anon
            .try_command("app", doc! { "insert": "x", "documents": [{ "a": 1 }] })
            .expect_err(&format!("{what}: an anonymous write must be refused"));
        assert!(
            e.to_string().contains("requires authentication")
                || e.to_string().contains("Unauthorized"),
            "{what}: {e}"
        );
    };
    refused("new branch");

    let creds = p.home.join("argon").join("credentials");
    let file = std::fs::read_dir(&creds)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let password = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let uri = p.ok(&["uri"]).trim().to_string();
    assert!(uri.contains(&format!("argon:{password}@")), "{uri}");
    let env = p.ok(&["env"]);
    assert!(env.contains(&password), "argon env hands the login over");
    let status = p.ok(&["status"]);
    assert!(
        !status.contains(&password),
        "status masks the password: {status}"
    );
    assert!(status.contains("argon:****@"), "{status}");

    let app = crate::harness::Mongo::connect_uri(&uri);
    app.insert("app", "docs", (0..50).map(|i| doc! { "_id": i }).collect());
    let v1 = p.commit("fifty");
    app.insert("app", "docs", (50..60).map(|i| doc! { "_id": i }).collect());
    drop(app);

    // A copy of main's volume carries its user along.
    let copy = p.run(&["checkout", "-b", "copy"]);
    assert_eq!(copy.code, 0, "{}", copy.stderr);
    assert!(!copy.stdout.contains(&password) && !copy.stderr.contains(&password));
    refused("copied branch");
    assert_eq!(
        crate::harness::Mongo::connect_uri(&uri).count("app", "docs"),
        60
    );

    // A restore starts from a volume with no user: argon gives it one.
    p.ok(&["checkout", "-b", "old", &v1]);
    refused("restored branch");
    assert_eq!(
        crate::harness::Mongo::connect_uri(&uri).count("app", "docs"),
        50
    );

    p.ok(&["checkout", "main"]);
    refused("main again");
    assert_eq!(
        crate::harness::Mongo::connect_uri(&uri).count("app", "docs"),
        60
    );
    let helpers = p.docker(&[
        "ps",
        "-a",
        "--filter",
        "label=dev.argon.role=login",
        "--format",
        "{{.Names}}",
    ]);
    assert!(
        !helpers.contains(&p.name),
        "login helpers are removed: {helpers}"
    );
}

/// A project with nothing running gives its Docker network back (Docker has
/// room for about 30 bridge networks; a developer has more projects than
/// that), and gets it again, still its own, when a branch runs.
#[test]
fn a_stashed_project_gives_its_network_back() {
    let p = Project::new("safety-network", Backend::File);
    let networks = || {
        p.docker(&[
            "network",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            &format!("name=argon-{}-", p.name),
        ])
    };
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "docs", vec![doc! { "_id": 1 }]);
    assert_eq!(networks().lines().count(), 1, "one network while HEAD runs");
    p.ok(&["stash"]);
    assert_eq!(networks().trim(), "", "given back once nothing runs");
    p.ok(&["stash", "pop"]);
    assert_eq!(networks().lines().count(), 1);
    assert_eq!(p.mongo().count("app", "docs"), 1);
}
