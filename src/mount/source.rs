//! What the mount shows: the store's versions and tags as a catalog,
//! reloaded (reading only new manifests) when older than the refresh period.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use tokio::runtime::Handle as Runtime;

use super::catalog::Catalog;
use super::fs::log;
use crate::snapshot::{Manifest, SnapshotError};
use crate::store::{Store, VersionId};

/// Manifests read from the store at once when new versions appear.
const MANIFEST_PARALLELISM: usize = 16;

/// The store's versions and tags, reloaded when older than `refresh`.
pub struct Source {
    store: Arc<Store>,
    refresh: Duration,
    current: RwLock<(Arc<Catalog>, Instant)>,
    reloading: Mutex<()>,
}

impl Source {
    pub async fn load(store: Arc<Store>, refresh: Duration) -> Result<Source, SnapshotError> {
        let catalog = load_catalog(&store, &Catalog::default()).await?;
        Ok(Source {
            store,
            refresh,
            current: RwLock::new((Arc::new(catalog), Instant::now())),
            reloading: Mutex::new(()),
        })
    }

    /// Versions and branches, as last loaded.
    pub fn counts(&self) -> (usize, usize) {
        let catalog = self.snapshot().0;
        (catalog.versions.len(), catalog.branches.len())
    }

    pub(super) fn snapshot(&self) -> (Arc<Catalog>, Instant) {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        (guard.0.clone(), guard.1)
    }

    /// The catalog, reloaded first when stale (one reload at a time; others
    /// keep using the previous one meanwhile).
    pub(super) fn catalog(&self, rt: &Runtime) -> Arc<Catalog> {
        let (catalog, loaded) = self.snapshot();
        if loaded.elapsed() < self.refresh {
            return catalog;
        }
        let Ok(_reloading) = self.reloading.try_lock() else {
            return catalog;
        };
        match rt.block_on(load_catalog(&self.store, &catalog)) {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) =
                    (fresh.clone(), Instant::now());
                fresh
            }
            Err(e) => {
                log(&format!("cannot refresh the list of versions: {e}"));
                *self.current.write().unwrap_or_else(|p| p.into_inner()) =
                    (catalog.clone(), Instant::now());
                catalog
            }
        }
    }
}

/// Lists the store and reads only the manifests `previous` does not hold.
async fn load_catalog(store: &Store, previous: &Catalog) -> Result<Catalog, SnapshotError> {
    let ids = store.list_versions().await?;
    let mut versions: HashMap<VersionId, Arc<Manifest>> = HashMap::new();
    let mut missing = Vec::new();
    for id in ids {
        match previous.versions.get(&id) {
            Some(m) => {
                versions.insert(id, m.clone());
            }
            None => missing.push(id),
        }
    }
    let loaded: Vec<_> = stream::iter(missing.into_iter().map(|id| async move {
        let parsed = match store.get_version_bytes(id).await {
            Ok(bytes) => Manifest::from_bytes(&bytes).map_err(|e| format!("unreadable: {e}")),
            Err(e) => Err(e.to_string()),
        };
        (id, parsed)
    }))
    .buffer_unordered(MANIFEST_PARALLELISM)
    .collect()
    .await;
    for (id, parsed) in loaded {
        match parsed {
            Ok(m) => {
                versions.insert(id, Arc::new(m));
            }
            // One damaged manifest hides one version, not the whole store.
            Err(e) => log(&format!("skipping version {}: {e}", id.short())),
        }
    }
    let tags = match store.tags().await {
        Ok(tags) => tags,
        Err(e) => {
            log(&format!("cannot read tags: {e}"));
            Vec::new()
        }
    };
    Ok(Catalog::build(versions, tags))
}
