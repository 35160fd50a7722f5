//! Retention: tags that pin versions, and `argon gc`, which deletes versions
//! that expired under an explicit policy and chunks no kept version uses.
//! Chunks go in two phases (`store::shared`): unreferenced chunks older than
//! the grace period are marked; a mark older than the grace period is swept
//! under gc's exclusive lock, which waits out every save in progress here or
//! on another machine sharing the store. Every machine's published branch
//! heads (refs) are kept, not only this machine's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use chrono::Utc;
use serde::Serialize;

use super::{BranchState, Error, Project, Result, VersionInfo};
use crate::names::BranchName;
use crate::snapshot::Manifest;
use crate::store::shared::Mark;
use crate::store::{ChunkId, ObjectKey, VersionId};

/// Marks at least `margin` old.
fn due_marks(marks: &[(String, Mark)], margin: Duration) -> Vec<(String, Mark)> {
    let now = Utc::now();
    marks
        .iter()
        .filter(|(_, m)| {
            (now - m.marked_at).to_std().is_ok_and(|age| age >= margin) || margin.is_zero()
        })
        .cloned()
        .collect()
}

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
    /// Chunks swept now (marked by this or an earlier gc at least the grace period ago).
    pub deleted_chunks: usize,
    pub freed_bytes: u64,
    /// Unreferenced chunks marked now; a gc after the grace period deletes them.
    pub marked_chunks: usize,
    /// Unreferenced chunks kept because they are younger than the grace period.
    pub young_chunks: usize,
    /// Why due marks were not swept (a save or another gc holds the store).
    pub sweep_deferred: Option<String>,
}

/// What a gc will do (see `Project::gc_plan`).
pub struct GcPlan {
    /// The report of the plan: what a run now would delete.
    pub report: GcReport,
    manifests: HashMap<VersionId, Manifest>,
    expired: Vec<VersionId>,
    doomed: Vec<ChunkId>,
    grace: Duration,
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
            .tags()?
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
        let local = self.meta.tags()?;
        if local.iter().any(|(n, _)| n == name.as_str())
            || store.exists(ObjectKey::Tag(name.to_string())).await?
        {
            return Err(Error::TagExists(name.to_string()));
        }
        store.put_tag(name.as_str(), version).await?;
        self.meta.add_tag(name.as_str(), version)?;
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
        if !self.meta.delete_tag(name)? && !in_store {
            return Err(Error::NoTag(name.to_string()));
        }
        Ok(())
    }

    /// `argon gc`: versions reachable from a branch or a tag are always kept;
    /// other versions this machine knows (of deleted branches, or left by a
    /// reset) expire only under --keep-last / --keep-within; versions it never
    /// fetched are kept. Then chunks no kept version uses are deleted.
    pub async fn gc(&mut self, opts: &GcOptions) -> Result<GcReport> {
        let plan = self.gc_plan(opts).await?;
        if opts.dry_run {
            return Ok(plan.report);
        }
        self.gc_execute(plan).await
    }

    /// What `gc` would do, read from the store without changing anything:
    /// the versions that expire, the chunks to mark, and what a sweep now
    /// would delete. The dry run reports it; `gc_execute` carries it out.
    pub async fn gc_plan(&mut self, opts: &GcOptions) -> Result<GcPlan> {
        let store = self.store().await?;
        let mut manifests: HashMap<VersionId, Manifest> = HashMap::new();
        for id in store.list_versions().await? {
            manifests.insert(id, self.manifest(id).await?);
        }
        let mut protected: HashSet<VersionId> = HashSet::new();
        let mut starts: Vec<VersionId> = self
            .meta
            .branches()?
            .iter()
            .filter_map(|b| b.head_version)
            .collect();
        // Branch heads and tags of every machine sharing the store, and this one's.
        starts.extend(store.refs().await?.into_iter().map(|r| r.version));
        starts.extend(store.tags().await?.into_iter().map(|t| t.1));
        starts.extend(self.meta.tags()?.into_iter().map(|t| t.1));
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
        let listed = store.list_chunks().await?;
        let (mut doomed, mut young) = (Vec::new(), 0);
        for c in &listed {
            if referenced.contains(&c.id) {
                continue;
            }
            if c.modified > cutoff {
                young += 1;
            } else {
                doomed.push(c.id);
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
        let mut report = GcReport {
            dry_run: opts.dry_run,
            kept_versions: manifests.len() - expired.len(),
            deleted_versions,
            deleted_chunks: 0,
            freed_bytes: 0,
            marked_chunks: 0,
            young_chunks: young,
            sweep_deferred: None,
        };
        let marks = store.marks().await?;
        let already: HashSet<ChunkId> = marks.iter().flat_map(|(_, m)| m.chunks.clone()).collect();
        doomed.retain(|c| !already.contains(c));
        report.marked_chunks = doomed.len();
        // What a sweep now would take: due marks, and what this run would mark at once.
        let sizes: HashMap<ChunkId, u64> = listed.iter().map(|c| (c.id, c.size)).collect();
        let due = due_marks(&marks, opts.grace);
        let mut sweep: HashSet<ChunkId> = due
            .iter()
            .flat_map(|(_, m)| m.chunks.iter().copied())
            .filter(|c| !referenced.contains(c) && sizes.contains_key(c))
            .collect();
        if opts.grace.is_zero() {
            sweep.extend(doomed.iter().copied());
        }
        report.deleted_chunks = sweep.len();
        report.freed_bytes = sweep.iter().filter_map(|c| sizes.get(c)).sum();
        Ok(GcPlan {
            report,
            manifests,
            expired,
            doomed,
            grace: opts.grace,
        })
    }

    /// Carries out a plan: expired manifests first (a crash in between leaves
    /// unreferenced chunks, never a broken version), then a mark of the
    /// unreferenced chunks, then a sweep of marks older than the grace period.
    pub async fn gc_execute(&mut self, plan: GcPlan) -> Result<GcReport> {
        let GcPlan {
            mut report,
            manifests,
            expired,
            doomed,
            grace,
        } = plan;
        let store = self.store().await?;
        report.dry_run = false;
        report.deleted_chunks = 0;
        report.freed_bytes = 0;
        for id in &expired {
            store.delete(ObjectKey::Version(*id)).await?;
            self.meta.delete_version(*id)?;
        }
        if !doomed.is_empty() {
            store.put_mark(doomed).await?;
        }
        self.sweep(grace, &manifests, &mut report).await?;
        Ok(report)
    }

    /// Deletes the chunks of marks older than `margin` that are still
    /// unreferenced and were not written again since they were marked, under
    /// gc's exclusive lock; references are recomputed under the lock, so a
    /// version saved meanwhile keeps what it uses. `known` holds manifests
    /// already read by this gc: only versions written since are fetched.
    async fn sweep(
        &mut self,
        margin: Duration,
        known: &HashMap<VersionId, Manifest>,
        report: &mut GcReport,
    ) -> Result<()> {
        let store = self.store().await?;
        let marks = store.marks().await?;
        let due = due_marks(&marks, margin);
        if due.is_empty() {
            return Ok(());
        }
        let lock = match store.take_gc_lock(&self.machine).await? {
            Ok(lock) => lock,
            Err(holders) => {
                let names: Vec<String> = holders.iter().map(|h| h.describe()).collect();
                report.sweep_deferred = Some(names.join(", "));
                return Ok(());
            }
        };
        crate::fault::point("gc:locked").await;
        let result = async {
            let mut referenced: HashSet<ChunkId> = HashSet::new();
            for id in store.list_versions().await? {
                match known.get(&id) {
                    Some(m) => referenced.extend(m.chunk_ids()),
                    None => referenced.extend(self.manifest(id).await?.chunk_ids()),
                }
            }
            let listed: HashMap<ChunkId, (u64, SystemTime)> = store
                .list_chunks()
                .await?
                .into_iter()
                .map(|c| (c.id, (c.size, c.modified)))
                .collect();
            let mut doomed = HashMap::new();
            for (_, mark) in &due {
                let marked_at = SystemTime::from(mark.marked_at);
                for c in &mark.chunks {
                    let Some((size, modified)) = listed.get(c) else {
                        continue;
                    };
                    // Written again after the mark: a save is using it.
                    if referenced.contains(c) || *modified > marked_at {
                        continue;
                    }
                    doomed.insert(*c, *size);
                }
            }
            // All at once: a local store rewrites each of its packs once.
            store
                .delete_chunks(doomed.keys().copied().collect())
                .await?;
            report.deleted_chunks += doomed.len();
            report.freed_bytes += doomed.values().sum::<u64>();
            for (name, _) in &due {
                store.delete(ObjectKey::Mark(name.clone())).await?;
            }
            Ok::<_, Error>(())
        }
        .await;
        lock.release().await;
        result
    }

    /// `argon gc --local`: removes the local volumes (and the engines of warm
    /// ones) of branches other than HEAD; their data is their latest
    /// version, saved when they were left (and read in full first when only
    /// the engine's counters vouched for it).
    pub async fn gc_local(&mut self, dry_run: bool) -> Result<LocalGcReport> {
        let mut evicted = Vec::new();
        for b in self.meta.branches()? {
            let is_head = self.row.head.as_deref() == Some(b.name.as_str());
            let Some(volume) = b.volume.clone() else {
                continue;
            };
            let state = self.branch_state(&b).await?;
            if is_head
                || b.head_version.is_none()
                || !matches!(state, BranchState::Stashed | BranchState::Warm)
            {
                continue;
            }
            if !dry_run {
                if state == BranchState::Warm {
                    // Its engine goes first: the volume is read, then removed.
                    self.cool_warm(&b).await?;
                }
                let b = self.branch(&b.name)?;
                // Left on the counters' word: read it all before letting go.
                self.ensure_saved(&b, "gc --local: last state").await?;
                self.runtime().await?.remove_data(&volume).await?;
                self.meta.set_branch_volume(&b.name, None)?;
            }
            evicted.push(b.name);
        }
        Ok(LocalGcReport { dry_run, evicted })
    }
}
