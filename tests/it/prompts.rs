//! Confirmations before destroying data, in a real terminal (tmux).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Backend, Project};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(p: &Project, line: &str) -> Tmux {
        let socket = format!("argon-test-{}-{}", std::process::id(), p.port);
        let env: Vec<String> = p
            .env_words()
            .into_iter()
            .map(|w| format!("'{w}'"))
            .collect();
        let shell = format!(
            "cd '{}' && env -i {} {} ; echo EXIT=$? ; sleep 60",
            p.dir.display(),
            env.join(" "),
            line
        );
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "40",
                &shell,
            ])
            .status()
            .expect("tmux runs");
        assert!(ok.success());
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &str) {
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", keys])
            .status()
            .unwrap();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_argon")
}

#[test]
fn deleting_a_branch_asks_first_in_a_terminal() {
    let p = Project::new("prompt", Backend::File);
    p.ok(&["checkout", "-b", "main"]);
    p.ok(&["checkout", "-b", "feature"]);
    p.ok(&["checkout", "main"]);

    let t = Tmux::start(&p, &format!("{} branch -d feature", bin()));
    t.wait_for("Delete branch 'feature'");
    t.keys("n");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=130") && screen.contains("aborted"),
        "{screen}"
    );
    drop(t);
    assert_eq!(
        p.json(&["branch"]).as_array().unwrap().len(),
        2,
        "nothing deleted"
    );

    let t = Tmux::start(&p, &format!("{} branch -d feature", bin()));
    t.wait_for("Delete branch 'feature'");
    t.keys("y");
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=0") && screen.contains("Deleted branch feature"),
        "{screen}"
    );
    drop(t);
    assert_eq!(p.json(&["branch"]).as_array().unwrap().len(), 1);

    // --yes skips the question in a terminal too.
    p.ok(&["checkout", "-b", "other"]);
    p.ok(&["checkout", "main"]);
    let t = Tmux::start(&p, &format!("{} --yes branch -d other", bin()));
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=0") && !screen.contains("Delete branch"),
        "{screen}"
    );
}
