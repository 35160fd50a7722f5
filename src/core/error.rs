//! The one error type users see: every failure, with the context of what argon
//! was doing, a hint where one helps, and an exit code.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::diff::DiffError;
use crate::git::GitError;
use crate::meta::MetaError;
use crate::mount::MountError;
use crate::runtime::RuntimeError;
use crate::snapshot::SnapshotError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Proxy(#[from] crate::proxy::ProxyError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    BadRevision(String),
    #[error("unknown revision '{0}': no branch or version has that name")]
    UnknownRevision(String),
    #[error("ambiguous revision '{rev}': it matches versions {candidates}")]
    AmbiguousRevision { rev: String, candidates: String },
    #[error("'{rev}' goes back further than the history of {base} ({have} older versions)")]
    TooFarBack {
        rev: String,
        base: String,
        have: u32,
    },
    #[error("'{rev}': {branch} has no version at or before {time}")]
    NoVersionAtTime {
        rev: String,
        branch: String,
        time: String,
    },
    #[error("branch '{0}' does not exist")]
    NoBranch(String),
    #[error("a branch named '{0}' already exists")]
    BranchExists(String),
    #[error("branch '{0}' has no saved version yet")]
    NoVersions(String),
    #[error("cannot delete branch '{0}': it is checked out (HEAD)")]
    DeleteHead(String),
    #[error("no branch is checked out yet")]
    NoHead,
    #[error("HEAD ({0}) is stashed, not running")]
    HeadStashed(String),
    #[error("HEAD ({0}) is already running")]
    HeadRunning(String),
    #[error("another argon process (pid {pid}{command}) is working on project {project}")]
    Locked {
        project: String,
        pid: String,
        /// ": argon checkout feature", or empty when it did not say.
        command: String,
    },
    #[error("{0} already exists")]
    AlreadyInitialized(PathBuf),
    #[error("version {id} is damaged or unreadable: {message}")]
    BadManifest { id: String, message: String },
    #[error("the reset to {target} failed after the previous state was saved as {saved}")]
    ResetFailed {
        target: String,
        saved: String,
        #[source]
        source: Box<Error>,
    },
    #[error("could not finish saving branch '{branch}' in the background: {source}")]
    BackgroundSave {
        branch: String,
        #[source]
        source: Box<Error>,
    },
    #[error("I/O failed while {op}")]
    Io {
        op: String,
        #[source]
        source: std::io::Error,
    },
    #[error("'{name}' is not an argon command, and no 'argon-{name}' was found on PATH")]
    UnknownCommand {
        name: String,
        suggestion: Vec<String>,
    },
    #[error("{count} version(s) in the store are damaged")]
    Damaged { count: usize },
    #[error("a tag named '{0}' already exists")]
    TagExists(String),
    #[error("tag '{0}' does not exist")]
    NoTag(String),
    #[error("the engine in {container} refuses argon's login")]
    LoginRefused { container: String },
    #[error("{} is not empty", .0.display())]
    ExportTarget(PathBuf),
    #[error("{} is not a mongodump folder or archive, nor a fixture folder", .0.display())]
    NotADump(PathBuf),
    #[error("{} cannot be imported: {message}", .path.display())]
    BadDump { path: PathBuf, message: String },
    #[error("cannot import from {uri}: {message}")]
    ImportSource { uri: String, message: String },
    #[error("namespace '{ns}' is not in version {version}")]
    NoNamespace { ns: String, version: String },
    #[error("an operation that changes the project ran without its lock")]
    NotLocked,
    #[error("aborted")]
    Aborted,
    /// A background save stopped to make way for a switch (see
    /// `Project::lock_for_switch`); never shown to a user.
    #[error("the background save made way for a switch")]
    Yielded,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(op: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let op = op.into();
        move |source| Error::Io { op, source }
    }

    /// A suggestion of what to do next, shown under the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(e) => e.hint(),
            Error::Runtime(e) => e.hint(),
            Error::Proxy(e) => e.hint(),
            Error::Git(e) => e.hint(),
            Error::Store(e) | Error::Snapshot(SnapshotError::Store(e)) | Error::Diff(DiffError::Store(e)) => e.hint(),
            Error::Diff(DiffError::NoSuchNamespace(_)) => Some(
                "give DB or DB.COLLECTION as 'argon show REV --stat' lists them".into(),
            ),
            Error::Diff(DiffError::Malformed { .. }) => Some("'argon fsck' checks every saved version".into()),
            Error::Mount(e) => e.hint(),
            Error::InvalidName(_) => Some(
                "branch names follow git's rules: no spaces, '..', '~', '^', ':', '?', '*', '[', '\\' or leading '-'".into(),
            ),
            Error::BadRevision(_) | Error::UnknownRevision(_) => Some(
                "use a branch (main), main~N, main@{2 hours ago} or a version id from 'argon log'".into(),
            ),
            Error::AmbiguousRevision { .. } => Some("give more digits of the version id".into()),
            Error::TooFarBack { base, .. } => Some(format!("see 'argon log {base}'")),
            Error::NoVersionAtTime { branch, .. } => Some(format!("see 'argon log {branch}' for the times of its versions")),
            Error::NoBranch(name) => Some(format!(
                "see 'argon branch' for the list; 'argon checkout -b {name}' creates it"
            )),
            Error::BranchExists(name) => Some(format!("switch to it with 'argon checkout {name}'")),
            Error::NoVersions(name) => Some(format!("save one with 'argon checkout {name}' then 'argon commit -m MSG'")),
            Error::DeleteHead(_) => Some("switch to another branch first: 'argon checkout OTHER'".into()),
            Error::NoHead => Some("create the first branch with 'argon checkout -b main'".into()),
            Error::HeadStashed(_) => Some("resume it with 'argon stash pop'".into()),
            Error::HeadRunning(_) => Some("'argon stash' suspends it".into()),
            Error::Locked { .. } => Some("wait for it to finish, then run the command again".into()),
            Error::AlreadyInitialized(_) => Some("edit it, or pass --force to write a new one".into()),
            Error::TagExists(name) => Some(format!("'argon tag -d {name}' first to move it")),
            Error::NoTag(_) => Some("'argon tag' lists tags".into()),
            Error::Damaged { .. } => Some(
                "the versions listed above cannot be restored whole; other versions are unaffected".into(),
            ),
            Error::UnknownCommand { suggestion, .. } => Some(match suggestion.as_slice() {
                [] => "see 'argon help -a' for commands and plugins".into(),
                [one] => format!("the most similar command is '{one}'"),
                many => format!("the most similar commands are: {}", many.join(", ")),
            }),
            Error::ExportTarget(_) => Some("export into a new or empty folder".into()),
            Error::NotADump(_) => Some("give the folder mongodump wrote (its --out: one folder per database holding <collection>.bson), the file 'mongodump --archive' wrote, or a folder of <db>/<collection>.json fixtures".into()),
            Error::BadDump { .. } => Some("nothing was imported; dump the data again (a damaged or cut-off file cannot be read past the damage)".into()),
            Error::ImportSource { .. } => Some(
                "check the connection string, its credentials, and that the server answers from this machine; nothing was imported".into(),
            ),
            Error::NoNamespace { version, .. } => Some(format!(
                "give DB or DB.COLLECTION as 'argon show {version} --stat' lists them"
            )),
            Error::NotLocked => Some("a front end built on argon's library must call Project::lock first".into()),
            Error::LoginRefused { .. } => Some(
                "its volume has users argon did not make (another project's, or a changed ARGON_HOME); set [engine] auth = false, or restore the credentials file".into(),
            ),
            Error::BackgroundSave { source, .. } => Some(match source.hint() {
                Some(hint) => format!("{hint}; the branch's data is safe in its local volume, and every argon command tries the save again"),
                None => "the branch's data is safe in its local volume; every argon command tries the save again ('argon wait' does only that)".into(),
            }),
            Error::ResetFailed { saved, .. } => Some(format!("nothing is lost: 'argon reset --hard {saved}' goes back")),
            _ => None,
        }
    }
}
