//! The checked-in completions and man pages match the clap definitions.

use std::path::Path;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn completions_and_man_pages_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_argon"))
        .args(["generate-docs"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["completions", "man"] {
        let fresh = files(&tmp.path().join(sub));
        let checked_in = files(&repo.join(sub));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&checked_in),
            names(&fresh),
            "{sub}/ is out of date: run 'cargo run -- generate-docs .'"
        );
        for (a, b) in checked_in.iter().zip(&fresh) {
            assert!(
                a.1 == b.1,
                "{sub}/{} is out of date: run 'cargo run -- generate-docs .'",
                a.0
            );
        }
    }
    let bash = std::fs::read_to_string(repo.join("completions/argon.bash")).unwrap();
    assert!(
        bash.contains("argon __branches"),
        "bash completes branch names dynamically"
    );
}

/// A branch name is data, never code: valid git names may hold `$(...)`,
/// and they arrive from teammates (fetch, git hooks). Pressing Tab must not
/// run them. The shipped bash completion is run for real, with an `argon`
/// that lists such a name.
#[test]
fn bash_completion_never_runs_a_branch_name() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("pwned");
    let evil = format!("x$(touch {})", marker.display());
    // The `argon` the completion runs: a shell function, not a script file.
    // (A file written by this multithreaded test process and executed at
    // once can fail with ETXTBSY when another test forks meanwhile.)
    let fake = format!(
        "argon() {{ printf '%s\\n' main '{evil}' 'x`touch {m}`'; }}",
        m = marker.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/argon.bash");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{fake}; source '{}'; COMP_WORDS=(argon checkout x); COMP_CWORD=2; _argon_with_branches; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let replies = String::from_utf8_lossy(&out.stdout);
    assert!(!marker.exists(), "completion ran code from a branch name");
    let offered: Vec<&str> = replies.lines().collect();
    assert_eq!(offered.len(), 2, "both x... names offered: {replies}");
    // Offered shell-quoted: what lands on the command line is the name itself.
    for reply in offered {
        let echoed = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("printf '%s' {reply}"))
            .output()
            .unwrap();
        assert!(!marker.exists(), "the quoted reply ran code");
        assert!(String::from_utf8_lossy(&echoed.stdout).starts_with("x"));
    }
    assert!(!marker.exists());
}
