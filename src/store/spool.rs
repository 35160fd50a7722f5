//! A spool in front of a store: chunks written through it land in a local
//! folder, and `upload` sends them to the store later. A save that holds the
//! engine's writes (the `fsyncLock` fence) captures into a spool, lifts the
//! fence, and only then uploads: the application waits for a local disk, not
//! for S3. Reads and existence checks see both the spool and the store, so
//! deduplication against the store is unchanged.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};

use super::forward_to_inner;
use super::{Backend, BoxFuture, LocalBackend, ObjectKey, Result, StoreError, StoredChunk};

/// Uploads in flight at once when the spool is emptied.
const UPLOADS_AT_ONCE: usize = 8;

pub struct SpoolBackend {
    spool: LocalBackend,
    folder: PathBuf,
    store: Arc<dyn Backend>,
}

impl SpoolBackend {
    /// A spool in `folder` (created on the first write) in front of `store`.
    pub fn new(folder: PathBuf, store: Arc<dyn Backend>) -> SpoolBackend {
        SpoolBackend {
            spool: LocalBackend::scratch(folder.clone()),
            folder,
            store,
        }
    }

    /// Sends every spooled chunk to the store, then removes the spool;
    /// returns how many chunks it sent. On an error the spool stays (its
    /// folder is a temporary one that recovery clears).
    pub async fn upload(&self) -> Result<usize> {
        let chunks = self.spool.list_chunks().await?;
        let sent = chunks.len();
        futures_util::stream::iter(chunks)
            .map(|chunk| async move {
                let key = ObjectKey::Chunk(chunk.id);
                let bytes = self.spool.get_bytes(key.clone()).await?;
                self.store.put_bytes(key, bytes).await
            })
            .buffer_unordered(UPLOADS_AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
        let _ = tokio::fs::remove_dir_all(&self.folder).await;
        Ok(sent)
    }
}

impl Backend for SpoolBackend {
    forward_to_inner!(store: list_versions, list_tags, list_folder, check);
    fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        match key {
            // Chunks wait in the spool; anything else (never written during a
            // capture) goes straight through.
            ObjectKey::Chunk(_) => self.spool.put_bytes(key, bytes),
            _ => self.store.put_bytes(key, bytes),
        }
    }

    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(async move {
            match self.spool.get_bytes(key.clone()).await {
                Err(StoreError::NotFound { .. }) => self.store.get_bytes(key).await,
                spooled => spooled,
            }
        })
    }

    fn exists(&self, key: ObjectKey) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            Ok(self.spool.exists(key.clone()).await? || self.store.exists(key).await?)
        })
    }

    fn list_chunks(&self) -> BoxFuture<'_, Result<Vec<StoredChunk>>> {
        Box::pin(async move {
            let mut chunks = self.store.list_chunks().await?;
            chunks.extend(self.spool.list_chunks().await?);
            Ok(chunks)
        })
    }

    fn delete(&self, key: ObjectKey) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.spool.delete(key.clone()).await?;
            self.store.delete(key).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ChunkId, Hash, MemoryBackend};

    #[tokio::test]
    async fn chunks_wait_in_the_spool_until_uploaded() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let old = ObjectKey::Chunk(ChunkId(Hash::of(b"old")));
        store.put_bytes(old.clone(), b"old".to_vec()).await.unwrap();
        let spool = SpoolBackend::new(dir.path().join("spool"), store.clone());
        let new = ObjectKey::Chunk(ChunkId(Hash::of(b"new")));
        spool.put_bytes(new.clone(), b"new".to_vec()).await.unwrap();
        assert!(!store.exists(new.clone()).await.unwrap(), "not sent yet");
        assert!(spool.exists(new.clone()).await.unwrap());
        assert!(
            spool.exists(old.clone()).await.unwrap(),
            "the store's chunks count"
        );
        assert_eq!(spool.get_bytes(new.clone()).await.unwrap(), b"new");
        assert_eq!(spool.upload().await.unwrap(), 1);
        assert_eq!(store.get_bytes(new).await.unwrap(), b"new");
        assert!(!dir.path().join("spool").exists(), "the spool is removed");
    }
}
