//! Matching the decoded documents of both sides by `_id`: one side held in
//! memory and the other streamed past it, or, when one side's share is over
//! the memory budget, both first split into bucket files by `_id` and each
//! bucket matched in turn.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash as _, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};

use mongodb::bson::{Bson, Document, RawDocumentBuf};

use super::plan::SidePlan;
use super::read::unproven_documents;
use super::{Change, DiffError, DocumentChange, Result, Side, Sink, MEMORY_BUDGET};
use crate::store::manifest::CollectionEntry;

/// A document's `_id` as bytes that are equal exactly when the ids are
/// (type included); a document without one is its own id.
pub fn id_of(doc: &RawDocumentBuf) -> Result<Vec<u8>> {
    match doc.get("_id") {
        Ok(Some(id)) => {
            let mut key = RawDocumentBuf::new();
            key.append("", id.to_raw_bson());
            Ok(key.into_bytes())
        }
        Ok(None) => Ok(doc.as_bytes().to_vec()),
        Err(e) => Err(DiffError::Malformed {
            ns: "a document".into(),
            message: e.to_string(),
        }),
    }
}

/// Documents of `was` (in `old`) and `is` (in `new`) that differ.
pub(super) async fn documents(
    old: &Side<'_>,
    was: &CollectionEntry,
    new: &Side<'_>,
    is: &CollectionEntry,
    ns: &str,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let old_plan = SidePlan::new(was, is);
    let new_plan = SidePlan::new(is, was);
    let share = old_plan.bytes_to_read();
    if share <= MEMORY_BUDGET {
        return in_memory(old, &old_plan, new, &new_plan, ns, sink).await;
    }
    let buckets = (share / (MEMORY_BUDGET / 2) + 1).min(4096) as usize;
    spilled(old, &old_plan, new, &new_plan, ns, buckets, sink).await
}

/// The old side's documents, by id, in stream order.
#[derive(Default)]
struct Olds {
    docs: Vec<Option<RawDocumentBuf>>,
    by_id: HashMap<Vec<u8>, usize>,
}

impl Olds {
    fn add(&mut self, doc: RawDocumentBuf) -> Result<()> {
        self.by_id.insert(id_of(&doc)?, self.docs.len());
        self.docs.push(Some(doc));
        Ok(())
    }

    /// Matches a new-side document: its change, if any.
    fn matched(&mut self, doc: RawDocumentBuf) -> Result<Option<DocumentChange>> {
        let id = id_of(&doc)?;
        let old = self.by_id.get(&id).and_then(|&i| self.docs[i].take());
        Ok(match old {
            Some(old) if old.as_bytes() == doc.as_bytes() => None,
            Some(old) => Some(DocumentChange::Updated { old, new: doc }),
            None => Some(DocumentChange::Inserted(doc)),
        })
    }

    /// The old documents no new one matched: deleted.
    fn deleted(self) -> impl Iterator<Item = DocumentChange> {
        self.docs.into_iter().flatten().map(DocumentChange::Deleted)
    }
}

async fn in_memory(
    old: &Side<'_>,
    old_plan: &SidePlan,
    new: &Side<'_>,
    new_plan: &SidePlan,
    ns: &str,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let mut olds = Olds::default();
    unproven_documents(&old.store, old_plan, ns, &mut |doc| olds.add(doc)).await?;
    let document = |change| Change::Document {
        ns: ns.to_string(),
        change,
    };
    unproven_documents(
        &new.store,
        new_plan,
        ns,
        &mut |doc| match olds.matched(doc)? {
            Some(change) => sink(document(change)),
            None => Ok(()),
        },
    )
    .await?;
    for change in olds.deleted() {
        sink(document(change))?;
    }
    Ok(())
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> DiffError {
    move |source| DiffError::Io { op, source }
}

/// Both sides' documents split into `n` bucket files each by id.
struct Buckets {
    files: Vec<BufWriter<std::fs::File>>,
}

impl Buckets {
    fn create(dir: &std::path::Path, side: &str, n: usize) -> Result<Buckets> {
        let files = (0..n)
            .map(|i| std::fs::File::create(dir.join(format!("{side}-{i}"))).map(BufWriter::new))
            .collect::<std::io::Result<_>>()
            .map_err(io("creating the diff's spill files"))?;
        Ok(Buckets { files })
    }

    fn add(&mut self, doc: &RawDocumentBuf) -> Result<()> {
        let mut h = DefaultHasher::new();
        id_of(doc)?.hash(&mut h);
        let n = self.files.len() as u64;
        self.files[(h.finish() % n) as usize]
            .write_all(doc.as_bytes())
            .map_err(io("writing the diff's spill files"))
    }

    fn finish(self) -> Result<()> {
        for mut f in self.files {
            f.flush().map_err(io("writing the diff's spill files"))?;
        }
        Ok(())
    }
}

/// Reads the documents of one bucket file, in order.
fn each_document(
    path: &std::path::Path,
    mut f: impl FnMut(RawDocumentBuf) -> Result<()>,
) -> Result<()> {
    let mut file =
        BufReader::new(std::fs::File::open(path).map_err(io("reading the diff's spill files"))?);
    let mut len = [0u8; 4];
    loop {
        match file.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(io("reading the diff's spill files")(e)),
        }
        let n = i32::from_le_bytes(len).max(5) as usize;
        let mut bytes = vec![0u8; n];
        bytes[..4].copy_from_slice(&len);
        file.read_exact(&mut bytes[4..])
            .map_err(io("reading the diff's spill files"))?;
        let doc = RawDocumentBuf::from_bytes(bytes).map_err(|e| DiffError::Malformed {
            ns: "a spill file".into(),
            message: e.to_string(),
        })?;
        f(doc)?;
    }
}

async fn spilled(
    old: &Side<'_>,
    old_plan: &SidePlan,
    new: &Side<'_>,
    new_plan: &SidePlan,
    ns: &str,
    n: usize,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let dir = tempfile::tempdir().map_err(io("creating the diff's spill folder"))?;
    let mut olds = Buckets::create(dir.path(), "old", n)?;
    unproven_documents(&old.store, old_plan, ns, &mut |doc| olds.add(&doc)).await?;
    olds.finish()?;
    let mut news = Buckets::create(dir.path(), "new", n)?;
    unproven_documents(&new.store, new_plan, ns, &mut |doc| news.add(&doc)).await?;
    news.finish()?;
    let document = |change| Change::Document {
        ns: ns.to_string(),
        change,
    };
    for i in 0..n {
        let mut bucket = Olds::default();
        each_document(&dir.path().join(format!("old-{i}")), |doc| bucket.add(doc))?;
        each_document(&dir.path().join(format!("new-{i}")), |doc| {
            match bucket.matched(doc)? {
                Some(change) => sink(document(change)),
                None => Ok(()),
            }
        })?;
        for change in bucket.deleted() {
            sink(document(change))?;
        }
    }
    Ok(())
}

/// One field an update set or removed, by its dotted path.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldChange {
    Set { path: String, value: Bson },
    Unset { path: String },
}

/// The fields that turn `old` into `new`, descending into embedded
/// documents (not arrays). Types count: an int32 that became an equal int64
/// is set. Empty when only the order of fields changed.
pub fn field_changes(old: &Document, new: &Document) -> Vec<FieldChange> {
    let mut out = Vec::new();
    changes_under("", old, new, &mut out);
    out
}

fn changes_under(prefix: &str, old: &Document, new: &Document, out: &mut Vec<FieldChange>) {
    let path = |k: &str| format!("{prefix}{k}");
    for (k, v) in new {
        match (old.get(k), v) {
            (Some(Bson::Document(a)), Bson::Document(b)) => {
                changes_under(&format!("{}.", path(k)), a, b, out)
            }
            (Some(was), now) if was == now => {}
            _ => out.push(FieldChange::Set {
                path: path(k),
                value: v.clone(),
            }),
        }
    }
    for k in old.keys() {
        if !new.contains_key(k) {
            out.push(FieldChange::Unset { path: path(k) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunks::{ChunkWriter, KnownChunks};
    use crate::store::manifest::Manifest;
    use crate::store::{MemoryBackend, Store};
    use mongodb::bson::doc;
    use std::sync::Arc;

    async fn entry(store: &Arc<Store>, docs: &[Document]) -> CollectionEntry {
        let writer = ChunkWriter::start(store.clone(), KnownChunks::new([]));
        for d in docs {
            assert!(writer.send(mongodb::bson::to_vec(d).unwrap()).await);
        }
        let w = writer.finish("t.c").await.unwrap();
        CollectionEntry {
            name: "c".into(),
            kind: "collection".into(),
            options: serde_json::json!({}),
            indexes: Vec::new(),
            documents: docs.len() as u64,
            bytes: w.bytes,
            chunks: w.chunks,
            doc_starts: w.doc_starts,
        }
    }

    fn manifest() -> Manifest {
        Manifest::from_bytes(br#"{"format":1,"project":"p","branch":"b","parent":null,"created_at":"2026-11-01T00:00:00Z","message":"","capture":"offline","engine_version":null,"databases":[],"written_bytes":0}"#).unwrap()
    }

    #[tokio::test]
    async fn spilling_to_buckets_finds_what_matching_in_memory_finds() {
        let store = Arc::new(Store::new(Arc::new(MemoryBackend::new())));
        let pad = "p".repeat(300);
        let old_docs: Vec<Document> = (0..4000)
            .map(|i| doc! { "_id": i, "v": i, "pad": &pad })
            .collect();
        let mut new_docs = old_docs.clone();
        new_docs[10] = doc! { "_id": 10, "v": -1, "pad": &pad };
        new_docs.remove(2000);
        new_docs.push(doc! { "_id": 9999, "v": 1 });
        let (was, is) = (
            entry(&store, &old_docs).await,
            entry(&store, &new_docs).await,
        );
        let m = manifest();
        let (old, new) = (
            Side {
                manifest: &m,
                store: store.clone(),
            },
            Side {
                manifest: &m,
                store: store.clone(),
            },
        );
        let (old_plan, new_plan) = (SidePlan::new(&was, &is), SidePlan::new(&is, &was));
        assert!(
            old_plan.bytes_to_read() < was.bytes / 4,
            "only what changed is read"
        );
        let mut in_mem = Vec::new();
        in_memory(&old, &old_plan, &new, &new_plan, "t.c", &mut |c| {
            in_mem.push(c);
            Ok(())
        })
        .await
        .unwrap();
        // Everything read, matched through 7 bucket files.
        let (old_all, new_all) = (
            SidePlan::new(
                &was,
                &CollectionEntry {
                    doc_starts: Vec::new(),
                    ..is.clone()
                },
            ),
            SidePlan::new(
                &is,
                &CollectionEntry {
                    doc_starts: Vec::new(),
                    ..was.clone()
                },
            ),
        );
        let mut buckets = Vec::new();
        spilled(&old, &old_all, &new, &new_all, "t.c", 7, &mut |c| {
            buckets.push(c);
            Ok(())
        })
        .await
        .unwrap();
        let ids = |changes: &[Change]| {
            let mut out: Vec<String> = changes
                .iter()
                .map(|c| match c {
                    Change::Document {
                        change: DocumentChange::Inserted(d),
                        ..
                    } => format!("+{:?}", d.get("_id").unwrap()),
                    Change::Document {
                        change: DocumentChange::Deleted(d),
                        ..
                    } => format!("-{:?}", d.get("_id").unwrap()),
                    Change::Document {
                        change: DocumentChange::Updated { new, .. },
                        ..
                    } => format!("~{:?}", new.get("_id").unwrap()),
                    other => format!("{other:?}"),
                })
                .collect();
            out.sort();
            out
        };
        assert_eq!(ids(&in_mem), ids(&buckets));
        assert_eq!(ids(&in_mem).len(), 3, "{:?}", ids(&in_mem));
    }

    #[test]
    fn field_changes_are_dotted_paths_and_types_count() {
        let old = doc! { "_id": 1, "n": 5_i32, "a": { "b": 1, "c": 2 }, "gone": true };
        let new = doc! { "_id": 1, "n": 5_i64, "a": { "b": 1, "c": 3 }, "new": "x" };
        assert_eq!(
            field_changes(&old, &new),
            vec![
                FieldChange::Set {
                    path: "n".into(),
                    value: Bson::Int64(5)
                },
                FieldChange::Set {
                    path: "a.c".into(),
                    value: Bson::Int32(3)
                },
                FieldChange::Set {
                    path: "new".into(),
                    value: Bson::String("x".into())
                },
                FieldChange::Unset {
                    path: "gone".into()
                },
            ]
        );
    }

    #[test]
    fn ids_differ_by_type() {
        let a = RawDocumentBuf::from_document(&doc! { "_id": 1_i32 }).unwrap();
        let b = RawDocumentBuf::from_document(&doc! { "_id": 1_i64 }).unwrap();
        let c = RawDocumentBuf::from_document(&doc! { "_id": 1_i32, "x": 2 }).unwrap();
        assert_ne!(id_of(&a).unwrap(), id_of(&b).unwrap());
        assert_eq!(id_of(&a).unwrap(), id_of(&c).unwrap());
    }
}
