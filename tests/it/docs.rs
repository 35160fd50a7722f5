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
