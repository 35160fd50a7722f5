//! Capture: every user collection read as raw BSON in natural order, cut
//! into content-defined chunks, compressed, and sent to the store (only the
//! chunks it lacks).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{doc, Document, RawDocumentBuf};
use mongodb::{Client, ClientSession};
use tokio::sync::Semaphore;

use super::{
    engine, engine_version, io, list_collections, to_extjson, ChunkRef, CollectionEntry,
    CollectionInfo, DatabaseEntry, Result, PARALLEL_COLLECTIONS, PIPE_BATCH_BYTES, PIPE_DEPTH,
    TRANSFER_PARALLEL, UPLOAD_DEPTH, ZSTD_LEVEL,
};
use crate::progress::Task;
use crate::store::chunker::{Chunker, DEFAULT_SIZES};
use crate::store::{ChunkId, Hash, ObjectKey, Store, StoreError};

/// Chunks known to be in the store: those of the parent version, plus those
/// this save wrote. Known chunks are neither checked nor uploaded again.
#[derive(Clone, Default)]
pub struct KnownChunks(Arc<Mutex<HashSet<ChunkId>>>);

impl KnownChunks {
    pub fn new(ids: impl IntoIterator<Item = ChunkId>) -> KnownChunks {
        KnownChunks(Arc::new(Mutex::new(ids.into_iter().collect())))
    }

    /// True when `id` was not known before (and is now).
    fn insert(&self, id: ChunkId) -> bool {
        self.0.lock().map(|mut set| set.insert(id)).unwrap_or(true)
    }
}

/// How documents are read during a capture.
pub enum ReadMode<'a> {
    /// Plain reads, in parallel (the engine is locked or private).
    Plain,
    /// Reads through one snapshot session, one collection after another.
    Session(&'a mut ClientSession),
}

/// What a capture produced: the databases of a manifest.
pub struct Captured {
    pub databases: Vec<DatabaseEntry>,
    pub engine_version: Option<String>,
    /// Compressed bytes of the chunks this capture added to the store.
    pub written_bytes: u64,
}

/// Reads every user collection of the engine into `store` (only chunks it
/// lacks are uploaded) and returns the manifest's contents.
pub async fn capture(
    client: &Client,
    store: &Arc<Store>,
    mode: ReadMode<'_>,
    known: &KnownChunks,
    progress: &Task,
) -> Result<Captured> {
    let collections = list_collections(client).await?;
    let mut total = 0u64;
    for c in &collections {
        if c.kind != "view" {
            let coll = client.database(&c.db).collection::<Document>(&c.name);
            total += coll.estimated_document_count().await.unwrap_or(0);
        }
    }
    progress.set_total(total);
    let mut entries = Vec::with_capacity(collections.len());
    match mode {
        ReadMode::Session(session) => {
            for c in collections {
                let mut reader = Reader::Session(&mut *session);
                entries.push(capture_one(client, store, c, &mut reader, known, progress).await?);
            }
        }
        ReadMode::Plain => {
            let limit = Arc::new(Semaphore::new(PARALLEL_COLLECTIONS));
            let mut tasks = Vec::new();
            for c in collections {
                let (client, store, known, progress, limit) = (
                    client.clone(),
                    store.clone(),
                    known.clone(),
                    progress.clone(),
                    limit.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    capture_one(&client, &store, c, &mut Reader::Plain, &known, &progress).await
                }));
            }
            for t in tasks {
                entries.push(
                    t.await
                        .map_err(|e| io("capturing")(std::io::Error::other(e)))??,
                );
            }
        }
    }
    let written_bytes = entries.iter().map(|(_, _, w)| *w).sum();
    let mut databases: Vec<DatabaseEntry> = Vec::new();
    for (db, entry, _) in entries {
        match databases.last_mut() {
            Some(last) if last.name == db => last.collections.push(entry),
            _ => databases.push(DatabaseEntry {
                name: db,
                collections: vec![entry],
            }),
        }
    }
    Ok(Captured {
        databases,
        engine_version: engine_version(client).await,
        written_bytes,
    })
}

enum Reader<'a> {
    Plain,
    Session(&'a mut ClientSession),
}

/// Reads a collection's documents in natural order, handing raw BSON to `sink`
/// in batches of about PIPE_BATCH_BYTES. Returns the number of documents.
async fn read_documents(
    coll: &mongodb::Collection<RawDocumentBuf>,
    reader: &mut Reader<'_>,
    progress: &Task,
    mut sink: impl FnMut(Vec<u8>) -> bool,
) -> std::result::Result<u64, mongodb::error::Error> {
    let find = coll
        .find(doc! {})
        .hint(mongodb::options::Hint::Keys(doc! { "$natural": 1 }));
    let mut batch = Vec::with_capacity(PIPE_BATCH_BYTES);
    let (mut docs, mut unreported) = (0u64, 0u64);
    macro_rules! take {
        ($current:expr) => {{
            batch.extend_from_slice($current.as_bytes());
            docs += 1;
            unreported += 1;
            if batch.len() >= PIPE_BATCH_BYTES {
                progress.advance(unreported);
                unreported = 0;
                if !sink(std::mem::take(&mut batch)) {
                    return Ok(docs);
                }
            }
        }};
    }
    match reader {
        Reader::Plain => {
            let mut cursor = find.await?;
            while cursor.advance().await? {
                take!(cursor.current());
            }
        }
        Reader::Session(session) => {
            let mut cursor = find.session(&mut **session).await?;
            while cursor.advance(session).await? {
                take!(cursor.current());
            }
        }
    }
    progress.advance(unreported);
    if !batch.is_empty() {
        sink(batch);
    }
    Ok(docs)
}

async fn capture_one(
    client: &Client,
    store: &Arc<Store>,
    info: CollectionInfo,
    reader: &mut Reader<'_>,
    known: &KnownChunks,
    progress: &Task,
) -> Result<(String, CollectionEntry, u64)> {
    let full = format!("{}.{}", info.db, info.name);
    let indexes = if info.kind == "view" {
        Vec::new()
    } else {
        let mut cursor = client
            .database(&info.db)
            .run_cursor_command(doc! { "listIndexes": &info.name })
            .await
            .map_err(engine("listing indexes of", full.clone()))?;
        let mut out = Vec::new();
        while let Some(ix) = cursor
            .try_next()
            .await
            .map_err(engine("listing indexes of", full.clone()))?
        {
            out.push(to_extjson(ix));
        }
        out
    };
    let mut entry = CollectionEntry {
        name: info.name.clone(),
        kind: info.kind.clone(),
        options: to_extjson(info.options),
        indexes,
        documents: 0,
        bytes: 0,
        chunks: Vec::new(),
    };
    if info.kind == "view" {
        return Ok((info.db, entry, 0));
    }

    // Reader (here) -> batches -> chunker, hasher, compressor (a blocking
    // thread) -> new chunks -> uploads (parallel). Every queue is bounded, so
    // memory does not grow with the collection.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(PIPE_DEPTH);
    let (up_tx, up_rx) = tokio::sync::mpsc::channel::<(ChunkId, Vec<u8>)>(UPLOAD_DEPTH);
    let chunk_known = known.clone();
    let chunker = tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<ChunkRef>, u64)> {
        let mut refs = Vec::new();
        let mut total = 0u64;
        let mut emit = |chunk: &[u8]| -> std::io::Result<()> {
            let id = ChunkId(Hash::of(chunk));
            refs.push(ChunkRef(id, chunk.len() as u32));
            total += chunk.len() as u64;
            if chunk_known.insert(id) {
                let compressed = zstd::bulk::compress(chunk, ZSTD_LEVEL)?;
                up_tx
                    .blocking_send((id, compressed))
                    .map_err(|_| std::io::Error::other("the upload stopped"))?;
            }
            Ok(())
        };
        let mut chunker = Chunker::new(DEFAULT_SIZES);
        for batch in rx {
            chunker.push(&batch, &mut emit)?;
        }
        chunker.finish(&mut emit)?;
        Ok((refs, total))
    });
    let upload_store = store.clone();
    let uploader = tokio::spawn(async move {
        let chunks = futures_util::stream::unfold(up_rx, |mut rx| async move {
            rx.recv().await.map(|c| (c, rx))
        });
        chunks
            .map(|(id, bytes)| {
                let store = upload_store.clone();
                async move {
                    // An interrupted save's chunks are already there: not sent again.
                    let key = ObjectKey::Chunk(id);
                    if store.exists(key.clone()).await? {
                        return Ok(0);
                    }
                    let n = bytes.len() as u64;
                    store.put_bytes(key, bytes).await?;
                    Ok::<_, StoreError>(n)
                }
            })
            .buffer_unordered(TRANSFER_PARALLEL)
            .try_fold(0u64, |sum, n| async move { Ok(sum + n) })
            .await
    });

    let coll = client
        .database(&info.db)
        .collection::<RawDocumentBuf>(&info.name);
    let read = read_documents(&coll, reader, progress, |batch| tx.send(batch).is_ok()).await;
    drop(tx);
    let chunked = chunker
        .await
        .map_err(|e| io("chunking")(std::io::Error::other(e)))?;
    let uploaded = uploader
        .await
        .map_err(|e| io("uploading")(std::io::Error::other(e)))?;
    entry.documents = read.map_err(engine("reading documents of", full.clone()))?;
    let written = uploaded?;
    let (refs, total) = chunked.map_err(io("chunking a collection"))?;
    entry.bytes = total;
    entry.chunks = refs;
    Ok((info.db, entry, written))
}
