//! Whether a branch's data still equals its latest version, known without
//! reading the data: recorded when a save (or a restore, or a copy) makes them
//! equal, checked against the engine's change token (see
//! `snapshot::change`). When in doubt the answer is "changed", and argon
//! compares content with a full capture as before.

use serde::{Deserialize, Serialize};

use super::{Project, Result};
use crate::meta::BranchRow;
use crate::snapshot::{self, ChangeToken};
use crate::store::VersionId;

/// How a save decided whether there was anything to save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeCheck {
    /// The engine's write counters and catalog were as when last saved.
    Counters,
    /// The data was read and compared (or saved).
    Capture,
}

/// The branch's data equalled `version` when the catalog digest was `catalog`
/// and, while `engine` is the same process, its write counters were as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CleanState {
    pub version: VersionId,
    pub catalog: String,
    pub engine: Option<ChangeToken>,
    /// Established by reading the data (a capture, a restore), not only by
    /// the counters. Some engines do not count every write (the test engine
    /// misses aggregation `$merge`), so only a verified branch may lose its
    /// volume without a full capture first.
    #[serde(default)]
    pub verified: bool,
}

impl CleanState {
    pub fn of(b: &BranchRow) -> Option<CleanState> {
        let state: CleanState = serde_json::from_str(b.clean.as_deref()?).ok()?;
        // A branch moved by reset or fetch no longer holds this version's data.
        (Some(state.version) == b.head_version).then_some(state)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Unchanged since recorded, by the running engine's token `now`.
    pub fn holds_at(&self, now: &ChangeToken) -> bool {
        self.engine.as_ref().is_some_and(|e| e.unchanged_at(now))
    }

    /// Branch `b` unchanged since its latest version, by its running
    /// engine's token `now` (none read: not known unchanged).
    pub fn unchanged(b: &BranchRow, now: Option<&ChangeToken>) -> bool {
        CleanState::of(b)
            .zip(now)
            .is_some_and(|(state, now)| state.holds_at(now))
    }
}

impl Project {
    pub(super) fn record_clean(&self, branch: &str, state: Option<&CleanState>) -> Result<()> {
        let json = state.map(CleanState::to_json);
        Ok(self.meta.set_branch_clean(branch, json.as_deref())?)
    }

    /// `branch` was just stopped after a save made under a write fence: its
    /// volume holds exactly its latest version.
    pub(super) fn mark_verified(&self, branch: &str) -> Result<()> {
        let Some(b) = self.meta.branch(branch)? else {
            return Ok(());
        };
        let Some(mut state) = CleanState::of(&b) else {
            return Ok(());
        };
        state.verified = true;
        state.engine = None;
        self.record_clean(branch, Some(&state))
    }

    /// After `b` started on the stable port from a volume holding its latest
    /// version: the counters of the new engine process become the reference,
    /// provided nothing was written yet and the catalog is the recorded one.
    /// Any engine start ends the evidence that the volume equals the version
    /// (from now on it can be written), so the state is no longer verified; a
    /// volume that was not verified may hold more than the version, so it gets
    /// no reference at all.
    pub(super) async fn rebaseline(&mut self, b: &BranchRow) -> Result<()> {
        let Some(mut state) = CleanState::of(b).filter(|s| s.verified) else {
            return self.record_clean(&b.name, None);
        };
        state.verified = false;
        let now = match self.engine_endpoint(b).await {
            Ok(endpoint) => match snapshot::connect(&endpoint, self.login.as_ref()).await {
                Ok(client) => snapshot::change_token(&client).await,
                Err(_) => None,
            },
            Err(_) => None,
        };
        state.engine = now.filter(|t| t.no_writes_yet() && t.catalog == state.catalog);
        let keep = state.engine.is_some().then_some(&state);
        self.record_clean(&b.name, keep)
    }

    /// Has HEAD changed since its latest version? None when argon cannot tell
    /// without reading the data.
    pub(super) async fn head_changed(&mut self, b: &BranchRow, running: bool) -> Option<bool> {
        let state = CleanState::of(b);
        if !running {
            // Verified only when it was stopped by argon after a save; a HEAD
            // stopped any other way (docker stop, a crash) is unknown until read.
            return state.filter(|s| s.verified).map(|_| false);
        }
        let state = state?;
        let endpoint = self.engine_endpoint(b).await.ok()?;
        let client = snapshot::connect(&endpoint, self.login.as_ref())
            .await
            .ok()?;
        let now = snapshot::change_token(&client).await?;
        state.engine.as_ref()?;
        Some(!state.holds_at(&now))
    }
}
