//! Named fault points, for the fault-injection tests (tests/it/faults.rs).
//! With `ARGON_FAULT_POINT=<name>` argon stops itself at that point:
//! `ARGON_FAULT_ACTION=kill` (the default) sends itself SIGKILL, as a crash or
//! `kill -9` would; `wait` prints a line on stderr and waits two minutes there,
//! so a test can send a signal at a known step. Unset, a point costs one
//! environment lookup. Not a user setting: README documents it as test-only.

use std::time::Duration;

pub async fn point(name: &str) {
    let Ok(wanted) = std::env::var("ARGON_FAULT_POINT") else {
        return;
    };
    if wanted != name {
        return;
    }
    if std::env::var("ARGON_FAULT_ACTION").as_deref() == Ok("wait") {
        eprintln!("argon: waiting at fault point {name}");
        tokio::time::sleep(Duration::from_secs(120)).await;
        return;
    }
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &std::process::id().to_string()])
        .status();
    // If kill could not be run, die anyway, just as abruptly.
    std::process::abort();
}
