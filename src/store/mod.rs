//! Snapshot storage: immutable objects named by their content, in a local
//! folder (`file://`) or an S3-compatible bucket (`s3://`), behind one small,
//! object-safe trait (`backend`), so stores stack: the in-memory store
//! (`memory`) for unit tests, the fault injector (`faulty`) for fault tests,
//! a local spool (`spool`) for fenced saves, a disk cache (`cache`) for the mount.
//! A local folder keeps its chunks in pack files (`pack`).

mod backend;
mod cache;
pub mod chunker;
pub mod chunks;
mod faulty;
mod key;
mod local;
pub mod manifest;
pub mod memory;
mod pack;
mod s3;
pub mod shared;
mod spool;

use std::sync::Arc;

use serde::Serialize;

use crate::config::{StoreConfig, StoreUrl};
use crate::names::ProjectName;

pub(crate) use backend::forward_to_inner;
pub use backend::{Backend, BoxFuture, StoredChunk};
pub use cache::{CachingBackend, Lru};
pub use key::{
    escape_name, unescape_name, ChunkId, Hash, ObjectKey, VersionId, MAX_MANIFEST_BYTES,
};
pub use local::LocalBackend;
pub use memory::MemoryBackend;
pub use s3::S3Backend;
pub use spool::SpoolBackend;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{key} is missing from the store")]
    NotFound { key: String },
    #[error("store I/O failed while {op} {key}")]
    Io {
        op: &'static str,
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot reach the store at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("the store at {url} refused argon's credentials: {message}")]
    Credentials { url: String, message: String },
    #[error("bucket '{bucket}' does not exist")]
    NoBucket { bucket: String },
    #[error("S3 request failed while {op} {key}: {message}")]
    S3 {
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("{key} is corrupt: its content does not match its hash")]
    Corrupt { key: String },
    #[error("the store is busy: a {what} is deleting unreferenced chunks")]
    Busy { what: String },
    #[error("{key} in the store is {size} bytes, more than the {max} argon accepts")]
    TooLarge { key: String, size: u64, max: u64 },
}

impl StoreError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::Unreachable { .. } => Some(
                "check [store] url and endpoint in argon.toml (or ARGON_STORE_ENDPOINT) and that the server is up".into(),
            ),
            StoreError::Credentials { .. } => Some(
                "argon uses the standard AWS credential chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...); check it".into(),
            ),
            StoreError::NoBucket { bucket } => Some(format!("create the bucket '{bucket}' first")),
            StoreError::Busy { .. } => {
                Some("try again when that gc is done; nothing was changed".into())
            }
            StoreError::Corrupt { .. } => {
                Some("the stored object was damaged; restore it from a copy of the store".into())
            }
            _ => None,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The content of `tags/<name>`.
#[derive(Debug, Serialize, serde::Deserialize)]
struct TagObject {
    version: VersionId,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// A project's store: a backend (local folder, S3, or a stack of decorators
/// over one) and the operations argon builds on its objects.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

/// A `Store` is its backend, plus the operations below.
impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

impl Store {
    pub fn new(backend: Arc<dyn Backend>) -> Store {
        Store { backend }
    }

    /// The backend, to stack another layer on it.
    pub fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// The store `config` names, for `project`; wrapped in the fault
    /// injector when the tests ask for one (`faulty`).
    pub async fn open(config: &StoreConfig, project: &ProjectName) -> Result<Store> {
        let backend: Arc<dyn Backend> = match &config.url {
            StoreUrl::File(path) => Arc::new(LocalBackend::new(path.join(project.as_str()))),
            StoreUrl::S3 { bucket, prefix } => {
                let prefix = if prefix.is_empty() {
                    project.to_string()
                } else {
                    format!("{prefix}/{project}")
                };
                Arc::new(
                    S3Backend::new(config, bucket.clone(), prefix, config.url.to_string()).await,
                )
            }
        };
        Ok(Store::new(faulty::from_env(backend)))
    }

    /// Every tag in the store with the version it names.
    pub async fn tags(&self) -> Result<Vec<(String, VersionId)>> {
        let mut out = Vec::new();
        for listed in self.list_tags().await? {
            let name = unescape_name(&listed);
            let key = ObjectKey::Tag(name.clone());
            let bytes = match self.get_bytes(key.clone()).await {
                Ok(b) => b,
                // Deleted between listing and reading.
                Err(StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            let id = serde_json::from_slice::<TagObject>(&bytes)
                .map(|t| t.version)
                .map_err(|_| StoreError::Corrupt {
                    key: key.to_string(),
                })?;
            out.push((name, id));
        }
        out.sort();
        Ok(out)
    }

    pub async fn put_tag(&self, name: &str, version: VersionId) -> Result<()> {
        let body = TagObject {
            version,
            created_at: chrono::Utc::now(),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        self.put_bytes(ObjectKey::Tag(name.to_string()), bytes)
            .await
    }

    /// Reads a manifest and checks that its bytes still hash to its id.
    pub async fn get_version_bytes(&self, id: VersionId) -> Result<Vec<u8>> {
        let bytes = self.get_bytes(ObjectKey::Version(id)).await?;
        if Hash::of(&bytes) != id.0 {
            return Err(StoreError::Corrupt {
                key: ObjectKey::Version(id).to_string(),
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_paths_fan_out() {
        let id = ChunkId(Hash::of(b"x"));
        assert!(ObjectKey::Chunk(id)
            .path()
            .starts_with(&format!("chunks/{}/", &id.to_string()[..2])));
    }
}
