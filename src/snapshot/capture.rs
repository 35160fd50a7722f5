//! Capture: every user collection read as raw BSON in natural order, cut
//! into content-defined chunks, compressed, and sent to the store (only the
//! chunks it lacks).

use std::sync::Arc;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document, RawDocumentBuf};
use mongodb::{Client, ClientSession};
use tokio::sync::Semaphore;

use super::{
    engine, engine_version, io, list_collections, to_extjson, CollectionEntry, CollectionInfo,
    DatabaseEntry, Result, PARALLEL_COLLECTIONS, PIPE_BATCH_BYTES,
};
use crate::progress::Task;
use crate::store::chunks::{ChunkWriter, KnownChunks};
use crate::store::Store;

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
        doc_starts: Vec::new(),
    };
    if info.kind == "view" {
        return Ok((info.db, entry, 0));
    }

    // Reader (here) -> batches -> the store's chunk pipeline (chunker,
    // hasher, compressor, parallel uploads of what the store lacks).
    let writer = ChunkWriter::start(store.clone(), known.clone());
    let coll = client
        .database(&info.db)
        .collection::<RawDocumentBuf>(&info.name);
    let read = read_documents(&coll, reader, progress, |batch| writer.push(batch)).await;
    let stream = writer.finish(&full).await;
    entry.documents = read.map_err(engine("reading documents of", full.clone()))?;
    let stream = stream?;
    let written = stream.written;
    entry.bytes = stream.bytes;
    entry.chunks = stream.chunks;
    entry.doc_starts = stream.doc_starts;
    Ok((info.db, entry, written))
}
