//! External commands: `argon foo ARGS` runs `argon-foo` from PATH, as git does,
//! with a documented environment; its exit code becomes argon's. Builtins are
//! dispatched first, so a plugin can never shadow one.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;

const PREFIX: &str = "argon-";

#[derive(Debug, Serialize)]
pub struct Plugin {
    pub name: String,
    pub path: PathBuf,
}

fn is_executable(p: &std::path::Path) -> bool {
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first `argon-NAME` on PATH.
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(format!("{PREFIX}{name}")))
        .find(|p| is_executable(p))
}

/// Every plugin on PATH (the first of each name, as PATH lookup would pick it).
pub fn found() -> Vec<Plugin> {
    let mut by_name = BTreeMap::new();
    let Some(path) = std::env::var_os("PATH") else {
        return Vec::new();
    };
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_prefix(PREFIX) {
                if !name.is_empty() && is_executable(&entry.path()) {
                    by_name
                        .entry(name.to_string())
                        .or_insert_with(|| entry.path());
                }
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, path)| Plugin { name, path })
        .collect()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The nearest command names, git-style ("The most similar command is ...").
pub fn suggest(name: &str) -> Vec<String> {
    let candidates = super::builtins()
        .into_iter()
        .map(|b| b.name)
        .chain(found().into_iter().map(|p| p.name));
    let mut scored: Vec<(usize, String)> = candidates
        .map(|c| (distance(name, &c), c))
        .filter(|(d, _)| *d <= 2)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().map(|(_, c)| c).collect()
}

/// Runs the plugin and returns its exit code.
pub async fn run(ctx: &Ctx, args: Vec<OsString>) -> i32 {
    let Some((name, rest)) = args.split_first() else {
        return 2;
    };
    let name = name.to_string_lossy().into_owned();
    let Some(path) = find(&name) else {
        let e = crate::core::Error::UnknownCommand {
            name: name.clone(),
            suggestion: suggest(&name),
        };
        return super::report(&e);
    };
    let mut cmd = std::process::Command::new(&path);
    cmd.args(rest);
    if let Ok(exe) = std::env::current_exe() {
        cmd.env("ARGON_BIN", exe);
    }
    // Project context, when the plugin runs inside a project.
    if let Ok(project) = ctx.open(false).await {
        cmd.env("ARGON_PROJECT", project.config.name.as_str());
        cmd.env("ARGON_PROJECT_ROOT", &project.config.root);
        cmd.env("ARGON_MONGODB_URI", project.uri());
        cmd.env("ARGON_STORE", project.config.store.url.to_string());
        if let Some(head) = project.head() {
            cmd.env("ARGON_BRANCH", head);
        }
    }
    // The plugin takes this process's place: its exit code is argon's, and
    // a signal sent to argon (a test's kill, a supervisor's stop) reaches it
    // rather than leaving it running orphaned.
    let e = std::os::unix::process::CommandExt::exec(&mut cmd);
    errln!("error: cannot run {}: {e}", path.display());
    1
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_distance() {
        assert_eq!(super::distance("chekout", "checkout"), 1);
        assert_eq!(super::distance("stash", "stash"), 0);
        assert_eq!(super::distance("", "log"), 3);
    }
}
