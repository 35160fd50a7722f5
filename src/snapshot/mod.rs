//! Logical capture and restore of a MongoDB engine through the official driver:
//! every user database, collection options, indexes, and documents as raw BSON
//! in natural order. Each collection becomes one mongodump-compatible `.bson`
//! stream, stored compressed under the hash of its content.

mod capture;
mod change;
mod chunks;
pub mod login;
mod restore;

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::options::{ClientOptions, Credential};
use mongodb::Client;

use crate::credentials::Login;
use crate::endpoint::Endpoint;
pub use crate::store::chunks::{decode_chunk, fetch_chunk, KnownChunks};
pub use crate::store::manifest::{
    CaptureMethod, ChunkRef, CollectionEntry, DatabaseEntry, Manifest, MANIFEST_FORMAT,
    NO_DOCUMENT_START,
};
use crate::store::StoreError;
pub use capture::{capture, capture_resuming, Captured, ReadMode};
pub use change::{change_token, ChangeToken};
pub use chunks::{each_whole_document, DocSplitter};
pub use restore::restore;

/// Databases that belong to the engine, never to the user.
const SYSTEM_DATABASES: &[&str] = &["admin", "local", "config"];
/// Collections captured or restored at once.
const PARALLEL_COLLECTIONS: usize = 4;
/// Bytes of documents handed between the reader and the compressor at a time.
const PIPE_BATCH_BYTES: usize = 1 << 20;
/// Upper bound of one insert batch; below the 48 MB message limit.
const INSERT_BATCH_BYTES: usize = 8 << 20;
const INSERT_BATCH_DOCS: usize = 10_000;
/// Chunk downloads in flight per collection.
use crate::store::chunks::TRANSFER_PARALLEL;

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
