//! A store in memory: the backend of unit tests of core operations (no
//! Docker, no S3, no disk), with the same contract as the real ones: objects
//! immutable once written, writes atomic, listings by folder.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::SystemTime;

use super::{
    Backend, BoxFuture, ChunkId, Hash, ObjectKey, Result, StoreError, StoredChunk, VersionId,
};

#[derive(Default)]
pub struct MemoryBackend {
    /// Object path (`ObjectKey::path`) to its bytes and when it was written.
    objects: Mutex<BTreeMap<String, (Vec<u8>, SystemTime)>>,
}

impl MemoryBackend {
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Vec<u8>, SystemTime)>> {
        crate::sync::lock(&self.objects)
    }

    /// Names directly in `folder` (no deeper paths).
    fn names_in(&self, folder: &str) -> Vec<String> {
        let prefix = format!("{folder}/");
        self.objects()
            .keys()
            .filter_map(|path| path.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(str::to_string)
            .collect()
    }
}

impl Backend for MemoryBackend {
    fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.objects()
                .insert(key.path(), (bytes, SystemTime::now()));
            Ok(())
        })
    }

    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(async move {
            self.objects()
                .get(&key.path())
                .map(|(bytes, _)| bytes.clone())
                .ok_or_else(|| StoreError::NotFound {
                    key: key.to_string(),
                })
        })
    }

    fn exists(&self, key: ObjectKey) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move { Ok(self.objects().contains_key(&key.path())) })
    }

    fn list_versions(&self) -> BoxFuture<'_, Result<Vec<VersionId>>> {
        Box::pin(async move {
            Ok(self
                .names_in("versions")
                .iter()
                .filter_map(|n| n.strip_suffix(".json").and_then(VersionId::parse))
                .collect())
        })
    }

    fn list_tags(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move { Ok(self.names_in("tags")) })
    }

    fn list_folder(&self, folder: &'static str) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move { Ok(self.names_in(folder)) })
    }

    fn check(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn list_chunks(&self) -> BoxFuture<'_, Result<Vec<StoredChunk>>> {
        Box::pin(async move {
            Ok(self
                .objects()
                .iter()
                .filter_map(|(path, (bytes, modified))| {
                    let hex = path.strip_prefix("chunks/")?.rsplit('/').next()?;
                    Some(StoredChunk {
                        id: ChunkId(Hash::parse(hex)?),
                        size: bytes.len() as u64,
                        modified: *modified,
                    })
                })
                .collect())
        })
    }

    fn delete(&self, key: ObjectKey) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.objects().remove(&key.path());
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lists_what_was_written_by_folder() {
        let store = MemoryBackend::new();
        let chunk = ChunkId(Hash::of(b"data"));
        let version = VersionId(Hash::of(b"manifest"));
        store
            .put_bytes(ObjectKey::Chunk(chunk), b"c".to_vec())
            .await
            .unwrap();
        store
            .put_bytes(ObjectKey::Version(version), b"{}".to_vec())
            .await
            .unwrap();
        store
            .put_bytes(ObjectKey::Tag("rel/v1".into()), b"t".to_vec())
            .await
            .unwrap();
        assert_eq!(store.list_versions().await.unwrap(), vec![version]);
        let chunks = store.list_chunks().await.unwrap();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].id, chunk);
        // The slash is escaped: one tag, not a folder.
        assert_eq!(
            store.list_tags().await.unwrap(),
            vec!["rel%2Fv1".to_string()]
        );
        store.delete(ObjectKey::Chunk(chunk)).await.unwrap();
        assert!(!store.exists(ObjectKey::Chunk(chunk)).await.unwrap());
        assert!(matches!(
            store.get_bytes(ObjectKey::Chunk(chunk)).await,
            Err(StoreError::NotFound { .. })
        ));
    }
}
