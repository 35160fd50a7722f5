//! A caching store: chunks read through it are kept as files in a local
//! folder under a byte ceiling (least recently used go first), so a second
//! read costs a local file instead of a download. The mount's disk cache is
//! this layer. Chunks are immutable, so a cached one is never stale; a cached
//! file that was damaged is caught by the reader's check (`decode_chunk`),
//! which `forget`s it and reads again.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::forward_to_inner;
use super::{Backend, BoxFuture, ChunkId, ObjectKey, Result};
use crate::sync::lock;

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

/// `inner`, with the chunks read through it kept on local disk.
pub struct CachingBackend {
    inner: Arc<dyn Backend>,
    disk: DiskCache,
}

impl CachingBackend {
    /// A cache in `dir` (created 0700; what an earlier run left is reused)
    /// holding at most `ceiling` bytes.
    pub fn new(
        inner: Arc<dyn Backend>,
        dir: PathBuf,
        ceiling: u64,
    ) -> std::io::Result<CachingBackend> {
        Ok(CachingBackend {
            inner,
            disk: DiskCache::open(dir, ceiling)?,
        })
    }

    /// Drops a cached chunk (found damaged): the next read goes to the store.
    pub fn forget(&self, id: ChunkId) {
        self.disk.forget(id);
    }
}

impl Backend for CachingBackend {
    forward_to_inner!(
        inner: put_bytes,
        put_new_chunks,
        exists,
        list_versions,
        list_tags,
        list_folder,
        check,
        list_chunks,
        remove_temporaries,
    );

    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(async move {
            let ObjectKey::Chunk(id) = key else {
                return self.inner.get_bytes(key).await;
            };
            if let Some(bytes) = self.disk.get(id) {
                return Ok(bytes);
            }
            let bytes = self.inner.get_bytes(key).await?;
            self.disk.put(id, &bytes);
            Ok(bytes)
        })
    }

    fn delete(&self, key: ObjectKey) -> BoxFuture<'_, Result<()>> {
        if let ObjectKey::Chunk(id) = key {
            self.disk.forget(id);
        }
        self.inner.delete(key)
    }

    fn delete_chunks(&self, ids: Vec<ChunkId>) -> BoxFuture<'_, Result<()>> {
        for id in &ids {
            self.disk.forget(*id);
        }
        self.inner.delete_chunks(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Hash, MemoryBackend};

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

    #[tokio::test]
    async fn chunks_read_once_are_served_from_disk_under_the_ceiling() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let key = |n: u8| ObjectKey::Chunk(id(n));
        for n in 1..=3 {
            store.put_bytes(key(n), vec![n; 40]).await.unwrap();
        }
        let cached = CachingBackend::new(store.clone(), dir.path().join("cache"), 100).unwrap();
        assert_eq!(cached.get_bytes(key(1)).await.unwrap(), vec![1; 40]);
        // Gone from the store, still served from the cache.
        store.delete(key(1)).await.unwrap();
        assert_eq!(cached.get_bytes(key(1)).await.unwrap(), vec![1; 40]);
        cached.get_bytes(key(2)).await.unwrap();
        cached.get_bytes(key(3)).await.unwrap();
        let files = std::fs::read_dir(dir.path().join("cache")).unwrap().count();
        assert_eq!(files, 2, "the ceiling holds two of the three");
        cached.forget(id(3));
        assert_eq!(
            std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
            1
        );
    }
}
