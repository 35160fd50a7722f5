//! Background saves. A switch or `stash` stops the branch it leaves (its
//! clients held, so no write reaches it after that) and serves the new HEAD
//! at once; the left branch's version is recorded afterwards from its
//! volume by `argon __background-save`, which the command starts on its way
//! out. Until then the save is pending (a row in SQLite) and the volume is
//! pinned: every command that takes the project lock first finishes pending
//! saves, or waits for the background argon that is finishing them, so
//! nothing starts, copies, resets or drops a volume whose version is not
//! recorded. A machine that dies with a save pending loses nothing: the
//! volume holds every acknowledged write, and the next argon records it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::clean::CleanState;
use super::save::Saved;
use super::{BranchState, ChangeCheck, Error, Project, Result, VersionInfo};
use crate::meta::{BranchRow, PendingSave};
use crate::snapshot;

/// The hidden command that finishes pending saves in the background.
pub const BACKGROUND_SAVE_COMMAND: &str = "__background-save";

/// A save still to be recorded, as `status`, `branch` and `log` show it.
#[derive(Debug, Clone, Serialize)]
pub struct PendingInfo {
    pub branch: String,
    pub message: String,
    pub since: DateTime<Utc>,
    /// A background argon is recording it now (else the next command will).
    pub running: bool,
    pub pid: Option<u32>,
}

/// A pending save that was finished.
#[derive(Debug, Clone, Serialize)]
pub struct FinishedSave {
    pub branch: String,
    /// None when the branch had not changed since its latest version.
    pub version: Option<VersionInfo>,
}

impl Project {
    /// Stops the running branch `b`, whose clients are held, and leaves its
    /// save pending. An engine that fences (`fsyncLock`) and whose counters
    /// show nothing written since its latest version needs no save: it is
    /// stopped under the fence and marked verified, as `stop_and_save` does.
    /// Either way no version is recorded here (`Saved::pending` says which).
    pub(super) async fn stop_and_defer(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let endpoint = self.engine_endpoint(b).await?;
        let client = snapshot::connect(&endpoint, self.login.as_ref()).await?;
        self.journal_begin("save", &b.name)?;
        let unchanged = match snapshot::fsync_lock(&client).await {
            true => {
                crate::fault::point("save:fenced").await;
                let now = snapshot::change_token(&client).await;
                CleanState::unchanged(b, now.as_ref())
            }
            false => false,
        };
        // Writes held by a fence fail with the engine: none was acknowledged.
        snapshot::close(client).await;
        if !unchanged {
            // Recorded before the stop: a crash after it still saves the volume.
            self.meta.add_pending_save(&b.name, message)?;
        }
        let stopped = self.stop_branch(b).await;
        self.journal_end()?;
        stopped?;
        crate::fault::point("leave:stopped").await;
        match unchanged {
            true => self.mark_verified(&b.name)?,
            false => self.record_clean(&b.name, None)?,
        }
        Ok(Saved {
            row: None,
            checked_by: match unchanged {
                true => ChangeCheck::Counters,
                // What the background save will do.
                false => ChangeCheck::Capture,
            },
            pending: !unchanged,
        })
    }

    /// Leaves the save of the stopped branch `b` pending, unless its volume
    /// is already known to hold its latest version, or is gone (the user is
    /// told now, not by the background save).
    pub(super) async fn defer_save(&mut self, b: &BranchRow, message: &str) -> Result<bool> {
        let Some(volume) = &b.volume else {
            return Ok(false);
        };
        if CleanState::of(b).is_some_and(|s| s.verified) {
            return Ok(false);
        }
        if !self.runtime().await?.data_exists(volume).await? {
            self.forget_lost_volume(b)?;
            return Ok(false);
        }
        self.meta.add_pending_save(&b.name, message)?;
        Ok(true)
    }

    /// Starts the background argon that finishes pending saves. It waits for
    /// this command's lock. Not starting is harmless: the next command finishes them.
    pub(super) fn start_background_save(&self) {
        if self.meta.pending_saves().map_or(true, |p| p.is_empty()) {
            return;
        }
        if let Err(e) = self.spawn_background_save() {
            self.progress.notice(&format!(
                "could not start the background save ({e}); the next argon command finishes it"
            ));
        }
    }

    fn spawn_background_save(&self) -> std::io::Result<()> {
        let dir = self.state_dir.join("saves");
        crate::private::create_dir_all(&dir)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{}.log", self.row.key)))?;
        let err_log = log.try_clone()?;
        let mut command = std::process::Command::new(crate::argon_program()?);
        command
            .arg("-C")
            .arg(&self.config.root)
            .arg(BACKGROUND_SAVE_COMMAND)
            .env("ARGON_HOME", &self.state_dir)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err_log);
        // Its own process group: a Ctrl-C in the terminal does not stop it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn()?;
        // Reaped by whoever adopts it once this process exits.
        std::mem::forget(child);
        Ok(())
    }

    /// Records every pending save, the oldest first (under the lock: `lock`
    /// runs this, so does the background argon).
    pub(super) async fn finish_pending_saves(&mut self) -> Result<Vec<FinishedSave>> {
        let mut finished = Vec::new();
        for pending in self.meta.pending_saves()? {
            let done =
                self.finish_pending_save(&pending)
                    .await
                    .map_err(|e| Error::BackgroundSave {
                        branch: pending.branch.clone(),
                        source: Box::new(e),
                    })?;
            let what = match &done.version {
                Some(v) => format!("as {}", v.short_id),
                None => "(unchanged)".into(),
            };
            self.progress.notice(&format!(
                "saved branch '{}' {what}: the save '{}' left pending",
                done.branch, pending.message
            ));
            finished.push(done);
        }
        Ok(finished)
    }

    async fn finish_pending_save(&mut self, pending: &PendingSave) -> Result<FinishedSave> {
        let Some(b) = self.meta.branch(&pending.branch)? else {
            self.meta.delete_pending_save(&pending.branch)?;
            return Ok(FinishedSave {
                branch: pending.branch.clone(),
                version: None,
            });
        };
        let saved = match self.branch_state(&b).await? {
            BranchState::Warm => self.save_warm(&b, &pending.message).await?,
            _ => {
                // No engine may write the volume while it is read (one
                // started by hand, say): the save records what it holds once stopped.
                self.stop_branch(&b).await?;
                self.meta.set_branch_warm(&b.name, false)?;
                self.save_offline(&b, &pending.message).await?
            }
        };
        self.settle_forks(&b, &pending.forks).await?;
        self.meta.delete_pending_save(&b.name)?;
        Ok(FinishedSave {
            branch: b.name,
            version: saved.row.as_ref().map(VersionInfo::from),
        })
    }

    /// Branches copied from `left`'s volume while its save was pending
    /// began at the version it recorded: that becomes their parent, and
    /// one whose engine has taken no write since it started is clean at it.
    async fn settle_forks(&mut self, left: &BranchRow, forks: &[String]) -> Result<()> {
        let saved = self.branch(&left.name)?;
        let Some(state) = CleanState::of(&saved).filter(|s| s.verified) else {
            return Ok(());
        };
        for fork in forks {
            let Some(f) = self.meta.branch(fork)? else {
                continue;
            };
            // Moved on meanwhile (a reset): not a copy of that volume any more.
            if f.head_version != left.head_version {
                continue;
            }
            if f.head_version != Some(state.version) {
                self.meta.set_branch_head(fork, Some(state.version))?;
                self.publish_head(fork, Some(state.version)).await?;
            }
            let f = self.branch(fork)?;
            if self.is_running(&f).await? {
                self.record_clean(fork, Some(&state))?;
                let f = self.branch(fork)?;
                self.rebaseline(&f).await?;
            }
        }
        Ok(())
    }

    /// Saves the warm branch `b`, which no client reaches (the proxy routes
    /// them to HEAD): its engine resumes for the capture, fenced where it can
    /// be, and is paused again, so switching to it stays an unpause.
    async fn save_warm(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let container = self.objects().engine(&b.uid);
        self.runtime().await?.resume_if_paused(&container).await?;
        let endpoint = self.engine_endpoint(b).await?;
        let client = snapshot::connect(&endpoint, self.login.as_ref()).await?;
        self.journal_begin("save", &b.name)?;
        let fenced = snapshot::fsync_lock(&client).await;
        let saved = self.save_fenced(b, &client, message, true).await;
        if fenced {
            snapshot::fsync_unlock(&client).await;
        }
        snapshot::close(client).await;
        let paused = self.runtime().await?.pause_engine(&container).await;
        self.journal_end()?;
        let saved = saved?;
        paused?;
        Ok(saved)
    }

    /// Pending saves, and whether a background argon is recording them now.
    pub fn pending_saves(&self) -> Result<Vec<PendingInfo>> {
        let pending = self.meta.pending_saves()?;
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let holder = super::lock::holder_of(&self.lock_path());
        let saver = holder.filter(|h| h.command.contains(BACKGROUND_SAVE_COMMAND));
        Ok(pending
            .into_iter()
            .map(|p| PendingInfo {
                branch: p.branch,
                message: p.message,
                since: p.created_at,
                running: saver.is_some(),
                pid: saver.as_ref().map(|h| h.pid),
            })
            .collect())
    }

    /// `argon wait`: returns once no save is pending, recording them itself
    /// when no background argon is (its `lock` does).
    /// Another command holding the lock is waited for too.
    pub async fn wait_for_saves(&mut self) -> Result<Vec<FinishedSave>> {
        loop {
            match self.lock().await {
                Err(Error::Locked { .. }) => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                other => break other?,
            }
        }
        Ok(std::mem::take(&mut self.finished_saves))
    }
}
