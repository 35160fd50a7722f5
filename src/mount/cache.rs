//! Chunks for the mount: a memory cache with a fixed ceiling, an optional disk
//! cache of compressed chunks with its own ceiling, then the store. Every chunk
//! is verified after decompression wherever it came from.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::stream::{self, StreamExt};

use super::lock;
use crate::snapshot::{decode_chunk, fetch_chunk_and_stored, ChunkRef, SnapshotError};
use crate::store::{ChunkId, Store};

/// Chunks fetched at once for one read (the store's latency, not its
/// bandwidth, limits a single reader otherwise).
pub const FETCH_PARALLELISM: usize = 8;

/// Least-recently-used entries with a byte ceiling.
pub struct Lru<V> {
    entries: HashMap<ChunkId, (V, u64, u64)>, // value, size, tick
    order: BTreeMap<u64, ChunkId>,
    tick: u64,
    bytes: u64,
    ceiling: u64,
}

impl<V: Clone> Lru<V> {
    pub fn new(ceiling: u64) -> Lru<V> {
        Lru {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            bytes: 0,
            ceiling,
        }
    }

    pub fn get(&mut self, id: &ChunkId) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let (value, _, old) = self.entries.get_mut(id)?;
        self.order.remove(old);
        *old = tick;
        self.order.insert(tick, *id);
        Some(value.clone())
    }

    /// Adds an entry, then evicts the least recently used until under the
    /// ceiling; returns the evicted ids. An entry larger than the ceiling is
    /// not kept: it comes back at once among the evicted.
    pub fn insert(&mut self, id: ChunkId, value: V, size: u64) -> Vec<ChunkId> {
        self.remove(&id);
        if size > self.ceiling {
            // Not kept: the caller drops whatever it stored for it.
            return vec![id];
        }
        self.tick += 1;
        self.entries.insert(id, (value, size, self.tick));
        self.order.insert(self.tick, id);
        self.bytes += size;
        let mut evicted = Vec::new();
        while self.bytes > self.ceiling {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((_, size, _)) = self.entries.remove(&oldest) {
                self.bytes -= size;
            }
            evicted.push(oldest);
        }
        evicted
    }

    pub fn remove(&mut self, id: &ChunkId) {
        if let Some((_, size, tick)) = self.entries.remove(id) {
            self.order.remove(&tick);
            self.bytes -= size;
        }
    }

    #[cfg(test)]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// Compressed chunks as files in a folder, evicted oldest-used first.
struct DiskCache {
    dir: PathBuf,
    index: Mutex<Lru<()>>,
}

impl DiskCache {
    fn open(dir: PathBuf, ceiling: u64) -> std::io::Result<DiskCache> {
        crate::private::create_dir_all(&dir)?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(ChunkId::parse) else {
                continue; // temporary files of an interrupted write, or not ours
            };
            let meta = entry.metadata()?;
            found.push((meta.modified()?, id, meta.len()));
        }
        found.sort();
        let mut index = Lru::new(ceiling);
        for (_, id, size) in found {
            for gone in index.insert(id, (), size) {
                let _ = std::fs::remove_file(dir.join(gone.to_string()));
            }
        }
        Ok(DiskCache {
            dir,
            index: Mutex::new(index),
        })
    }

    fn get(&self, id: ChunkId) -> Option<Vec<u8>> {
        lock(&self.index).get(&id)?;
        std::fs::read(self.dir.join(id.to_string())).ok()
    }

    fn put(&self, id: ChunkId, compressed: &[u8]) {
        let path = self.dir.join(id.to_string());
        let tmp = self.dir.join(format!(".{id}.tmp"));
        // A cache that cannot be written only costs speed.
        if crate::private::write(&tmp, compressed).is_err() || std::fs::rename(&tmp, &path).is_err()
        {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        let evicted = lock(&self.index).insert(id, (), compressed.len() as u64);
        for gone in evicted {
            let _ = std::fs::remove_file(self.dir.join(gone.to_string()));
        }
    }

    fn forget(&self, id: ChunkId) {
        lock(&self.index).remove(&id);
        let _ = std::fs::remove_file(self.dir.join(id.to_string()));
    }
}

/// Where the mount's reads get their chunks.
pub struct ChunkCache {
    store: Arc<Store>,
    memory: Mutex<Lru<Arc<Vec<u8>>>>,
    disk: Option<DiskCache>,
}

impl ChunkCache {
    pub fn new(
        store: Arc<Store>,
        memory_ceiling: u64,
        disk: Option<(PathBuf, u64)>,
    ) -> std::io::Result<ChunkCache> {
        let disk = match disk {
            Some((dir, ceiling)) => Some(DiskCache::open(dir, ceiling)?),
            None => None,
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
        let from_disk = self.disk.as_ref().and_then(|d| d.get(id));
        let raw = match from_disk {
            Some(compressed) => match decode_chunk(&compressed, chunk) {
                Ok(raw) => raw,
                Err(_) => {
                    // A damaged cache file is not the store's damage: refetch.
                    if let Some(d) = &self.disk {
                        d.forget(id);
                    }
                    self.fetch(chunk).await?
                }
            },
            None => self.fetch(chunk).await?,
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
        let (raw, compressed) = fetch_chunk_and_stored(&self.store, chunk).await?;
        if let Some(d) = &self.disk {
            d.put(chunk.0, &compressed);
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Hash;

    fn id(n: u8) -> ChunkId {
        ChunkId(Hash::of(&[n]))
    }

    #[test]
    fn lru_stays_under_its_ceiling_evicting_least_recently_used() {
        let mut lru = Lru::new(100);
        assert!(lru.insert(id(1), 1, 40).is_empty());
        assert!(lru.insert(id(2), 2, 40).is_empty());
        assert_eq!(lru.get(&id(1)), Some(1)); // 1 is now newer than 2
        assert_eq!(lru.insert(id(3), 3, 40), vec![id(2)]);
        assert_eq!(lru.bytes(), 80);
        assert_eq!(lru.get(&id(2)), None);
        assert_eq!(lru.get(&id(1)), Some(1));
        // Too big to keep: handed back at once, so a disk cache deletes its file.
        assert_eq!(lru.insert(id(4), 4, 101), vec![id(4)]);
        assert_eq!(lru.get(&id(4)), None);
        lru.insert(id(1), 10, 60); // replacing counts the new size only
        assert!(lru.bytes() <= 100);
        assert_eq!(lru.get(&id(1)), Some(10));
    }
}
