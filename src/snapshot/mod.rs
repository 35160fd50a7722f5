//! Logical capture and restore of a MongoDB engine through the official driver:
//! every user database, collection options, indexes, and documents as raw BSON
//! in natural order. Each collection becomes one mongodump-compatible `.bson`
//! stream, stored compressed under the hash of its content.

mod change;
pub mod login;
pub mod manifest;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use indicatif::ProgressBar;
use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::options::{ClientOptions, Credential};
use mongodb::{Client, ClientSession};
use tokio::sync::Semaphore;

use crate::config::IndexTiming;
use crate::credentials::Login;
use crate::endpoint::Endpoint;
use crate::store::chunker::{Chunker, DEFAULT_SIZES};
use crate::store::{ChunkId, Hash, ObjectKey, Store, StoreError};
pub use change::{change_token, ChangeToken};
pub use manifest::{
    CaptureMethod, ChunkRef, CollectionEntry, DatabaseEntry, Manifest, MANIFEST_FORMAT,
};

/// Databases that belong to the engine, never to the user.
const SYSTEM_DATABASES: &[&str] = &["admin", "local", "config"];
/// Collections captured or restored at once.
const PARALLEL_COLLECTIONS: usize = 4;
/// Bytes of documents handed between the reader and the compressor at a time.
const PIPE_BATCH_BYTES: usize = 1 << 20;
/// Batches in flight between reader and compressor (bounds memory).
const PIPE_DEPTH: usize = 8;
/// Upper bound of one insert batch; below the 48 MB message limit.
const INSERT_BATCH_BYTES: usize = 8 << 20;
const INSERT_BATCH_DOCS: usize = 10_000;
const ZSTD_LEVEL: i32 = 3;
/// New chunks waiting for upload, per collection (bounds memory: x 64 KiB).
const UPLOAD_DEPTH: usize = 64;
/// Chunk uploads (and downloads) in flight per collection.
const TRANSFER_PARALLEL: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot connect to the engine on port {port}")]
    Connect {
        port: u16,
        #[source]
        source: mongodb::error::Error,
    },
    #[error("the engine failed while {op} {object}")]
    Engine {
        op: &'static str,
        object: String,
        #[source]
        source: mongodb::error::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("local I/O failed while {op}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("stored collection {object} is malformed: {message}")]
    Malformed { object: String, message: String },
}

type Result<T> = std::result::Result<T, SnapshotError>;

fn engine(
    op: &'static str,
    object: impl Into<String>,
) -> impl FnOnce(mongodb::error::Error) -> SnapshotError {
    let object = object.into();
    move |source| SnapshotError::Engine { op, object, source }
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> SnapshotError {
    move |source| SnapshotError::Io { op, source }
}

/// A driver connection to the engine at `endpoint`, logged in as `login`
/// when the project's engines require one.
pub async fn connect(endpoint: &Endpoint, login: Option<&Login>) -> Result<Client> {
    let port = endpoint.port;
    let uri = format!("{}&serverSelectionTimeoutMS=10000", endpoint.uri(None));
    let mut options = ClientOptions::parse(&uri)
        .await
        .map_err(|source| SnapshotError::Connect { port, source })?;
    if let Some(login) = login {
        options.credential = Some(
            Credential::builder()
                .username(login.user.clone())
                .password(login.password().to_string())
                .source("admin".to_string())
                .build(),
        );
    }
    Client::with_options(options).map_err(|source| SnapshotError::Connect { port, source })
}

/// Closes a client's connections and background tasks. Bounded: the
/// driver's shutdown waits for its background tasks, and one stuck on an
/// engine that is going away (or busy) must not hang argon.
pub async fn close(client: Client) {
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.shutdown().immediate(true),
    )
    .await;
}

pub async fn engine_version(client: &Client) -> Option<String> {
    let info = client
        .database("admin")
        .run_command(doc! { "buildInfo": 1 })
        .await
        .ok()?;
    info.get_str("version").ok().map(str::to_string)
}

/// Does the engine serve reads at one point in time through a snapshot session?
/// Probed, never assumed: a standalone server refuses them.
pub async fn supports_snapshot_reads(client: &Client) -> bool {
    let Ok(mut session) = client.start_session().snapshot(true).await else {
        return false;
    };
    let coll = client
        .database("admin")
        .collection::<RawDocumentBuf>("argon_probe");
    coll.find(doc! {})
        .limit(1)
        .session(&mut session)
        .await
        .is_ok()
}

/// Blocks writes for a consistent read. Returns false when the engine refuses.
pub async fn fsync_lock(client: &Client) -> bool {
    client
        .database("admin")
        .run_command(doc! { "fsync": 1, "lock": true })
        .await
        .is_ok()
}

/// Asks the engine to flush everything to its data files (no lock).
pub async fn fsync(client: &Client) -> bool {
    client
        .database("admin")
        .run_command(doc! { "fsync": 1 })
        .await
        .is_ok()
}

/// Releases an fsync lock (all nested ones). An engine that is not locked is fine.
pub async fn fsync_unlock(client: &Client) {
    for _ in 0..8 {
        match client
            .database("admin")
            .run_command(doc! { "fsyncUnlock": 1 })
            .await
        {
            Ok(reply) if reply.get_i32("lockCount").unwrap_or(0) > 0 => continue,
            _ => break,
        }
    }
}

/// The user databases on the engine.
pub async fn user_databases(client: &Client) -> Result<Vec<String>> {
    let mut names = client
        .list_database_names()
        .await
        .map_err(engine("listing databases", "on the engine"))?;
    names.retain(|n| !SYSTEM_DATABASES.contains(&n.as_str()));
    names.sort();
    Ok(names)
}

/// Drops every user database (before a restore over existing data).
pub async fn drop_user_databases(client: &Client) -> Result<()> {
    for name in user_databases(client).await? {
        client
            .database(&name)
            .drop()
            .await
            .map_err(engine("dropping database", name.clone()))?;
    }
    Ok(())
}

struct CollectionInfo {
    db: String,
    name: String,
    kind: String,
    options: Document,
}

async fn list_collections(client: &Client) -> Result<Vec<CollectionInfo>> {
    let mut out = Vec::new();
    for db_name in user_databases(client).await? {
        let db = client.database(&db_name);
        let mut cursor = db
            .run_cursor_command(doc! { "listCollections": 1 })
            .await
            .map_err(engine("listing collections of", db_name.clone()))?;
        while let Some(spec) = cursor
            .try_next()
            .await
            .map_err(engine("listing collections of", db_name.clone()))?
        {
            let name = spec.get_str("name").unwrap_or_default().to_string();
            if name.is_empty() || name.starts_with("system.") {
                continue;
            }
            let kind = spec.get_str("type").unwrap_or("collection").to_string();
            let options = spec.get_document("options").cloned().unwrap_or_default();
            out.push(CollectionInfo {
                db: db_name.clone(),
                name,
                kind,
                options,
            });
        }
    }
    out.sort_by(|a, b| (&a.db, &a.name).cmp(&(&b.db, &b.name)));
    Ok(out)
}

fn to_extjson(d: Document) -> serde_json::Value {
    Bson::Document(d).into_canonical_extjson()
}

fn from_extjson(v: &serde_json::Value, object: &str) -> Result<Document> {
    match Bson::try_from(v.clone()) {
        Ok(Bson::Document(d)) => Ok(d),
        _ => Err(SnapshotError::Malformed {
            object: object.to_string(),
            message: "options or index are not an extended-JSON document".into(),
        }),
    }
}

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
    progress: &ProgressBar,
) -> Result<Captured> {
    let collections = list_collections(client).await?;
    let mut total = 0u64;
    for c in &collections {
        if c.kind != "view" {
            let coll = client.database(&c.db).collection::<Document>(&c.name);
            total += coll.estimated_document_count().await.unwrap_or(0);
        }
    }
    progress.set_length(total);
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
    progress: &ProgressBar,
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
                progress.inc(unreported);
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
    progress.inc(unreported);
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
    progress: &ProgressBar,
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

/// Downloads a chunk, decompresses it and checks that it hashes to its name.
pub async fn fetch_chunk(store: &Store, chunk: ChunkRef) -> Result<Vec<u8>> {
    Ok(fetch_chunk_and_stored(store, chunk).await?.0)
}

/// A chunk's verified bytes, and the compressed bytes the store holds (for a
/// cache that keeps those).
pub async fn fetch_chunk_and_stored(store: &Store, chunk: ChunkRef) -> Result<(Vec<u8>, Vec<u8>)> {
    let compressed = store.get_bytes(ObjectKey::Chunk(chunk.0)).await?;
    tokio::task::spawn_blocking(move || Ok((decode_chunk(&compressed, chunk)?, compressed)))
        .await
        .map_err(|e| io("verifying a chunk")(std::io::Error::other(e)))?
}

/// Decompresses a stored chunk and checks its length and hash: a chunk that
/// does not match its name is reported as corrupt, never returned.
pub fn decode_chunk(compressed: &[u8], chunk: ChunkRef) -> Result<Vec<u8>> {
    let ChunkRef(id, len) = chunk;
    // The length comes from a manifest, which is untrusted: no allocation beyond a chunk's maximum.
    if len as usize > crate::store::chunker::MAX_CHUNK_BYTES {
        return Err(StoreError::Corrupt {
            key: ObjectKey::Chunk(id).to_string(),
        }
        .into());
    }
    match zstd::bulk::decompress(compressed, len as usize) {
        Ok(raw) if raw.len() == len as usize && Hash::of(&raw) == id.0 => Ok(raw),
        _ => Err(StoreError::Corrupt {
            key: ObjectKey::Chunk(id).to_string(),
        }
        .into()),
    }
}

/// Splits a byte stream into whole BSON documents (documents span chunks).
#[derive(Default)]
pub struct DocSplitter {
    buf: Vec<u8>,
}

impl DocSplitter {
    /// Appends bytes; moves the documents now complete into `out`; returns their size.
    pub fn push(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<RawDocumentBuf>,
        object: &str,
    ) -> Result<usize> {
        let malformed = |message: String| SnapshotError::Malformed {
            object: object.to_string(),
            message,
        };
        self.buf.extend_from_slice(bytes);
        let (mut at, mut size) = (0, 0);
        while self.buf.len() - at >= 4 {
            let n = i32::from_le_bytes([
                self.buf[at],
                self.buf[at + 1],
                self.buf[at + 2],
                self.buf[at + 3],
            ]);
            if !(5..=64 << 20).contains(&n) {
                return Err(malformed(format!("bad document length {n}")));
            }
            let n = n as usize;
            if self.buf.len() - at < n {
                break;
            }
            let doc = RawDocumentBuf::from_bytes(self.buf[at..at + n].to_vec())
                .map_err(|e| malformed(e.to_string()))?;
            out.push(doc);
            at += n;
            size += n;
        }
        self.buf.drain(..at);
        Ok(size)
    }

    pub fn finish(self, object: &str) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        Err(SnapshotError::Malformed {
            object: object.to_string(),
            message: "the stream ends inside a document".into(),
        })
    }
}

/// Recreates every database, collection, document and index of `manifest` on
/// the engine (which should hold no user data).
pub async fn restore(
    client: &Client,
    store: &Arc<Store>,
    manifest: &Manifest,
    indexes: IndexTiming,
    progress: &ProgressBar,
) -> Result<()> {
    progress.set_length(manifest.collections().map(|c| c.documents).sum());
    let work: Vec<(String, CollectionEntry)> = manifest
        .databases
        .iter()
        .flat_map(|d| d.collections.iter().map(|c| (d.name.clone(), c.clone())))
        .collect();
    // Views last: they may read other collections of the same database.
    let (views, collections): (Vec<_>, Vec<_>) =
        work.into_iter().partition(|(_, c)| c.kind == "view");

    let limit = Arc::new(Semaphore::new(PARALLEL_COLLECTIONS));
    let mut tasks = Vec::new();
    if indexes == IndexTiming::BeforeData {
        for (db, c) in &collections {
            create_collection(client, db, c).await?;
            build_indexes(client, db, c).await?;
        }
    }
    for (db, c) in collections {
        let (client, store, progress, limit) = (
            client.clone(),
            store.clone(),
            progress.clone(),
            limit.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            restore_one(&client, &store, &db, &c, indexes, &progress)
                .await
                .map(|()| (db, c))
        }));
    }
    let mut restored = Vec::new();
    for t in tasks {
        restored.push(
            t.await
                .map_err(|e| io("restoring")(std::io::Error::other(e)))??,
        );
    }
    // Indexes once no collection is being written: some MongoDB-compatible
    // engines retry index builds for minutes while other writes go on.
    if indexes == IndexTiming::AfterData {
        for (db, c) in &restored {
            build_indexes(client, db, c).await?;
        }
    }
    for (db, c) in views {
        create_collection(client, &db, &c).await?;
    }
    Ok(())
}

async fn create_collection(client: &Client, db: &str, c: &CollectionEntry) -> Result<()> {
    let full = format!("{db}.{}", c.name);
    let options = from_extjson(&c.options, &full)?;
    let mut cmd = doc! { "create": &c.name };
    cmd.extend(options);
    client
        .database(db)
        .run_command(cmd)
        .await
        .map(|_| ())
        .map_err(engine("creating collection", full))
}

async fn restore_one(
    client: &Client,
    store: &Arc<Store>,
    db: &str,
    c: &CollectionEntry,
    indexes: IndexTiming,
    progress: &ProgressBar,
) -> Result<()> {
    let full = format!("{db}.{}", c.name);
    if indexes == IndexTiming::AfterData {
        create_collection(client, db, c).await?;
    }
    let coll = client.database(db).collection::<RawDocumentBuf>(&c.name);
    // Chunks are fetched and verified in parallel but consumed in order, so
    // documents are inserted in their natural order, in bounded batches.
    let mut chunks = futures_util::stream::iter(c.chunks.clone())
        .map(|chunk| {
            let store = store.clone();
            async move { fetch_chunk(&store, chunk).await }
        })
        .buffered(TRANSFER_PARALLEL);
    let mut splitter = DocSplitter::default();
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    while let Some(bytes) = chunks.next().await {
        batch_bytes += splitter.push(&bytes?, &mut batch, &full)?;
        if batch_bytes >= INSERT_BATCH_BYTES || batch.len() >= INSERT_BATCH_DOCS {
            let n = batch.len() as u64;
            coll.insert_many(std::mem::take(&mut batch))
                .await
                .map_err(engine("inserting documents into", full.clone()))?;
            progress.inc(n);
            batch_bytes = 0;
        }
    }
    splitter.finish(&full)?;
    if !batch.is_empty() {
        let n = batch.len() as u64;
        coll.insert_many(batch)
            .await
            .map_err(engine("inserting documents into", full.clone()))?;
        progress.inc(n);
    }
    Ok(())
}

async fn build_indexes(client: &Client, db: &str, c: &CollectionEntry) -> Result<()> {
    let full = format!("{db}.{}", c.name);
    let specs: Vec<Document> = c
        .indexes
        .iter()
        .map(|ix| from_extjson(ix, &full))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|ix| ix.get_str("name").ok() != Some("_id_") && !ix.contains_key("clustered"))
        .map(|mut ix| {
            ix.remove("ns");
            ix
        })
        .collect();
    if !specs.is_empty() {
        client
            .database(db)
            .run_command(doc! { "createIndexes": &c.name, "indexes": specs })
            .await
            .map_err(engine("building indexes of", full))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_split_across_chunk_boundaries() {
        let docs: Vec<Vec<u8>> = (0..50)
            .map(|i| {
                mongodb::bson::to_vec(&doc! { "i": i as i64, "pad": "x".repeat(i * 7) }).unwrap()
            })
            .collect();
        let stream = docs.concat();
        let mut splitter = DocSplitter::default();
        let mut out = Vec::new();
        for piece in stream.chunks(37) {
            splitter.push(piece, &mut out, "t.c").unwrap();
        }
        splitter.finish("t.c").unwrap();
        let got: Vec<Vec<u8>> = out.into_iter().map(|d| d.into_bytes()).collect();
        assert_eq!(got, docs);
        let mut bad = DocSplitter::default();
        bad.push(&stream[..stream.len() - 3], &mut Vec::new(), "t.c")
            .unwrap();
        assert!(bad.finish("t.c").is_err(), "a truncated stream is an error");
    }
}
