//! Chunks for the mount: a memory cache of verified chunks with a fixed
//! ceiling, over the store, which the disk cache (`store::CachingBackend`)
//! may wrap. Every chunk is verified after decompression wherever it came
//! from; a damaged cached copy is dropped and read again from the store.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::stream::{self, StreamExt};

use crate::snapshot::{fetch_chunk, ChunkRef, SnapshotError};
use crate::store::{CachingBackend, Lru, Store};
use crate::sync::lock;

/// Chunks fetched at once for one read (the store's latency, not its
/// bandwidth, limits a single reader otherwise).
pub const FETCH_PARALLELISM: usize = 8;

/// Where the mount's reads get their chunks.
pub struct ChunkCache {
    store: Arc<Store>,
    memory: Mutex<Lru<Arc<Vec<u8>>>>,
    /// The disk layer of `store`, when there is one.
    disk: Option<Arc<CachingBackend>>,
}

impl ChunkCache {
    /// Chunks of `store`, kept in memory up to `memory_ceiling` bytes, and
    /// on disk in `disk`'s folder up to its ceiling.
    pub fn new(
        store: Arc<Store>,
        memory_ceiling: u64,
        disk: Option<(PathBuf, u64)>,
    ) -> std::io::Result<ChunkCache> {
        let (store, disk) = match disk {
            Some((dir, ceiling)) => {
                let cached = Arc::new(CachingBackend::new(store.backend(), dir, ceiling)?);
                (Arc::new(Store::new(cached.clone())), Some(cached))
            }
            None => (store, None),
        };
        Ok(ChunkCache {
            store,
            memory: Mutex::new(Lru::new(memory_ceiling)),
            disk,
        })
    }

    /// One chunk's verified bytes.
    pub async fn get(&self, chunk: ChunkRef) -> Result<Arc<Vec<u8>>, SnapshotError> {
        let id = chunk.0;
        if let Some(bytes) = lock(&self.memory).get(&id) {
            return Ok(bytes);
        }
        let raw = match self.fetch(chunk).await {
            Ok(raw) => raw,
            // A damaged cache file is not the store's damage: read it again.
            Err(_) if self.disk.is_some() => {
                if let Some(disk) = &self.disk {
                    disk.forget(id);
                }
                self.fetch(chunk).await?
            }
            Err(e) => return Err(e),
        };
        let raw = Arc::new(raw);
        lock(&self.memory).insert(id, raw.clone(), raw.len() as u64);
        Ok(raw)
    }

    /// Several chunks, fetched concurrently, returned in order.
    pub async fn get_many(&self, chunks: &[ChunkRef]) -> Result<Vec<Arc<Vec<u8>>>, SnapshotError> {
        stream::iter(chunks.iter().map(|c| self.get(*c)))
            .buffered(FETCH_PARALLELISM)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    async fn fetch(&self, chunk: ChunkRef) -> Result<Vec<u8>, SnapshotError> {
        Ok(fetch_chunk(&self.store, chunk).await?)
    }
}
