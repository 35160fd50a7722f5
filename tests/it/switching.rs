//! Switching through the proxy on the stable port: an application that
//! keeps writing while the user switches back and forth loses nothing and
//! never writes into a branch that is not HEAD; warm branches come back
//! with their data; a killed proxy or a killed switch is repaired by the
//! next command; an idle HEAD is suspended and woken by its next client.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use mongodb::bson::doc;

use crate::harness::{required_env, Backend, Mongo, Project, WaitingArgon, Writer};

/// `argon status` says the proxy sends clients to an engine.
fn assert_serving(status: &serde_json::Value) {
    let route = status["proxy"]["route"].as_str().unwrap_or_default();
    assert!(route.starts_with("serve"), "{status}");
}

fn state_of(p: &Project, branch: &str) -> String {
    p.branch_info(branch)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Back and forth between two branches under writes: the branch left stays
/// warm, every acknowledged write is in exactly one branch, and every write
/// acknowledged while a branch was HEAD (between one checkout returning and
/// the next starting) is in that branch.
#[test]
fn switching_under_writes_puts_each_write_in_the_branch_that_was_head() {
    let p = Project::new("switch-warm", Backend::File);
    switch_under_writes(&p, "warm");
}

/// The same with `[serve] warm = 0`: the branch left is stopped, its engine
/// exiting while the next one starts, and its save left to the background.
#[test]
fn switching_cold_under_writes_puts_each_write_in_the_branch_that_was_head() {
    let p = Project::new("switch-cold", Backend::File);
    p.set_warm(0);
    switch_under_writes(&p, "stashed");
}

/// Five switches between main and feat while a client writes through the
/// stable port; the branch left is in state `left` after each.
fn switch_under_writes(p: &Project, left: &str) {
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert(
        "app",
        "base",
        (0..200).map(|i| doc! { "_id": i, "pad": "m" }).collect(),
    );
    p.commit("base");
    p.ok(&["checkout", "-b", "feat"]);
    // Both branches known; feat is HEAD.
    // No retried writes: a retry after a switch would write the same
    // document into both branches.
    let writer = Writer::start_uri(
        &format!(
            "mongodb://127.0.0.1:{}/?directConnection=true&retryWrites=false",
            p.port
        ),
        0,
    );
    std::thread::sleep(Duration::from_millis(300));
    // (branch, from, to): while `branch` was HEAD for sure.
    let mut windows: Vec<(&str, Instant, Instant)> = Vec::new();
    let mut head_since = Instant::now() - Duration::from_millis(300);
    let mut head = "feat";
    for target in ["main", "feat", "main", "feat"] {
        let started = Instant::now();
        windows.push((head, head_since, started));
        let report = p.json(&["checkout", target]);
        assert_eq!(report["branch"], target, "{report}");
        head_since = Instant::now();
        head = target;
        assert_eq!(
            state_of(p, if target == "main" { "feat" } else { "main" }),
            left
        );
        std::thread::sleep(Duration::from_millis(400));
    }
    let stopped = Instant::now();
    let acked = writer.finish_timed();
    windows.push((head, head_since, stopped));

    let in_feat = p.mongo().ids("app", "w");
    assert_eq!(p.mongo().count("app", "base"), 200);
    let to_main = p.json(&["checkout", "main"]);
    assert_eq!(to_main["branch"], "main", "{to_main}");
    let in_main = p.mongo().ids("app", "w");
    assert_eq!(p.mongo().count("app", "base"), 200);

    assert!(
        acked.len() > 50,
        "the writer got writes in: {}",
        acked.len()
    );
    let both: Vec<&i64> = in_feat.intersection(&in_main).collect();
    assert!(both.is_empty(), "writes in both branches: {both:?}");
    let all: HashSet<i64> = in_feat.union(&in_main).copied().collect();
    let lost: Vec<i64> = acked
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !all.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    let mut checked = 0;
    for (id, at) in &acked {
        let Some((branch, _, _)) = windows.iter().find(|(_, from, to)| at > from && at < to) else {
            continue; // acknowledged during a switch: either branch is right
        };
        let found = if *branch == "main" {
            &in_main
        } else {
            &in_feat
        };
        assert!(
            found.contains(id),
            "write {id} acknowledged while {branch} was HEAD is not in {branch}"
        );
        checked += 1;
    }
    assert!(
        checked > 20,
        "writes acknowledged between switches: {checked}"
    );
    eprintln!(
        "switch-table: 5 switches under writes (branch left {left}): acknowledged {}, in main {}, in feat {}, lost 0, in both 0",
        acked.len(),
        in_main.len(),
        in_feat.len()
    );
}

/// After `checkout -b feat` from a changed main: main's save, made in the
/// background, recorded a version after `base` with the checkout's message,
/// and feat began at that version.
fn assert_feat_began_at_mains_new_version(p: &Project, base: &str) {
    let saved = p.version_of("main");
    assert_ne!(saved, base, "main's writes are a version");
    assert_eq!(
        p.json(&["log", "main"])[0]["message"],
        "checkout: moving from main to feat"
    );
    assert_eq!(
        p.version_of("feat"),
        saved,
        "feat began at main's saved state"
    );
}

/// The engine containers of the project: id and start time of each.
fn engines(p: &Project) -> Vec<String> {
    let ids = p.docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("name=argon-{}-", p.name),
        "--filter",
        "label=dev.argon.role=engine",
    ]);
    ids.split_whitespace()
        .map(|id| {
            let started = p.docker(&["inspect", "-f", "{{.State.StartedAt}}", id]);
            format!("{id} {}", started.trim())
        })
        .collect()
}

/// `checkout -b` from running HEAD under a client that keeps writing: the
/// new branch goes on with HEAD's engine (no engine starts: the container
/// and its process stay), every write acknowledged before the command is
/// in both branches (the new one began as a copy), every write acknowledged
/// after it returned is in the new branch only, nothing acknowledged is
/// lost, and the branch left is saved in the background from its copy.
#[test]
fn checkout_b_from_running_head_hands_its_engine_to_the_new_branch() {
    let p = Project::durable("switch-handover", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert(
        "app",
        "base",
        (0..200).map(|i| doc! { "_id": i, "pad": "m" }).collect(),
    );
    let base = p.commit("base");
    let before = engines(&p);
    assert_eq!(before.len(), 1, "{before:?}");
    let writer = Writer::start_uri(
        &format!(
            "mongodb://127.0.0.1:{}/?directConnection=true&retryWrites=false",
            p.port
        ),
        0,
    );
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let report = p.json(&["checkout", "-b", "feat"]);
    let returned = Instant::now();
    assert_eq!(report["branch"], "feat", "{report}");
    assert_eq!(report["pending_save"], true, "{report}");
    std::thread::sleep(Duration::from_millis(500));
    let acked = writer.finish_timed();
    assert_eq!(
        engines(&p),
        before,
        "feat runs main's engine, never restarted"
    );

    let in_feat = p.mongo().ids("app", "w");
    p.ok(&["wait"]);
    assert_feat_began_at_mains_new_version(&p, &base);
    assert_eq!(p.json(&["status"])["changed"], true, "feat was written");
    p.ok(&["checkout", "main"]);
    let in_main = p.mongo().ids("app", "w");
    assert_eq!(p.mongo().count("app", "base"), 200);

    let (mut old, mut new) = (0, 0);
    for (id, at) in &acked {
        assert!(
            in_feat.contains(id) || in_main.contains(id),
            "acknowledged write {id} lost"
        );
        if *at < started {
            assert!(
                in_main.contains(id),
                "write {id} from before is not in main"
            );
            assert!(
                in_feat.contains(id),
                "write {id} from before is not in feat"
            );
            old += 1;
        } else if *at > returned {
            assert!(!in_main.contains(id), "write {id} from after is in main");
            assert!(in_feat.contains(id), "write {id} from after is not in feat");
            new += 1;
        }
    }
    assert!(old > 10 && new > 10, "writes before {old}, after {new}");
    // Every write main holds was acknowledged before feat took its engine,
    // or was in flight then.
    assert!(in_main.is_subset(&in_feat), "main holds writes feat lacks");
}

/// An engine that can neither fence its writes nor is known to put every
/// acknowledged write in its files (the test engine as it runs by default):
/// `checkout -b` never copies its files while it runs, where the copy could
/// lack the newest writes; it stops it, and the branch left keeps them all.
#[test]
fn checkout_b_stops_an_engine_that_can_neither_fence_nor_sync() {
    let p = Project::new("switch-no-handover", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    for round in 0..3_i64 {
        p.mongo()
            .insert("app", "late", vec![doc! { "_id": round, "pad": "l" }]);
        let before = engines(&p);
        p.ok(&["checkout", "-b", &format!("f{round}")]);
        assert_ne!(engines(&p), before, "a new engine serves f{round}");
        assert_eq!(p.mongo().count("app", "late"), round as u64 + 1);
        p.ok(&["checkout", "main"]);
        assert_eq!(
            p.mongo().count("app", "late"),
            round as u64 + 1,
            "main keeps the write made just before checkout -b"
        );
    }
}

/// `[serve] warm_memory`: warm engines stay only while their memory
/// together fits; an engine is far bigger than a megabyte, far smaller
/// than 64 GiB.
#[test]
fn warm_branches_stay_within_the_memory_budget() {
    let p = Project::new("switch-memory", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": 1 }]);
    let base = p.commit("base");
    let roomy = [("ARGON_WARM_MEMORY", "64G")];
    let r = p.run_with(&["checkout", "-b", "feat", &base], &roomy);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(state_of(&p, "main"), "warm");
    let tight = [("ARGON_WARM_MEMORY", "1M")];
    let r = p.run_with(&["checkout", "main"], &tight);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(state_of(&p, "feat"), "stashed", "over the budget: stopped");
    assert!(p.docker_objects("container", "feat", "engine").is_empty());
    let r = p.run_with(&["checkout", "feat"], &[("ARGON_WARM_MEMORY", "lots")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("warm_memory"), "{}", r.stderr);
    assert_eq!(p.json(&["checkout", "feat"])["branch"], "feat");
    assert_eq!(p.mongo().count("app", "t"), 1);
}

/// `[serve] warm = 1`: of the branches left, only the most recent stays
/// warm; the others are stopped (stashed, their volume kept) and come back
/// with their data.
#[test]
fn only_the_configured_number_of_branches_stay_warm() {
    let p = Project::new("switch-budget", Backend::File);
    p.set_warm(1);
    p.ok(&["checkout", "-b", "a"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": "a" }]);
    p.ok(&["checkout", "-b", "b"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": "b" }]);
    p.ok(&["checkout", "-b", "c", "a"]);
    // c came from a's latest version, so b was left warm.
    assert_eq!(state_of(&p, "b"), "warm");
    p.ok(&["checkout", "a"]);
    assert_eq!(state_of(&p, "c"), "warm");
    assert_eq!(state_of(&p, "b"), "stashed");
    assert!(p.docker_objects("container", "b", "engine").is_empty());
    let to_b = p.json(&["checkout", "b"]);
    assert_eq!(to_b["branch"], "b", "{to_b}");
    // b's own document and the one it was copied with from a.
    assert_eq!(p.mongo().count("app", "t"), 2);
}

/// The proxy killed (as a reboot would): clients get nothing until the next
/// argon command, `status` included, starts it again and says so.
#[test]
fn a_killed_proxy_is_started_again_by_the_next_command() {
    let p = Project::new("switch-proxy-killed", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": 1 }]);
    let status = p.json(&["status"]);
    assert_eq!(status["proxy"]["running"], true, "{status}");
    let pid = status["proxy"]["pid"].as_u64().unwrap() as u32;
    kill(pid);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", p.port)).is_err(),
        "nothing listens once the proxy is killed"
    );
    // `argon status` notices and starts it again, and says so.
    let human = p.ok(&["status"]);
    assert!(
        human.contains("it was down and was started again"),
        "{human}"
    );
    assert_eq!(Mongo::connect(p.port).count("app", "t"), 1);
    let status = p.json(&["status"]);
    assert_eq!(status["proxy"]["running"], true, "{status}");
    assert_eq!(status["proxy"]["started"], false, "{status}");
    // So does any command that takes the project: here, a commit.
    let pid = status["proxy"]["pid"].as_u64().unwrap() as u32;
    kill(pid);
    p.ok(&["commit", "-m", "after the proxy died"]);
    assert_eq!(Mongo::connect(p.port).count("app", "t"), 1);
}

/// argon killed in the middle of a switch, with HEAD's clients held by the
/// proxy: the next command puts HEAD back in service, data whole.
#[test]
fn a_switch_killed_while_clients_are_held_is_repaired() {
    let p = Project::new("switch-killed", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": 1 }]);
    let base = p.commit("base");
    p.mongo().insert("app", "t", vec![doc! { "_id": 2 }]);
    let mut waiting = WaitingArgon::at(&p, "save:fenced", &["checkout", "-b", "feat", &base]);
    waiting.child.kill().unwrap();
    let _ = waiting.finish();
    let r = p.run(&["checkout", "main"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let status = p.json(&["status"]);
    assert_eq!(status["head"], "main", "{status}");
    assert_serving(&status);
    assert_eq!(Mongo::connect(p.port).count("app", "t"), 2);
}

/// `[serve] idle_suspend`: HEAD with no client for that long is stashed
/// (saved first, as `argon stash` does), and the first client to connect
/// wakes it and is served, with the data it had.
#[test]
fn an_idle_head_is_suspended_and_the_next_client_wakes_it() {
    let p = Project::new("switch-idle", Backend::File);
    let path = p.dir.join("argon.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        toml.replace("[serve]\n", "[serve]\nidle_suspend = \"3s\"\n"),
    )
    .unwrap();
    p.ok(&["checkout", "-b", "main"]);
    p.mongo()
        .insert("app", "t", (0..50).map(|i| doc! { "_id": i }).collect());
    let start = Instant::now();
    let status = loop {
        let status = p.json(&["status"]);
        if status["proxy"]["route"] == "sleep" {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "HEAD was never suspended: {status}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(status["state"], "stashed", "{status}");
    // Stashed as `argon stash` does: its version recorded in the background.
    p.ok(&["wait"]);
    let log = p.json(&["log"]);
    assert_eq!(log[0]["message"], "idle suspend", "{log}");
    let human = p.ok(&["status"]);
    assert!(human.contains("the next client wakes it"), "{human}");

    // A client with a generous timeout, as drivers have by default.
    let woken = Instant::now();
    let app = Mongo::connect_uri(&format!(
        "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=60000",
        p.port
    ));
    assert_eq!(app.count("app", "t"), 50);
    eprintln!("switch-table: woken on connect in {:?}", woken.elapsed());
    let status = p.json(&["status"]);
    assert_eq!(status["state"], "running", "{status}");
    assert_serving(&status);
}

/// The proxy killed in the middle of a switch, while it holds the clients:
/// the switch starts a new one when it routes the new HEAD, and goes on.
#[test]
fn a_proxy_killed_mid_switch_is_started_again_by_the_switch() {
    let p = Project::new("switch-proxy-mid", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": 1 }]);
    p.ok(&["checkout", "-b", "feat"]);
    p.mongo().insert("app", "t", vec![doc! { "_id": 2 }]);
    let waiting = WaitingArgon::at(&p, "save:fenced", &["checkout", "main"]);
    let pid = proxy_pid(p.port).expect("the proxy runs during the switch");
    kill(pid);
    waiting.resume();
    let (status, said) = waiting.finish();
    assert!(status.success(), "{said:?}");
    assert_eq!(
        Mongo::connect(p.port).count("app", "t"),
        1,
        "main is served"
    );
    let status = p.json(&["status"]);
    assert_eq!(status["head"], "main", "{status}");
    assert_eq!(status["proxy"]["running"], true, "{status}");
    assert_eq!(state_of(&p, "feat"), "warm");
}

/// `checkout -b` from HEAD after writes returns before the branch left is
/// saved: its save is pending, and recorded by the background argon. The
/// new branch, a copy of that volume, gets the recorded version as its
/// parent and starts clean; `branch` and `log` name a pending save.
#[test]
fn the_branch_left_is_saved_in_the_background_and_its_copy_follows() {
    let p = Project::new("switch-background", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo().insert(
        "app",
        "t",
        (0..500)
            .map(|i| doc! { "_id": i, "pad": "b".repeat(200) })
            .collect(),
    );
    let base = p.commit("base");
    p.mongo()
        .insert("app", "late", (0..100).map(|i| doc! { "_id": i }).collect());
    // Held at the save's end, so the pending state can be looked at.
    let resume = p.home.join("resume-bg");
    let r = p.run_with(
        &["checkout", "-b", "feat"],
        &[
            ("ARGON_FAULT_POINT", "save:captured"),
            ("ARGON_FAULT_ACTION", "wait"),
            ("ARGON_FAULT_RESUME", resume.to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Saving main in the background"),
        "{}",
        r.stdout
    );
    assert_eq!(p.mongo().count("app", "late"), 100, "feat is a copy");
    let start = Instant::now();
    while p.json(&["status"])["pending_saves"][0]["running"] != true {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no background save"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let main = p.branch_info("main");
    assert_eq!(main["saving"], true, "{main}");
    let log = p.run(&["log", "main"]);
    assert!(
        log.stderr.contains("being saved in the background"),
        "{}",
        log.stderr
    );
    std::fs::write(&resume, "").unwrap();

    let done = p.json(&["wait"]);
    assert!(
        done.as_array().unwrap().is_empty(),
        "the background argon saved it: {done}"
    );
    assert_feat_began_at_mains_new_version(&p, &base);
    assert_eq!(p.json(&["status"])["changed"], false, "feat starts clean");
    // The version holds the late writes: main restored from the store.
    p.json(&["gc", "--local"]);
    p.ok(&["checkout", "main"]);
    assert_eq!(p.mongo().count("app", "late"), 100);
}

/// The pid of the proxy listening on `port`, from /proc.
fn proxy_pid(port: u16) -> Option<u32> {
    let listen = format!("127.0.0.1:{port}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_proxy = args.contains(&b"__proxy".as_slice()) && args.contains(&listen.as_bytes());
        is_proxy.then_some(pid)
    })
}

/// Sends `pid` SIGTERM and gives it a moment to go.
fn kill(pid: u32) {
    std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
}

/// The proxy serves HEAD at its engine's own address on the project's
/// network (a userland hop fewer than the published port). Docker gives that
/// address to another container once the engine stops: after a `docker
/// stop` of HEAD, an engine that takes it gets no client of the stable port,
/// and HEAD, started again, is served with its own data.
#[test]
fn an_address_left_by_a_stopped_head_never_takes_its_clients() {
    let p = Project::new("switch-direct-reused", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo()
        .insert("app", "who", vec![doc! { "_id": 1, "branch": "main" }]);
    let status = p.json(&["status"]);
    let route = status["proxy"]["route"].as_str().unwrap_or_default();
    let (_, direct) = route
        .split_once(" via ")
        .unwrap_or_else(|| panic!("served at the engine's own address: {status}"));
    let container = p.docker_objects("container", "main", "engine").remove(0);
    // (network, address) of a container on one network.
    let network_of = |c: &str| {
        let found = p.docker(&[
            "inspect",
            "-f",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}}{{end}}",
            c,
        ]);
        let (network, ip) = found.trim().split_once(' ').unwrap();
        (network.to_string(), ip.to_string())
    };
    let (network, ip) = network_of(&container);
    assert!(direct.starts_with(&format!("{ip}:")), "{status}");
    p.docker(&["stop", &container]);

    // Another engine on the project's network takes the address.
    let impostor = Impostor(format!("argon-test-impostor-{}", p.name));
    let mut run = vec!["run", "-d", "--name", &impostor.0, "--network", &network];
    let image = crate::harness::required_env("ARGON_TEST_IMAGE");
    run.push(&image);
    let command = crate::harness::engine_command(false);
    run.extend(command.iter().map(String::as_str));
    p.docker(&run);
    let (_, impostor_ip) = network_of(&impostor.0);
    assert_eq!(impostor_ip, ip, "the other engine took HEAD's address");
    let other = Mongo::connect_uri(&format!(
        "mongodb://{direct}/?directConnection=true&serverSelectionTimeoutMS=10000"
    ));
    other.insert("app", "who", vec![doc! { "_id": 1, "branch": "impostor" }]);

    let client = Mongo::connect_uri(&format!(
        "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=2000",
        p.port
    ));
    let answer = client.try_command("app", doc! { "find": "who" });
    assert!(
        answer.is_err(),
        "a client of the stable port reached the engine at HEAD's old address: {answer:?}"
    );

    // HEAD started again (by hand, as Docker's restart policy would): its
    // clients get its data, through its published port.
    p.docker(&["start", &container]);
    let client = Mongo::connect_uri(&format!(
        "mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=10000",
        p.port
    ));
    assert_eq!(branches_in_who(&client), ["main"]);
    // The next command that takes the project routes to its address again.
    p.ok(&["commit", "-m", "after the restart"]);
    let status = p.json(&["status"]);
    let route = status["proxy"]["route"].as_str().unwrap_or_default();
    assert!(route.contains(" via "), "{status}");
    assert_eq!(branches_in_who(&client), ["main"]);
}

/// The `branch` field of every document in app.who, as `client` finds them.
fn branches_in_who(client: &Mongo) -> Vec<String> {
    let found = client.command("app", doc! { "find": "who" });
    let docs = found
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .unwrap_or_else(|e| panic!("{e}: {found}"));
    docs.iter()
        .map(|d| {
            let d = d.as_document().unwrap();
            d.get_str("branch").unwrap_or_default().to_string()
        })
        .collect()
}

/// A container the test started itself, removed when the test ends.
struct Impostor(String);

impl Drop for Impostor {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.0])
            .output();
    }
}

/// Back to the branch just left while its save is still under way in the
/// background: the switch does not wait for that save (it makes way, held
/// here at a fault point in its capture that it would otherwise only leave
/// after two minutes), the branch takes its volume back with every write,
/// and the branch left by the second switch is saved afterwards. With the
/// branch left kept warm (paused) and without (stopped).
fn switch_back_while_its_save_runs(p: &Project) {
    p.ok(&["checkout", "-b", "main"]);
    p.mongo()
        .insert("app", "base", (0..100).map(|i| doc! { "_id": i }).collect());
    let base = p.commit("base");
    p.ok(&["checkout", "-b", "feat"]);
    p.ok(&["checkout", "main"]);
    p.mongo()
        .insert("app", "late", (0..50).map(|i| doc! { "_id": i }).collect());
    // No background save of the switches above is left to take main's save
    // (each starts a moment after its switch, and finishes every pending save).
    p.settle_background_saves();
    // The background save this starts (for main) waits in its capture.
    let resume = p.home.join("never-resumed");
    let left = p.run_with(
        &["--format", "json", "checkout", "feat"],
        &[
            ("ARGON_FAULT_POINT", "save:capturing"),
            ("ARGON_FAULT_ACTION", "wait"),
            ("ARGON_FAULT_RESUME", resume.to_str().unwrap()),
        ],
    );
    assert_eq!(left.code, 0, "{}", left.stderr);
    assert_eq!(left.json()["pending_save"], true, "{}", left.stdout);
    let log = saves_log(p);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("waiting at fault point save:capturing")
    {
        assert!(
            Instant::now() < deadline,
            "the background save never captured: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    p.mongo().insert(
        "app",
        "in_feat",
        (0..20).map(|i| doc! { "_id": i }).collect(),
    );

    let back = p.json(&["checkout", "main"]);
    assert_eq!(back["branch"], "main", "{back}");
    assert_eq!(back["pending_save"], true, "feat's save is pending: {back}");
    assert!(!resume.exists());
    let m = p.mongo();
    assert_eq!(m.count("app", "base"), 100);
    assert_eq!(m.count("app", "late"), 50, "main took its volume back");
    assert_eq!(m.count("app", "in_feat"), 0);
    assert_ne!(
        p.json(&["status"])["changed"],
        false,
        "main's late writes are unsaved"
    );

    p.ok(&["wait"]);
    let saves = std::fs::read_to_string(&log).unwrap();
    assert!(
        !saves.contains("saved branch 'main'"),
        "main's save made way and was called off: {saves}"
    );
    // The capture engine it killed to make way is removed once the switch
    // had the lock: no dead container stays behind.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !p.docker_objects("container", "main", "capture").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the killed capture engine was never removed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(p.version_of("main"), base, "main keeps its last version");
    assert_ne!(p.version_of("feat"), base);
    assert_eq!(p.json(&["status"])["pending_saves"], serde_json::json!([]));

    // Every write is where it was made, through a cold start of each too.
    p.ok(&["stash"]);
    p.ok(&["wait"]);
    p.ok(&["checkout", "feat"]);
    assert_eq!(p.mongo().count("app", "in_feat"), 20);
    assert_eq!(p.mongo().count("app", "late"), 0, "feat began before them");
    p.ok(&["checkout", "main"]);
    assert_eq!(p.mongo().count("app", "late"), 50);
    assert_eq!(p.mongo().count("app", "in_feat"), 0);
}

/// A background save that makes way for a switch kills its capture engine
/// and removes the container only once the switch has the lock. Should it
/// die in between, the stopped container left naming the branch's volume
/// does not keep the branch from being deleted.
#[test]
fn a_stopped_container_left_on_a_branch_volume_does_not_block_deleting_it() {
    let p = Project::new("leftover-on-volume", Backend::File);
    p.set_warm(0);
    p.ok(&["checkout", "-b", "main"]);
    p.mongo()
        .insert("app", "base", (0..10).map(|i| doc! { "_id": i }).collect());
    p.ok(&["checkout", "-b", "feat"]);
    p.mongo().insert(
        "app",
        "in_feat",
        (0..5).map(|i| doc! { "_id": i }).collect(),
    );
    p.ok(&["checkout", "main"]);
    p.settle_background_saves();
    let volumes = p.docker_objects("volume", "feat", "data");
    assert_eq!(volumes.len(), 1, "{volumes:?}");
    let leftover = format!("argon-{}-leftover", p.name);
    p.docker(&[
        "create",
        "--name",
        &leftover,
        "-v",
        &format!("{}:/data/db", volumes[0]),
        &required_env("ARGON_TEST_IMAGE"),
    ]);

    let deleted = p.run(&["branch", "-D", "feat"]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(p.docker_objects("volume", "feat", "data").is_empty());
    let left = p.docker(&["ps", "-a", "-q", "--filter", &format!("name={leftover}")]);
    assert_eq!(
        left.trim(),
        "",
        "the stopped container went with the volume"
    );
    assert_eq!(p.mongo().count("app", "base"), 10, "main is untouched");
}

/// The background saves' log of project `p`.
fn saves_log(p: &Project) -> std::path::PathBuf {
    let dir = p.home.join("argon").join("saves");
    let found = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .find(|path| path.extension().is_some_and(|x| x == "log"));
    found.unwrap_or_else(|| panic!("no log in {}", dir.display()))
}

#[test]
fn switching_back_to_a_warm_branch_does_not_wait_for_its_save() {
    let p = Project::new("switch-back-warm", Backend::File);
    p.set_warm(2);
    switch_back_while_its_save_runs(&p);
}

#[test]
fn switching_back_to_a_stopped_branch_does_not_wait_for_its_save() {
    let p = Project::new("switch-back-cold", Backend::File);
    p.set_warm(0);
    switch_back_while_its_save_runs(&p);
}
