//! Fault injection: argon killed (SIGKILL) or interrupted (SIGINT) at named
//! steps of its operations (`ARGON_FAULT_POINT`, see src/fault.rs), a stalled
//! S3 server, a full disk, and two machines saving and collecting garbage on
//! one store at once. After each fault the next argon command repairs what it
//! finds: no acknowledged write is lost, no container, volume or temporary
//! file is left over, and `fsck --read-data` is clean. Each scenario prints a
//! `fault-table:` line (run with `--nocapture` to see the table).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mongodb::bson::doc;

use crate::harness::{required_env, Backend, Project, Run, WaitingArgon, Writer};

fn killed_at(p: &Project, point: &str, args: &[&str]) -> Run {
    let r = p.run_with(args, &[("ARGON_FAULT_POINT", point)]);
    assert_eq!(
        r.code, -1,
        "argon {args:?} must die at {point}\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    r
}

/// Every file below `dir` whose name ends in `.tmp`, and every file in
/// ARGON_HOME's temporary folders.
fn leftover_files(p: &Project) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let tmp = p.home.join("argon").join("tmp");
    let store = p.dir.parent().unwrap().join("store");
    let mut stack = vec![tmp.clone(), store];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.starts_with(&tmp) || path.to_string_lossy().ends_with(".tmp") {
                out.push(path);
            }
        }
    }
    out
}

/// Containers of the project other than the running HEAD's, and volumes no
/// branch uses (capture copies, half-filled volumes).
fn leftover_docker(p: &Project) -> Vec<String> {
    let mut out = Vec::new();
    for role in ["capture", "copy", "restore"] {
        for branch in p.branch_names() {
            out.extend(p.docker_objects("container", &branch, role));
        }
    }
    let all = p.docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}} {{.Label \"dev.argon.role\"}} {{.State}}",
        "--filter",
        &format!("name=argon-{}-", p.name),
    ]);
    let engines: Vec<&str> = all.lines().filter(|l| l.contains(" engine ")).collect();
    // HEAD's engine, and those of the branches kept warm.
    let warm = p
        .json(&["branch"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["state"] == "warm")
        .count();
    if engines.len() > 1 + warm {
        out.extend(engines.iter().map(|l| format!("extra engine: {l}")));
    }
    let volumes = p.docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=argon-{}-", p.name),
    ]);
    let branches = p.json(&["branch"]);
    let local = branches
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["state"] != "archived")
        .count();
    let n = volumes.split_whitespace().count();
    if n > local {
        out.push(format!("{n} volumes for {local} branches with local data"));
    }
    out
}

impl Project {
    fn branch_names(&self) -> Vec<String> {
        self.json(&["branch"])
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap().to_string())
            .collect()
    }
}

pub fn assert_whole(p: &Project, what: &str) {
    // A background save still at work has its files in flight.
    p.settle_background_saves();
    let f = p.json(&["fsck", "--read-data"]);
    assert!(
        f["damaged"].as_array().unwrap().is_empty(),
        "{what}: fsck {f}"
    );
    assert_eq!(
        leftover_files(p),
        Vec::<PathBuf>::new(),
        "{what}: files left"
    );
    assert_eq!(
        leftover_docker(p),
        Vec::<String>::new(),
        "{what}: Docker objects left"
    );
}

fn missing(acked: &[i64], found: &HashSet<i64>) -> usize {
    acked.iter().filter(|id| !found.contains(id)).count()
}

/// The writes in `app.w` of main (HEAD) and of feat, when there is a feat;
/// HEAD is main again afterwards.
fn writes_in_main_and_feat(p: &Project) -> HashSet<i64> {
    let mut found = p.mongo().ids("app", "w");
    if p.branch_names().iter().any(|b| b == "feat") {
        p.ok(&["checkout", "feat"]);
        found.extend(p.mongo().ids("app", "w"));
        p.ok(&["checkout", "main"]);
    }
    found
}

fn with_base(p: &Project) -> String {
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert(
        "app",
        "base",
        (0..1500)
            .map(|i| doc! { "_id": i as i64, "pad": "y".repeat(300) })
            .collect(),
    );
    p.commit("base")
}

/// Leaving a branch, killed after it stopped (before its save), while its
/// clients are held by the proxy and it is being saved to stay warm, and
/// after the new branch started (before HEAD moved): the next command brings
/// HEAD back with every acknowledged write.
#[test]
fn killed_while_switching() {
    // (point, [serve] setting): this engine cannot fence writes itself, so
    // a branch left cold is stopped and then read.
    for (point, serve) in [
        ("leave:stopped", "warm = 0"),
        ("save:fenced", "warm = 2"),
        ("switch:started", "warm = 2"),
    ] {
        let p = Project::new(&format!("fault-{}", point.replace(':', "-")), Backend::File);
        p.set_serve(serve);
        let base = with_base(&p);
        let writer = Writer::start(p.port, 0);
        std::thread::sleep(Duration::from_millis(400));
        killed_at(&p, point, &["checkout", "-b", "feat", &base]);
        let acked = writer.finish();
        let r = p.run(&["checkout", "main"]);
        assert_eq!(r.code, 0, "{point}: {}", r.stderr);
        assert!(r.stderr.contains("recovered"), "{point}: {}", r.stderr);
        // Writes after feat took the stable port went to feat.
        let lost = missing(&acked, &writes_in_main_and_feat(&p));
        println!(
            "fault-table: checkout -b ({serve}) | SIGKILL at {point} | acknowledged {} | lost {lost} | leftovers {}",
            acked.len(),
            leftover_docker(&p).len() + leftover_files(&p).len()
        );
        assert_eq!(lost, 0, "{point}");
        assert_whole(&p, point);
    }
}

/// `checkout -b` from running HEAD, which hands HEAD's engine to the new
/// branch, killed while the engine is paused for the copy of its files,
/// after the copy (before the metadata moves), and after HEAD moved (before
/// the proxy serves it): the next command brings HEAD back, nothing
/// acknowledged is lost, and nothing is left behind.
#[test]
fn killed_while_handing_over_heads_engine() {
    for point in ["save:paused", "fork:copied", "switch:started"] {
        let p = Project::durable(
            &format!("fault-hand-{}", point.replace(':', "-")),
            Backend::File,
        );
        with_base(&p);
        let writer = Writer::start(p.port, 0);
        std::thread::sleep(Duration::from_millis(400));
        killed_at(&p, point, &["checkout", "-b", "feat"]);
        let acked = writer.finish();
        let r = p.run(&["checkout", "main"]);
        assert_eq!(r.code, 0, "{point}: {}", r.stderr);
        assert!(r.stderr.contains("recovered"), "{point}: {}", r.stderr);
        assert_eq!(p.mongo().count("app", "base"), 1500, "{point}");
        // Killed before the metadata moved, there is no feat.
        let moved = p.branch_names().iter().any(|b| b == "feat");
        assert_eq!(moved, point == "switch:started", "{point}");
        // Writes after feat took HEAD's engine went to feat.
        let lost = missing(&acked, &writes_in_main_and_feat(&p));
        println!(
            "fault-table: checkout -b (hand-over) | SIGKILL at {point} | acknowledged {} | lost {lost} | leftovers {}",
            acked.len(),
            leftover_docker(&p).len() + leftover_files(&p).len()
        );
        assert_eq!(lost, 0, "{point}");
        assert_whole(&p, point);
    }
}

/// A commit killed after its chunks were uploaded, before its manifest: no
/// half version, and the next commit saves (resending nothing it has).
#[test]
fn killed_between_chunks_and_manifest() {
    let p = Project::new("fault-captured", Backend::File);
    with_base(&p);
    p.mongo().insert("app", "more", vec![doc! { "_id": 1 }]);
    let before = p.json(&["log"]).as_array().unwrap().len();
    killed_at(&p, "save:captured", &["commit", "-m", "killed"]);
    assert_eq!(p.json(&["log"]).as_array().unwrap().len(), before);
    let r = p.json(&["commit", "-m", "again"]);
    assert!(r["version"].is_object(), "{r}");
    println!(
        "fault-table: commit | SIGKILL at save:captured | acknowledged 1 | lost 0 | leftovers 0"
    );
    assert_whole(&p, "save:captured");
}

/// A paused-copy save killed while HEAD's container is paused: the next
/// command unpauses it and removes the copy.
#[test]
fn killed_while_head_is_paused() {
    let p = Project::with_engine("fault-paused", Backend::File, true);
    with_base(&p);
    p.mongo().insert("app", "more", vec![doc! { "_id": 1 }]);
    killed_at(&p, "save:paused", &["commit", "-m", "killed"]);
    let engine = p.docker_objects("container", "main", "engine");
    let paused = p.docker(&["inspect", "-f", "{{.State.Paused}}", &engine[0]]);
    assert_eq!(paused.trim(), "true", "the fault left HEAD frozen");
    let r = p.json(&["commit", "-m", "again"]);
    assert!(r["version"].is_object(), "{r}");
    let paused = p.docker(&["inspect", "-f", "{{.State.Paused}}", &engine[0]]);
    assert_eq!(paused.trim(), "false");
    p.mongo().insert("app", "more", vec![doc! { "_id": 2 }]);
    println!("fault-table: commit (paused copy) | SIGKILL at save:paused | acknowledged 2 | lost 0 | leftovers 0");
    assert_whole(&p, "save:paused");
}

/// Ctrl-C while HEAD is paused for a copy: argon unpauses it before it
/// exits 130.
#[test]
fn interrupted_while_head_is_paused() {
    let p = Project::with_engine("fault-sigint", Backend::File, true);
    with_base(&p);
    p.mongo().insert("app", "more", vec![doc! { "_id": 1 }]);
    let waiting = WaitingArgon::at(&p, "save:paused", &["commit", "-m", "interrupted"]);
    let engine = p.docker_objects("container", "main", "engine");
    assert_eq!(
        p.docker(&["inspect", "-f", "{{.State.Paused}}", &engine[0]])
            .trim(),
        "true"
    );
    Command::new("kill")
        .args(["-INT", &waiting.child.id().to_string()])
        .status()
        .unwrap();
    let (status, said) = waiting.finish();
    assert_eq!(status.code(), Some(130), "{said:?}");
    assert!(said.iter().any(|l| l.contains("recovered")), "{said:?}");
    assert_eq!(
        p.docker(&["inspect", "-f", "{{.State.Paused}}", &engine[0]])
            .trim(),
        "false",
        "argon unfroze HEAD before exiting"
    );
    p.mongo().insert("app", "more", vec![doc! { "_id": 2 }]);
    println!("fault-table: commit (paused copy) | SIGINT at save:paused | acknowledged 2 | lost 0 | leftovers 0");
    assert_whole(&p, "SIGINT");
}

/// `reset --hard` killed after the branch got its new identity, before the
/// target was restored: what it left is in the version it saved, and the next
/// command finishes the reset.
#[test]
fn killed_in_the_middle_of_a_reset() {
    let p = Project::new("fault-reset", Backend::File);
    let c1 = with_base(&p);
    let writer = Writer::start(p.port, 0);
    std::thread::sleep(Duration::from_millis(400));
    killed_at(&p, "reset:swapped", &["reset", "--hard", &c1]);
    let acked = writer.finish();
    let r = p.run(&["checkout", "main"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(p.mongo().count("app", "w"), 0, "main is at c1");
    // The state the reset left is the version saved before the kill.
    let log = p.json(&["log", "--all"]);
    let saved = log
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["message"].as_str().unwrap_or("").starts_with("reset:"))
        .unwrap_or_else(|| panic!("no version saved by the reset: {log}"));
    p.ok(&["checkout", "-b", "left", saved["id"].as_str().unwrap()]);
    let lost = missing(&acked, &p.mongo().ids("app", "w"));
    println!(
        "fault-table: reset --hard | SIGKILL at reset:swapped | acknowledged {} | lost {lost} | leftovers {}",
        acked.len(),
        leftover_docker(&p).len() + leftover_files(&p).len()
    );
    assert_eq!(lost, 0);
    assert_whole(&p, "reset:swapped");
}

/// A gc killed while it holds the store's gc lock: the lock is stale (its
/// process is gone), so saves go on and the next gc sweeps.
#[test]
fn killed_while_holding_the_gc_lock() {
    let p = Project::new("fault-gc", Backend::File);
    with_base(&p);
    p.ok(&["checkout", "-b", "tmp"]);
    p.mongo().insert(
        "app",
        "tmp",
        (0..500)
            .map(|i| doc! { "_id": i as i64, "t": "x".repeat(200) })
            .collect(),
    );
    p.ok(&["commit", "-m", "tmp"]);
    p.ok(&["checkout", "main"]);
    p.ok(&["branch", "-D", "tmp"]);
    killed_at(
        &p,
        "gc:locked",
        &["gc", "--keep-last", "0", "--grace", "0s", "--yes"],
    );
    p.mongo().insert("app", "after", vec![doc! { "_id": 1 }]);
    let c = p.json(&["commit", "-m", "after the dead gc"]);
    assert!(c["version"].is_object(), "{c}");
    let r = p.json(&["gc", "--keep-last", "0", "--grace", "0s", "--yes"]);
    assert!(r["deleted_chunks"].as_u64().unwrap() > 0, "{r}");
    println!("fault-table: gc | SIGKILL at gc:locked | acknowledged 1 | lost 0 | leftovers 0");
    assert_whole(&p, "gc:locked");
}

/// A full disk under the local store: the save fails with an error, HEAD
/// keeps serving, earlier versions stay whole, and a save after space is
/// freed works.
#[test]
fn a_full_disk_fails_the_save_and_keeps_everything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(mounted.success(), "mounting a small tmpfs (needs root)");
    let _unmount = Unmount(small.clone());
    let p = Project::new("fault-disk", Backend::File);
    let toml = std::fs::read_to_string(p.dir.join("argon.toml")).unwrap();
    let store_line = toml
        .lines()
        .find(|l| l.starts_with("url = "))
        .unwrap()
        .to_string();
    let toml = toml.replace(
        &store_line,
        &format!("url = \"file://{}\"", small.join("store").display()),
    );
    std::fs::write(p.dir.join("argon.toml"), toml).unwrap();
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "small", vec![doc! { "_id": 1 }]);
    p.ok(&["commit", "-m", "fits"]);
    // Incompressible data, more than the disk holds.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<_> = (0..6000i64)
        .map(|i| {
            let bytes: Vec<u8> = (0..1000)
                .map(|_| {
                    // xorshift: bytes zstd cannot shrink
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            doc! { "_id": i, "b": mongodb::bson::Binary { subtype: mongodb::bson::spec::BinarySubtype::Generic, bytes } }
        })
        .collect();
    p.mongo().insert("app", "big", noise);
    let r = p.run(&["commit", "-m", "too big"]);
    let df = Command::new("df").arg(&small).output().unwrap();
    assert_eq!(
        r.code,
        1,
        "{}\n{}\n{}",
        r.stdout,
        r.stderr,
        String::from_utf8_lossy(&df.stdout)
    );
    assert!(r.stderr.starts_with("error:"), "{}", r.stderr);
    assert_eq!(p.mongo().count("app", "big"), 6000, "HEAD keeps serving");
    // Space comes back (the disk grows, as an admin would free it).
    let grown = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(grown.success());
    p.mongo().command("app", doc! { "drop": "big" });
    p.mongo().insert("app", "small", vec![doc! { "_id": 2 }]);
    let ok = p.json(&["commit", "-m", "after space came back"]);
    assert!(ok["version"].is_object(), "{ok}");
    let f = p.json(&["fsck", "--read-data"]);
    assert!(f["damaged"].as_array().unwrap().is_empty(), "{f}");
    let tmp_files: Vec<_> = walk(&small)
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(tmp_files.is_empty(), "{tmp_files:?}");
    println!("fault-table: commit | local disk full | acknowledged 2 | lost 0 | leftovers 0");
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// An S3 server that stops answering mid-save: the save fails within the
/// configured timeout instead of hanging, HEAD keeps serving, and once the
/// server answers again a save completes.
#[test]
fn a_stalled_s3_server_fails_the_save_instead_of_hanging_it() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = "argon-stall";
    std::fs::create_dir_all(dir.path().join(bucket)).unwrap();
    let port = crate::harness::free_port();
    let mut server = Command::new("s3s-fs")
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", &required_env("ARGON_TEST_S3_ACCESS_KEY")])
        .args(["--secret-key", &required_env("ARGON_TEST_S3_SECRET_KEY")])
        .arg(dir.path())
        .env(
            "PATH",
            format!(
                "{}/.cargo/bin:{}",
                std::env::var("HOME").unwrap_or_default(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3s-fs runs (scripts/test-services.sh installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let p = Project::new("fault-s3", Backend::File);
    let toml = std::fs::read_to_string(p.dir.join("argon.toml")).unwrap();
    let url = toml
        .lines()
        .find(|l| l.starts_with("url = "))
        .unwrap()
        .to_string();
    let toml = toml.replace(
        &url,
        &format!(
            "url = \"s3://{bucket}/p\"\nendpoint = \"http://127.0.0.1:{port}\"\ntimeout = \"2s\""
        ),
    );
    std::fs::write(p.dir.join("argon.toml"), toml).unwrap();
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "a", vec![doc! { "_id": 1 }]);
    p.ok(&["commit", "-m", "before the stall"]);
    p.mongo().insert("app", "a", vec![doc! { "_id": 2 }]);
    let pid = server.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    let started = Instant::now();
    let r = p.run(&["commit", "-m", "during the stall"]);
    let took = started.elapsed();
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.starts_with("error:"), "{}", r.stderr);
    // Bounded: 3 attempts of at most 4 x 2 s, plus slack (not a speed
    // assertion: without timeouts this never returns).
    assert!(took < Duration::from_secs(120), "took {took:?}");
    p.mongo().insert("app", "a", vec![doc! { "_id": 3 }]);
    let ok = p.json(&["commit", "-m", "after the stall"]);
    assert!(ok["version"].is_object(), "{ok}");
    let f = p.json(&["fsck", "--read-data"]);
    assert!(f["damaged"].as_array().unwrap().is_empty(), "{f}");
    println!(
        "fault-table: commit | S3 stalled (SIGSTOP) | acknowledged 3 | lost 0 | failed after {:.1} s",
        took.as_secs_f64()
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// Two machines on one S3 store, saving and collecting garbage at the same
/// time for several rounds: no damaged version, and every head of both still
/// checks out with its data.
#[test]
fn two_machines_saving_and_collecting_at_once() {
    let rounds: usize = std::env::var("ARGON_FAULT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(4);
    let a = Project::new("fault-two", Backend::S3);
    a.ok(&["checkout", "-b", "main"]);
    let b = a.another_machine();
    b.ok(&["checkout", "-b", "other"]);
    let mut expected_a = 0u64;
    let mut expected_b = 0u64;
    for round in 0..rounds {
        let (pa, pb) = (&a, &b);
        std::thread::scope(|s| {
            let ta = s.spawn(move || {
                // A branch whose chunks this round's gc deletes while B saves.
                let scratch = format!("scratch{round}");
                pa.ok(&["checkout", "-b", &scratch]);
                pa.mongo().insert(
                    "app",
                    "s",
                    (0..300).map(|i| doc! { "i": i, "pad": format!("s{round}-{i}-{}", "s".repeat(200)) }).collect(),
                );
                pa.ok(&["commit", "-m", &scratch]);
                pa.ok(&["checkout", "main"]);
                pa.ok(&["branch", "-D", &scratch]);
                pa.mongo().insert(
                    "app",
                    "a",
                    (0..300).map(|i| doc! { "r": round as i64, "i": i, "pad": format!("{round}-{i}-{}", "a".repeat(200)) }).collect(),
                );
                let r = pa.run(&["commit", "-m", &format!("a{round}")]);
                assert_eq!(r.code, 0, "A's commit: {}", r.stderr);
                let g = pa.run(&["gc", "--keep-last", "0", "--grace", "0s", "--yes"]);
                assert_eq!(g.code, 0, "A's gc: {}", g.stderr);
            });
            let tb = s.spawn(move || {
                pb.mongo().insert(
                    "app",
                    "b",
                    (0..300).map(|i| doc! { "r": round as i64, "i": i, "pad": format!("{round}-{i}-{}", "b".repeat(200)) }).collect(),
                );
                let g = pb.run(&["gc", "--keep-last", "0", "--grace", "0s", "--yes"]);
                assert_eq!(g.code, 0, "B's gc: {}", g.stderr);
                let r = pb.run(&["commit", "-m", &format!("b{round}")]);
                assert_eq!(r.code, 0, "B's commit: {}", r.stderr);
            });
            ta.join().unwrap();
            tb.join().unwrap();
        });
        expected_a += 300;
        expected_b += 300;
    }
    for (p, branch, coll, n) in [
        (&a, "main", "a", expected_a),
        (&b, "other", "b", expected_b),
    ] {
        let f = p.json(&["fsck", "--read-data"]);
        assert!(f["damaged"].as_array().unwrap().is_empty(), "{f}");
        let head = p.version_of(branch);
        p.ok(&["checkout", "-b", "check", &head]);
        assert_eq!(
            p.mongo().count("app", coll),
            n,
            "{branch}'s head restores whole"
        );
    }
    println!(
        "fault-table: commit + gc on two machines x {rounds} rounds | damaged 0 | heads restore whole"
    );
}

/// argon killed (SIGKILL) at random moments of switches, under a writer,
/// round after round; after each, the next command repairs. Every
/// acknowledged write is in one of the two branches at the end.
/// `ARGON_FAULT_ROUNDS` sets the rounds (scripts/faults-long.sh runs many).
#[test]
fn killed_at_random_moments_of_switches() {
    let rounds: u64 = std::env::var("ARGON_FAULT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let p = Project::new("fault-random", Backend::File);
    with_base(&p);
    p.ok(&["checkout", "-b", "other"]);
    p.ok(&["checkout", "main"]);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("fault-table: random kills seed {seed}");
    let writer = Writer::start(p.port, 0);
    let mut killed = 0;
    for round in 0..rounds {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let target = if round % 2 == 0 { "other" } else { "main" };
        let mut child = p
            .command(&["checkout", target])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(seed % 2500));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
            let _ = child.kill();
        }
        let _ = child.wait();
        let r = p.run(&["checkout", target]);
        assert_eq!(r.code, 0, "round {round}: {}", r.stderr);
    }
    std::thread::sleep(Duration::from_millis(300));
    let acked = writer.finish();
    let mut found = HashSet::new();
    for branch in ["main", "other"] {
        p.ok(&["checkout", branch]);
        found.extend(p.mongo().ids("app", "w"));
    }
    let lost = missing(&acked, &found);
    println!(
        "fault-table: checkout | SIGKILL at random ({killed} of {rounds} rounds killed) | acknowledged {} | lost {lost} | leftovers {}",
        acked.len(),
        leftover_docker(&p).len() + leftover_files(&p).len()
    );
    assert_eq!(lost, 0);
    assert_whole(&p, "random kills");
}

/// The metadata (SQLite) deleted while HEAD runs with unsaved writes:
/// `fsck --rebuild-index` rebuilds it from the store and finds the local
/// volumes and the running HEAD again, so the unsaved writes are still there.
#[test]
fn the_metadata_deleted_under_a_running_head() {
    let p = Project::new("fault-sqlite", Backend::File);
    with_base(&p);
    p.ok(&["checkout", "-b", "feat"]);
    p.ok(&["checkout", "main"]);
    p.mongo().insert("app", "unsaved", vec![doc! { "_id": 1 }]);
    let home = p.home.join("argon");
    for f in ["argon.db", "argon.db-wal", "argon.db-shm"] {
        let _ = std::fs::remove_file(home.join(f));
    }
    let r = p.run(&["fsck", "--rebuild-index"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("local data found again"), "{}", r.stderr);
    let status = p.json(&["status"]);
    assert_eq!(status["head"], "main", "{status}");
    assert_eq!(status["state"], "running", "{status}");
    p.ok(&["checkout", "feat"]);
    p.ok(&["checkout", "main"]);
    assert_eq!(
        p.mongo().count("app", "unsaved"),
        1,
        "the unsaved write survived"
    );
    println!("fault-table: metadata deleted | SQLite removed under a running HEAD | acknowledged 1 | lost 0 | leftovers 0");
    assert_whole(&p, "sqlite deleted");
}

/// A store that gives out in the middle of an operation (the fault-injecting
/// store, `ARGON_FAULT_STORE`): a commit whose chunk or manifest write fails
/// records nothing and leaves HEAD serving; a checkout whose save of the
/// branch left fails keeps HEAD where it was; a gc whose deletes fail part
/// way damages no version it keeps. The next command without the fault
/// finishes each job.
#[test]
fn a_store_failing_mid_operation_damages_nothing() {
    let p = Project::new("fault-store", Backend::File);
    let base = with_base(&p);
    let versions = |p: &Project| p.json(&["log", "--all"]).as_array().unwrap().len();
    let before = versions(&p);
    let mut acked = 0;
    for fault in ["put-chunk:0", "put-version:0"] {
        p.mongo().insert(
            "app",
            "more",
            (0..200)
                .map(|i| doc! { "_id": format!("{fault}-{i}"), "pad": "q".repeat(300) })
                .collect(),
        );
        acked += 200;
        let r = p.run_with(&["commit", "-m", "fails"], &[("ARGON_FAULT_STORE", fault)]);
        assert_eq!(r.code, 1, "{fault}: {}", r.stderr);
        assert!(r.stderr.contains("injected fault"), "{fault}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert_eq!(versions(&p), before, "{fault}: no version recorded");
        assert_eq!(
            p.mongo().count("app", "more"),
            acked,
            "{fault}: HEAD serves"
        );
    }
    // Its chunks are in the store already (the failed manifest write above):
    // the manifest is what fails here.
    // Saved before the switch: background saves are off for this one.
    let r = p.run_with(
        &["checkout", "-b", "feat", &base],
        &[
            ("ARGON_FAULT_STORE", "put-version:0"),
            ("ARGON_BACKGROUND_SAVE", "false"),
        ],
    );
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_eq!(p.json(&["status"])["head"], "main", "HEAD stays on main");
    assert_eq!(p.mongo().count("app", "more"), acked);
    let c = p.json(&["commit", "-m", "after the faults"]);
    assert!(c["version"].is_object(), "{c}");

    // Versions to collect: a branch with its own data, deleted.
    p.ok(&["checkout", "-b", "tmp"]);
    p.mongo().insert(
        "app",
        "tmp",
        (0..800)
            .map(|i| doc! { "_id": i as i64, "t": format!("{i}-{}", "w".repeat(400)) })
            .collect(),
    );
    p.ok(&["commit", "-m", "tmp"]);
    p.ok(&["checkout", "main"]);
    p.ok(&["branch", "-D", "tmp"]);
    let gc = ["gc", "--keep-last", "0", "--grace", "0s", "--yes"];
    let r = p.run_with(&gc, &[("ARGON_FAULT_STORE", "delete:1")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("injected fault"), "{}", r.stderr);
    assert_whole(&p, "gc with failing deletes");
    let r = p.json(&gc);
    assert!(r["deleted_chunks"].as_u64().unwrap() > 0, "{r}");
    // The checkout that failed goes through now.
    p.ok(&["checkout", "-b", "feat", &base]);
    p.ok(&["checkout", "main"]);
    assert_eq!(p.mongo().count("app", "more"), acked);
    println!(
        "fault-table: commit, checkout -b, gc | store writes and deletes fail part way | acknowledged {acked} | lost 0 | leftovers 0"
    );
    assert_whole(&p, "store faults");
}
