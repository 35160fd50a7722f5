//! Retention: tags that pin versions, and `argon gc`, which deletes versions
//! that expired under an explicit policy and chunks no kept version uses —
//! never a chunk younger than a grace period, which a save in progress (here
//! or on another machine sharing the store) may be about to reference.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use chrono::Utc;
use serde::Serialize;

use super::names::BranchName;
use super::{BranchState, Error, Project, Result, VersionInfo};
use crate::snapshot::Manifest;
use crate::store::{Backend, ChunkId, ObjectKey, VersionId};

/// Default age below which an unreferenced chunk is never deleted.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct GcOptions {
    pub dry_run: bool,
    /// Keep the newest N unreferenced versions of each branch name.
    pub keep_last: Option<usize>,
    /// Keep unreferenced versions younger than this.
    pub keep_within: Option<Duration>,
    pub grace: Duration,
}

#[derive(Debug, Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    pub kept_versions: usize,
    pub deleted_versions: Vec<VersionInfo>,
    pub deleted_chunks: usize,
    pub freed_bytes: u64,
    /// Unreferenced chunks kept because they are younger than the grace period.
    pub young_chunks: usize,
}

#[derive(Debug, Serialize)]
pub struct LocalGcReport {
    pub dry_run: bool,
    /// Branches whose local volume was (or would be) removed; their data is in the store.
    pub evicted: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct TagInfo {
    pub name: String,
    pub version: String,
}

impl Project {
    pub fn tags(&self) -> Result<Vec<TagInfo>> {
        Ok(self
            .meta
            .tags(self.row.id)?
            .into_iter()
            .map(|(name, v)| TagInfo {
                name,
                version: v.to_string(),
            })
            .collect())
    }

    /// Tags live in the store (shared with every machine using it, so a gc
    /// anywhere keeps them) and in the local index.
    pub async fn tag(&mut self, name: &str, rev: Option<&str>) -> Result<TagInfo> {
        let name = BranchName::parse(name)
            .map_err(|e| Error::InvalidName(e.replace("branch name", "tag name")))?;
        let version = self.resolve(rev.unwrap_or("HEAD"))?;
        let store = self.store().await?;
        let local = self.meta.tags(self.row.id)?;
        if local.iter().any(|(n, _)| n == name.as_str())
            || store.exists(ObjectKey::Tag(name.to_string())).await?
        {
            return Err(Error::TagExists(name.to_string()));
        }
        store.put_tag(name.as_str(), version).await?;
        self.meta.add_tag(self.row.id, name.as_str(), version)?;
        Ok(TagInfo {
            name: name.to_string(),
            version: version.to_string(),
        })
    }

    pub async fn delete_tag(&mut self, name: &str) -> Result<()> {
        let store = self.store().await?;
        let key = ObjectKey::Tag(name.to_string());
        let in_store = BranchName::parse(name).is_ok() && store.exists(key.clone()).await?;
        if in_store {
            store.delete(key).await?;
        }
        if !self.meta.delete_tag(self.row.id, name)? && !in_store {
            return Err(Error::NoTag(name.to_string()));
        }
        Ok(())
    }

    /// `argon gc`: versions reachable from a branch or a tag are always kept;
    /// other versions this machine knows (of deleted branches, or left by a
    /// reset) expire only under --keep-last / --keep-within; versions it never
    /// fetched are kept. Then chunks no kept version uses are deleted.
    pub async fn gc(&mut self, opts: &GcOptions) -> Result<GcReport> {
        let store = self.store().await?;
        let mut manifests: HashMap<VersionId, Manifest> = HashMap::new();
        for id in store.list_versions().await? {
            manifests.insert(id, self.manifest(id).await?);
        }
        let mut protected: HashSet<VersionId> = HashSet::new();
        let mut starts: Vec<VersionId> = self
            .meta
            .branches(self.row.id)?
            .iter()
            .filter_map(|b| b.head_version)
            .collect();
        // Tags made on any machine sharing the store, and this one's.
        starts.extend(store.tags().await?.into_iter().map(|t| t.1));
        starts.extend(self.meta.tags(self.row.id)?.into_iter().map(|t| t.1));
        for start in starts {
            let mut next = Some(start);
            while let Some(id) = next {
                if !protected.insert(id) {
                    break;
                }
                next = manifests.get(&id).and_then(|m| m.parent);
            }
        }
        let known = self.known_version_ids()?;
        let now = Utc::now();
        let mut by_branch: BTreeMap<String, Vec<(&VersionId, &Manifest)>> = BTreeMap::new();
        for (id, m) in &manifests {
            if !protected.contains(id) && known.contains(id) {
                by_branch.entry(m.branch.clone()).or_default().push((id, m));
            }
        }
        let policy = opts.keep_last.is_some() || opts.keep_within.is_some();
        let mut expired: Vec<VersionId> = Vec::new();
        for versions in by_branch.values_mut() {
            versions.sort_by_key(|v| std::cmp::Reverse(v.1.created_at));
            for (i, (id, m)) in versions.iter().enumerate() {
                let recent = opts.keep_within.is_some_and(|d| {
                    (now - m.created_at)
                        .to_std()
                        .map(|age| age <= d)
                        .unwrap_or(true)
                });
                let among_last = opts.keep_last.is_some_and(|n| i < n);
                if policy && !recent && !among_last {
                    expired.push(**id);
                }
            }
        }
        let expired_set: HashSet<VersionId> = expired.iter().copied().collect();
        let referenced: HashSet<ChunkId> = manifests
            .iter()
            .filter(|(id, _)| !expired_set.contains(id))
            .flat_map(|(_, m)| m.chunk_ids())
            .collect();
        let cutoff = SystemTime::now()
            .checked_sub(opts.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let (mut doomed, mut young) = (Vec::new(), 0);
        for c in store.list_chunks().await? {
            if referenced.contains(&c.id) {
                continue;
            }
            if c.modified > cutoff {
                young += 1;
            } else {
                doomed.push(c);
            }
        }
        let mut deleted_versions = Vec::new();
        for id in &expired {
            deleted_versions.push(VersionInfo::from(&super::version_row_of(
                *id,
                &manifests[id],
            )));
        }
        deleted_versions.sort_by_key(|v| std::cmp::Reverse(v.created_at));
        if !opts.dry_run {
            // Manifests first: a crash in between leaves unreferenced chunks, never a broken version.
            for id in &expired {
                store.delete(ObjectKey::Version(*id)).await?;
                self.meta.delete_version(self.row.id, *id)?;
            }
            for c in &doomed {
                store.delete(ObjectKey::Chunk(c.id)).await?;
            }
        }
        Ok(GcReport {
            dry_run: opts.dry_run,
            kept_versions: manifests.len() - expired.len(),
            deleted_versions,
            deleted_chunks: doomed.len(),
            freed_bytes: doomed.iter().map(|c| c.size).sum(),
            young_chunks: young,
        })
    }

    /// `argon gc --local`: removes the local volumes of stopped branches other
    /// than HEAD; their data is their latest version, saved when they stopped.
    pub async fn gc_local(&mut self, dry_run: bool) -> Result<LocalGcReport> {
        let mut evicted = Vec::new();
        for b in self.meta.branches(self.row.id)? {
            let is_head = self.row.head.as_deref() == Some(b.name.as_str());
            let Some(volume) = b.volume.clone() else {
                continue;
            };
            if is_head
                || b.head_version.is_none()
                || self.branch_state(&b).await? != BranchState::Stashed
            {
                continue;
            }
            if !dry_run {
                // Left on the counters' word: read it all before letting go.
                self.ensure_saved(&b, "gc --local: last state").await?;
                self.runtime().await?.remove_volume(&volume).await?;
                self.meta.set_branch_volume(self.row.id, &b.name, None)?;
            }
            evicted.push(b.name);
        }
        Ok(LocalGcReport { dry_run, evicted })
    }
}
