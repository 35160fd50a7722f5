//! What a store holds and how it is named: content hashes, version and chunk
//! ids, and the closed set of object keys with their paths.

use std::fmt;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::{chunker, shared};

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
    pub fn from_bytes(bytes: [u8; 32]) -> Hash {
        Hash(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
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
