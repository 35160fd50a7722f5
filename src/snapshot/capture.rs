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
    /// Reads cut off by a network fault and resumed.
    pub resumed: u32,
}

/// Reads every user collection of the engine into `store` (only chunks it
/// lacks are uploaded) and returns the manifest's contents. A network
/// fault fails it: the engines argon runs are local, and a save must not
/// wait on one that is going away.
pub async fn capture(
    client: &Client,
    store: &Arc<Store>,
    mode: ReadMode<'_>,
    known: &KnownChunks,
    progress: &Task,
) -> Result<Captured> {
    capture_resuming(client, store, mode, known, progress, 0).await
}

/// [`capture`] of a server across a network, resuming each collection's
/// read up to `attempts` times when a network fault cuts it off. Through a
/// snapshot session the read goes on where it stopped (the same point in
/// time, the same natural order); without one the collection is read again
/// from its start, since a cursor resumed by position could then see a
/// document twice or miss one as writes move it. Either way the chunks
/// already sent are in the store and are not sent again.
pub async fn capture_resuming(
    client: &Client,
    store: &Arc<Store>,
    mode: ReadMode<'_>,
    known: &KnownChunks,
    progress: &Task,
    attempts: u32,
) -> Result<Captured> {
    let collections = list_collections(client).await?;
    crate::fault::point("save:capturing").await;
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
                entries.push(
                    capture_one(client, store, c, &mut reader, known, progress, attempts).await?,
                );
            }
        }
        ReadMode::Plain => {
            let limit = Arc::new(Semaphore::new(PARALLEL_COLLECTIONS));
            // A capture given up (dropped) stops reading with it.
            let mut tasks = tokio::task::JoinSet::new();
            let count = collections.len();
            for (i, c) in collections.into_iter().enumerate() {
                let (client, store, known, progress, limit) = (
                    client.clone(),
                    store.clone(),
                    known.clone(),
                    progress.clone(),
                    limit.clone(),
                );
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    let mut reader = Reader::Plain;
                    let captured =
                        capture_one(&client, &store, c, &mut reader, &known, &progress, attempts)
                            .await;
                    (i, captured)
                });
            }
            let mut done: Vec<Option<CapturedCollection>> = (0..count).map(|_| None).collect();
            while let Some(joined) = tasks.join_next().await {
                let (i, captured) =
                    joined.map_err(|e| io("capturing")(std::io::Error::other(e)))?;
                done[i] = Some(captured?);
            }
            entries.extend(done.into_iter().flatten());
        }
    }
    let written_bytes = entries.iter().map(|c| c.written).sum();
    let resumed = entries.iter().map(|c| c.resumed).sum();
    let mut databases: Vec<DatabaseEntry> = Vec::new();
    for CapturedCollection { db, entry, .. } in entries {
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
        resumed,
    })
}

/// One collection's part of a capture.
struct CapturedCollection {
    db: String,
    entry: CollectionEntry,
    /// Compressed bytes this collection added to the store.
    written: u64,
    resumed: u32,
}

/// Documents per reply in a read that may be resumed.
const RESUMABLE_BATCH_DOCUMENTS: u32 = 2_000;

/// Documents per reply at most. The reader takes a reply whole before it
/// asks for the next, so it and the engine take turns; the engine's default
/// replies (up to 16 MiB, more than the CPU's caches hold) made each turn
/// slower. Replies of at most 8,000 documents (2 MiB of 270-byte ones;
/// larger documents reach the engine's own limit as before) made a first
/// save about 12% faster (benches/save.sh, 250 MB: 1.77 and 1.88 s against
/// 2.14 and 2.05 s). The engine's collStats, which would give the average
/// size, reads the whole collection on the test engine.
const REPLY_DOCUMENTS: u32 = 8_000;

/// Is `e` a connection cut off or unreachable, rather than the server
/// refusing the read?
fn is_network_fault(e: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    matches!(
        e.kind.as_ref(),
        ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::ServerSelection { .. }
    )
}

enum Reader<'a> {
    Plain,
    Session(&'a mut ClientSession),
}

/// Reads a collection's documents in natural order after the first `skip`,
/// handing raw BSON to `writer` in batches of about PIPE_BATCH_BYTES.
/// `flushed` counts the documents handed over, so a read cut off part way
/// knows where it stopped.
async fn read_documents(
    coll: &mongodb::Collection<RawDocumentBuf>,
    reader: &mut Reader<'_>,
    progress: &Task,
    skip: u64,
    resumable: bool,
    flushed: &mut u64,
    writer: &ChunkWriter,
) -> std::result::Result<(), mongodb::error::Error> {
    let mut find = coll
        .find(doc! {})
        .hint(mongodb::options::Hint::Keys(doc! { "$natural": 1 }));
    if skip > 0 {
        find = find.skip(skip);
    }
    if resumable {
        // A read resumes from the last reply it received whole: smaller
        // replies than the server's 16 MiB leave less to read again.
        find = find.batch_size(RESUMABLE_BATCH_DOCUMENTS);
    } else {
        find = find.batch_size(REPLY_DOCUMENTS);
    }
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
                *flushed += docs;
                docs = 0;
                if !writer.send(std::mem::take(&mut batch)).await {
                    return Ok(());
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
    *flushed += docs;
    if !batch.is_empty() {
        writer.send(batch).await;
    }
    Ok(())
}

async fn capture_one(
    client: &Client,
    store: &Arc<Store>,
    info: CollectionInfo,
    reader: &mut Reader<'_>,
    known: &KnownChunks,
    progress: &Task,
    attempts: u32,
) -> Result<CapturedCollection> {
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
        return Ok(CapturedCollection {
            db: info.db,
            entry,
            written: 0,
            resumed: 0,
        });
    }

    // Reader (here) -> batches -> the store's chunk pipeline (chunker,
    // hasher, compressor, parallel uploads of what the store lacks).
    let mut writer = ChunkWriter::start(store.clone(), known.clone());
    let coll = client
        .database(&info.db)
        .collection::<RawDocumentBuf>(&info.name);
    let mut flushed = 0u64;
    let mut resumed = 0u32;
    let read = loop {
        let skip = match reader {
            Reader::Session(_) => flushed,
            Reader::Plain => 0,
        };
        let resumable = attempts > 0;
        let read = read_documents(
            &coll,
            reader,
            progress,
            skip,
            resumable,
            &mut flushed,
            &writer,
        )
        .await;
        match read {
            Err(e) if resumed < attempts && is_network_fault(&e) => {
                resumed += 1;
                if let Reader::Plain = reader {
                    // Read again from the start into a new stream. The old
                    // one is finished first: its chunks must be in the store
                    // before the new stream, which shares `known`, skips them.
                    let old = std::mem::replace(
                        &mut writer,
                        ChunkWriter::start(store.clone(), known.clone()),
                    );
                    old.finish(&full).await?;
                    flushed = 0;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250 << resumed.min(5))).await;
            }
            other => break other.map(|()| flushed),
        }
    };
    let stream = writer.finish(&full).await;
    entry.documents = read.map_err(engine("reading documents of", full.clone()))?;
    let stream = stream?;
    entry.bytes = stream.bytes;
    entry.chunks = stream.chunks;
    entry.doc_starts = stream.doc_starts;
    Ok(CapturedCollection {
        db: info.db,
        entry,
        written: stream.written,
        resumed,
    })
}
