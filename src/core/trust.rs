//! Which projects the git hooks may act in, on direnv's model. A cloned
//! repository's `argon.toml` names the image the hook would start; with a
//! global `core.hooksPath`, any `git checkout` would run it. So the hook acts
//! only where this user allowed that exact `argon.toml`: `argon init` and
//! `argon hooks install` allow it, `argon allow` / `argon deny` do it by hand,
//! and a changed file must be allowed again. Commands the user types are
//! their own decision and are not gated.
//!
//! `$ARGON_HOME/allowed` holds one line per project: the SHA-256 of its
//! `argon.toml` and the project's folder.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Error, Result};
use crate::config::{self, CONFIG_FILE};
use crate::store::Hash;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    /// This exact argon.toml was allowed.
    Allowed,
    /// Never allowed here.
    New,
    /// Allowed once, but argon.toml changed since.
    Changed,
}

#[derive(Debug, Serialize)]
pub struct TrustReport {
    pub root: PathBuf,
    pub trust: Trust,
}

fn allow_file() -> PathBuf {
    config::state_dir().join("allowed")
}

fn digest(root: &Path) -> Result<String> {
    let path = root.join(CONFIG_FILE);
    let bytes = std::fs::read(&path).map_err(Error::io(format!("reading {}", path.display())))?;
    Ok(Hash::of(&bytes).to_hex())
}

/// (digest, folder) lines of the allow file; none when it does not exist.
fn entries() -> Result<Vec<(String, String)>> {
    let text = match std::fs::read_to_string(allow_file()) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("reading the list of allowed projects")(e)),
    };
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(d, r)| (d.to_string(), r.to_string()))
        .collect())
}

fn write_entries(entries: &[(String, String)]) -> Result<()> {
    let dir = config::state_dir();
    crate::private::create_dir_all(&dir).map_err(Error::io("creating argon's state folder"))?;
    let text: String = entries.iter().map(|(d, r)| format!("{d} {r}\n")).collect();
    let tmp = dir.join(".allowed.tmp");
    crate::private::write(&tmp, text.as_bytes())
        .and_then(|()| std::fs::rename(&tmp, allow_file()))
        .map_err(Error::io("writing the list of allowed projects"))
}

fn root_key(root: &Path) -> String {
    root.canonicalize()
        .unwrap_or_else(|_| root.to_path_buf())
        .display()
        .to_string()
}

/// Whether the hooks may act in the project at `root`.
pub fn trust(root: &Path) -> Result<Trust> {
    let key = root_key(root);
    let Some((allowed, _)) = entries()?.into_iter().find(|(_, r)| *r == key) else {
        return Ok(Trust::New);
    };
    Ok(if allowed == digest(root)? {
        Trust::Allowed
    } else {
        Trust::Changed
    })
}

/// Allows the project's current argon.toml.
pub fn allow(root: &Path) -> Result<TrustReport> {
    let key = root_key(root);
    let mut all = entries()?;
    all.retain(|(_, r)| *r != key);
    all.push((digest(root)?, key));
    write_entries(&all)?;
    Ok(TrustReport {
        root: root.to_path_buf(),
        trust: Trust::Allowed,
    })
}

/// Withdraws the permission.
pub fn deny(root: &Path) -> Result<TrustReport> {
    let key = root_key(root);
    let mut all = entries()?;
    all.retain(|(_, r)| *r != key);
    write_entries(&all)?;
    Ok(TrustReport {
        root: root.to_path_buf(),
        trust: Trust::New,
    })
}

/// The project folder containing `start`.
pub fn project_root(start: &Path) -> Result<PathBuf> {
    Ok(config::find_root(start)?)
}
