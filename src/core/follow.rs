//! The database following git: what the post-checkout hook does, and whether
//! git and the database are in step.

use std::path::PathBuf;

use serde::Serialize;

use super::{BranchState, CheckoutReport, Project, Result};
use crate::git::{self, hooks, Repo};
use crate::names::BranchName;

/// What following a git checkout did.
#[derive(Debug, Serialize)]
pub struct FollowReport {
    /// "switched", "created", "unchanged" or "ignored".
    pub action: &'static str,
    pub git_branch: Option<String>,
    pub branch: Option<String>,
    /// Why nothing was done, when ignored.
    pub reason: Option<String>,
    pub checkout: Option<CheckoutReport>,
}

impl FollowReport {
    fn ignored(git_branch: Option<String>, reason: &str) -> FollowReport {
        FollowReport {
            action: "ignored",
            git_branch,
            branch: None,
            reason: Some(reason.to_string()),
            checkout: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct HookInfo {
    pub hook: String,
    pub path: PathBuf,
    pub state: hooks::HookState,
}

#[derive(Debug, Serialize)]
pub struct HooksStatus {
    pub hooks_dir: PathBuf,
    pub hooks: Vec<HookInfo>,
    pub follow: bool,
    pub git_branch: Option<String>,
    /// The database branch the git branch maps to.
    pub expected: Option<String>,
    pub head: Option<String>,
    pub in_step: bool,
}

impl Project {
    fn repo(&self) -> Result<Repo> {
        Ok(Repo::open(&self.config.root)?)
    }

    /// Called by the post-checkout hook: `flag` is git's third argument
    /// ("1" for a branch checkout, "0" for a file checkout).
    pub async fn follow_git(&mut self, flag: &str) -> Result<FollowReport> {
        if flag != "1" {
            return Ok(FollowReport::ignored(None, "a file checkout"));
        }
        if !self.config.git.follow {
            return Ok(FollowReport::ignored(None, "[git] follow = false"));
        }
        let repo = self.repo()?;
        if repo.operation_in_progress() {
            return Ok(FollowReport::ignored(
                None,
                "a rebase, merge or similar is in progress",
            ));
        }
        let Some(git_branch) = repo.current_branch()? else {
            return Ok(FollowReport::ignored(None, "HEAD is detached"));
        };
        let name = git::database_branch_name(&git_branch);
        let Ok(name) = BranchName::parse(&name) else {
            return Ok(FollowReport::ignored(
                Some(git_branch),
                "no valid database branch name",
            ));
        };
        let exists = self.meta.branch(name.as_str())?.is_some();
        if self.row.head.as_deref() == Some(name.as_str()) {
            let b = self.branch(name.as_str())?;
            if self.branch_state(&b).await? == BranchState::Running {
                return Ok(FollowReport {
                    action: "unchanged",
                    git_branch: Some(git_branch),
                    branch: Some(name.to_string()),
                    reason: None,
                    checkout: None,
                });
            }
        }
        if exists {
            let report = self.checkout(name.as_str()).await?;
            return Ok(FollowReport {
                action: "switched",
                git_branch: Some(git_branch),
                branch: Some(name.to_string()),
                reason: None,
                checkout: Some(report),
            });
        }
        if !self.config.git.auto_create {
            return Ok(FollowReport::ignored(
                Some(git_branch),
                "no such database branch and [git] auto_create = false",
            ));
        }
        let base = self.config.git.base.clone();
        // From the base's current state when it is HEAD (saved first), else its latest version.
        let rev = match self.row.head.as_deref() {
            Some(h) if h == base.as_str() => None,
            _ if self.meta.branch(base.as_str())?.is_some() => Some(base.to_string()),
            _ => None,
        };
        let report = self.checkout_new(name.as_str(), rev.as_deref()).await?;
        Ok(FollowReport {
            action: "created",
            git_branch: Some(git_branch),
            branch: Some(name.to_string()),
            reason: None,
            checkout: Some(report),
        })
    }

    /// Hooks installed, and whether git's branch and HEAD agree.
    pub fn hooks_status(&self) -> Result<HooksStatus> {
        let repo = self.repo()?;
        let dir = repo.hooks_dir()?;
        let hooks = hooks::HOOKS
            .iter()
            .map(|h| {
                let path = dir.join(h);
                Ok(HookInfo {
                    hook: h.to_string(),
                    state: hooks::state(&path)?,
                    path,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let git_branch = repo.current_branch()?;
        let expected = git_branch.as_deref().map(git::database_branch_name);
        let head = self.row.head.clone();
        Ok(HooksStatus {
            hooks_dir: dir,
            hooks,
            follow: self.config.git.follow,
            in_step: expected.is_some() && expected == head,
            git_branch,
            expected,
            head,
        })
    }
}
