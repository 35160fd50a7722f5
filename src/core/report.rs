//! What operations report: the types a front end prints or serializes,
//! each built in one place.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ChangeCheck;
use crate::meta::VersionRow;
use crate::snapshot::Manifest;
use crate::store::VersionId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BranchState {
    /// Its container is up.
    Running,
    /// Not HEAD, but its engine is kept paused on a private port, so that a
    /// switch to it is an unpause (see `[serve] warm`).
    Warm,
    /// Stopped; its data is kept in a local volume, so resuming is a container start.
    Stashed,
    /// Only in the store; checking it out restores its latest version.
    Archived,
}

impl BranchState {
    /// A branch's state from its engine container's, whether it is HEAD,
    /// and whether it has a local volume.
    pub(super) fn of(
        engine: Option<crate::runtime::ContainerState>,
        is_head: bool,
        has_volume: bool,
    ) -> BranchState {
        use crate::runtime::ContainerState::{Paused, Running};
        match engine {
            Some(Running | Paused) if is_head => BranchState::Running,
            Some(Running | Paused) => BranchState::Warm,
            _ if has_volume => BranchState::Stashed,
            _ => BranchState::Archived,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            BranchState::Running => "running",
            BranchState::Warm => "warm",
            BranchState::Stashed => "stashed",
            BranchState::Archived => "archived",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub id: String,
    pub short_id: String,
    pub branch: String,
    pub parent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub message: String,
    pub capture: String,
    pub bytes: u64,
    pub collections: u64,
}

impl From<&VersionRow> for VersionInfo {
    fn from(v: &VersionRow) -> Self {
        VersionInfo {
            id: v.id.to_string(),
            short_id: v.id.short(),
            branch: v.branch.clone(),
            parent: v.parent.map(|p| p.to_string()),
            created_at: v.created_at,
            message: v.message.clone(),
            capture: v.capture.clone(),
            bytes: v.bytes,
            collections: v.collections,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BranchInfo {
    pub name: String,
    pub head: bool,
    pub state: BranchState,
    pub versions: u32,
    pub bytes: u64,
    pub latest: Option<String>,
    /// Its newest state is still to be recorded by a background save, so
    /// `latest` is the version before it.
    pub saving: bool,
    /// Bytes its data takes on disk, when asked for (`disk_usage`) and known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub project: String,
    pub head: Option<String>,
    pub state: Option<BranchState>,
    pub uri: String,
    pub port: u16,
    pub latest_version: Option<VersionInfo>,
    /// Whether HEAD's data changed since its latest version; null when argon
    /// cannot tell without reading it all (`argon commit` then compares).
    pub changed: Option<bool>,
    pub image: String,
    pub store: String,
    /// The proxy on the stable port; null when HEAD publishes it itself.
    pub proxy: Option<super::serve::ProxyInfo>,
    /// Branches whose version a background save still has to record.
    pub pending_saves: Vec<super::PendingInfo>,
}

/// What a checkout did.
#[derive(Debug, Serialize)]
pub struct CheckoutReport {
    pub branch: String,
    pub previous: Option<String>,
    /// The version saved of the branch that was left, if it had changed.
    pub saved: Option<VersionInfo>,
    /// How argon decided whether the branch left had changed (null: it was not running).
    pub checked_by: Option<ChangeCheck>,
    /// The branch left is being saved in the background (`argon wait`).
    pub pending_save: bool,
    pub created: bool,
    /// The version the branch started from, when its data was restored from the store.
    pub restored: Option<String>,
    /// The branch whose local data was copied, when it was (faster than a restore).
    pub copied_from: Option<String>,
    pub uri: String,
}

#[derive(Debug, Serialize)]
pub struct SaveReport {
    pub branch: String,
    /// None when nothing changed since the branch's latest version.
    pub version: Option<VersionInfo>,
    pub latest: Option<String>,
    /// How argon decided whether anything changed.
    pub checked_by: ChangeCheck,
    /// The version is being recorded in the background (`argon wait`).
    pub pending: bool,
}

#[derive(Debug, Serialize)]
pub struct ResetReport {
    pub branch: String,
    pub target: String,
    /// The version holding the state the reset left (saved first).
    pub saved: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeleteReport {
    pub branch: String,
    pub latest: Option<String>,
}

/// The metadata row describing the version `id` with this manifest.
pub(super) fn version_row_of(id: VersionId, m: &Manifest) -> VersionRow {
    VersionRow {
        id,
        branch: m.branch.clone(),
        parent: m.parent,
        created_at: m.created_at,
        message: m.message.clone(),
        capture: m.capture.as_str().to_string(),
        bytes: m.total_bytes(),
        collections: m.collection_count(),
    }
}
