//! Read-only views: `log`, `branch` (list), `status`, `stash list`.

use super::{BranchInfo, BranchState, Project, Result, StatusReport, VersionInfo};
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

    pub async fn branches(&mut self) -> Result<Vec<BranchInfo>> {
        let rows = self.meta.branches()?;
        let pending: Vec<String> = self
            .meta
            .pending_saves()?
            .into_iter()
            .map(|p| p.branch)
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for b in rows {
            let state = self.branch_state(&b).await?;
            let latest = b.head_version.map(|v| self.version_row(v)).transpose()?;
            out.push(BranchInfo {
                head: self.row.head.as_deref() == Some(b.name.as_str()),
                state,
                versions: self.history_len(b.head_version)?,
                bytes: latest.as_ref().map(|v| v.bytes).unwrap_or(0),
                latest: latest.map(|v| v.id.to_string()),
                saving: pending.contains(&b.name),
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
