//! Logical capture and restore of a MongoDB engine through the official driver:
//! every user database, collection options, indexes, and documents as raw BSON
//! in natural order. Each collection becomes one mongodump-compatible `.bson`
//! stream, stored compressed under the hash of its content.

pub mod manifest;

use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;

use futures_util::TryStreamExt;
use indicatif::ProgressBar;
use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::{Client, ClientSession};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::store::{Backend, BlobId, Hash, ObjectKey, Store, StoreError};
pub use manifest::{CaptureMethod, CollectionEntry, DatabaseEntry, Manifest, MANIFEST_FORMAT};

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

/// A driver connection to an engine on 127.0.0.1.
pub async fn connect(port: u16) -> Result<Client> {
    let uri =
        format!("mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=10000");
    Client::with_uri_str(&uri)
        .await
        .map_err(|source| SnapshotError::Connect { port, source })
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
}

/// Reads every user collection of the engine into `store` (only blobs it lacks
/// are uploaded) and returns the manifest's contents.
pub async fn capture(
    client: &Client,
    store: &Arc<Store>,
    mode: ReadMode<'_>,
    tmp: &Path,
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
                entries
                    .push(capture_one(client, store, c, Some(&mut *session), tmp, progress).await?);
            }
        }
        ReadMode::Plain => {
            let limit = Arc::new(Semaphore::new(PARALLEL_COLLECTIONS));
            let mut tasks = Vec::new();
            for c in collections {
                let (client, store, tmp, progress, limit) = (
                    client.clone(),
                    store.clone(),
                    tmp.to_path_buf(),
                    progress.clone(),
                    limit.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    capture_one(&client, &store, c, None, &tmp, &progress).await
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
    let mut databases: Vec<DatabaseEntry> = Vec::new();
    for (db, entry) in entries {
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
    })
}

async fn capture_one(
    client: &Client,
    store: &Store,
    info: CollectionInfo,
    session: Option<&mut ClientSession>,
    tmp: &Path,
    progress: &ProgressBar,
) -> Result<(String, CollectionEntry)> {
    let full = format!("{}.{}", info.db, info.name);
    let coll = client
        .database(&info.db)
        .collection::<RawDocumentBuf>(&info.name);
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
        blob: None,
        stored_bytes: 0,
    };
    if info.kind == "view" {
        return Ok((info.db, entry));
    }

    // Reader (here) -> bounded channel -> hasher+compressor (blocking thread) -> temp file.
    let file = tempfile::NamedTempFile::new_in(tmp).map_err(io("creating a temporary file"))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(PIPE_DEPTH);
    let out = file.reopen().map_err(io("opening a temporary file"))?;
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<(Hash, u64)> {
        let mut hasher = Sha256::new();
        let mut enc = zstd::Encoder::new(std::io::BufWriter::new(out), ZSTD_LEVEL)?;
        let mut n = 0u64;
        for batch in rx {
            hasher.update(&batch);
            enc.write_all(&batch)?;
            n += batch.len() as u64;
        }
        let mut w = enc.finish()?;
        w.flush()?;
        Ok((Hash::from_hasher(hasher), n))
    });

    let mut batch = Vec::with_capacity(PIPE_BATCH_BYTES);
    let mut docs = 0u64;
    let read_err = engine("reading documents of", full.clone());
    let result: std::result::Result<(), mongodb::error::Error> = async {
        let find = coll
            .find(doc! {})
            .hint(mongodb::options::Hint::Keys(doc! { "$natural": 1 }));
        match session {
            Some(session) => {
                let mut cursor = find.session(&mut *session).await?;
                while cursor.advance(&mut *session).await? {
                    batch.extend_from_slice(cursor.current().as_bytes());
                    docs += 1;
                    if batch.len() >= PIPE_BATCH_BYTES {
                        progress.inc(docs);
                        docs = 0;
                        if tx.send(std::mem::take(&mut batch)).is_err() {
                            break;
                        }
                    }
                }
            }
            None => {
                let mut cursor = find.await?;
                while cursor.advance().await? {
                    batch.extend_from_slice(cursor.current().as_bytes());
                    docs += 1;
                    entry.documents += 1;
                    if batch.len() >= PIPE_BATCH_BYTES {
                        progress.inc(docs);
                        docs = 0;
                        if tx.send(std::mem::take(&mut batch)).is_err() {
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    progress.inc(docs);
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
    drop(tx);
    let written = writer
        .await
        .map_err(|e| io("compressing")(std::io::Error::other(e)))?;
    result.map_err(read_err)?;
    let (hash, bytes) = written.map_err(io("compressing a collection"))?;
    entry.bytes = bytes;
    if entry.documents == 0 {
        entry.documents = count_documents(file.path()).map_err(io("counting documents"))?;
    }
    let id = BlobId(hash);
    entry.stored_bytes = file.as_file().metadata().map(|m| m.len()).unwrap_or(0);
    if !store.exists(ObjectKey::Blob(id)).await? {
        store.put_file(ObjectKey::Blob(id), file.path()).await?;
    }
    entry.blob = Some(id);
    Ok((info.db, entry))
}

/// Counts documents in a compressed stream (used when the count was not tracked while reading).
fn count_documents(path: &Path) -> std::io::Result<u64> {
    let mut reader = DocReader::open(path)?;
    let mut n = 0;
    while reader.next_doc()?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// Reads length-prefixed BSON documents from a zstd-compressed stream.
struct DocReader {
    inner: zstd::Decoder<'static, BufReader<std::fs::File>>,
}

impl DocReader {
    fn open(path: &Path) -> std::io::Result<DocReader> {
        Ok(DocReader {
            inner: zstd::Decoder::new(std::fs::File::open(path)?)?,
        })
    }

    fn next_doc(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut len = [0u8; 4];
        match self.inner.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let n = i32::from_le_bytes(len);
        if !(5..=64 << 20).contains(&n) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "bad document length",
            ));
        }
        let mut doc = vec![0u8; n as usize];
        doc[..4].copy_from_slice(&len);
        self.inner.read_exact(&mut doc[4..])?;
        Ok(Some(doc))
    }
}

/// Downloads a blob and checks that its content hashes to its name.
async fn fetch_verified(store: &Store, id: BlobId, tmp: &Path) -> Result<tempfile::NamedTempFile> {
    let file = tempfile::NamedTempFile::new_in(tmp).map_err(io("creating a temporary file"))?;
    store.get_to_file(ObjectKey::Blob(id), file.path()).await?;
    let path = file.path().to_path_buf();
    let hash = tokio::task::spawn_blocking(move || -> std::io::Result<Hash> {
        let mut dec = zstd::Decoder::new(std::fs::File::open(path)?)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = dec.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Hash::from_hasher(hasher))
    })
    .await
    .map_err(|e| io("verifying")(std::io::Error::other(e)))?;
    match hash {
        Ok(h) if h == id.0 => Ok(file),
        _ => Err(StoreError::Corrupt {
            key: ObjectKey::Blob(id).to_string(),
        }
        .into()),
    }
}

/// Recreates every database, collection, document and index of `manifest` on
/// the engine (which should hold no user data).
pub async fn restore(
    client: &Client,
    store: &Arc<Store>,
    manifest: &Manifest,
    tmp: &Path,
    progress: &ProgressBar,
) -> Result<()> {
    progress.set_length(manifest.collections().map(|c| c.documents).sum());
    // Views last: they may read other collections of the same database.
    let mut work: Vec<(String, CollectionEntry)> = manifest
        .databases
        .iter()
        .flat_map(|d| d.collections.iter().map(|c| (d.name.clone(), c.clone())))
        .collect();
    work.sort_by_key(|(_, c)| c.kind == "view");
    let (views, collections): (Vec<_>, Vec<_>) =
        work.into_iter().partition(|(_, c)| c.kind == "view");

    let limit = Arc::new(Semaphore::new(PARALLEL_COLLECTIONS));
    let mut tasks = Vec::new();
    for (db, c) in collections {
        let (client, store, tmp, progress, limit) = (
            client.clone(),
            store.clone(),
            tmp.to_path_buf(),
            progress.clone(),
            limit.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            restore_one(&client, &store, &db, &c, &tmp, &progress).await
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| io("restoring")(std::io::Error::other(e)))??;
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
    store: &Store,
    db: &str,
    c: &CollectionEntry,
    tmp: &Path,
    progress: &ProgressBar,
) -> Result<()> {
    let full = format!("{db}.{}", c.name);
    create_collection(client, db, c).await?;
    if let Some(blob) = c.blob {
        let file = fetch_verified(store, blob, tmp).await?;
        let coll = client.database(db).collection::<RawDocumentBuf>(&c.name);
        // Decoder (blocking thread) -> bounded channel of batches -> ordered inserts.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<RawDocumentBuf>>(2);
        let path = file.path().to_path_buf();
        let reader = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut docs = DocReader::open(&path)?;
            let mut batch = Vec::new();
            let mut size = 0;
            while let Some(bytes) = docs.next_doc()? {
                size += bytes.len();
                let doc = RawDocumentBuf::from_bytes(bytes).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
                })?;
                batch.push(doc);
                if size >= INSERT_BATCH_BYTES || batch.len() >= INSERT_BATCH_DOCS {
                    size = 0;
                    if tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                        return Ok(());
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
            Ok(())
        });
        let mut insert_result = Ok(());
        while let Some(batch) = rx.recv().await {
            let n = batch.len() as u64;
            if let Err(e) = coll.insert_many(batch).await {
                insert_result = Err(engine("inserting documents into", full.clone())(e));
                break;
            }
            progress.inc(n);
        }
        drop(rx);
        let read = reader
            .await
            .map_err(|e| io("reading a stored collection")(std::io::Error::other(e)))?;
        insert_result?;
        read.map_err(|e| SnapshotError::Malformed {
            object: full.clone(),
            message: e.to_string(),
        })?;
    }
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
