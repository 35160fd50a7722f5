//! A fault-injecting store, for the fault-injection tests: with
//! `ARGON_FAULT_STORE=<operation>:<n>` the store wraps its backend so that
//! after `n` successful calls of that operation every later one fails, as a
//! disk or a bucket that gives out in the middle of a save would. Operations:
//! `put-chunk`, `put-version`, `put-ref`, `get-chunk`, `delete`. Unset, the
//! backend is used as it is. Not a user setting (README: test-only).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::forward_to_inner;
use super::{Backend, BoxFuture, ChunkId, ObjectKey, Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    PutChunk,
    PutVersion,
    PutRef,
    GetChunk,
    Delete,
}

impl Operation {
    fn parse(name: &str) -> Option<Operation> {
        Some(match name {
            "put-chunk" => Operation::PutChunk,
            "put-version" => Operation::PutVersion,
            "put-ref" => Operation::PutRef,
            "get-chunk" => Operation::GetChunk,
            "delete" => Operation::Delete,
            _ => return None,
        })
    }

    fn of_put(key: &ObjectKey) -> Option<Operation> {
        match key {
            ObjectKey::Chunk(_) => Some(Operation::PutChunk),
            ObjectKey::Version(_) => Some(Operation::PutVersion),
            ObjectKey::Ref(_) => Some(Operation::PutRef),
            _ => None,
        }
    }
}

/// `inner`, or `inner` behind the injector `ARGON_FAULT_STORE` asks for.
pub fn from_env(inner: Arc<dyn Backend>) -> Arc<dyn Backend> {
    let Ok(spec) = std::env::var("ARGON_FAULT_STORE") else {
        return inner;
    };
    match parse(&spec) {
        Some((operation, allowed)) => Arc::new(FaultyBackend {
            inner,
            operation,
            allowed,
            calls: AtomicU64::new(0),
        }),
        None => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "warning: ignoring ARGON_FAULT_STORE='{spec}': expected OPERATION:N"
            );
            inner
        }
    }
}

fn parse(spec: &str) -> Option<(Operation, u64)> {
    let (op, n) = spec.split_once(':')?;
    Some((Operation::parse(op)?, n.parse().ok()?))
}

struct FaultyBackend {
    inner: Arc<dyn Backend>,
    operation: Operation,
    /// Calls of `operation` that succeed before every later one fails.
    allowed: u64,
    calls: AtomicU64,
}

impl FaultyBackend {
    /// Counts a call of `operation`: Err once past the allowance.
    fn call(&self, operation: Option<Operation>, key: &ObjectKey) -> Result<()> {
        if operation != Some(self.operation) {
            return Ok(());
        }
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.allowed {
            return Ok(());
        }
        Err(StoreError::Io {
            op: "writing",
            key: key.to_string(),
            source: std::io::Error::other("injected fault (ARGON_FAULT_STORE)"),
        })
    }
}

impl Backend for FaultyBackend {
    forward_to_inner!(
        inner: exists,
        list_versions,
        list_tags,
        list_folder,
        check,
        list_chunks,
        remove_temporaries,
    );
    fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.call(Operation::of_put(&key), &key)?;
            self.inner.put_bytes(key, bytes).await
        })
    }

    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(async move {
            let op = matches!(key, ObjectKey::Chunk(_)).then_some(Operation::GetChunk);
            self.call(op, &key)?;
            self.inner.get_bytes(key).await
        })
    }

    fn delete(&self, key: ObjectKey) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.call(Some(Operation::Delete), &key)?;
            self.inner.delete(key).await
        })
    }

    /// Each chunk counts as one delete: those within the allowance are
    /// deleted, then the first one past it fails.
    fn delete_chunks(&self, ids: Vec<ChunkId>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            for (n, id) in ids.iter().enumerate() {
                if let Err(e) = self.call(Some(Operation::Delete), &ObjectKey::Chunk(*id)) {
                    self.inner.delete_chunks(ids[..n].to_vec()).await?;
                    return Err(e);
                }
            }
            self.inner.delete_chunks(ids).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ChunkId, Hash, MemoryBackend};

    #[tokio::test]
    async fn fails_every_call_past_the_allowance_and_nothing_else() {
        let store = FaultyBackend {
            inner: Arc::new(MemoryBackend::new()),
            operation: Operation::PutChunk,
            allowed: 2,
            calls: AtomicU64::new(0),
        };
        let chunk = |i: u8| ObjectKey::Chunk(ChunkId(Hash::of(&[i])));
        assert!(store.put_bytes(chunk(1), vec![1]).await.is_ok());
        assert!(store.put_bytes(chunk(2), vec![2]).await.is_ok());
        assert!(store.put_bytes(chunk(3), vec![3]).await.is_err());
        assert!(store.put_bytes(chunk(4), vec![4]).await.is_err());
        assert!(store.exists(chunk(2)).await.unwrap());
        assert!(!store.exists(chunk(3)).await.unwrap());
        assert!(store
            .put_bytes(ObjectKey::Tag("t".into()), vec![])
            .await
            .is_ok());
        assert_eq!(parse("put-version:0"), Some((Operation::PutVersion, 0)));
        assert_eq!(parse("put-chunk"), None);
        assert_eq!(parse("explode:1"), None);
    }
}
