//! What changed between two states of a database: collections created,
//! dropped or renamed, their options and indexes, and documents inserted,
//! deleted or updated, matched by `_id`.
//!
//! Work follows the change, not the size: chunks both versions' manifests
//! share are neither fetched nor decoded (`plan`), the rest is decoded
//! (`read`) and matched by `_id` in memory, or, past a budget, through
//! bucket files on disk (`matcher`), so memory stays bounded whatever the
//! size of the difference.

mod matcher;
mod plan;
mod read;

use std::collections::BTreeMap;
use std::sync::Arc;

use mongodb::bson::RawDocumentBuf;

use crate::names::{namespace_kept, unmatched_pattern};
use crate::store::manifest::{CollectionEntry, Manifest};
use crate::store::{Store, StoreError};

pub use matcher::{field_changes, id_of, FieldChange};

/// Bytes of one side's documents matched in memory; past this, on disk.
pub const MEMORY_BUDGET: u64 = 192 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored collection {ns} is malformed: {message}")]
    Malformed { ns: String, message: String },
    #[error("namespace '{0}' exists on neither side")]
    NoSuchNamespace(String),
    #[error("local I/O failed while {op}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The receiver of the changes stopped (a closed pager): not a failure.
    #[error("the output was closed")]
    Closed,
}

pub type Result<T> = std::result::Result<T, DiffError>;

/// One side of a diff: a manifest and the store its chunks are in.
pub struct Side<'a> {
    pub manifest: &'a Manifest,
    pub store: Arc<Store>,
}

/// A change to a collection itself.
#[derive(Debug, Clone, PartialEq)]
pub enum CollectionChange {
    Created {
        kind: String,
    },
    Dropped {
        kind: String,
    },
    /// The collection is now called `ns`; its documents are unchanged.
    Renamed {
        from: String,
    },
    Options {
        old: serde_json::Value,
        new: serde_json::Value,
    },
    IndexAdded(serde_json::Value),
    IndexDropped(serde_json::Value),
    IndexChanged {
        old: serde_json::Value,
        new: serde_json::Value,
    },
}

/// A change to one document.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentChange {
    Inserted(RawDocumentBuf),
    Deleted(RawDocumentBuf),
    Updated {
        old: RawDocumentBuf,
        new: RawDocumentBuf,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Collection {
        ns: String,
        change: CollectionChange,
    },
    Document {
        ns: String,
        change: DocumentChange,
    },
}

/// Where the changes go, as they are found.
pub type Sink<'s> = dyn FnMut(Change) -> Result<()> + Send + 's;

fn namespaces(m: &Manifest) -> BTreeMap<String, &CollectionEntry> {
    m.namespaces().collect()
}

/// Sends every change from `old` to `new` (limited to the namespaces in
/// `only`) to `sink`: per namespace in name order, the collection's own
/// changes before its documents'.
pub async fn diff(
    old: &Side<'_>,
    new: &Side<'_>,
    only: &[String],
    sink: &mut Sink<'_>,
) -> Result<()> {
    let (before, after) = (namespaces(old.manifest), namespaces(new.manifest));
    let either: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
    if let Some(o) = unmatched_pattern(only, &either) {
        return Err(DiffError::NoSuchNamespace(o.clone()));
    }
    // A collection that went while another with the same documents came was renamed.
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    for (ns, entry) in &after {
        if before.contains_key(ns) || entry.chunks.is_empty() {
            continue;
        }
        let from = before.iter().find(|(old_ns, old)| {
            !after.contains_key(*old_ns)
                && old.kind == entry.kind
                && old.chunks == entry.chunks
                && !renamed.values().any(|f| f == *old_ns)
        });
        if let Some((from, _)) = from {
            renamed.insert(ns.clone(), from.clone());
        }
    }
    let empty = CollectionEntry {
        name: String::new(),
        kind: "collection".into(),
        options: serde_json::json!({}),
        indexes: Vec::new(),
        documents: 0,
        bytes: 0,
        chunks: Vec::new(),
        doc_starts: Vec::new(),
    };
    let mut all: Vec<&String> = before.keys().chain(after.keys()).collect();
    all.sort();
    all.dedup();
    for ns in all {
        if !namespace_kept(only, &[], ns) || renamed.values().any(|from| from == ns) {
            continue;
        }
        let collection = |change| Change::Collection {
            ns: ns.clone(),
            change,
        };
        let (was, is) = match (before.get(ns), after.get(ns), renamed.get(ns)) {
            (Some(was), Some(is), _) => (*was, *is),
            (None, Some(is), Some(from)) => {
                sink(collection(CollectionChange::Renamed { from: from.clone() }))?;
                (before[from], *is)
            }
            (None, Some(is), None) => {
                sink(collection(CollectionChange::Created {
                    kind: is.kind.clone(),
                }))?;
                (&empty, *is)
            }
            (Some(was), None, _) => {
                sink(collection(CollectionChange::Dropped {
                    kind: was.kind.clone(),
                }))?;
                (*was, &empty)
            }
            (None, None, _) => continue,
        };
        let created_or_dropped = std::ptr::eq(was, &empty) || std::ptr::eq(is, &empty);
        if !created_or_dropped {
            if was.options != is.options {
                sink(collection(CollectionChange::Options {
                    old: was.options.clone(),
                    new: is.options.clone(),
                }))?;
            }
            for change in index_changes(&was.indexes, &is.indexes) {
                sink(collection(change))?;
            }
        }
        // (The bench's baseline reads even identical collections whole.)
        if was.chunks != is.chunks || plan::read_whole_forced() {
            matcher::documents(old, was, new, is, ns, sink).await?;
        }
    }
    Ok(())
}

fn index_name(ix: &serde_json::Value) -> String {
    ix.get("name")
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| ix.to_string())
}

/// Indexes added, dropped and changed, matched by name.
fn index_changes(old: &[serde_json::Value], new: &[serde_json::Value]) -> Vec<CollectionChange> {
    let mut out = Vec::new();
    for ix in old {
        match new.iter().find(|n| index_name(n) == index_name(ix)) {
            None => out.push(CollectionChange::IndexDropped(ix.clone())),
            Some(n) if n != ix => out.push(CollectionChange::IndexChanged {
                old: ix.clone(),
                new: n.clone(),
            }),
            Some(_) => {}
        }
    }
    for ix in new {
        if !old.iter().any(|o| index_name(o) == index_name(ix)) {
            out.push(CollectionChange::IndexAdded(ix.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indexes_are_matched_by_name() {
        let a = json!({"name": "a_1", "key": {"a": 1}});
        let b = json!({"name": "b_1", "key": {"b": 1}});
        let b_unique = json!({"name": "b_1", "key": {"b": 1}, "unique": true});
        let c = json!({"name": "c_1", "key": {"c": 1}});
        let changes = index_changes(&[a.clone(), b.clone()], &[b_unique.clone(), c.clone()]);
        assert_eq!(
            changes,
            vec![
                CollectionChange::IndexDropped(a),
                CollectionChange::IndexChanged {
                    old: b,
                    new: b_unique
                },
                CollectionChange::IndexAdded(c),
            ]
        );
    }
}
