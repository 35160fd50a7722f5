//! The one trait every store backend implements, object-safe so stores can
//! be stacked (`Arc<dyn Backend>`): a decorator such as `memory`'s in-memory
//! store or `faulty`'s fault injector is one more implementation.

use std::future::Future;
use std::pin::Pin;

use futures_util::{StreamExt, TryStreamExt};

use super::{ChunkId, ObjectKey, Result, VersionId};

/// What a backend's operations return: a boxed future, so the trait is object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What every storage backend provides. Objects are immutable once written and
/// every write is atomic: a reader sees the whole object or none of it.
pub trait Backend: Send + Sync {
    fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> BoxFuture<'_, Result<()>>;
    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>>;
    fn exists(&self, key: ObjectKey) -> BoxFuture<'_, Result<bool>>;
    fn list_versions(&self) -> BoxFuture<'_, Result<Vec<VersionId>>>;
    /// Names of the tags in the store.
    fn list_tags(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    /// Names of the objects in one flat folder of the protocol (`refs`, `leases`, ...).
    fn list_folder(&self, folder: &'static str) -> BoxFuture<'_, Result<Vec<String>>>;
    /// Checks that the store can be used (reachable, credentials accepted).
    fn check(&self) -> BoxFuture<'_, Result<()>>;
    /// Every chunk with its size and when it was written.
    fn list_chunks(&self) -> BoxFuture<'_, Result<Vec<StoredChunk>>>;
    /// Removes an object; one that is already gone is fine.
    fn delete(&self, key: ObjectKey) -> BoxFuture<'_, Result<()>>;
    /// Stores those of `chunks` (each its id and stored bytes) that the
    /// store lacks: an interrupted save's are there already and are not
    /// sent again. Returns the stored bytes written. The default checks and
    /// writes each chunk, several at a time; a local store appends a whole
    /// batch to its pack in one trip to the disk.
    fn put_new_chunks(&self, chunks: Vec<(ChunkId, Vec<u8>)>) -> BoxFuture<'_, Result<u64>> {
        Box::pin(put_each_new_chunk(self, chunks))
    }
    /// Removes many chunks at once (gc's sweep). A local store rewrites each
    /// pack once for all of its chunks deleted, not once per chunk.
    fn delete_chunks(&self, ids: Vec<ChunkId>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            for id in ids {
                self.delete(ObjectKey::Chunk(id)).await?;
            }
            Ok(())
        })
    }
    /// Removes what interrupted writes left (a local store's `.tmp` files of
    /// processes that are gone); returns how many. Most backends' writes are
    /// atomic and leave nothing.
    fn remove_temporaries(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(async { Ok(0) })
    }
}

/// Uploads in flight for one batch of `put_new_chunks` by default (a save
/// has two batches of each stream in flight).
const PUT_PARALLEL: usize = 8;

/// `Backend::put_new_chunks` one chunk at a time: each checked, and written
/// when missing, `PUT_PARALLEL` at once.
pub(super) async fn put_each_new_chunk<B: Backend + ?Sized>(
    backend: &B,
    chunks: Vec<(ChunkId, Vec<u8>)>,
) -> Result<u64> {
    futures_util::stream::iter(chunks)
        .map(|(id, bytes)| async move {
            let key = ObjectKey::Chunk(id);
            if backend.exists(key.clone()).await? {
                return Ok(0);
            }
            let n = bytes.len() as u64;
            backend.put_bytes(key, bytes).await?;
            Ok::<_, super::StoreError>(n)
        })
        .buffer_unordered(PUT_PARALLEL)
        .try_fold(0u64, |sum, n| async move { Ok(sum + n) })
        .await
}

/// Implements the listed `Backend` methods of a layer (a decorator) by
/// handing them, unchanged, to the backend in its field `$inner`: a layer
/// spells out only the operations it changes.
macro_rules! forward_to_inner {
    ($inner:ident: $($method:ident),+ $(,)?) => {
        $( $crate::store::forward_to_inner!(@ $inner $method); )+
    };
    (@ $inner:ident put_bytes) => {
        fn put_bytes(
            &self,
            key: $crate::store::ObjectKey,
            bytes: Vec<u8>,
        ) -> $crate::store::BoxFuture<'_, $crate::store::Result<()>> {
            self.$inner.put_bytes(key, bytes)
        }
    };
    (@ $inner:ident exists) => {
        fn exists(
            &self,
            key: $crate::store::ObjectKey,
        ) -> $crate::store::BoxFuture<'_, $crate::store::Result<bool>> {
            self.$inner.exists(key)
        }
    };
    (@ $inner:ident list_versions) => {
        fn list_versions(
            &self,
        ) -> $crate::store::BoxFuture<'_, $crate::store::Result<Vec<$crate::store::VersionId>>> {
            self.$inner.list_versions()
        }
    };
    (@ $inner:ident list_tags) => {
        fn list_tags(&self) -> $crate::store::BoxFuture<'_, $crate::store::Result<Vec<String>>> {
            self.$inner.list_tags()
        }
    };
    (@ $inner:ident list_folder) => {
        fn list_folder(
            &self,
            folder: &'static str,
        ) -> $crate::store::BoxFuture<'_, $crate::store::Result<Vec<String>>> {
            self.$inner.list_folder(folder)
        }
    };
    (@ $inner:ident check) => {
        fn check(&self) -> $crate::store::BoxFuture<'_, $crate::store::Result<()>> {
            self.$inner.check()
        }
    };
    (@ $inner:ident list_chunks) => {
        fn list_chunks(
            &self,
        ) -> $crate::store::BoxFuture<'_, $crate::store::Result<Vec<$crate::store::StoredChunk>>>
        {
            self.$inner.list_chunks()
        }
    };
    (@ $inner:ident put_new_chunks) => {
        fn put_new_chunks(
            &self,
            chunks: Vec<($crate::store::ChunkId, Vec<u8>)>,
        ) -> $crate::store::BoxFuture<'_, $crate::store::Result<u64>> {
            self.$inner.put_new_chunks(chunks)
        }
    };
    (@ $inner:ident delete_chunks) => {
        fn delete_chunks(
            &self,
            ids: Vec<$crate::store::ChunkId>,
        ) -> $crate::store::BoxFuture<'_, $crate::store::Result<()>> {
            self.$inner.delete_chunks(ids)
        }
    };
    (@ $inner:ident remove_temporaries) => {
        fn remove_temporaries(&self) -> $crate::store::BoxFuture<'_, $crate::store::Result<usize>> {
            self.$inner.remove_temporaries()
        }
    };
}
pub(crate) use forward_to_inner;

/// A chunk as listed by the store.
#[derive(Debug, Clone)]
pub struct StoredChunk {
    pub id: ChunkId,
    pub size: u64,
    pub modified: std::time::SystemTime,
}
