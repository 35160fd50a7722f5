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
use crate::snapshot::{self, ChangeToken};

/// The hidden command that finishes pending saves in the background.
pub const BACKGROUND_SAVE_COMMAND: &str = "__background-save";

/// How long the background save lets the new HEAD's first clients go first:
/// it begins once the project has been left alone this long.
const BACKGROUND_SAVE_DELAY: std::time::Duration = std::time::Duration::from_secs(2);

/// How often a wait for pending saves looks at the project's lock again.
const SAVE_WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// How often a background save looks for a switch's request that it make
/// way, and a switch at the lock it waits for: the switch's client waits
/// for both, and each look is a few system calls.
pub(super) const YIELD_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// How often a command waiting for a background save to finish (not to
/// make way) looks at the project's lock again.
pub(super) const FINISH_POLL: std::time::Duration = std::time::Duration::from_millis(20);

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

/// What a background save watches: a switch's request that it make way.
pub(super) struct YieldWatch(std::path::PathBuf);

impl YieldWatch {
    /// A request stands while the argon that made it runs.
    fn requested(&self) -> bool {
        std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok())
            .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
    }

    /// Runs `work` (part of a save) to its end, unless a switch asks this
    /// background save to make way first: then `work` is dropped (as a
    /// failure there would end it: the caller's clean-up runs) and the
    /// result is `Error::Yielded`.
    pub(super) async fn run<T>(
        watch: Option<YieldWatch>,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(watch) = watch else {
            return work.await;
        };
        let asked = async {
            while !watch.requested() {
                tokio::time::sleep(YIELD_POLL).await;
            }
        };
        tokio::select! {
            done = work => done,
            () = asked => Err(Error::Yielded),
        }
    }
}

impl Project {
    /// Removes the engine `container` once the work it served ended with
    /// `outcome`. Work that made way for a switch (`Error::Yielded`) leaves
    /// an engine that served no client and whose volume the switch waits
    /// for: it is killed rather than stopped, and its container removed
    /// only after the lock is let go (`remove_killed_engines`).
    pub(super) async fn remove_engine_after<T>(
        &self,
        container: &str,
        outcome: &Result<T>,
    ) -> Result<()> {
        let rt = self.runtime().await?;
        match outcome {
            Err(Error::Yielded) => {
                // Killed already when it made way while it was starting.
                let killed_before = self
                    .killed_engines()
                    .iter()
                    .any(|k| k.engine() == container);
                if !killed_before {
                    if let Some(killed) = rt.kill_engine(container).await? {
                        self.killed_engines().push(killed);
                    }
                }
            }
            _ => rt.remove_engine(container).await?,
        }
        Ok(())
    }

    fn killed_engines(&self) -> std::sync::MutexGuard<'_, Vec<crate::runtime::Killed>> {
        self.killed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Removes the containers of the engines killed to make way for a
    /// switch, once the lock is let go (`unlock`): the switch is under way
    /// meanwhile. Should this process die first, Docker keeps them stopped
    /// until the next capture replaces them (`create_engine`) or their
    /// volume goes (`remove_data`).
    pub async fn remove_killed_engines(&self) {
        let killed = std::mem::take(&mut *self.killed_engines());
        if killed.is_empty() {
            return;
        }
        let Ok(rt) = self.runtime().await else {
            return;
        };
        for k in killed {
            let _ = rt.remove_killed(k).await;
        }
    }
}

/// The engine of a branch left stopping in the background of a switch (see
/// `Project::begin_stop_and_defer`).
pub(super) struct Stopping {
    branch: String,
    /// Its counters, read under its fence, showed no write since its latest version.
    unchanged: bool,
    stop: tokio::task::JoinHandle<std::result::Result<(), crate::runtime::RuntimeError>>,
}

impl Stopping {
    /// Begins to remove `container`, the engine of `branch`, whose writes are over.
    pub(super) fn begin(
        branch: &str,
        unchanged: bool,
        runtime: std::sync::Arc<dyn crate::runtime::EngineHost>,
        container: String,
    ) -> Stopping {
        let stop = tokio::spawn(async move { runtime.remove_engine(&container).await });
        Stopping {
            branch: branch.to_string(),
            unchanged,
            stop,
        }
    }

    /// Waits for the stop; returns the branch and whether it was unchanged.
    pub(super) async fn wait(self) -> Result<(String, bool)> {
        match self.stop.await {
            Ok(Ok(())) => Ok((self.branch, self.unchanged)),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(Error::io(format!(
                "stopping the engine of branch '{}'",
                self.branch
            ))(std::io::Error::other(e))),
        }
    }

    /// What the switch reports of the branch left: its save is pending
    /// unless it was found unchanged.
    pub(super) fn pending(&self) -> bool {
        !self.unchanged
    }
}

/// A pending save that was finished.
#[derive(Debug, Clone, Serialize)]
pub struct FinishedSave {
    pub branch: String,
    /// None when the branch had not changed since its latest version.
    pub version: Option<VersionInfo>,
}

/// The error of a pending save that could not be recorded.
fn save_left_pending_failed(pending: &PendingSave) -> impl FnOnce(Error) -> Error + '_ {
    move |e| Error::BackgroundSave {
        branch: pending.branch.clone(),
        source: Box::new(e),
    }
}

impl Project {
    /// Stops the running branch `b`, whose clients are held, and leaves its
    /// save pending. An engine that fences (`fsyncLock`) and whose counters
    /// show nothing written since its latest version needs no save: it is
    /// stopped under the fence and marked verified, as `stop_and_save` does.
    /// Either way no version is recorded here (`Saved::pending` says which).
    pub(super) async fn stop_and_defer(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let stopping = self.begin_stop_and_defer(b, message).await?;
        self.finish_stopping(stopping).await
    }

    /// `stop_and_defer` up to the stop, which is left running: a switch
    /// starts the next branch's engine meanwhile (a stop takes the engine a
    /// moment to exit) and ends it with `finish_stopping`. Before the stop
    /// begins, the branch's writes are over (its clients held, its engine
    /// fenced where it can be) and its save is pending when it changed.
    pub(super) async fn begin_stop_and_defer(
        &mut self,
        b: &BranchRow,
        message: &str,
    ) -> Result<Stopping> {
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
        let marked = match unchanged {
            true => Ok(()),
            // Recorded before the stop: a crash after it still saves the
            // volume, and the volume is no longer known to equal a version.
            false => self
                .meta
                .add_pending_save(&b.name, message)
                .map_err(Error::from)
                .and_then(|()| self.record_clean(&b.name, None)),
        };
        self.journal_end()?;
        marked?;
        let runtime = self.runtime_handle().await?;
        let container = self.objects().engine(&b.uid);
        Ok(Stopping::begin(&b.name, unchanged, runtime, container))
    }

    /// Waits for the stop `begin_stop_and_defer` began, and records what it
    /// proves: an engine stopped unchanged under its fence leaves a volume
    /// equal to its latest version.
    pub(super) async fn finish_stopping(&mut self, stopping: Stopping) -> Result<Saved> {
        let (branch, unchanged) = (stopping.branch.clone(), stopping.unchanged);
        if let Err(e) = stopping.wait().await {
            // The branch may still run, fenced and unrouted. A pending save
            // stops it before reading its volume (see `finish_pending_save`).
            if unchanged {
                self.meta.add_pending_save(&branch, "stop")?;
            }
            return Err(e);
        }
        crate::fault::point("leave:stopped").await;
        if unchanged {
            self.mark_verified(&branch)?;
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
    /// runs this, so does the background argon, which stops when a switch
    /// asks it to make way: the switch starts it again).
    pub(super) async fn finish_pending_saves(&mut self) -> Result<Vec<FinishedSave>> {
        let mut finished = Vec::new();
        for pending in self.meta.pending_saves()? {
            if self.yield_requested() {
                break;
            }
            let done = match self.finish_pending_save(&pending).await {
                Ok(done) => done,
                Err(Error::Yielded) => {
                    self.progress.notice(&format!(
                        "made way for a switch while saving branch '{}'; it is saved after the switch",
                        pending.branch
                    ));
                    break;
                }
                Err(e) => return Err(save_left_pending_failed(&pending)(e)),
            };
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
        let state = self.branch_state(&b).await?;
        if self.row.head.as_deref() == Some(b.name.as_str()) && state == BranchState::Running {
            // Serving as HEAD again: its volume is its engine's, to be saved
            // when it is next left; never stopped here. A backstop: a switch
            // back to it calls its save off first (`take_back_pending`).
            self.meta.delete_pending_save(&b.name)?;
            return Ok(FinishedSave {
                branch: b.name,
                version: None,
            });
        }
        let saved = match state {
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
            let base = self.meta.take_fork_base(fork)?;
            let base: Option<ChangeToken> = base.and_then(|b| serde_json::from_str(&b).ok());
            if let Some(base) = base {
                // It runs the engine the branch left had (`checkout -b` handed
                // it over): clean while its counters are as they were then.
                let handed = CleanState {
                    engine: Some(base),
                    verified: false,
                    ..state.clone()
                };
                self.record_clean(fork, Some(&handed))?;
            } else if self.is_running(&f).await? {
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

    /// This process is the background save, which makes way for switches.
    pub fn make_way_for_switches(&mut self) {
        self.yields = true;
    }

    /// Where a switch asks the background save to make way: a file holding
    /// the asking argon's pid, beside the project's lock.
    fn yield_request_path(&self) -> std::path::PathBuf {
        self.lock_path().with_extension("yield")
    }

    /// Asks the background save holding the lock to make way (see
    /// `lock_for_switch`); returns the request, which the asker removes once
    /// it holds the lock.
    pub(super) fn ask_background_save_to_yield(&self) -> std::io::Result<std::path::PathBuf> {
        let path = self.yield_request_path();
        std::fs::write(&path, std::process::id().to_string())?;
        Ok(path)
    }

    /// The request a background save watches for, when this process is one.
    pub(super) fn yield_watch(&self) -> Option<YieldWatch> {
        self.yields.then(|| YieldWatch(self.yield_request_path()))
    }

    fn yield_requested(&self) -> bool {
        self.yield_watch().is_some_and(|w| w.requested())
    }

    /// Before branch `b` serves again while its save is pending (a switch
    /// back to it before the background save recorded it): its engine takes
    /// its volume back with every write in it, so the save is called off and
    /// the branch is saved when it is next left, as any changed HEAD is.
    /// Branches copied from its volume meanwhile take the version that save
    /// records as their parent: then it is recorded now.
    pub(super) async fn take_back_pending(&mut self, b: &BranchRow) -> Result<()> {
        let Some(pending) = self
            .meta
            .pending_saves()?
            .into_iter()
            .find(|p| p.branch == b.name)
        else {
            return Ok(());
        };
        if pending.forks.is_empty() {
            self.meta.delete_pending_save(&b.name)?;
            return Ok(());
        }
        self.finish_pending_save(&pending)
            .await
            .map_err(save_left_pending_failed(&pending))?;
        Ok(())
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
    ///
    /// The background save (`make_way_for_switches`) lets the new HEAD's
    /// first clients go first: it begins only once the project's lock has
    /// been left alone for `BACKGROUND_SAVE_DELAY` (and not before that long
    /// after its own start). So switches in quick succession (a script,
    /// `git checkout` after `git checkout`) find it waiting, with no engine
    /// of its own to stop before they go on.
    pub async fn wait_for_saves(&mut self) -> Result<Vec<FinishedSave>> {
        let started = std::time::SystemTime::now();
        let lock_path = self.lock_path();
        loop {
            if self.yields {
                let since = super::lock::last_taken_or_released(&lock_path)
                    .map_or(started, |at| at.max(started));
                let quiet = since.elapsed().unwrap_or_default();
                if quiet < BACKGROUND_SAVE_DELAY {
                    // Looked at again while it waits: a switch that comes
                    // and goes meanwhile starts the wait over.
                    tokio::time::sleep((BACKGROUND_SAVE_DELAY - quiet).min(SAVE_WAIT_POLL)).await;
                    continue;
                }
            }
            match self.lock().await {
                Err(Error::Locked { .. }) => tokio::time::sleep(SAVE_WAIT_POLL).await,
                other => break other?,
            }
        }
        Ok(std::mem::take(&mut self.finished_saves))
    }
}
