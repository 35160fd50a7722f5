//! The version manifest: what one saved version of a branch contains. Its bytes
//! are hashed to name the version, so serialization must be deterministic
//! (struct field order, no maps with unordered keys at the top level).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ChunkId, VersionId};

/// Bumped when the manifest changes shape; readers refuse formats they do not know.
pub const MANIFEST_FORMAT: u32 = 1;

/// How a version was made consistent across collections (the capture ladder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaptureMethod {
    /// Read at one cluster time through a snapshot session.
    SnapshotRead,
    /// Writes blocked with fsyncLock while reading.
    FsyncLock,
    /// Read from a private copy of the data files taken while the container was paused.
    PausedCopy,
    /// Read from an engine no client could reach (a stopped branch started privately).
    Offline,
    /// Brought in from a mongodump folder (`argon import`).
    Imported,
}

impl CaptureMethod {
    pub fn as_str(&self) -> &'static str {
        match self {
            CaptureMethod::SnapshotRead => "snapshot-read",
            CaptureMethod::FsyncLock => "fsync-lock",
            CaptureMethod::PausedCopy => "paused-copy",
            CaptureMethod::Offline => "offline",
            CaptureMethod::Imported => "imported",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub project: String,
    pub branch: String,
    pub parent: Option<VersionId>,
    pub created_at: DateTime<Utc>,
    pub message: String,
    pub capture: CaptureMethod,
    pub engine_version: Option<String>,
    pub databases: Vec<DatabaseEntry>,
    /// Compressed bytes this save added to the store (chunks it did not already hold).
    pub written_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseEntry {
    pub name: String,
    pub collections: Vec<CollectionEntry>,
}

/// One collection or view: mongodump's `.metadata.json` content plus where its
/// documents (a `.bson` stream) are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionEntry {
    pub name: String,
    /// "collection", "view" or "timeseries", as listCollections reports it.
    #[serde(rename = "type")]
    pub kind: String,
    /// Creation options, canonical extended JSON.
    pub options: serde_json::Value,
    /// Index specifications as listIndexes reports them, canonical extended JSON.
    pub indexes: Vec<serde_json::Value>,
    pub documents: u64,
    /// Size of the uncompressed BSON stream.
    pub bytes: u64,
    /// The stream's content-defined chunks, in order; views have none.
    pub chunks: Vec<ChunkRef>,
    /// Per chunk, the offset in it where the first document starting in it
    /// starts (`NO_DOCUMENT_START` when a document spans the whole chunk):
    /// any chunk can be parsed without the ones before it, which lets a diff
    /// read only the chunks two versions do not share. Empty in versions
    /// saved before argon recorded it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doc_starts: Vec<u32>,
}

impl CollectionEntry {
    /// The same data: everything but `doc_starts`, which follows from the
    /// chunks and which versions saved before it existed lack.
    pub fn same_data(&self, other: &CollectionEntry) -> bool {
        self.name == other.name
            && self.kind == other.kind
            && self.options == other.options
            && self.indexes == other.indexes
            && self.documents == other.documents
            && self.bytes == other.bytes
            && self.chunks == other.chunks
    }
}

/// Do both lists of databases hold the same data?
pub fn same_databases(a: &[DatabaseEntry], b: &[DatabaseEntry]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name
                && x.collections.len() == y.collections.len()
                && x.collections
                    .iter()
                    .zip(&y.collections)
                    .all(|(c, d)| c.same_data(d))
        })
}

/// In `CollectionEntry::doc_starts`: no document starts in this chunk.
pub const NO_DOCUMENT_START: u32 = u32::MAX;

/// One chunk of a stream: its id and uncompressed length. Serialized as `[id, len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef(pub ChunkId, pub u32);

impl Manifest {
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain structs of strings, numbers and JSON values cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Manifest, String> {
        #[derive(Deserialize)]
        struct Probe {
            format: u32,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if probe.format > MANIFEST_FORMAT {
            return Err(format!(
                "manifest format {} is newer than this argon understands ({MANIFEST_FORMAT}); upgrade argon",
                probe.format
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    pub fn total_bytes(&self) -> u64 {
        self.collections().map(|c| c.bytes).sum()
    }

    pub fn collection_count(&self) -> u64 {
        self.collections().count() as u64
    }

    /// Every collection with its namespace (`db.collection`), in order.
    pub fn namespaces(&self) -> impl Iterator<Item = (String, &CollectionEntry)> {
        self.databases.iter().flat_map(|d| {
            d.collections
                .iter()
                .map(move |c| (format!("{}.{}", d.name, c.name), c))
        })
    }

    pub fn collections(&self) -> impl Iterator<Item = &CollectionEntry> {
        self.databases.iter().flat_map(|d| d.collections.iter())
    }

    /// Every chunk the version references (with repeats).
    pub fn chunk_ids(&self) -> impl Iterator<Item = ChunkId> + '_ {
        self.collections()
            .flat_map(|c| c.chunks.iter().map(|r| r.0))
    }

    /// True when both manifests hold the same data (ignoring when and why they were made).
    pub fn same_content(&self, other: &Manifest) -> bool {
        same_databases(&self.databases, &other.databases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_newer_formats() {
        let m = Manifest {
            format: MANIFEST_FORMAT,
            project: "p".into(),
            branch: "main".into(),
            parent: None,
            created_at: Utc::now(),
            message: "m".into(),
            capture: CaptureMethod::PausedCopy,
            engine_version: Some("7.0.0".into()),
            databases: vec![],
            written_bytes: 0,
        };
        let bytes = m.to_bytes();
        assert_eq!(Manifest::from_bytes(&bytes).unwrap(), m);
        assert_eq!(m.to_bytes(), bytes, "serialization is deterministic");
        let newer = String::from_utf8(bytes)
            .unwrap()
            .replace("\"format\": 1", "\"format\": 99");
        assert!(Manifest::from_bytes(newer.as_bytes())
            .unwrap_err()
            .contains("newer"));
    }
}
