//! git, read through gix: the repository around a folder, its current branch,
//! the effective hooks folder, whether an operation is in progress; and the
//! hook scripts argon installs there.

pub mod hooks;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot read the git repository at {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path} is not inside a git work tree")]
    NotARepository { path: PathBuf },
    #[error("I/O failed while {op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} already exists and was not written by argon")]
    ForeignHook { path: PathBuf },
}

impl GitError {
    pub fn hint(&self) -> Option<String> {
        match self {
            GitError::NotARepository { .. } => Some("run it inside your application's git work tree".into()),
            GitError::ForeignHook { .. } => Some(
                "'argon hooks install' chains it by default; --force replaces it (a backup is kept); --manual prints what to add yourself".into(),
            ),
            _ => None,
        }
    }
}

pub type Result<T, E = GitError> = std::result::Result<T, E>;

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> GitError {
    let path = path.to_path_buf();
    move |source| GitError::Io { op, path, source }
}

/// A git repository and (for non-bare ones) its work tree.
pub struct Repo {
    repo: gix::Repository,
}

impl Repo {
    /// The repository containing `start`, if any.
    pub fn discover(start: &Path) -> Result<Option<Repo>> {
        // Outside any work tree is not an error; a damaged repository is.
        let start = start.canonicalize().map_err(io("opening", start))?;
        if !start.ancestors().any(|dir| dir.join(".git").exists()) {
            return Ok(None);
        }
        gix::discover(&start)
            .map(|repo| Some(Repo { repo }))
            .map_err(|e| GitError::Read {
                path: start.clone(),
                message: e.to_string(),
            })
    }

    /// Like `discover`, but a folder outside git is an error.
    pub fn open(start: &Path) -> Result<Repo> {
        Self::discover(start)?.ok_or_else(|| GitError::NotARepository {
            path: start.to_path_buf(),
        })
    }

    pub fn work_tree(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The checked-out branch's short name; None when HEAD is detached.
    pub fn current_branch(&self) -> Result<Option<String>> {
        let name = self.repo.head_name().map_err(|e| GitError::Read {
            path: self.repo.git_dir().to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(name.map(|n| n.shorten().to_string()))
    }

    /// A rebase, merge, cherry-pick, revert, bisect or am is under way.
    pub fn operation_in_progress(&self) -> bool {
        self.repo.state().is_some()
    }

    /// Where git runs hooks from: `core.hooksPath` (relative to the work tree
    /// when relative, as git does), else the common git dir's `hooks`.
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        let configured = self
            .repo
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .map_err(|e| GitError::Read {
                path: self.repo.git_dir().to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(match configured {
            Some(p) if p.is_absolute() => p,
            Some(p) => self
                .work_tree()
                .unwrap_or_else(|| self.repo.git_dir())
                .join(p),
            None => self.repo.common_dir().join("hooks"),
        })
    }
}

/// Turns a git branch name into a valid database branch name (git's rules are
/// the same, so this only changes names git itself would refuse in a branch).
pub fn database_branch_name(git_branch: &str) -> String {
    let mut out: String = git_branch
        .chars()
        .map(|c| {
            if c.is_control() || c == ' ' || "~^:?*[\\".contains(c) {
                '-'
            } else {
                c
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", ".");
    }
    out.trim_matches(|c| c == '/' || c == '.').to_string()
}
