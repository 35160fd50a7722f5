//! Branch pointers: `branch NAME [REV]`, `branch -m`, `branch -d`.

use chrono::Utc;

use super::{random_uid, BranchInfo, BranchState, DeleteReport, Error, Project, Result};
use crate::meta::BranchRow;
use crate::names::BranchName;
use crate::store::VersionId;

impl Project {
    pub(super) fn new_branch_row(
        &self,
        name: &BranchName,
        from: Option<VersionId>,
    ) -> Result<BranchRow> {
        if self.meta.branch(name.as_str())?.is_some() {
            return Err(Error::BranchExists(name.to_string()));
        }
        Ok(BranchRow {
            name: name.to_string(),
            uid: random_uid(),
            head_version: from,
            volume: None,
            created_at: Utc::now(),
            clean: None,
        })
    }

    /// `argon branch NAME [REV]`: a pointer to a version; no container until checkout.
    pub async fn create_branch(&mut self, name: &str, rev: Option<&str>) -> Result<BranchInfo> {
        let name = BranchName::parse(name).map_err(Error::InvalidName)?;
        let from = match rev {
            Some(r) => Some(self.resolve(r)?),
            None => Some(self.resolve("HEAD")?),
        };
        let row = self.new_branch_row(&name, from)?;
        self.meta.insert_branch(&row)?;
        if from.is_some() {
            self.publish_head(&row.name, from).await?;
        }
        Ok(BranchInfo {
            name: row.name,
            head: false,
            state: BranchState::Archived,
            versions: self.history_len(from)?,
            bytes: from
                .map(|v| self.version_row(v))
                .transpose()?
                .map(|v| v.bytes)
                .unwrap_or(0),
            latest: from.map(|v| v.to_string()),
            saving: false,
            disk_bytes: None,
        })
    }

    pub async fn rename_branch(&mut self, old: &str, new: &str) -> Result<()> {
        let new = BranchName::parse(new).map_err(Error::InvalidName)?;
        let head = self.branch(old)?.head_version;
        if head.is_some() {
            self.publish_head(new.as_str(), head).await?;
        }
        if self.meta.branch(new.as_str())?.is_some() {
            return Err(Error::BranchExists(new.to_string()));
        }
        self.meta.rename_branch(old, new.as_str())?;
        self.publish_head(old, None).await?;
        if self.row.head.as_deref() == Some(old) {
            self.row.head = Some(new.to_string());
        }
        Ok(())
    }

    /// Deletes a branch that is not HEAD. Its versions stay in the store: a
    /// branch is always saved before it stops, so its latest version holds its data.
    pub async fn delete_branch(&mut self, name: &str) -> Result<DeleteReport> {
        self.journal_begin("branch -d", name)?;
        let done = self.delete_branch_journalled(name).await;
        self.journal_end()?;
        done
    }

    async fn delete_branch_journalled(&mut self, name: &str) -> Result<DeleteReport> {
        let b = self.branch(name)?;
        if self.row.head.as_deref() == Some(name) {
            return Err(Error::DeleteHead(name.to_string()));
        }
        let b = match self.is_warm(&b).await? {
            true => {
                self.cool_warm(&b).await?;
                self.branch(name)?
            }
            false => {
                let container = self.objects().engine(&b.uid);
                self.runtime().await?.remove_engine(&container).await?;
                b
            }
        };
        let saved = self
            .ensure_saved(&b, &format!("branch -d: last state of {name}"))
            .await?;
        let rt = self.runtime().await?;
        if let Some(volume) = &b.volume {
            rt.remove_data(volume).await?;
        }
        self.meta.delete_branch(name)?;
        self.publish_head(name, None).await?;
        Ok(DeleteReport {
            branch: b.name,
            latest: saved
                .map(|v| v.id)
                .or(b.head_version)
                .map(|v| v.to_string()),
        })
    }
}
