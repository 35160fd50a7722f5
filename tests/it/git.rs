//! The database following git through real repositories and real hooks.

use mongodb::bson::doc;

use crate::harness::{snapshot, Backend, Project};

fn db_head(p: &Project) -> String {
    p.json(&["status"])["head"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn git_checkout_switches_and_creates_database_branches() {
    let p = Project::new("gitfollow", Backend::File);
    p.git_init();
    p.ok(&["checkout", "-b", "main"]);
    let installed = p.json(&["hooks", "install"]);
    assert_eq!(installed[0]["action"], "installed");
    let m = p.mongo();
    m.insert("app", "users", vec![doc! { "_id": 1, "name": "on main" }]);
    let main_state = snapshot(&m);

    // A new git branch creates the database branch from main's current state.
    let r = p.git_ok(&["checkout", "-q", "-b", "feature/x"]);
    assert!(
        r.stderr.is_empty() || !r.stderr.contains("warning"),
        "{}",
        r.stderr
    );
    assert_eq!(db_head(&p), "feature/x");
    let m = p.mongo();
    assert_eq!(snapshot(&m), main_state);
    m.insert(
        "app",
        "users",
        vec![doc! { "_id": 2, "name": "on feature" }],
    );
    let hs = p.json(&["hooks", "status"]);
    assert_eq!(hs["in_step"], true, "{hs}");

    // Back to main: main's data, without feature's write.
    p.git_ok(&["checkout", "-q", "main"]);
    assert_eq!(db_head(&p), "main");
    assert_eq!(snapshot(&p.mongo()), main_state);

    // An existing database branch is switched to, with its own data.
    p.git_ok(&["checkout", "-q", "feature/x"]);
    assert_eq!(p.mongo().count("app", "users"), 2);

    // File checkouts and detached HEADs do nothing.
    p.git_ok(&["checkout", "-q", "main", "--", "argon.toml"]);
    assert_eq!(db_head(&p), "feature/x");
    p.git_ok(&["checkout", "-q", "--detach", "main"]);
    assert_eq!(db_head(&p), "feature/x");
    let hs = p.json(&["hooks", "status"]);
    assert_eq!(hs["in_step"], false);

    // Following can be switched off.
    p.git_ok(&["checkout", "-q", "main"]);
    let toml = std::fs::read_to_string(p.dir.join("argon.toml")).unwrap();
    std::fs::write(
        p.dir.join("argon.toml"),
        format!("{toml}\n[git]\nfollow = false\n"),
    )
    .unwrap();
    p.git_ok(&["checkout", "-q", "-b", "unfollowed"]);
    assert_eq!(db_head(&p), "main");
    assert!(p
        .json(&["branch"])
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["name"] != "unfollowed"));
}

#[test]
fn a_failing_or_missing_argon_never_fails_git() {
    let p = Project::new("gitfail", Backend::File);
    p.git_init();
    p.ok(&["checkout", "-b", "main"]);
    p.ok(&["hooks", "install"]);

    let r = p.git(
        &["checkout", "-q", "-b", "broken"],
        &[("DOCKER_HOST", "unix:///nonexistent.sock")],
    );
    assert_eq!(r.code, 0, "git succeeds: {}", r.stderr);
    assert!(
        r.stderr.contains("argon: the database did not follow"),
        "one warning line: {}",
        r.stderr
    );
    assert_eq!(db_head(&p), "main");

    let r = p.git(&["checkout", "-q", "main"], &[("PATH", "/usr/bin:/bin")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("argon: not found on PATH"),
        "{}",
        r.stderr
    );
}

#[test]
fn existing_hooks_are_chained_and_restored() {
    let p = Project::new("gitchain", Backend::File);
    p.git_init();
    p.ok(&["checkout", "-b", "main"]);
    let hook = p.dir.join(".git/hooks/post-checkout");
    let marker = p.dir.join("user-hook-ran");
    let user_hook = format!("#!/bin/sh\necho \"$3\" >> '{}'\n", marker.display());
    std::fs::write(&hook, &user_hook).unwrap();
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(&hook)
        .status()
        .unwrap();

    let r = p.json(&["hooks", "install"]);
    assert_eq!(r[0]["action"], "chained");
    p.git_ok(&["checkout", "-q", "-b", "side"]);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "1",
        "the user's hook still runs"
    );
    assert_eq!(db_head(&p), "side", "and so does argon's");

    // Installing again changes nothing; uninstall puts the user's hook back.
    assert_eq!(p.json(&["hooks", "install"])[0]["action"], "unchanged");
    assert_eq!(p.json(&["hooks", "uninstall"])[0]["action"], "restored");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), user_hook);
    p.git_ok(&["checkout", "-q", "main"]);
    assert_eq!(db_head(&p), "side", "no argon hook any more");

    // --manual changes nothing and says what to add.
    let manual = p.ok(&["hooks", "install", "--manual"]);
    assert!(manual.contains("argon hooks run post-checkout"), "{manual}");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), user_hook);
}

#[test]
fn core_hooks_path_is_honoured() {
    let p = Project::new("githookspath", Backend::File);
    p.git_init();
    p.git_ok(&["config", "core.hooksPath", ".githooks"]);
    p.ok(&["checkout", "-b", "main"]);
    let r = p.json(&["hooks", "install"]);
    assert!(
        r[0]["path"]
            .as_str()
            .unwrap()
            .ends_with(".githooks/post-checkout"),
        "{r}"
    );
    assert!(p.dir.join(".githooks/post-checkout").exists());
    assert!(!p.dir.join(".git/hooks/post-checkout").exists());
    let switched = p.git_ok(&["checkout", "-q", "-b", "via-hooks-path"]);
    // The hook's own output (on git's stderr) says why, should it not act.
    assert_eq!(
        db_head(&p),
        "via-hooks-path",
        "hook output: {}",
        switched.stderr
    );
}

#[test]
fn works_from_a_subfolder_and_a_linked_worktree() {
    let p = Project::new("gitworktree", Backend::File);
    p.git_init();
    p.ok(&["checkout", "-b", "main"]);
    std::fs::create_dir_all(p.dir.join("src/deep")).unwrap();
    let r = p.run(&["-C", "src/deep", "uri"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&p.port.to_string()));
    p.ok(&["hooks", "install"]);
    let wt = p.dir.parent().unwrap().join("wt");
    p.git_ok(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt-branch",
        wt.to_str().unwrap(),
    ]);
    // The linked worktree shares the hooks; its own argon.toml is its own project.
    let s = p.run(&[
        "-C",
        wt.to_str().unwrap(),
        "hooks",
        "status",
        "--format",
        "json",
    ]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let s = s.json();
    assert_eq!(s["git_branch"], "wt-branch");
    assert_eq!(s["hooks"][0]["state"], "current");
}

/// direnv's model: the hooks act only where this user allowed this exact
/// argon.toml. A repository cloned under a global hooks folder is never
/// acted on until allowed; a changed argon.toml asks again; `argon deny`
/// stops the hooks.
#[test]
fn hooks_act_only_in_allowed_projects() {
    let p = Project::new("allow", Backend::File);
    p.git_init();
    p.ok(&["hooks", "install"]);
    p.ok(&["checkout", "-b", "main"]);

    // A teammate's commit changes argon.toml (say, its image): asked again.
    let toml = std::fs::read_to_string(p.dir.join("argon.toml")).unwrap();
    std::fs::write(
        p.dir.join("argon.toml"),
        format!("{toml}\n# changed by a teammate\n"),
    )
    .unwrap();
    let r = p.git(&["checkout", "-q", "-b", "feature"], &[]);
    assert_eq!(r.code, 0, "git is never blocked: {}", r.stderr);
    assert!(r.stderr.contains("argon allow"), "{}", r.stderr);
    assert_eq!(db_head(&p), "main", "not followed until allowed");

    p.ok(&["allow"]);
    p.git_ok(&["checkout", "-q", "main"]);
    p.git_ok(&["checkout", "-q", "feature"]);
    assert_eq!(db_head(&p), "feature");

    p.ok(&["deny"]);
    p.git_ok(&["checkout", "-q", "main"]);
    assert_eq!(db_head(&p), "feature", "denied: the hooks do nothing");

    // A fresh clone that shares this user's hooks folder (core.hooksPath),
    // never allowed: its argon.toml is not acted on.
    let clone = p.another_machine();
    clone.git_init();
    let hooks = p.dir.join(".git").join("hooks");
    clone.git_ok(&["config", "core.hooksPath", hooks.to_str().unwrap()]);
    let r = clone.git(&["checkout", "-q", "-b", "other"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("never allowed"), "{}", r.stderr);
    let containers = p.docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("name=argon-{}-", clone.name),
        "--filter",
        "label=dev.argon.branch=other",
    ]);
    assert!(containers.trim().is_empty(), "nothing was started");
}
