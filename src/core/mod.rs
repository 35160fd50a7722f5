//! Branch operations: the only place that combines configuration, metadata,
//! Docker, snapshots and the store. Functions return reports; printing is the CLI's job.

mod branch;
mod browse;
mod checkout;
mod clean;
mod diff;
pub mod error;
mod export;
mod fetch;
mod follow;
mod fsck;
mod gc;
mod handover;
mod import;
mod import_live;
mod init;
mod lock;
pub use lock::describe_holder;
pub use pending::{FinishedSave, PendingInfo, BACKGROUND_SAVE_COMMAND};
mod mount;
mod pending;
mod project;
mod report;
mod resolve;
pub mod revision;
mod save;
pub mod serve;
mod start;
mod status;
pub mod trust;

pub use crate::progress::Progress;
pub use browse::{CollectionInfo, DocumentPage};
pub use clean::ChangeCheck;
pub use diff::{DiffEnd, NamespaceInfo, ShowReport};
pub use error::{Error, Result};
pub use export::{ExportReport, ExportTo};
pub use fetch::FetchReport;
pub use follow::{FollowReport, HooksStatus};
pub use fsck::FsckReport;
pub use gc::{GcOptions, GcPlan, GcReport, LocalGcReport, TagInfo, DEFAULT_GRACE};
pub use import::{ImportReport, ImportSource};
pub use import_live::is_uri;
pub use init::{init, InitOptions, InitReport};
pub(crate) use project::random_uid;
pub use project::{operation_in_progress, repair, Project};
use report::version_row_of;
pub use report::{
    BranchInfo, BranchState, CheckoutReport, DeleteReport, ResetReport, SaveReport, StatusReport,
    VersionInfo,
};

#[cfg(test)]
mod tests;
