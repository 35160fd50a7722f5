//! Snapshot storage: immutable objects named by their content, in a local
//! folder (`file://`) or an S3-compatible bucket (`s3://`), behind one small trait.

pub mod chunker;
mod local;
mod s3;
pub mod shared;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::config::StoreConfig;
use crate::core::names::ProjectName;

pub use local::LocalBackend;
pub use s3::S3Backend;

/// A SHA-256 content hash, shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash([u8; 32]);

impl Hash {
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }
    pub fn from_hasher(h: Sha256) -> Hash {
        Hash(h.finalize().into())
    }
    pub fn parse(hex_text: &str) -> Option<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_text, &mut out).ok()?;
        Some(Hash(out))
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}
impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Hash::parse(&s).ok_or_else(|| serde::de::Error::custom("not a 64-digit hex hash"))
    }
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub crate::store::Hash);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
        impl $name {
            pub fn parse(text: &str) -> Option<Self> {
                crate::store::Hash::parse(text).map($name)
            }
            /// The 12-digit abbreviation shown to people.
            pub fn short(&self) -> String {
                self.0.to_hex()[..12].to_string()
            }
        }
    };
}

hash_id!(
    /// Names a version: the hash of its manifest bytes.
    VersionId
);
hash_id!(
    /// Names a chunk: the hash of its uncompressed content.
    ChunkId
);

/// The closed set of things a store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKey {
    /// A zstd-compressed, content-defined piece of a collection stream.
    Chunk(ChunkId),
    /// A version manifest; written last, so a version exists iff this exists.
    Version(VersionId),
    /// A tag: a name (git ref rules) for a version, shared by everyone using
    /// the store. The only objects that can be deleted and written again.
    Tag(String),
    /// The shared-store protocol (see `shared`): a machine's branch head,
    /// a save's lease, gc's exclusive lock, and a gc mark of doomed chunks.
    /// Each is named by an already-escaped single component.
    Ref(String),
    Lease(String),
    GcLock(String),
    Mark(String),
}

impl ObjectKey {
    /// Path relative to the project's root in the store.
    pub fn path(&self) -> String {
        match self {
            ObjectKey::Chunk(id) => {
                let hex = id.0.to_hex();
                format!("chunks/{}/{}", &hex[..2], hex)
            }
            ObjectKey::Version(id) => format!("versions/{id}.json"),
            ObjectKey::Tag(name) => format!("tags/{}", escape_name(name)),
            ObjectKey::Ref(name) => format!("{}/{name}", shared::REFS),
            ObjectKey::Lease(name) => format!("{}/{name}", shared::LEASES),
            ObjectKey::GcLock(name) => format!("{}/{name}", shared::GC_LOCKS),
            ObjectKey::Mark(name) => format!("{}/{name}", shared::MARKS),
        }
    }

    /// The largest object of this kind argon accepts from a store: what a
    /// store hands back is untrusted, and is bounded before it is allocated.
    pub fn max_bytes(&self) -> u64 {
        match self {
            // zstd grows incompressible data by a few bytes per block at most.
            ObjectKey::Chunk(_) => chunker::MAX_CHUNK_BYTES as u64 + (64 << 10),
            ObjectKey::Version(_) => MAX_MANIFEST_BYTES,
            ObjectKey::Tag(_) | ObjectKey::Ref(_) | ObjectKey::Lease(_) | ObjectKey::GcLock(_) => {
                64 << 10
            }
            ObjectKey::Mark(_) => MAX_MANIFEST_BYTES,
        }
    }
}

/// The largest manifest argon reads (a million collections' worth of chunk lists).
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// A name (tag, branch, database, collection) as one component of a store key
/// or a mounted path: `%` and `/` are percent-escaped (`%25`, `%2F`), so a
/// name with a slash stays one file and never a folder. Names without either
/// are unchanged, which keeps stores written before escaping readable.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            '\0' => out.push_str("%00"),
            c => out.push(c),
        }
    }
    out
}

/// The name an escaped component stands for (`escape_name` reversed).
pub fn unescape_name(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    let mut rest = component;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = &rest[i + 1..];
        let decoded = match code.get(..2) {
            Some("25") => Some('%'),
            Some("2F") | Some("2f") => Some('/'),
            Some("00") => Some('\0'),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &code[2..];
            }
            None => {
                out.push('%');
                rest = code;
            }
        }
    }
    out.push_str(rest);
    out
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectKey::Chunk(id) => write!(f, "chunk {}", id.0.to_hex()),
            ObjectKey::Version(id) => write!(f, "version {}", id.short()),
            ObjectKey::Tag(name) => write!(f, "tag {name}"),
            ObjectKey::Ref(name) => write!(f, "ref {name}"),
            ObjectKey::Lease(name) => write!(f, "lease {name}"),
            ObjectKey::GcLock(name) => write!(f, "gc lock {name}"),
            ObjectKey::Mark(name) => write!(f, "gc mark {name}"),
        }
    }
}

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    File(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl StoreUrl {
    pub fn parse(text: &str) -> Result<StoreUrl, String> {
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "store URL '{text}' needs an absolute path, e.g. file:///home/me/argon-store"
                ));
            }
            return Ok(StoreUrl::File(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                && !bucket.starts_with(['-', '.'])
                && !bucket.ends_with(['-', '.']);
            if !valid_bucket {
                return Err(format!(
                    "store URL '{text}': '{bucket}' is not a valid S3 bucket name (3-63 lowercase letters, digits, '-', '.')"
                ));
            }
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        Err(format!(
            "store URL '{text}' is not supported; use file:///path or s3://bucket/prefix"
        ))
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::File(p) => write!(f, "file://{}", p.display()),
            StoreUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Serialize for StoreUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

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

/// What every storage backend provides. Objects are immutable once written and
/// every write is atomic: a reader sees the whole object or none of it.
pub trait Backend: Send + Sync {
    fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> impl Future<Output = Result<()>> + Send;
    fn get_bytes(&self, key: ObjectKey) -> impl Future<Output = Result<Vec<u8>>> + Send;
    fn exists(&self, key: ObjectKey) -> impl Future<Output = Result<bool>> + Send;
    fn list_versions(&self) -> impl Future<Output = Result<Vec<VersionId>>> + Send;
    /// Names of the tags in the store.
    fn list_tags(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Names of the objects in one flat folder of the protocol (`refs`, `leases`, ...).
    fn list_folder(&self, folder: &'static str)
        -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Checks that the store can be used (reachable, credentials accepted).
    fn check(&self) -> impl Future<Output = Result<()>> + Send;
    /// Every chunk with its size and when it was written.
    fn list_chunks(&self) -> impl Future<Output = Result<Vec<StoredChunk>>> + Send;
    /// Removes an object; one that is already gone is fine.
    fn delete(&self, key: ObjectKey) -> impl Future<Output = Result<()>> + Send;
}

/// A chunk as listed by the store.
#[derive(Debug, Clone)]
pub struct StoredChunk {
    pub id: ChunkId,
    pub size: u64,
    pub modified: std::time::SystemTime,
}

/// The content of `tags/<name>`.
#[derive(Debug, Serialize, serde::Deserialize)]
struct TagObject {
    version: VersionId,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// A project's store, whichever backend holds it.
pub enum Store {
    Local(LocalBackend),
    S3(S3Backend),
}

impl Store {
    pub async fn open(config: &StoreConfig, project: &ProjectName) -> Result<Store> {
        match &config.url {
            StoreUrl::File(path) => {
                Ok(Store::Local(LocalBackend::new(path.join(project.as_str()))))
            }
            StoreUrl::S3 { bucket, prefix } => {
                let prefix = if prefix.is_empty() {
                    project.to_string()
                } else {
                    format!("{prefix}/{project}")
                };
                Ok(Store::S3(
                    S3Backend::new(config, bucket.clone(), prefix, config.url.to_string()).await,
                ))
            }
        }
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

    /// Removes what interrupted writes left (a local store's `.tmp` files of
    /// processes that are gone); returns how many. S3 writes are atomic.
    pub async fn remove_temporaries(&self) -> Result<usize> {
        match self {
            Store::Local(b) => b.remove_temporaries().await,
            Store::S3(_) => Ok(0),
        }
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

macro_rules! delegate {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            Store::Local($b) => $call.await,
            Store::S3($b) => $call.await,
        }
    };
}

impl Backend for Store {
    async fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> Result<()> {
        delegate!(self, b => b.put_bytes(key, bytes))
    }
    async fn get_bytes(&self, key: ObjectKey) -> Result<Vec<u8>> {
        delegate!(self, b => b.get_bytes(key))
    }
    async fn exists(&self, key: ObjectKey) -> Result<bool> {
        delegate!(self, b => b.exists(key))
    }
    async fn list_versions(&self) -> Result<Vec<VersionId>> {
        delegate!(self, b => b.list_versions())
    }
    async fn list_tags(&self) -> Result<Vec<String>> {
        delegate!(self, b => b.list_tags())
    }
    async fn list_folder(&self, folder: &'static str) -> Result<Vec<String>> {
        delegate!(self, b => b.list_folder(folder))
    }
    async fn check(&self) -> Result<()> {
        delegate!(self, b => b.check())
    }
    async fn list_chunks(&self) -> Result<Vec<StoredChunk>> {
        delegate!(self, b => b.list_chunks())
    }
    async fn delete(&self, key: ObjectKey) -> Result<()> {
        delegate!(self, b => b.delete(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert_eq!(
            StoreUrl::parse("s3://my-bucket/team/x").unwrap(),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: "team/x".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("file:///a/b").unwrap(),
            StoreUrl::File("/a/b".into())
        );
        for bad in ["file://rel", "s3://A_B", "s3://ab", "http://x", "/tmp/x"] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            StoreUrl::parse("s3://abc/").unwrap().to_string(),
            "s3://abc"
        );
    }

    #[test]
    fn object_paths_fan_out() {
        let id = ChunkId(Hash::of(b"x"));
        assert!(ObjectKey::Chunk(id)
            .path()
            .starts_with(&format!("chunks/{}/", &id.to_string()[..2])));
    }
}
