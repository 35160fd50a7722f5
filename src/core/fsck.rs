//! `argon fsck`: checks that every version in the store is whole — its
//! manifest reads and hashes to its id, every chunk it references is present,
//! and (with --read-data) every chunk decompresses to the bytes its id names.
//! All findings are collected, not just the first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures_util::StreamExt;
use serde::Serialize;

use super::{Error, Project, Result};
use crate::snapshot::{ChunkRef, Manifest};
use crate::store::chunks::fetch_chunk;
use crate::store::{ChunkId, ObjectKey, StoreError, VersionId};

/// Chunk checks in flight at once.
const CHECK_PARALLEL: usize = 16;

#[derive(Debug, Serialize)]
pub struct DamagedVersion {
    pub id: String,
    pub branch: Option<String>,
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct FsckReport {
    pub store: String,
    pub read_data: bool,
    pub versions: usize,
    pub chunks: usize,
    pub damaged: Vec<DamagedVersion>,
}

impl Project {
    pub async fn fsck(&mut self, read_data: bool) -> Result<FsckReport> {
        let store = self.store().await?;
        let mut problems: BTreeMap<VersionId, Vec<String>> = BTreeMap::new();
        let mut branch_of: HashMap<VersionId, String> = HashMap::new();
        let in_store: BTreeSet<VersionId> = store.list_versions().await?.into_iter().collect();
        for v in self.meta.versions()? {
            branch_of.insert(v.id, v.branch.clone());
            if !in_store.contains(&v.id) {
                problems
                    .entry(v.id)
                    .or_default()
                    .push("its manifest is missing from the store".into());
            }
        }
        // Which versions use each chunk, so a bad chunk names every version it damages.
        let mut users: HashMap<ChunkId, (ChunkRef, Vec<VersionId>)> = HashMap::new();
        for &id in &in_store {
            let manifest = match store.get_version_bytes(id).await {
                Ok(bytes) => Manifest::from_bytes(&bytes)
                    .map_err(|e| format!("its manifest is unreadable: {e}")),
                Err(e) => Err(e.to_string()),
            };
            match manifest {
                Ok(m) => {
                    branch_of.entry(id).or_insert(m.branch.clone());
                    for c in m.collections() {
                        for r in &c.chunks {
                            let entry = users.entry(r.0).or_insert((*r, Vec::new()));
                            if entry.1.last() != Some(&id) {
                                entry.1.push(id);
                            }
                        }
                    }
                }
                Err(problem) => problems.entry(id).or_default().push(problem),
            }
        }
        let checks = futures_util::stream::iter(users.values().map(|(r, _)| *r))
            .map(|r| {
                let store = store.clone();
                async move {
                    let key = ObjectKey::Chunk(r.0);
                    let outcome = if read_data {
                        match fetch_chunk(&store, r).await {
                            Ok(_) => Ok(()),
                            Err(StoreError::NotFound { .. }) => Err(format!("{key} is missing")),
                            Err(StoreError::Corrupt { .. }) => Err(format!("{key} is corrupt")),
                            Err(e) => return Err(Error::from(e)),
                        }
                    } else {
                        match store.exists(key.clone()).await? {
                            true => Ok(()),
                            false => Err(format!("{key} is missing")),
                        }
                    };
                    Ok((r.0, outcome))
                }
            })
            .buffer_unordered(CHECK_PARALLEL)
            .collect::<Vec<_>>()
            .await;
        for check in checks {
            let (chunk, outcome) = check?;
            if let Err(problem) = outcome {
                for v in users.get(&chunk).map(|u| u.1.clone()).unwrap_or_default() {
                    problems.entry(v).or_default().push(problem.clone());
                }
            }
        }
        let damaged = problems
            .into_iter()
            .map(|(id, mut problems)| {
                problems.sort();
                problems.dedup();
                DamagedVersion {
                    id: id.to_string(),
                    branch: branch_of.get(&id).cloned(),
                    problems,
                }
            })
            .collect();
        Ok(FsckReport {
            store: self.config.store.url.to_string(),
            read_data,
            versions: in_store.len(),
            chunks: users.len(),
            damaged,
        })
    }
}
