//! Named fault points, for the fault-injection tests (tests/it/faults.rs).
//! With `ARGON_FAULT_POINT=<name>` argon stops itself at that point:
//! `ARGON_FAULT_ACTION=kill` (the default) sends itself SIGKILL, as a crash or
//! `kill -9` would; `wait` prints a line on stderr and waits two minutes there,
//! so a test can send a signal at a known step, or do something under argon
//! (restart Docker) and then let it go on by creating the file named by
//! `ARGON_FAULT_RESUME`. Unset, a point costs one
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
        let resume = std::env::var_os("ARGON_FAULT_RESUME").map(std::path::PathBuf::from);
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while std::time::Instant::now() < deadline {
            if resume.as_ref().is_some_and(|f| f.exists()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        return;
    }
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &std::process::id().to_string()])
        .status();
    // If kill could not be run, die anyway, just as abruptly.
    std::process::abort();
}
