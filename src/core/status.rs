//! Read-only views: `log`, `branch` (list), `status`, `stash list`.

use std::collections::HashMap;

use super::{BranchInfo, BranchState, Project, Result, StatusReport, VersionInfo};
use crate::meta::VersionRow;
use crate::runtime::{self, ContainerState};
use crate::store::VersionId;

impl Project {
    /// Versions reachable from `rev` (default HEAD), newest first.
    pub fn log(&self, rev: Option<&str>, limit: Option<usize>) -> Result<Vec<VersionInfo>> {
        let start = match rev {
            Some(r) => Some(self.resolve(r)?),
            None => self.head_branch()?.head_version,
        };
        let mut out = Vec::new();
        let mut next = start;
        while let Some(id) = next {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let v = self.version_row(id)?;
            next = v.parent;
            out.push(VersionInfo::from(&v));
        }
        Ok(out)
    }

    /// Every version of the project, newest first (including ones no branch reaches).
    pub fn log_all(&self) -> Result<Vec<VersionInfo>> {
        Ok(self
            .meta
            .versions()?
            .iter()
            .map(VersionInfo::from)
            .collect())
    }

    pub(super) fn history_len(&self, mut next: Option<VersionId>) -> Result<u32> {
        let mut n = 0;
        while let Some(id) = next {
            n += 1;
            next = self.meta.version(id)?.and_then(|v| v.parent);
        }
        Ok(n)
    }

    pub fn branch_names(&self) -> Result<Vec<String>> {
        Ok(self.meta.branches()?.into_iter().map(|b| b.name).collect())
    }

    /// Every branch as `argon branch` lists it: one listing of the
    /// project's containers and one read of the versions, however many
    /// branches and versions there are (the dashboard polls this).
    /// Bytes each branch's data takes on disk, by branch name (a branch
    /// without a volume, or one that could not be measured, is absent). A
    /// helper container walks the volumes: about a second, so callers that
    /// show it often keep it for a while.
    pub async fn disk_usage(&mut self) -> Result<HashMap<String, u64>> {
        let mut branches = HashMap::new();
        for b in self.meta.branches()? {
            if let Some(volume) = b.volume {
                branches.insert(volume, b.name);
            }
        }
        let volumes: Vec<String> = branches.keys().cloned().collect();
        let helper = self.objects().measurer();
        let labels = self.objects().labels("", runtime::Role::Measure);
        let image = self.config.engine.image.clone();
        let sizes = self
            .runtime()
            .await?
            .data_sizes(&helper, &image, &volumes, labels)
            .await?;
        Ok(sizes
            .into_iter()
            .filter_map(|(volume, bytes)| Some((branches.remove(&volume)?, bytes)))
            .collect())
    }

    pub async fn branches(&mut self) -> Result<Vec<BranchInfo>> {
        let rows = self.meta.branches()?;
        let pending: Vec<String> = self
            .meta
            .pending_saves()?
            .into_iter()
            .map(|p| p.branch)
            .collect();
        let engines: HashMap<String, ContainerState> = self
            .runtime()
            .await?
            .list_engines(runtime::LABEL_PROJECT, &self.row.key, false)
            .await?
            .into_iter()
            .filter_map(|c| Some((c.name, c.state?)))
            .collect();
        let versions: HashMap<VersionId, VersionRow> = self
            .meta
            .versions()?
            .into_iter()
            .map(|v| (v.id, v))
            .collect();
        let mut depths = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for b in rows {
            let head = self.row.head.as_deref() == Some(b.name.as_str());
            let engine = engines.get(&self.objects().engine(&b.uid)).copied();
            let latest = b.head_version.and_then(|v| versions.get(&v));
            out.push(BranchInfo {
                head,
                state: BranchState::of(engine, head, b.volume.is_some()),
                versions: history_depth(b.head_version, &versions, &mut depths),
                bytes: latest.map(|v| v.bytes).unwrap_or(0),
                latest: latest.map(|v| v.id.to_string()),
                saving: pending.contains(&b.name),
                disk_bytes: None,
                name: b.name,
            });
        }
        Ok(out)
    }

    pub async fn status(&mut self) -> Result<StatusReport> {
        let started = self.repair_proxy_if_down().await;
        let head = match &self.row.head {
            Some(h) => self.meta.branch(h)?,
            None => None,
        };
        let (state, latest, changed) = match &head {
            Some(b) => {
                let state = self.branch_state(b).await?;
                let latest = b
                    .head_version
                    .map(|v| self.version_row(v))
                    .transpose()?
                    .as_ref()
                    .map(VersionInfo::from);
                let changed = self.head_changed(b, state == BranchState::Running).await;
                (Some(state), latest, changed)
            }
            None => (None, None, None),
        };
        Ok(StatusReport {
            project: self.config.name.to_string(),
            head: head.map(|b| b.name),
            state,
            uri: self.uri_shown(),
            port: self.config.serve_port,
            latest_version: latest,
            changed,
            image: self.config.engine.image.clone(),
            store: self.config.store.url.to_string(),
            proxy: self.proxy_info(started).await,
            pending_saves: self.pending_saves()?,
        })
    }

    pub async fn stash_list(&mut self) -> Result<Vec<BranchInfo>> {
        Ok(self
            .branches()
            .await?
            .into_iter()
            .filter(|b| matches!(b.state, BranchState::Stashed | BranchState::Warm))
            .collect())
    }
}

/// How many versions lead to `head` (itself included), from `versions`,
/// remembering in `depths` the depth of every version it passes.
fn history_depth(
    head: Option<VersionId>,
    versions: &HashMap<VersionId, VersionRow>,
    depths: &mut HashMap<VersionId, u32>,
) -> u32 {
    let mut path = Vec::new();
    let mut next = head;
    let mut base = 0;
    while let Some(id) = next {
        if let Some(d) = depths.get(&id) {
            base = *d;
            break;
        }
        path.push(id);
        // A version the index does not hold counts, and ends the history
        // (as `history_len` has it).
        next = versions.get(&id).and_then(|v| v.parent);
    }
    for id in path.into_iter().rev() {
        base += 1;
        depths.insert(id, base);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Hash;

    fn row(name: &str, parent: Option<VersionId>) -> VersionRow {
        VersionRow {
            id: VersionId(Hash::of(name.as_bytes())),
            branch: "main".into(),
            parent,
            created_at: chrono::Utc::now(),
            message: name.into(),
            capture: "offline".into(),
            bytes: 0,
            collections: 0,
        }
    }

    #[test]
    fn history_depth_counts_each_chain_once_and_agrees_on_shared_parents() {
        let a = row("a", None);
        let b = row("b", Some(a.id));
        let c = row("c", Some(b.id));
        let fork = row("fork", Some(a.id));
        let missing = VersionId(Hash::of(b"not indexed"));
        let orphan = row("orphan", Some(missing));
        let versions: HashMap<VersionId, VersionRow> = [&a, &b, &c, &fork, &orphan]
            .into_iter()
            .map(|v| (v.id, v.clone()))
            .collect();
        let mut depths = HashMap::new();
        assert_eq!(history_depth(Some(c.id), &versions, &mut depths), 3);
        assert_eq!(history_depth(Some(fork.id), &versions, &mut depths), 2);
        assert_eq!(history_depth(Some(b.id), &versions, &mut depths), 2);
        assert_eq!(history_depth(None, &versions, &mut depths), 0);
        // An unindexed parent counts once and ends the history.
        assert_eq!(history_depth(Some(orphan.id), &versions, &mut depths), 2);
    }
}
