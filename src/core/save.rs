//! Saving a branch: while it runs (`commit`), when it is left (fenced, or
//! stopped and read from its volume), and offline before its volume goes.

use std::path::Path;
use std::sync::Arc;

use crate::progress::Task;
use chrono::Utc;

use super::clean::CleanState;
use super::pending::YieldWatch;
use super::{version_row_of, ChangeCheck, Error, Project, Result, SaveReport, VersionInfo};
use crate::meta::{BranchRow, VersionRow};
use crate::runtime::{CopySource, DataCopy, Role};
use crate::snapshot::{self, CaptureMethod, Manifest, ReadMode, MANIFEST_FORMAT};
use crate::store::{Hash, ObjectKey, SpoolBackend, Store, VersionId};

/// What a capture proves about a branch's data (see `CleanState`): its
/// catalog digest, the engine's counters while that engine runs, and whether
/// no engine can write to the volume any more.
#[derive(Clone)]
pub(super) struct Reference {
    pub(super) catalog: String,
    pub(super) engine: Option<snapshot::ChangeToken>,
    pub(super) verified: bool,
}

/// What a save did: the new version, if the data had changed.
pub(super) struct Saved {
    pub(super) row: Option<VersionRow>,
    pub(super) checked_by: ChangeCheck,
    /// Left to a background save (see `pending`): `row` is none yet.
    pub(super) pending: bool,
}

impl Saved {
    /// What `commit` and `stash` report of saving branch `b`.
    pub(super) fn report(self, b: BranchRow) -> SaveReport {
        SaveReport {
            version: self.row.as_ref().map(VersionInfo::from),
            latest: self
                .row
                .map(|v| v.id.to_string())
                .or(b.head_version.map(|v| v.to_string())),
            checked_by: self.checked_by,
            pending: self.pending,
            branch: b.name,
        }
    }
}

impl Project {
    /// Saves a version of the running branch `b` while it keeps serving; no
    /// version when its content equals its latest version. The engine keeps
    /// taking writes, so this is never evidence that its volume equals the
    /// version (see `stop_and_save`).
    pub(super) async fn save(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let lease = self.lease("save").await?;
        let saved = self.save_leased(b, message).await;
        lease.release().await;
        saved
    }

    async fn save_leased(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        // Taken before the capture: writes during it make the next check capture again.
        let endpoint = self.engine_endpoint(b).await?;
        let client = snapshot::connect(&endpoint, self.login.as_ref()).await?;
        let now = snapshot::change_token(&client).await;
        let store = self.store().await?;
        let tmp = self.tmp_dir()?;
        let (previous, known) = self.parent_manifest(b).await?;
        self.journal_begin("save", &b.name)?;
        let bar = self.progress.task(&format!("saving {}", b.name));
        let result = self
            .capture_laddered(b, &client, &store, &tmp, &known, &bar)
            .await;
        bar.finish();
        let saved = match result {
            Ok((captured, method)) => {
                // The engine keeps running: its counters stay meaningful, but it can be written.
                let reference = now.map(|t| Reference {
                    catalog: t.catalog.clone(),
                    engine: Some(t),
                    verified: false,
                });
                self.record_capture(b, previous, captured, method, message, reference)
                    .await
            }
            Err(e) => Err(e),
        };
        self.journal_end()?;
        saved
    }

    /// Stops the running branch `b` and records its final state, on evidence
    /// taken only once its writes have stopped: with writes fenced by
    /// `fsyncLock`, the engine's counters may vouch for "unchanged", else the
    /// data is read under the fence; an engine that cannot fence is stopped
    /// first and read from its volume by a private engine. Either way the
    /// branch ends stopped and verified: its volume equals its latest version.
    /// When the save fails the branch is running again, untouched.
    pub(super) async fn stop_and_save(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let endpoint = self.engine_endpoint(b).await?;
        let client = snapshot::connect(&endpoint, self.login.as_ref()).await?;
        // Recovery unlocks the engine if argon dies while it is fenced.
        self.journal_begin("save", &b.name)?;
        // Only a fence the engine itself holds lets its counters mark the
        // stopped volume verified: the proxy stops the clients' writes, but
        // some engines do not count every write (see `CleanState::verified`).
        if snapshot::fsync_lock(&client).await {
            crate::fault::point("save:fenced").await;
            let saved = match self.save_fenced(b, &client, message, false).await {
                Ok(saved) => saved,
                Err(e) => {
                    snapshot::fsync_unlock(&client).await;
                    self.journal_end()?;
                    return Err(e);
                }
            };
            // Writes held by the fence fail with the engine: none was acknowledged.
            snapshot::close(client).await;
            let stopped = self.stop_branch(b).await;
            self.journal_end()?;
            stopped?;
            self.mark_verified(&b.name)?;
            return Ok(saved);
        }
        snapshot::close(client).await;
        self.journal_end()?;
        self.stop_branch(b).await?;
        crate::fault::point("leave:stopped").await;
        let stopped = self.branch(&b.name)?;
        match self.save_offline(&stopped, message).await {
            Ok(saved) => Ok(saved),
            Err(e) => {
                // Nothing was dropped: the volume holds every write. Serve it again.
                let _ = self.start_branch(&stopped, None).await;
                Err(e)
            }
        }
    }

    /// Leaves the running HEAD `b` warm: with its clients already closed by
    /// the proxy (`route_hold`), its state is recorded under `fsyncLock`
    /// where the engine has it (unchanged by the counters, else a capture),
    /// then its engine is paused on its private port, the same process, so
    /// its counters still vouch for the recorded state when it is woken.
    /// Never `verified`: a write the fence held lands when it lifts, and the
    /// counters see it. When the save fails the branch is running, untouched.
    ///
    /// With `[serve] background_save`, a branch that changed is paused at
    /// once and its capture left pending (`Saved::pending`): the background
    /// save wakes it unrouted, captures it and pauses it again.
    pub(super) async fn save_and_pause(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let endpoint = self.engine_endpoint(b).await?;
        let client = snapshot::connect(&endpoint, self.login.as_ref()).await?;
        self.journal_begin("save", &b.name)?;
        let fenced = snapshot::fsync_lock(&client).await;
        crate::fault::point("save:fenced").await;
        let saved = match self.config.background_save {
            true => self.unchanged_or_defer(b, &client, message).await,
            false => self.save_fenced(b, &client, message, true).await,
        };
        if fenced {
            snapshot::fsync_unlock(&client).await;
        }
        snapshot::close(client).await;
        let paused = match &saved {
            Ok(_) => {
                let container = self.objects().engine(&b.uid);
                self.runtime().await?.pause_engine(&container).await
            }
            Err(_) => Ok(()),
        };
        self.journal_end()?;
        let saved = saved?;
        paused?;
        self.meta.set_branch_warm(&b.name, true)?;
        Ok(saved)
    }

    /// A warm leave's check under the fence: unchanged by the counters, or
    /// the save left pending for the background.
    async fn unchanged_or_defer(
        &mut self,
        b: &BranchRow,
        client: &mongodb::Client,
        message: &str,
    ) -> Result<Saved> {
        let now = snapshot::change_token(client).await;
        let unchanged = CleanState::unchanged(b, now.as_ref());
        if !unchanged {
            // What the engine holds in memory goes to its volume before the
            // pause: a crash while the save is pending then loses nothing.
            snapshot::fsync(client).await;
            self.meta.add_pending_save(&b.name, message)?;
        }
        Ok(Saved {
            row: None,
            checked_by: ChangeCheck::Counters,
            pending: !unchanged,
        })
    }

    /// The fenced part of `stop_and_save`: unchanged by the counters read
    /// under the fence, else a capture while writes wait.
    /// `keeps_running`: the engine is paused, not stopped, after the save
    /// (a warm branch), so its counters stay the reference.
    pub(super) async fn save_fenced(
        &mut self,
        b: &BranchRow,
        client: &mongodb::Client,
        message: &str,
        keeps_running: bool,
    ) -> Result<Saved> {
        let lease = self.lease("save").await?;
        let saved = self
            .save_fenced_leased(b, client, message, keeps_running)
            .await;
        lease.release().await;
        saved
    }

    async fn save_fenced_leased(
        &mut self,
        b: &BranchRow,
        client: &mongodb::Client,
        message: &str,
        keeps_running: bool,
    ) -> Result<Saved> {
        let now = snapshot::change_token(client).await;
        if CleanState::unchanged(b, now.as_ref()) {
            return Ok(Saved {
                row: None,
                checked_by: ChangeCheck::Counters,
                pending: false,
            });
        }
        let store = self.store().await?;
        let (previous, known) = self.parent_manifest(b).await?;
        let bar = self.progress.task(&format!("saving {}", b.name));
        let capture =
            async { Ok(snapshot::capture(client, &store, ReadMode::Plain, &known, &bar).await?) };
        let captured = YieldWatch::run(self.yield_watch(), capture).await;
        bar.finish();
        // Verified only once the engine is stopped (`mark_verified`).
        let reference = now.map(|t| Reference {
            catalog: t.catalog.clone(),
            engine: keeps_running.then_some(t),
            verified: false,
        });
        self.record_capture(
            b,
            previous,
            captured?,
            CaptureMethod::FsyncLock,
            message,
            reference,
        )
        .await
    }

    /// The manifest of `b`'s latest version, and its chunks: those a save
    /// need not send.
    async fn parent_manifest(
        &mut self,
        b: &BranchRow,
    ) -> Result<(Option<Manifest>, snapshot::KnownChunks)> {
        let previous = match b.head_version {
            Some(parent) => Some(self.manifest(parent).await?),
            None => None,
        };
        let known = snapshot::KnownChunks::new(previous.iter().flat_map(|m| m.chunk_ids()));
        Ok((previous, known))
    }

    /// Ends a save whose capture succeeded: a new version when the content
    /// differs from `previous`, and the branch recorded as clean against
    /// `reference` (the catalog digest, and the engine's token when that
    /// engine keeps running so its counters stay meaningful). `verified` only
    /// when no engine can write to the branch's volume any more.
    async fn record_capture(
        &mut self,
        b: &BranchRow,
        previous: Option<Manifest>,
        captured: snapshot::Captured,
        method: CaptureMethod,
        message: &str,
        reference: Option<Reference>,
    ) -> Result<Saved> {
        let clean_at = |version: VersionId| {
            reference.clone().map(|r| CleanState {
                version,
                catalog: r.catalog,
                engine: r.engine,
                verified: r.verified,
            })
        };
        if let (Some(p), Some(head)) = (&previous, b.head_version) {
            if crate::store::manifest::same_databases(&p.databases, &captured.databases) {
                self.record_clean(&b.name, clean_at(head).as_ref())?;
                return Ok(Saved {
                    row: None,
                    checked_by: ChangeCheck::Capture,
                    pending: false,
                });
            }
        }
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            project: self.config.name.to_string(),
            branch: b.name.clone(),
            parent: b.head_version,
            created_at: Utc::now(),
            message: message.to_string(),
            capture: method,
            engine_version: captured.engine_version,
            databases: captured.databases,
            written_bytes: captured.written_bytes,
        };
        let bytes = manifest.to_bytes();
        let id = VersionId(Hash::of(&bytes));
        // The manifest is written last: a version exists iff its manifest does.
        let store = self.store().await?;
        crate::fault::point("save:captured").await;
        store.put_bytes(ObjectKey::Version(id), bytes).await?;
        let row = version_row_of(id, &manifest);
        self.meta.record_version(&row, &b.name)?;
        self.publish_head(&b.name, Some(id)).await?;
        self.record_clean(&b.name, clean_at(id).as_ref())?;
        Ok(Saved {
            row: Some(row),
            checked_by: ChangeCheck::Capture,
            pending: false,
        })
    }

    /// Saves a stopped branch from its own volume, through an engine on a
    /// private port (no client can write meanwhile). Used before a volume is
    /// discarded when the branch was last left on the counters' word.
    pub(super) async fn save_offline(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let lease = self.lease("save").await?;
        let saved = self.save_offline_leased(b, message).await;
        lease.release().await;
        saved
    }

    async fn save_offline_leased(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let Some(volume) = b.volume.clone() else {
            return Ok(Saved {
                row: None,
                checked_by: ChangeCheck::Capture,
                pending: false,
            });
        };
        // Docker would create a missing volume empty, and the save would make
        // "nothing" the branch's latest version.
        if !self.runtime().await?.data_exists(&volume).await? {
            self.forget_lost_volume(b)?;
            return Ok(Saved {
                row: None,
                checked_by: ChangeCheck::Capture,
                pending: false,
            });
        }
        let store = self.store().await?;
        let (previous, known) = self.parent_manifest(b).await?;
        let capture = self.objects().capture();
        let labels = self.objects().labels(&b.name, Role::Capture);
        self.journal_begin("save", &b.name)?;
        let bar = self.progress.task(&format!("saving {}", b.name));
        let watch = self.yield_watch();
        let result = async {
            let client = self.start_private_engine(&capture, &volume, labels).await?;
            let token = snapshot::change_token(&client).await;
            // Only the read gives way to a switch: a Docker call given up
            // midway could still make its container after the clean-up.
            let read = async {
                Ok(snapshot::capture(&client, &store, ReadMode::Plain, &known, &bar).await?)
            };
            let captured = YieldWatch::run(watch, read).await;
            snapshot::close(client).await;
            Ok::<_, Error>((captured?, token))
        }
        .await;
        bar.finish();
        let removed = self.remove_engine_after(&capture, &result).await;
        let (captured, token) = match result.and_then(|r| removed.map(|()| r)) {
            Ok(r) => r,
            Err(e) => {
                self.journal_end()?;
                return Err(e);
            }
        };
        // The private engine is gone: its catalog is kept, not its counters.
        let reference = token.map(|t| Reference {
            catalog: t.catalog,
            engine: None,
            verified: true,
        });
        let saved = self
            .record_capture(
                b,
                previous,
                captured,
                CaptureMethod::Offline,
                message,
                reference,
            )
            .await;
        self.journal_end()?;
        saved
    }

    /// Makes sure a stopped branch's latest version holds its data before its
    /// volume goes away: a full offline capture unless that is already known.
    pub(super) async fn ensure_saved(
        &mut self,
        b: &BranchRow,
        why: &str,
    ) -> Result<Option<VersionRow>> {
        if b.volume.is_none() || CleanState::of(b).is_some_and(|s| s.verified) {
            return Ok(None);
        }
        Ok(self.save_offline(b, why).await?.row)
    }

    /// A branch's volume was removed outside argon (`docker volume rm`, a
    /// prune): the branch keeps its latest version and becomes archived.
    pub(super) fn forget_lost_volume(&mut self, b: &BranchRow) -> Result<()> {
        self.meta.set_branch_volume(&b.name, None)?;
        self.record_clean(&b.name, None)?;
        let latest = b
            .head_version
            .map(|v| format!("its latest version {}", v.short()))
            .unwrap_or_else(|| "no version (it had never been saved)".into());
        self.progress.notice(&format!(
            "the local data of branch '{}' was removed outside argon; the branch keeps {latest}",
            b.name
        ));
        Ok(())
    }

    /// Captures a consistent state with the best method the engine supports,
    /// probing each rung: snapshot reads, fsyncLock, then a paused private copy.
    async fn capture_laddered(
        &mut self,
        b: &BranchRow,
        client: &mongodb::Client,
        store: &Arc<Store>,
        tmp: &Path,
        known: &snapshot::KnownChunks,
        bar: &Task,
    ) -> Result<(snapshot::Captured, CaptureMethod)> {
        if snapshot::supports_snapshot_reads(client).await {
            let mut session = client
                .start_session()
                .snapshot(true)
                .await
                .map_err(|source| snapshot::SnapshotError::Engine {
                    op: "starting",
                    object: "a snapshot session".into(),
                    source,
                })?;
            let captured =
                snapshot::capture(client, store, ReadMode::Session(&mut session), known, bar)
                    .await?;
            return Ok((captured, CaptureMethod::SnapshotRead));
        }
        if snapshot::fsync_lock(client).await {
            // The application's writes wait while the fence holds: chunks go
            // to a local spool then, and to the store once it is lifted.
            let spool = Arc::new(SpoolBackend::new(tmp.join("spool"), store.backend()));
            let spooled = Arc::new(Store::new(spool.clone()));
            crate::fault::point("save:fenced").await;
            let captured = snapshot::capture(client, &spooled, ReadMode::Plain, known, bar).await;
            snapshot::fsync_unlock(client).await;
            let captured = captured?;
            spool.upload().await?;
            return Ok((captured, CaptureMethod::FsyncLock));
        }
        let captured = self.capture_paused_copy(b, store, known, bar).await?;
        Ok((captured, CaptureMethod::PausedCopy))
    }

    /// Copies the branch's data at one instant (its engine paused for the
    /// copy) and captures from a private engine on the copy.
    async fn capture_paused_copy(
        &mut self,
        b: &BranchRow,
        store: &Arc<Store>,
        known: &snapshot::KnownChunks,
        bar: &Task,
    ) -> Result<snapshot::Captured> {
        let container = self.objects().engine(&b.uid);
        let capture = self.objects().capture();
        let labels = self.objects().labels(&b.name, Role::Capture);
        let engine = self.config.engine.clone();
        // Flush what the engine holds in memory, so the files copied below hold
        // every write acknowledged before the pause (an engine may refuse: the
        // copy is then as of its last flush, still crash-consistent).
        if let Ok(endpoint) = self.engine_endpoint(b).await {
            if let Ok(client) = snapshot::connect(&endpoint, self.login.as_ref()).await {
                snapshot::fsync(&client).await;
                snapshot::close(client).await;
            }
        }
        // A running branch has its volume: no volume, nothing running to copy.
        let Some(data) = b.volume.clone() else {
            return Err(Error::HeadStashed(b.name.clone()));
        };
        let result = async {
            let copy = DataCopy {
                source: CopySource::RunningEngine {
                    engine: &container,
                    data: &data,
                },
                to: &capture,
                image: &engine.image,
                data_dir: &engine.data_dir,
                helper: &capture,
                labels: labels.clone(),
            };
            let rt = self.runtime().await?;
            rt.create_data(&capture, labels.clone()).await?;
            rt.copy_data(&copy).await?;
            let client = self
                .start_private_engine(&capture, &capture, labels.clone())
                .await?;
            let captured = snapshot::capture(&client, store, ReadMode::Plain, known, bar).await?;
            snapshot::close(client).await;
            Ok::<_, Error>(captured)
        }
        .await;
        let rt = self.runtime().await?;
        rt.remove_engine(&capture).await?;
        rt.remove_data(&capture).await?;
        result
    }
}
