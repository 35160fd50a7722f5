//! The files inside a version folder that are not stored as such: mongodump's
//! `.metadata.json`, `VERSION.json`, and `.jsonl` rendered from the BSON stream
//! as it is read.

use std::collections::VecDeque;
use std::sync::Arc;

use mongodb::bson::RawDocument;
use serde::Serialize;
use tokio::task::JoinHandle;

use super::cache::{ChunkCache, FETCH_PARALLELISM};
use crate::snapshot::{
    each_whole_document, CollectionEntry, DocSplitter, Manifest, SnapshotError, NO_DOCUMENT_START,
};
use crate::store::VersionId;

/// `<collection>.metadata.json` in the shape mongodump writes (what
/// mongorestore reads back): options, indexes, name and type.
pub fn metadata_json(c: &CollectionEntry) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Metadata<'a> {
        options: &'a serde_json::Value,
        indexes: &'a [serde_json::Value],
        collection_name: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
    }
    let m = Metadata {
        options: &c.options,
        indexes: &c.indexes,
        collection_name: &c.name,
        kind: &c.kind,
    };
    let mut out = serde_json::to_vec(&m).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `VERSION.json`: what a version is, for people and scripts.
pub fn version_json(id: VersionId, m: &Manifest) -> Vec<u8> {
    #[derive(Serialize)]
    struct Version<'a> {
        id: String,
        project: &'a str,
        branch: &'a str,
        parent: Option<String>,
        created_at: String,
        message: &'a str,
        capture: &'a str,
        engine_version: Option<&'a str>,
        collections: u64,
        bytes: u64,
    }
    let v = Version {
        id: id.to_string(),
        project: &m.project,
        branch: &m.branch,
        parent: m.parent.map(|p| p.to_string()),
        created_at: m
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        message: &m.message,
        capture: m.capture.as_str(),
        engine_version: m.engine_version.as_deref(),
        collections: m.collection_count(),
        bytes: m.total_bytes(),
    };
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// One document as a line of relaxed extended JSON (what `mongoexport` writes).
pub fn jsonl_line(doc: &RawDocument, out: &mut Vec<u8>) -> Result<(), String> {
    super::extjson::write_document(doc, out)?;
    out.push(b'\n');
    Ok(())
}

/// Appends each document it is given to `out` as a line of `object`'s `.jsonl`.
fn lines_into<'a>(
    out: &'a mut Vec<u8>,
    object: &'a str,
) -> impl FnMut(&RawDocument) -> Result<(), SnapshotError> + 'a {
    move |doc| {
        jsonl_line(doc, out).map_err(|message| SnapshotError::Malformed {
            object: object.to_string(),
            message,
        })
    }
}

/// Chunks fetched (and rendered, where they can be on their own) ahead of
/// the reader of a `.jsonl` file, each on its own task.
const RENDER_AHEAD: usize = 2 * FETCH_PARALLELISM;

/// Rendered bytes kept behind a `.jsonl` file's reader: `cp` and `sendfile`
/// read a file in parallel pieces, which reach the mount a little out of order.
const KEEP_BEHIND: usize = 4 << 20;

/// A `.jsonl` file being read: the collection's chunks are fetched and
/// rendered ahead of the reader, several at once, and only what the reader
/// has not consumed yet (and `KEEP_BEHIND` before it) is kept, so memory
/// stays at a few megabytes whatever the collection's size.
pub struct JsonlStream {
    manifest: Arc<Manifest>,
    db: usize,
    coll: usize,
    /// `<db>.<collection>`, as errors name it.
    object: Arc<str>,
    /// The next chunk to hand to a task.
    next_chunk: usize,
    /// The tasks of the chunks after the last one stitched, in order.
    ahead: VecDeque<JoinHandle<Result<Piece, SnapshotError>>>,
    stitcher: Stitcher,
    /// Rendered bytes starting at file offset `out_start`.
    out_start: u64,
    finished: bool,
}

impl JsonlStream {
    pub fn new(manifest: Arc<Manifest>, db: usize, coll: usize) -> JsonlStream {
        let database = &manifest.databases[db];
        let object = format!("{}.{}", database.name, database.collections[coll].name).into();
        JsonlStream {
            manifest,
            db,
            coll,
            object,
            next_chunk: 0,
            ahead: VecDeque::new(),
            stitcher: Stitcher::default(),
            out_start: 0,
            finished: false,
        }
    }

    /// Forgets what was rendered: the next read renders from the start.
    fn start_over(&mut self) {
        *self = JsonlStream::new(self.manifest.clone(), self.db, self.coll);
    }

    /// The file's length, once it has been rendered to the end.
    pub fn total_len(&self) -> Option<u64> {
        self.finished
            .then_some(self.out_start + self.stitcher.out.len() as u64)
    }

    /// Bytes at `offset`, at most `size`; empty at the end. Reading further
    /// back than `KEEP_BEHIND` starts the rendering over (tools read these
    /// files front to back, the kernel's copies a little out of order).
    pub async fn read(
        &mut self,
        cache: &Arc<ChunkCache>,
        offset: u64,
        size: usize,
    ) -> Result<Vec<u8>, SnapshotError> {
        if offset < self.out_start {
            self.start_over();
        }
        if let Err(e) = self.render_to(cache, offset, offset + size as u64).await {
            // A chunk that failed is not in the output: rendering on after
            // it would skip its documents, so the next read starts over.
            self.start_over();
            return Err(e);
        }
        let out = &self.stitcher.out;
        let from = offset.saturating_sub(self.out_start) as usize;
        if from >= out.len() {
            return Ok(Vec::new());
        }
        let to = (from + size).min(out.len());
        Ok(out[from..to].to_vec())
    }

    /// Renders until the output reaches `want_end` or the stream ends.
    async fn render_to(
        &mut self,
        cache: &Arc<ChunkCache>,
        offset: u64,
        want_end: u64,
    ) -> Result<(), SnapshotError> {
        while !self.finished && self.out_start + (self.stitcher.out.len() as u64) < want_end {
            // Drop what the reader is well past before rendering more (a
            // few megabytes at a time: each drop moves what is kept).
            let out = &mut self.stitcher.out;
            let behind = (offset.saturating_sub(self.out_start) as usize).min(out.len());
            if behind >= 2 * KEEP_BEHIND {
                let drop = behind - KEEP_BEHIND;
                out.drain(..drop);
                self.out_start += drop as u64;
            }
            self.render_more(cache).await?;
        }
        Ok(())
    }

    /// Stitches the next chunk onto the output, first giving tasks to the
    /// chunks up to `RENDER_AHEAD` after it.
    async fn render_more(&mut self, cache: &Arc<ChunkCache>) -> Result<(), SnapshotError> {
        let manifest = self.manifest.clone();
        let entry = &manifest.databases[self.db].collections[self.coll];
        // Versions saved before argon recorded where documents start are
        // split into documents here, in order.
        let starts = (entry.doc_starts.len() == entry.chunks.len()).then_some(&entry.doc_starts);
        while self.next_chunk < entry.chunks.len() && self.ahead.len() < RENDER_AHEAD {
            let i = self.next_chunk;
            let (chunk, first) = (entry.chunks[i], starts.map(|s| s[i]));
            let (cache, object) = (cache.clone(), self.object.clone());
            self.ahead.push_back(tokio::spawn(async move {
                let bytes = cache.get(chunk).await?;
                match first {
                    Some(first) => render_chunk(bytes, first, &object).map(Piece::Rendered),
                    None => Ok(Piece::Raw(bytes)),
                }
            }));
            self.next_chunk += 1;
        }
        let Some(task) = self.ahead.pop_front() else {
            self.stitcher.finish(&self.object)?;
            self.finished = true;
            return Ok(());
        };
        let piece = task.await.map_err(|e| SnapshotError::Malformed {
            object: self.object.to_string(),
            message: format!("rendering ahead stopped: {e}"),
        })??;
        self.stitcher.push(piece, &self.object)
    }
}

impl Drop for JsonlStream {
    /// A file closed (or read again from the start) stops its tasks.
    fn drop(&mut self) {
        for task in &self.ahead {
            task.abort();
        }
    }
}

/// One chunk as its task hands it to the reader.
enum Piece {
    /// Its bytes, to be split into documents in order.
    Raw(Arc<Vec<u8>>),
    /// Rendered on its own.
    Rendered(RenderedChunk),
}

/// A chunk rendered apart from its neighbours, which the manifest's record
/// of where its first document starts allows: `chunk[..first]` ends a
/// document begun in an earlier chunk, `lines` renders the documents wholly
/// in `chunk[first..rest]`, and `chunk[rest..]` begins one that ends later.
struct RenderedChunk {
    chunk: Arc<Vec<u8>>,
    first: usize,
    rest: usize,
    lines: Vec<u8>,
}

/// Renders the documents wholly inside `chunk`, whose first document starts
/// at `first` (`NO_DOCUMENT_START`: none starts in it).
fn render_chunk(
    chunk: Arc<Vec<u8>>,
    first: u32,
    object: &str,
) -> Result<RenderedChunk, SnapshotError> {
    let len = chunk.len();
    if first == NO_DOCUMENT_START {
        return Ok(RenderedChunk {
            chunk,
            first: len,
            rest: len,
            lines: Vec::new(),
        });
    }
    let first = first as usize;
    let Some(docs) = chunk.get(first..) else {
        return Err(SnapshotError::Malformed {
            object: object.to_string(),
            message: format!("a document starts at {first}, past the chunk's end ({len})"),
        });
    };
    // JSON runs about twice the size of the BSON it renders.
    let mut lines = Vec::with_capacity(docs.len() * 2);
    let whole = each_whole_document(docs, object, lines_into(&mut lines, object))?;
    Ok(RenderedChunk {
        first,
        rest: first + whole,
        lines,
        chunk,
    })
}

/// Joins the pieces of a collection's stream, in order, into its `.jsonl`.
#[derive(Default)]
struct Stitcher {
    /// The part of a document that runs across chunks.
    splitter: DocSplitter,
    out: Vec<u8>,
}

impl Stitcher {
    fn push(&mut self, piece: Piece, object: &str) -> Result<(), SnapshotError> {
        let Stitcher { splitter, out } = self;
        match piece {
            Piece::Raw(bytes) => {
                splitter.push_each(&bytes, object, lines_into(out, object))?;
            }
            Piece::Rendered(r) => {
                splitter.push_each(&r.chunk[..r.first], object, lines_into(out, object))?;
                if r.first < r.chunk.len() && !splitter.is_empty() {
                    return Err(SnapshotError::Malformed {
                        object: object.to_string(),
                        message: "a document starts inside the one before it".into(),
                    });
                }
                out.extend_from_slice(&r.lines);
                splitter.push_each(&r.chunk[r.rest..], object, lines_into(out, object))?;
            }
        }
        Ok(())
    }

    /// Checks that the stream ended between documents.
    fn finish(&mut self, object: &str) -> Result<(), SnapshotError> {
        std::mem::take(&mut self.splitter).finish(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::{Chunker, DEFAULT_SIZES};
    use crate::store::chunks::DocStarts;
    use mongodb::bson::{doc, oid::ObjectId, DateTime, RawDocumentBuf};

    #[test]
    fn jsonl_lines_are_relaxed_extended_json_in_field_order() {
        let oid = ObjectId::parse_str("65f0a1b2c3d4e5f601234567").unwrap();
        let d = doc! { "_id": oid, "n": 3_i64, "when": DateTime::from_millis(0), "a": [1, "x"] };
        let raw = RawDocumentBuf::from_document(&d).unwrap();
        let mut out = Vec::new();
        jsonl_line(&raw, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"_id\":{\"$oid\":\"65f0a1b2c3d4e5f601234567\"},\"n\":3,\"when\":{\"$date\":\"1970-01-01T00:00:00Z\"},\"a\":[1,\"x\"]}\n"
        );
    }

    /// A stream of documents (some far larger than a chunk), its chunks as
    /// argon cuts them, and per chunk where its first document starts, as
    /// the save pipeline records it.
    fn chunked_stream() -> (Vec<RawDocumentBuf>, Vec<Arc<Vec<u8>>>, Vec<u32>) {
        let docs: Vec<RawDocumentBuf> = (0..400_i64)
            .map(|i| {
                let pad = if i % 97 == 0 { 200_000 } else { (i as usize * 37) % 900 };
                let d = doc! { "_id": i, "when": DateTime::from_millis(i * 1000), "pad": "x".repeat(pad) };
                RawDocumentBuf::from_document(&d).unwrap()
            })
            .collect();
        let stream: Vec<u8> = docs.iter().flat_map(|d| d.as_bytes().to_vec()).collect();
        let mut chunks = Vec::new();
        let mut c = Chunker::new(DEFAULT_SIZES);
        c.push(&stream, |ch| {
            chunks.push(Arc::new(ch.to_vec()));
            Ok::<_, ()>(())
        })
        .unwrap();
        c.finish(|ch| {
            chunks.push(Arc::new(ch.to_vec()));
            Ok::<_, ()>(())
        })
        .unwrap();
        // Recorded as a save records them.
        let mut starts = DocStarts::default();
        starts.push(&stream);
        let mut chunk_start = 0;
        let firsts: Vec<u32> = chunks
            .iter()
            .map(|ch| {
                let first = starts.first_in(chunk_start, ch.len());
                chunk_start += ch.len() as u64;
                first
            })
            .collect();
        assert!(
            firsts.contains(&NO_DOCUMENT_START),
            "some chunk lies wholly inside a document"
        );
        (docs, chunks, firsts)
    }

    #[test]
    fn chunks_rendered_apart_stitch_into_the_documents_lines() {
        let (docs, chunks, firsts) = chunked_stream();
        let mut want = Vec::new();
        for d in &docs {
            jsonl_line(d, &mut want).unwrap();
        }
        let mut apart = Stitcher::default();
        for (ch, first) in chunks.iter().zip(&firsts) {
            let piece = render_chunk(ch.clone(), *first, "t.c").unwrap();
            apart.push(Piece::Rendered(piece), "t.c").unwrap();
        }
        apart.finish("t.c").unwrap();
        assert!(apart.out == want, "rendered chunk by chunk");
        // Versions without the record of document starts: split in order.
        let mut in_order = Stitcher::default();
        for ch in &chunks {
            in_order.push(Piece::Raw(ch.clone()), "t.c").unwrap();
        }
        in_order.finish("t.c").unwrap();
        assert!(in_order.out == want, "split in order");
    }

    #[test]
    fn a_wrong_record_of_document_starts_is_an_error() {
        let (_, chunks, firsts) = chunked_stream();
        let i = firsts
            .iter()
            .position(|&f| f != NO_DOCUMENT_START && f > 0)
            .unwrap();
        // A start one byte late (inside the document) or past the chunk.
        for wrong in [firsts[i] + 1, chunks[i].len() as u32 + 1] {
            let mut s = Stitcher::default();
            let failed = chunks.iter().zip(&firsts).enumerate().any(|(k, (ch, &f))| {
                let f = if k == i { wrong } else { f };
                render_chunk(ch.clone(), f, "t.c")
                    .and_then(|p| s.push(Piece::Rendered(p), "t.c"))
                    .is_err()
            });
            assert!(failed, "a start at {wrong} in chunk {i} is caught");
        }
    }

    #[test]
    fn metadata_json_has_mongodump_shape() {
        let c = CollectionEntry {
            name: "users".into(),
            kind: "collection".into(),
            options: serde_json::json!({}),
            indexes: vec![
                serde_json::json!({"v": {"$numberInt": "2"}, "key": {"_id": {"$numberInt": "1"}}, "name": "_id_"}),
            ],
            documents: 0,
            bytes: 0,
            chunks: vec![],
            doc_starts: vec![],
        };
        let v: serde_json::Value = serde_json::from_slice(&metadata_json(&c)).unwrap();
        assert_eq!(v["collectionName"], "users");
        assert_eq!(v["type"], "collection");
        assert_eq!(v["indexes"][0]["name"], "_id_");
        assert!(v["options"].is_object());
    }
}
