//! The hook scripts argon installs, in the style of git-lfs: they never block
//! or fail a git operation, keep a user's existing hook running (chained), and
//! are recognised, upgraded and removed by their marker line.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{io, GitError, Result};

/// Hooks argon installs.
pub const HOOKS: &[&str] = &["post-checkout"];
/// Bumped when the script changes; older argon hooks are upgraded on install.
pub const HOOK_VERSION: u32 = 1;
const MARKER: &str = "# argon-hook v";
/// Suffix of a user's hook that an argon hook runs first.
pub const CHAINED_SUFFIX: &str = ".argon-chained";
/// Suffix of a user's hook that `--force` replaced.
pub const BACKUP_SUFFIX: &str = ".argon-backup";

/// The lines a user can add to their own hook (`--manual`).
pub fn manual_lines(hook: &str) -> String {
    format!(
        "command -v argon >/dev/null 2>&1 && argon hooks run {hook} \"$@\" || echo \"argon: the database did not follow this git operation\" >&2"
    )
}

fn script(hook: &str) -> String {
    format!(
        r#"#!/bin/sh
{MARKER}{HOOK_VERSION}: installed by 'argon hooks install'; 'argon hooks uninstall' removes it.
# It never fails or blocks git: when argon is missing or fails it prints one warning line.
status=0
if [ -x "$0{CHAINED_SUFFIX}" ]; then
  "$0{CHAINED_SUFFIX}" "$@" || status=$?
fi
if command -v argon >/dev/null 2>&1; then
  argon hooks run {hook} "$@" || echo "argon: the database did not follow this git operation (see above)" >&2
else
  echo "argon: not found on PATH; the database did not follow this git operation" >&2
fi
exit $status
"#
    )
}

/// What is at a hook's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookState {
    Missing,
    Current,
    /// An argon hook written by an older argon.
    Outdated,
    /// Someone else's hook.
    Foreign,
}

pub fn state(path: &Path) -> Result<HookState> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HookState::Missing),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return Ok(HookState::Foreign),
        Err(e) => return Err(io("reading", path)(e)),
    };
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix(MARKER))
        .and_then(|rest| rest.split(':').next())
        .and_then(|v| v.trim().parse::<u32>().ok());
    Ok(match version {
        Some(v) if v >= HOOK_VERSION => HookState::Current,
        Some(_) => HookState::Outdated,
        None => HookState::Foreign,
    })
}

/// How to treat a hook someone else wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Keep it running before argon's (the default).
    Chain,
    /// Replace it, keeping a backup.
    Replace,
}

#[derive(Debug, Serialize)]
pub struct HookChange {
    pub hook: String,
    pub path: PathBuf,
    /// "installed", "upgraded", "unchanged", "chained", "replaced", "removed", "restored", "absent".
    pub action: &'static str,
    pub detail: Option<PathBuf>,
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("argon-tmp");
    std::fs::write(&tmp, text).map_err(io("writing", &tmp))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .map_err(io("making executable", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("installing", path))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub fn install(dir: &Path, existing: Existing) -> Result<Vec<HookChange>> {
    std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    let mut changes = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let (action, detail) = match state(&path)? {
            HookState::Current => ("unchanged", None),
            HookState::Missing => {
                write_executable(&path, &script(hook))?;
                ("installed", None)
            }
            HookState::Outdated => {
                write_executable(&path, &script(hook))?;
                ("upgraded", None)
            }
            HookState::Foreign => {
                let (suffix, action) = match existing {
                    Existing::Chain => (CHAINED_SUFFIX, "chained"),
                    Existing::Replace => (BACKUP_SUFFIX, "replaced"),
                };
                let moved = with_suffix(&path, suffix);
                if moved.exists() {
                    return Err(GitError::ForeignHook { path: moved });
                }
                std::fs::rename(&path, &moved).map_err(io("moving aside", &path))?;
                write_executable(&path, &script(hook))?;
                (action, Some(moved))
            }
        };
        changes.push(HookChange {
            hook: hook.to_string(),
            path,
            action,
            detail,
        });
    }
    Ok(changes)
}

/// Removes argon's hooks and puts a chained user hook back.
pub fn uninstall(dir: &Path) -> Result<Vec<HookChange>> {
    let mut changes = Vec::new();
    for hook in HOOKS {
        let path = dir.join(hook);
        let chained = with_suffix(&path, CHAINED_SUFFIX);
        let (action, detail) = match state(&path)? {
            HookState::Current | HookState::Outdated => {
                std::fs::remove_file(&path).map_err(io("removing", &path))?;
                if chained.exists() {
                    std::fs::rename(&chained, &path).map_err(io("restoring", &chained))?;
                    ("restored", Some(chained))
                } else {
                    ("removed", None)
                }
            }
            HookState::Missing | HookState::Foreign => ("absent", None),
        };
        changes.push(HookChange {
            hook: hook.to_string(),
            path,
            action,
            detail,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_chain_upgrade_uninstall() {
        let dir = tempfile::tempdir().unwrap();
        let hook = dir.path().join("post-checkout");
        std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
        let c = install(dir.path(), Existing::Chain).unwrap();
        assert_eq!(c[0].action, "chained");
        assert_eq!(state(&hook).unwrap(), HookState::Current);
        assert_eq!(
            install(dir.path(), Existing::Chain).unwrap()[0].action,
            "unchanged"
        );
        // An older argon hook is upgraded in place, the chained one kept.
        std::fs::write(
            &hook,
            script("post-checkout")
                .replace(&format!("{MARKER}{HOOK_VERSION}:"), &format!("{MARKER}0:")),
        )
        .unwrap();
        assert_eq!(state(&hook).unwrap(), HookState::Outdated);
        assert_eq!(
            install(dir.path(), Existing::Chain).unwrap()[0].action,
            "upgraded"
        );
        let u = uninstall(dir.path()).unwrap();
        assert_eq!(u[0].action, "restored");
        assert_eq!(
            std::fs::read_to_string(&hook).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        assert_eq!(
            uninstall(dir.path()).unwrap()[0].action,
            "absent",
            "a user's hook is never removed"
        );
    }

    #[test]
    fn replace_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("post-checkout"), "#!/bin/sh\n").unwrap();
        let c = install(dir.path(), Existing::Replace).unwrap();
        assert_eq!(c[0].action, "replaced");
        assert!(dir.path().join("post-checkout.argon-backup").exists());
    }
}
