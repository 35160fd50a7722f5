//! A Docker engine on another host, reached over TCP (`DOCKER_HOST`): the
//! second dockerd `scripts/second-dockerd.sh` runs for the tests. Branches,
//! saves, restores and logins work there as on the local engine; and that
//! engine restarted under argon (`systemctl restart docker`, an upgrade)
//! loses no acknowledged write. Restarts are why these tests have the second
//! engine to themselves, one test at a time.

use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use mongodb::bson::doc;

use crate::faults::assert_whole;
use crate::harness::{Backend, DockerHost, Mongo, Project, Run, WaitingArgon, Writer};

/// The second engine serves one of these tests at a time.
static SECOND_ENGINE: Mutex<()> = Mutex::new(());

fn remote_project(test: &str) -> Project {
    Project::new(test, Backend::File)
        .on_docker_host(DockerHost::second())
        .with_auth()
}

fn restart_second_engine() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/second-dockerd.sh");
    let out = Command::new("bash")
        .args([script, "restart"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "restarting the second dockerd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// main, HEAD, with a committed base of 500 documents: its stable URI
/// and the base version.
fn main_with_base(p: &Project) -> (String, String) {
    p.ok(&["checkout", "-b", "main"]);
    let uri = p.ok(&["uri"]).trim().to_string();
    Mongo::connect_uri(&uri).insert(
        "app",
        "base",
        (0..500)
            .map(|i| doc! { "_id": i, "pad": "z".repeat(200) })
            .collect(),
    );
    (uri, p.commit("base"))
}

/// Names of this project's containers on the local (default) Docker engine.
fn local_containers(p: &Project) -> String {
    let out = Command::new("docker")
        .env_remove("DOCKER_HOST")
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .args(["--filter", &format!("name=argon-{}-", p.name)])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn branches_run_on_a_docker_engine_on_another_host() {
    let _one = SECOND_ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let p = remote_project("remote-host");
    // The other host's API takes only clients with a certificate of its CA.
    let mut plain = p.command(&["checkout", "-b", "main"]);
    plain.env_remove("DOCKER_TLS_VERIFY");
    let refused = Run::from(plain.output().unwrap());
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .starts_with("error: cannot reach the Docker engine")
            && refused.stderr.contains("hint:"),
        "{}",
        refused.stderr
    );
    p.ok(&["checkout", "-b", "main"]);
    let uri = p.ok(&["uri"]).trim().to_string();
    // Engines there are published on the address argon reaches that host at
    // (127.0.0.2 stands in for another machine), not on this one's loopback.
    let host = DockerHost::second().host;
    let address = host.trim_start_matches("tcp://").split(':').next().unwrap();
    assert!(uri.contains(&format!("@{address}:")), "{uri}");
    Mongo::connect_uri(&uri).insert("app", "docs", (0..40).map(|i| doc! { "_id": i }).collect());
    p.ok(&["commit", "-m", "forty"]);
    p.ok(&["checkout", "-b", "feat"]);
    Mongo::connect_uri(&uri).insert("app", "docs", vec![doc! { "_id": 40 }]);
    p.ok(&["checkout", "main"]);
    // feat's volume goes; its data comes back from the store onto that host.
    p.json(&["gc", "--local"]);
    p.ok(&["checkout", "feat"]);
    assert_eq!(Mongo::connect_uri(&uri).count("app", "docs"), 41);

    let engines = p.docker_objects("container", "feat", "engine");
    assert_eq!(engines.len(), 1, "feat runs on the other host: {engines:?}");
    assert_eq!(
        local_containers(&p).trim(),
        "",
        "nothing on the local engine"
    );
    assert_whole(&p, "remote host");
}

#[test]
fn docker_restarted_under_argon_loses_nothing() {
    let _one = SECOND_ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let p = remote_project("remote-restart");
    // The restart lands between stopping the branch left and saving it.
    p.set_warm(0);
    let (uri, base) = main_with_base(&p);
    let app = Mongo::connect_uri(&uri);
    app.insert("app", "late", (0..20).map(|i| doc! { "_id": i }).collect());
    drop(app);

    // Restarted with no argon running: HEAD comes back by itself, with its
    // uncommitted writes, and argon does not call it unchanged.
    restart_second_engine();
    let status = p.json(&["status"]);
    assert_eq!(status["state"], "running", "{status}");
    assert_ne!(status["changed"], false, "{status}");
    assert_eq!(Mongo::connect_uri(&uri).count("app", "late"), 20);

    // Restarted while a checkout -b has stopped the branch it leaves and not
    // yet saved it, with an application writing: when argon goes on (or
    // fails and the next command repairs), every acknowledged write is there.
    let writer = Writer::start_uri(&uri, 0);
    std::thread::sleep(Duration::from_millis(400));
    let waiting = WaitingArgon::at(&p, "leave:stopped", &["checkout", "-b", "feat", &base]);
    let acked = writer.finish();
    restart_second_engine();
    waiting.resume();
    let (status, said) = waiting.finish();
    println!("checkout -b across a Docker restart: {status:?} {said:?}");

    let r = p.run(&["checkout", "main"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut found = Mongo::connect_uri(&uri).ids("app", "w");
    if p.json(&["branch"])
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["name"] == "feat")
    {
        p.ok(&["checkout", "feat"]);
        found.extend(Mongo::connect_uri(&uri).ids("app", "w"));
        p.ok(&["checkout", "main"]);
    }
    let lost = acked.iter().filter(|id| !found.contains(id)).count();
    println!(
        "fault-table: checkout -b | Docker restarted at leave:stopped | acknowledged {} | lost {lost} | leftovers 0",
        acked.len()
    );
    assert!(!acked.is_empty());
    assert_eq!(lost, 0);
    assert_eq!(Mongo::connect_uri(&uri).count("app", "late"), 20);
    assert_whole(&p, "Docker restarted");
}

/// A save pending when the machine "restarts": the background argon is
/// killed in the middle of the save, the proxy too, and Docker restarts.
/// The save is still pending, and the next command records it whole.
#[test]
fn a_save_pending_across_a_restart_is_finished_by_the_next_command() {
    let _one = SECOND_ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let p = remote_project("remote-pending");
    let (uri, _) = main_with_base(&p);
    let writer = Writer::start_uri(&uri, 0);
    std::thread::sleep(Duration::from_millis(400));
    let resume = p.home.join("never");
    let r = p.run_with(
        &["checkout", "-b", "feat"],
        &[
            ("ARGON_FAULT_POINT", "save:captured"),
            ("ARGON_FAULT_ACTION", "wait"),
            ("ARGON_FAULT_RESUME", resume.to_str().unwrap()),
        ],
    );
    let acked = writer.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let start = std::time::Instant::now();
    let saver = loop {
        let status = p.json(&["status"]);
        let pending = &status["pending_saves"][0];
        if pending["running"] == true {
            break pending["pid"].as_u64().unwrap();
        }
        assert!(start.elapsed().as_secs() < 60, "{status}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // The machine goes down: argon's processes die, then Docker restarts.
    Command::new("kill")
        .args(["-9", &saver.to_string()])
        .status()
        .unwrap();
    let proxy = p.json(&["status"])["proxy"]["pid"].as_u64().unwrap();
    Command::new("kill")
        .args(["-9", &proxy.to_string()])
        .status()
        .unwrap();
    restart_second_engine();

    let status = p.json(&["status"]);
    assert_eq!(status["pending_saves"][0]["branch"], "main", "{status}");
    assert_eq!(status["pending_saves"][0]["running"], false, "{status}");
    let done = p.json(&["wait"]);
    assert_eq!(done[0]["branch"], "main", "{done}");
    assert!(done[0]["version"].is_object(), "{done}");
    // main's version holds every write it acknowledged: its volume goes
    // and it comes back from the store.
    p.json(&["gc", "--local"]);
    p.ok(&["checkout", "main"]);
    let mut found = Mongo::connect_uri(&uri).ids("app", "w");
    // Writes acknowledged after the switch are feat's.
    p.ok(&["checkout", "feat"]);
    found.extend(Mongo::connect_uri(&uri).ids("app", "w"));
    let lost = acked.iter().filter(|id| !found.contains(id)).count();
    println!(
        "fault-table: checkout -b | save pending, argon killed, Docker restarted | acknowledged {} | lost {lost}",
        acked.len()
    );
    assert!(!acked.is_empty());
    assert_eq!(lost, 0);
    assert_whole(&p, "a pending save across a restart");
}
