//! Branch operations: the only place that combines configuration, metadata,
//! Docker, snapshots and the store. Functions return reports; printing is the CLI's job.

mod branch;
mod checkout;
mod clean;
pub mod error;
mod fetch;
mod follow;
mod fsck;
mod gc;
mod init;
mod lock;
mod mount;
mod project;
mod report;
mod resolve;
pub mod revision;
mod save;
mod start;
mod status;
pub mod trust;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use clean::ChangeCheck;
pub use error::{Error, Result};
pub use fetch::FetchReport;
pub use follow::{FollowReport, HooksStatus};
pub use fsck::FsckReport;
pub use gc::{GcOptions, GcReport, LocalGcReport, TagInfo, DEFAULT_GRACE};
pub use init::{init, InitOptions, InitReport};
pub(crate) use project::random_uid;
pub use project::{operation_in_progress, repair, Project};
use report::version_row_of;
pub use report::{
    BranchInfo, BranchState, CheckoutReport, DeleteReport, ResetReport, SaveReport, StatusReport,
    VersionInfo,
};

/// What the front end shows while an operation runs: whether progress is
/// drawn (on stderr, only when it is a terminal), and where notices go (things
/// the user should know that did not stop the operation).
#[derive(Clone, Copy)]
pub struct Progress {
    pub enabled: bool,
    pub notice: fn(&str),
}

impl Progress {
    fn bar(&self, message: &str) -> ProgressBar {
        let bar = if self.enabled {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} documents ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar
    }

    fn spinner(&self, message: &str) -> ProgressBar {
        let bar = if self.enabled {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_message(message.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }
}
