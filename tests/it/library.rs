//! argon as a library, the way a second front end (a dashboard, an editor
//! plugin) uses it: a project kept open holds no lock while idle, so the CLI
//! works beside it; it locks around each action, and the CLI is then told the
//! project is busy.

use argon::core::{Error, Project as Argon};

use crate::harness::{Backend, Project};

#[test]
fn a_front_end_holds_the_lock_only_around_its_actions() {
    let p = Project::new("library-lock", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    // The library finds argon's state as the CLI does. Every argon the tests
    // start gets its own environment, so this changes nothing for them.
    std::env::set_var("ARGON_HOME", p.home.join("argon"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let quiet = std::sync::Arc::new(argon::progress::Silent);
        let mut front = Argon::open(&p.dir, false, quiet).await.unwrap();

        // Idle: the CLI works, and the front end sees what it did.
        p.ok(&["checkout", "-b", "feat"]);
        front.refresh().unwrap();
        assert_eq!(front.head(), Some("feat"));

        // An action without the lock is refused, before it changes anything.
        let refused = front.checkout("main").await.unwrap_err();
        assert!(matches!(refused, Error::NotLocked), "{refused}");
        assert_eq!(p.json(&["status"])["head"], "feat");

        // Around an action, the CLI is told who holds the project, and what it does.
        argon::core::describe_holder("my front end: checkout main");
        front.lock().await.unwrap();
        let busy = p.run(&["checkout", "main"]);
        assert_eq!(busy.code, 1, "{}", busy.stderr);
        let pid = std::process::id();
        assert!(
            busy.stderr.contains(&format!(
                "another argon process (pid {pid}: my front end: checkout main)"
            )),
            "{}",
            busy.stderr
        );
        let report = front.checkout("main").await.unwrap();
        assert_eq!(report.branch, "main");
        front.unlock();
        assert_eq!(p.json(&["status"])["head"], "main");
        p.ok(&["checkout", "feat"]);
    });
}
