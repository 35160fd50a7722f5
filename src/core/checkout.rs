//! Switching HEAD and changing it in place: `checkout`, `checkout -b`,
//! `commit`, `stash`, `stash pop`, `reset --hard`.

use super::clean::CleanState;
use super::pending::Stopping;
use super::{
    random_uid, ChangeCheck, CheckoutReport, Error, Project, ResetReport, Result, SaveReport,
    VersionInfo,
};
use crate::meta::{BranchRow, VersionRow};
use crate::names::BranchName;
use crate::store::VersionId;

/// What leaving HEAD for another branch did.
pub(super) struct LeftHead {
    pub(super) name: Option<String>,
    pub(super) branch: Option<BranchRow>,
    pub(super) was_running: bool,
    pub(super) saved: Option<VersionRow>,
    pub(super) checked_by: Option<ChangeCheck>,
    /// Its version is recorded by a background save (see `pending`).
    pub(super) pending: bool,
    /// Its engine still exiting, while the switch starts the next one
    /// (`finish_leaving` waits for it).
    pub(super) stopping: Option<Stopping>,
}

impl Project {
    /// Saves and stops HEAD before switching to `target`. A HEAD found not
    /// running (stashed, or stopped outside argon: `docker stop`, a crash) is
    /// read from its volume unless argon stopped it after a save.
    /// `copies_head`: HEAD's volume is copied next, so it ends stopped;
    /// otherwise a running HEAD is paused (`[serve] warm`) or left exiting.
    async fn leave_head(&mut self, target: &str, copies_head: bool) -> Result<LeftHead> {
        if self.row.head.is_none() {
            return self.leave_head_held(target, copies_head).await;
        }
        // Through the proxy, HEAD's clients are closed and new ones wait:
        // from here on no client write reaches the branch being left.
        self.route_hold().await?;
        let left = self.leave_head_held(target, copies_head).await;
        if left.is_err() {
            // HEAD is as it was: its clients are served again.
            let _ = self.repair_route(true).await;
        }
        left
    }

    /// `leave_head` with HEAD's clients held.
    async fn leave_head_held(&mut self, target: &str, copies_head: bool) -> Result<LeftHead> {
        let none = LeftHead {
            name: self.row.head.clone(),
            branch: None,
            was_running: false,
            saved: None,
            checked_by: None,
            pending: false,
            stopping: None,
        };
        let Some(head) = self.row.head.clone() else {
            return Ok(none);
        };
        let Some(b) = self.meta.branch(&head)? else {
            return Ok(none);
        };
        let message = format!("checkout: moving from {head} to {target}");
        if !self.is_running(&b).await? {
            // An exited container (stopped outside argon) goes; its volume stays.
            self.stop_branch(&b).await?;
            if self.config.background_save {
                let pending = self.defer_save(&b, &message).await?;
                return Ok(LeftHead {
                    branch: Some(self.branch(&b.name)?),
                    pending,
                    ..none
                });
            }
            let saved = self.ensure_saved(&b, &message).await?;
            return Ok(LeftHead {
                branch: Some(self.branch(&b.name)?),
                saved,
                ..none
            });
        }
        let warm = !copies_head && self.config.serve_warm > 0;
        let saved = match (warm, self.config.background_save) {
            (true, _) => self.save_and_pause(&b, &message).await?,
            (false, true) if !copies_head => {
                // Its engine exits while the next one starts: the stop takes
                // a moment, and the next engine needs none of it.
                let stopping = self.begin_stop_and_defer(&b, &message).await?;
                return Ok(LeftHead {
                    branch: Some(self.branch(&b.name)?),
                    was_running: true,
                    checked_by: (!stopping.pending()).then_some(ChangeCheck::Counters),
                    pending: stopping.pending(),
                    stopping: Some(stopping),
                    ..none
                });
            }
            (false, true) => self.stop_and_defer(&b, &message).await?,
            (false, false) => self.stop_and_save(&b, &message).await?,
        };
        let b = self.branch(&b.name)?;
        Ok(LeftHead {
            branch: Some(b),
            was_running: true,
            checked_by: (!saved.pending).then_some(saved.checked_by),
            pending: saved.pending,
            saved: saved.row,
            ..none
        })
    }

    /// Brings the branch that was left back up after a failed switch. A save
    /// it left pending is called off: the branch serves its volume again, as
    /// before the switch (its writes are in it, unsaved, as they were).
    async fn return_to(&mut self, mut left: LeftHead) {
        if let Some(stopping) = left.stopping.take() {
            let _ = self.finish_stopping(stopping).await;
        }
        if let (Some(prev), true) = (left.branch, left.was_running) {
            if left.pending {
                let _ = self.meta.delete_pending_save(&prev.name);
            }
            let _ = self.enter(&prev).await;
        }
    }

    /// Waits for the branch left to finish stopping, once the next one
    /// serves. A stop that failed leaves the branch to its pending save,
    /// which stops it before reading its volume.
    async fn finish_leaving(&mut self, left: &mut LeftHead) {
        let Some(stopping) = left.stopping.take() else {
            return;
        };
        if let Err(e) = self.finish_stopping(stopping).await {
            let name = left.name.as_deref().unwrap_or_default();
            self.progress.notice(&format!(
                "could not stop the engine of branch '{name}' ({e}); its background save stops it"
            ));
        }
    }

    /// Serves branch `b` as HEAD's engine: a warm one is woken, any other
    /// started (restored from the store when it has no local data). Returns
    /// the version restored, if any.
    async fn enter(&mut self, b: &BranchRow) -> Result<Option<VersionId>> {
        if self.is_warm(b).await? {
            match self.wake_warm(b).await {
                Ok(()) => return Ok(None),
                Err(e) => {
                    // Its volume holds its data: a cold start serves it.
                    self.progress.notice(&format!(
                        "could not wake warm branch '{}' ({e}); starting it",
                        b.name
                    ));
                    self.stop_branch(b).await?;
                    self.meta.set_branch_warm(&b.name, false)?;
                }
            }
        }
        self.start_branch(b, None).await
    }

    /// `argon checkout NAME`: saves and stops HEAD, then runs NAME on the stable port.
    pub async fn checkout(&mut self, name: &str) -> Result<CheckoutReport> {
        self.journal_begin("checkout", name)?;
        let done = self.checkout_journalled(name).await;
        self.journal_end()?;
        self.start_background_save();
        done
    }

    async fn checkout_journalled(&mut self, name: &str) -> Result<CheckoutReport> {
        // Switching back before the save of its last leave is recorded: it
        // takes its volume back (see `take_back_pending`).
        let target = self.branch(name)?;
        self.take_back_pending(&target).await?;
        let target = self.branch(name)?;
        if self.row.head.as_deref() == Some(name) {
            let restored = if self.is_running(&target).await? {
                None
            } else {
                self.start_branch(&target, None).await?
            };
            return Ok(self.resumed(name, restored));
        }
        let mut left = self.leave_head(name, false).await?;
        // Only the `[serve] warm` most recent branches stay warm.
        let cooling = self.begin_cooling(name).await;
        let entered = self.enter(&target).await;
        self.finish_cooling(cooling).await;
        match entered {
            Ok(restored) => {
                self.finish_leaving(&mut left).await;
                crate::fault::point("switch:started").await;
                self.set_head(name)?;
                Ok(CheckoutReport {
                    branch: name.to_string(),
                    previous: left.name,
                    saved: left.saved.as_ref().map(VersionInfo::from),
                    checked_by: left.checked_by,
                    pending_save: left.pending,
                    created: false,
                    restored: restored.map(|v| v.to_string()),
                    copied_from: None,
                    uri: self.uri_shown(),
                })
            }
            Err(e) => {
                self.return_to(left).await;
                Err(e)
            }
        }
    }

    /// `argon checkout -b NAME [REV]`: a new branch from REV (default: HEAD's
    /// current state, saved first), switched to.
    pub async fn checkout_new(&mut self, name: &str, rev: Option<&str>) -> Result<CheckoutReport> {
        self.journal_begin("checkout", name)?;
        let done = self.checkout_new_journalled(name, rev).await;
        self.journal_end()?;
        self.start_background_save();
        done
    }

    async fn checkout_new_journalled(
        &mut self,
        name: &str,
        rev: Option<&str>,
    ) -> Result<CheckoutReport> {
        let name = BranchName::parse(name).map_err(Error::InvalidName)?;
        if self.meta.branch(name.as_str())?.is_some() {
            return Err(Error::BranchExists(name.to_string()));
        }
        if rev.is_some() {
            // A revision names recorded versions: pending saves are recorded
            // first, so that `main` means the state main was left in.
            let finished = self.finish_pending_saves().await?;
            self.finished_saves.extend(finished);
        }
        // Resolve before saving: `main~1` means what `argon log main` shows now.
        let from_rev = rev.map(|r| self.resolve(r)).transpose()?;
        if from_rev.is_none() {
            // From running HEAD's state: its engine goes on as the new branch.
            if let Some(report) = self.checkout_new_handing_over(&name).await? {
                return Ok(report);
            }
        }
        // From HEAD's current state, HEAD's volume is copied: it stops.
        let mut left = self.leave_head(name.as_str(), from_rev.is_none()).await?;
        let from = from_rev.or_else(|| left.branch.as_ref().and_then(|p| p.head_version));
        // From HEAD's current state, its stopped volume is copied locally instead of restored.
        let copy_from = match (
            from_rev,
            left.branch.as_ref().and_then(|p| p.volume.clone()),
        ) {
            (None, Some(v)) if self.runtime().await?.data_exists(&v).await? => Some(v),
            _ => None,
        };
        let mut row = self.new_branch_row(&name, from)?;
        if copy_from.is_some() && !left.pending {
            // A copy of HEAD's stopped volume holds what HEAD's clean state says.
            let copied = left.branch.as_ref().and_then(CleanState::of);
            row.clean = copied
                .map(|c| CleanState { engine: None, ..c })
                .as_ref()
                .map(CleanState::to_json);
        }
        self.meta.insert_branch(&row)?;
        if let (Some(_), true, Some(prev)) = (&copy_from, left.pending, &left.name) {
            // Its parent is the version the pending save will record.
            self.meta.add_pending_fork(prev, name.as_str())?;
        }
        let published = match from {
            Some(_) => self.publish_head(&row.name, from).await,
            None => Ok(()),
        };
        if let Err(e) = published {
            let _ = self.meta.delete_branch(name.as_str());
            self.return_to(left).await;
            return Err(e);
        }
        let cooling = self.begin_cooling(name.as_str()).await;
        let started = self.start_branch(&row, copy_from.as_deref()).await;
        self.finish_cooling(cooling).await;
        match started {
            Ok(restored) => {
                self.finish_leaving(&mut left).await;
                crate::fault::point("switch:started").await;
                self.set_head(name.as_str())?;
                Ok(CheckoutReport {
                    branch: name.to_string(),
                    copied_from: copy_from.and(left.name.clone()),
                    previous: left.name,
                    saved: left.saved.as_ref().map(VersionInfo::from),
                    checked_by: left.checked_by,
                    pending_save: left.pending,
                    created: true,
                    restored: restored.map(|v| v.to_string()),
                    uri: self.uri_shown(),
                })
            }
            Err(e) => {
                let _ = self.meta.delete_branch(name.as_str());
                let _ = self.publish_head(name.as_str(), None).await;
                self.return_to(left).await;
                Err(e)
            }
        }
    }

    async fn running_head(&mut self) -> Result<BranchRow> {
        let b = self.head_branch()?;
        if !self.is_running(&b).await? {
            return Err(Error::HeadStashed(b.name));
        }
        Ok(b)
    }

    /// `argon commit -m MSG`: a version of HEAD while it keeps running.
    pub async fn commit(&mut self, message: &str) -> Result<SaveReport> {
        let b = self.running_head().await?;
        let saved = self.save(&b, message).await?;
        Ok(saved.report(b))
    }

    /// `argon stash`: saves HEAD and stops its container; its volume stays.
    pub async fn stash_push(&mut self, message: Option<&str>) -> Result<SaveReport> {
        let branch = self.row.head.clone().unwrap_or_default();
        self.journal_begin("stash", &branch)?;
        let done = self.stash_push_journalled(message).await;
        self.journal_end()?;
        self.start_background_save();
        if done.is_ok() {
            self.release_network_if_idle().await;
        }
        done
    }

    async fn stash_push_journalled(&mut self, message: Option<&str>) -> Result<SaveReport> {
        let b = self.running_head().await?;
        self.route_hold().await?;
        let message = message.unwrap_or("stash");
        let saved = match self.config.background_save {
            true => self.stop_and_defer(&b, message).await,
            false => self.stop_and_save(&b, message).await,
        };
        let saved = match saved {
            Ok(saved) => saved,
            Err(e) => {
                let _ = self.repair_route(true).await;
                return Err(e);
            }
        };
        self.route_closed().await?;
        Ok(saved.report(b))
    }

    /// What a checkout of HEAD itself (or `stash pop`) reports: HEAD serves
    /// again, restored from `restored` when its local data was gone.
    fn resumed(&self, branch: &str, restored: Option<VersionId>) -> CheckoutReport {
        CheckoutReport {
            branch: branch.to_string(),
            previous: Some(branch.to_string()),
            saved: None,
            checked_by: None,
            pending_save: false,
            created: false,
            restored: restored.map(|v| v.to_string()),
            copied_from: None,
            uri: self.uri_shown(),
        }
    }

    /// `argon stash pop`: resumes a stashed HEAD.
    pub async fn stash_pop(&mut self) -> Result<CheckoutReport> {
        let branch = self.row.head.clone().unwrap_or_default();
        self.journal_begin("stash pop", &branch)?;
        let done = self.stash_pop_journalled().await;
        self.journal_end()?;
        done
    }

    async fn stash_pop_journalled(&mut self) -> Result<CheckoutReport> {
        let b = self.head_branch()?;
        if self.is_running(&b).await? {
            return Err(Error::HeadRunning(b.name));
        }
        let restored = self.start_branch(&b, None).await?;
        Ok(self.resumed(&b.name, restored))
    }

    /// `argon reset --hard REV`: HEAD's data and pointer go back to REV; the
    /// state it leaves is saved first, with its writes stopped, so no write
    /// lands in neither. REV is restored privately into a new volume and only
    /// then served; the old volume goes last, and a failure puts it back.
    pub async fn reset_hard(&mut self, rev: &str) -> Result<ResetReport> {
        let branch = self.row.head.clone().unwrap_or_default();
        self.journal_begin("reset", &branch)?;
        let done = self.reset_hard_journalled(rev).await;
        self.journal_end()?;
        done
    }

    async fn reset_hard_journalled(&mut self, rev: &str) -> Result<ResetReport> {
        let target = self.resolve(rev)?;
        let b = self.head_branch()?;
        let message = format!("reset: moving to {rev}");
        self.route_hold().await?;
        let saved = self.reset_hard_held(&b, target, &message).await;
        if saved.is_err() {
            let _ = self.repair_route(true).await;
        }
        saved
    }

    async fn reset_hard_held(
        &mut self,
        b: &BranchRow,
        target: VersionId,
        message: &str,
    ) -> Result<ResetReport> {
        let saved = if self.is_running(b).await? {
            self.stop_and_save(b, message).await?.row
        } else {
            self.stop_branch(b).await?;
            self.ensure_saved(b, message).await?
        };
        let left = self.branch(&b.name)?;
        let saved_id = saved.as_ref().map(|v| v.id).or(left.head_version);
        self.meta.set_branch_uid(&left.name, &random_uid())?;
        self.meta.set_branch_head(&left.name, Some(target))?;
        self.publish_head(&left.name, Some(target)).await?;
        let fresh = self.branch(&left.name)?;
        crate::fault::point("reset:swapped").await;
        match self.start_branch(&fresh, None).await {
            Ok(_) => {
                if let Some(old) = &left.volume {
                    // Verified by the save above: its data is in the store.
                    if let Err(e) = self.runtime().await?.remove_data(old).await {
                        self.progress.notice(&format!(
                            "could not remove the volume {old} that reset left: {e}"
                        ));
                    }
                }
                Ok(ResetReport {
                    branch: left.name,
                    target: target.to_string(),
                    saved: saved_id.map(|v| v.to_string()),
                })
            }
            Err(e) => {
                // Back as it was: the old identity, volume and version, served again.
                self.meta.set_branch_uid(&left.name, &left.uid)?;
                self.meta
                    .set_branch_volume(&left.name, left.volume.as_deref())?;
                self.meta.set_branch_head(&left.name, left.head_version)?;
                self.meta
                    .set_branch_clean(&left.name, left.clean.as_deref())?;
                let _ = self.publish_head(&left.name, left.head_version).await;
                let _ = self.start_branch(&left, None).await;
                Err(match saved_id {
                    Some(s) => Error::ResetFailed {
                        target: target.short(),
                        saved: s.short(),
                        source: Box::new(e),
                    },
                    None => e,
                })
            }
        }
    }
}
