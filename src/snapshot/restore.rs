//! Restore: a version's databases, collections (with options), documents
//! and indexes recreated on an engine that holds no user data.

use std::sync::Arc;

use futures_util::StreamExt;
use mongodb::bson::{doc, Document, RawDocumentBuf};
use mongodb::Client;
use tokio::sync::Semaphore;

use super::{
    engine, fetch_chunk, from_extjson, io, CollectionEntry, DocSplitter, Manifest, Result,
    SnapshotError, INSERT_BATCH_BYTES, INSERT_BATCH_DOCS, PARALLEL_COLLECTIONS, TRANSFER_PARALLEL,
};
use crate::config::IndexTiming;
use crate::progress::Task;
use crate::store::Store;

/// Recreates every database, collection, document and index of `manifest` on
/// the engine (which should hold no user data).
pub async fn restore(
    client: &Client,
    store: &Arc<Store>,
    manifest: &Manifest,
    indexes: IndexTiming,
    progress: &Task,
) -> Result<()> {
    progress.set_total(manifest.collections().map(|c| c.documents).sum());
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
    progress: &Task,
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
            async move { Ok::<_, SnapshotError>(fetch_chunk(&store, chunk).await?) }
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
            progress.advance(n);
            batch_bytes = 0;
        }
    }
    splitter.finish(&full)?;
    if !batch.is_empty() {
        let n = batch.len() as u64;
        coll.insert_many(batch)
            .await
            .map_err(engine("inserting documents into", full.clone()))?;
        progress.advance(n);
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
