//! `checkout -b NAME` from a running HEAD without starting an engine: HEAD's
//! engine goes on serving, as the new branch, and the branch left keeps a
//! copy of its files, taken while its writes were stopped, from which its
//! version is saved in the background. An engine takes seconds to start on
//! a large volume (1.2 to 3 s at 1 GB on the machines argon is built on); a
//! copy of its files while it is paused takes less, and the new branch
//! never waits for an engine.

use chrono::Utc;

use super::clean::CleanState;
use super::{random_uid, ChangeCheck, CheckoutReport, Project, Result};
use crate::meta::{BranchRow, HandedOver};
use crate::names::BranchName;
use crate::runtime::{CopySource, Role};
use crate::snapshot;

impl Project {
    /// `checkout -b NAME` from running HEAD by handing its engine over.
    /// None, with nothing changed, when HEAD cannot be handed over: it does
    /// not run; no proxy holds its clients while its files are copied; saves
    /// are not in the background (the branch left is saved from its copy
    /// afterwards); or its engine can neither fence its writes (`fsyncLock`)
    /// nor is known to write every acknowledged write to its files
    /// (`[engine] durable_writes`), so a copy might lack some. The caller
    /// then stops HEAD instead.
    pub(super) async fn checkout_new_handing_over(
        &mut self,
        name: &BranchName,
    ) -> Result<Option<CheckoutReport>> {
        let Some(head) = self.head_row()? else {
            return Ok(None);
        };
        let can = self.config.serve_proxy
            && self.config.background_save
            && head.volume.is_some()
            && self.is_running(&head).await?;
        if !can {
            return Ok(None);
        }
        // Through the proxy, HEAD's clients are closed and new ones wait:
        // from here on no client write reaches the branch being left.
        self.route_hold().await?;
        let unchanged = match self.hand_over_held(name, &head).await {
            Ok(Some(unchanged)) => unchanged,
            other => {
                // HEAD is as it was: its clients are served again.
                let _ = self.repair_route(true).await;
                return other.map(|_| None);
            }
        };
        // HEAD moved; its engine is the same, now the new branch's (its uid
        // names it), and the proxy still holds the clients.
        crate::fault::point("switch:started").await;
        let fork = self.branch(name.as_str())?;
        self.route_to(&fork).await?;
        Ok(Some(CheckoutReport {
            branch: name.to_string(),
            previous: Some(head.name.clone()),
            saved: None,
            checked_by: unchanged.then_some(ChangeCheck::Counters),
            pending_save: !unchanged,
            created: true,
            restored: None,
            copied_from: Some(head.name.clone()),
            uri: self.uri_shown(),
        }))
    }

    /// The hand-over with HEAD's clients held: fence the engine (or rely on
    /// its durable writes), copy its files while it is paused, then swap
    /// identities and move HEAD in one metadata transaction. Whether the
    /// branch left was unchanged since its latest version (else its save is
    /// pending); None when the engine does not qualify.
    async fn hand_over_held(
        &mut self,
        name: &BranchName,
        head: &BranchRow,
    ) -> Result<Option<bool>> {
        let endpoint = self.engine_endpoint(head).await?;
        let client = snapshot::connect(&endpoint, self.login.as_ref()).await?;
        let fenced = snapshot::fsync_lock(&client).await;
        // No fence: only an engine that puts every write in its files before
        // acknowledging it leaves files that hold them all. An `fsync` is not
        // enough: the test engine accepts it and may still hold writes back.
        if !fenced && !self.config.engine.durable_writes {
            snapshot::close(client).await;
            return Ok(None);
        }
        if fenced {
            crate::fault::point("save:fenced").await;
        }
        // The engine's counters as its files are copied (a write still in
        // flight from a client the proxy closed may land after this; it was
        // never acknowledged, and it lands in the new branch).
        let now = snapshot::change_token(&client).await;
        // Unchanged only under a fence, as when a branch is left by a stop.
        let unchanged = fenced && CleanState::unchanged(head, now.as_ref());
        let from = head.head_version;
        let uid = random_uid();
        let copy = self.objects().data(&uid);
        let copied = async {
            // Published before anything changes, as for any new branch.
            if from.is_some() {
                self.publish_head(name.as_str(), from).await?;
            }
            self.copy_running_head(head, &copy).await
        }
        .await;
        if fenced {
            snapshot::fsync_unlock(&client).await;
        }
        snapshot::close(client).await;
        if let Err(e) = copied {
            let _ = self.publish_head(name.as_str(), None).await;
            return Err(e);
        }
        crate::fault::point("fork:copied").await;
        let state = CleanState::of(head).filter(|_| unchanged);
        let left = HandedOver {
            name: head.name.clone(),
            uid,
            volume: copy.clone(),
            // A copy taken under the fence with the counters unchanged holds
            // exactly the latest version, as a branch stopped after a save does.
            clean: state.as_ref().map(|s| {
                CleanState {
                    engine: None,
                    verified: true,
                    ..s.clone()
                }
                .to_json()
            }),
            pending: (!unchanged).then(|| format!("checkout: moving from {} to {name}", head.name)),
        };
        let fork = BranchRow {
            name: name.to_string(),
            uid: head.uid.clone(),
            head_version: from,
            volume: head.volume.clone(),
            created_at: Utc::now(),
            // The same engine process: its counters still say what they said.
            clean: state.as_ref().map(CleanState::to_json),
        };
        // A fork of a branch whose save is pending learns from it the version
        // it began at, and is clean against it while the counters say so.
        let fork_base = match unchanged {
            false => now.as_ref().and_then(|t| serde_json::to_string(t).ok()),
            true => None,
        };
        if let Err(e) = self.meta.hand_over(&left, &fork, fork_base.as_deref()) {
            let _ = self.runtime().await?.remove_data(&copy).await;
            let _ = self.publish_head(name.as_str(), None).await;
            return Err(e.into());
        }
        self.row.head = Some(name.to_string());
        Ok(Some(unchanged))
    }

    /// Copies running HEAD's files into the new volume `copy`, its engine
    /// paused for the copy; the volume goes again if the copy fails.
    async fn copy_running_head(&mut self, head: &BranchRow, copy: &str) -> Result<()> {
        let container = self.objects().engine(&head.uid);
        let data = head.volume.clone().unwrap_or_default();
        let labels = self.objects().labels(&head.name, Role::Data);
        self.runtime().await?.create_data(copy, labels).await?;
        let source = CopySource::RunningEngine {
            engine: &container,
            data: &data,
        };
        if let Err(e) = self.copy_volume(head, source, copy).await {
            let _ = self.runtime().await?.remove_data(copy).await;
            return Err(e);
        }
        Ok(())
    }
}
