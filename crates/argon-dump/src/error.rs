use std::path::{Path, PathBuf};

/// What can go wrong reading or writing a dump.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A path that holds no dump, archive or fixtures at all.
    #[error("{} is not a mongodump folder, archive or fixture folder", .0.display())]
    NotADump(PathBuf),
    /// A file that is not what it claims to be, or ends early.
    #[error("{}: {message}", .path.display())]
    Damaged { path: PathBuf, message: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn damaged(path: &Path, message: impl Into<String>) -> Error {
        Error::Damaged {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
