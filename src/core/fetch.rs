//! The metadata is an index of the store: `argon fetch` brings in versions and
//! branches other machines saved to the same store; `argon fsck --rebuild-index`
//! recreates lost metadata the same way.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Project, Result};
use crate::meta::{BranchRow, VersionRow};
use crate::names::BranchName;
use crate::runtime::{ContainerState, Role};
use crate::store::VersionId;

#[derive(Debug, Serialize)]
pub struct FetchReport {
    pub store: String,
    /// Versions found in the store that the metadata did not list.
    pub new_versions: usize,
    /// Branches created locally, pointing at their latest version in the store.
    pub new_branches: Vec<String>,
    /// Local branches without local data moved forward to a newer version.
    pub updated_branches: Vec<String>,
    /// Local branches whose latest version in the store is not theirs (left as they are).
    pub diverged_branches: Vec<String>,
    /// Tags made elsewhere, now known here.
    pub new_tags: Vec<String>,
}

impl Project {
    pub async fn fetch(&mut self) -> Result<FetchReport> {
        let store = self.store().await?;
        let known = self.known_version_ids()?;
        let mut rows: HashMap<VersionId, VersionRow> = HashMap::new();
        let mut new_versions = 0;
        for id in store.list_versions().await? {
            let row = match self.meta.version(id)? {
                Some(row) => row,
                None => {
                    let m = self.manifest(id).await?;
                    let row = super::version_row_of(id, &m);
                    self.meta.index_version(&row)?;
                    new_versions += usize::from(!known.contains(&id));
                    row
                }
            };
            rows.insert(id, row);
        }
        // A branch's latest version in the store: the newest of its versions
        // that no other version of the same branch continues.
        let continued: HashSet<(String, VersionId)> = rows
            .values()
            .filter_map(|v| v.parent.map(|p| (v.branch.clone(), p)))
            .collect();
        let mut heads: HashMap<String, (DateTime<Utc>, VersionId)> = HashMap::new();
        for v in rows.values() {
            if continued.contains(&(v.branch.clone(), v.id)) {
                continue;
            }
            let entry = heads
                .entry(v.branch.clone())
                .or_insert((v.created_at, v.id));
            if v.created_at > entry.0 {
                *entry = (v.created_at, v.id);
            }
        }
        let mut report = FetchReport {
            store: self.config.store.url.to_string(),
            new_versions,
            new_branches: Vec::new(),
            updated_branches: Vec::new(),
            diverged_branches: Vec::new(),
            new_tags: Vec::new(),
        };
        let local_tags = self.meta.tags()?;
        for (name, version) in store.tags().await? {
            let known_here = local_tags.iter().any(|(n, _)| *n == name);
            if !known_here && rows.contains_key(&version) {
                self.meta.add_tag(&name, version)?;
                report.new_tags.push(name);
            }
        }
        let mut names: Vec<_> = heads.into_iter().collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, (_, head)) in names {
            if BranchName::parse(&name).is_err() {
                continue;
            }
            match self.meta.branch(&name)? {
                None => {
                    let row = BranchRow {
                        name: name.clone(),
                        uid: super::random_uid(),
                        head_version: Some(head),
                        volume: None,
                        created_at: Utc::now(),
                        clean: None,
                    };
                    self.meta.insert_branch(&row)?;
                    self.publish_head(&name, Some(head)).await?;
                    report.new_branches.push(name);
                }
                Some(local) if local.head_version == Some(head) => {}
                Some(local) => {
                    let behind = match local.head_version {
                        None => true,
                        Some(mine) => self.is_ancestor(mine, head, &rows),
                    };
                    // Local data (a volume) is the branch's truth: never moved under it.
                    if behind && local.volume.is_none() {
                        self.meta.set_branch_head(&name, Some(head))?;
                        self.publish_head(&name, Some(head)).await?;
                        report.updated_branches.push(name);
                    } else if !self.is_ancestor(head, local.head_version.unwrap_or(head), &rows) {
                        report.diverged_branches.push(name);
                    }
                }
            }
        }
        Ok(report)
    }

    /// Is `ancestor` reachable from `from` through parents?
    fn is_ancestor(
        &self,
        ancestor: VersionId,
        from: VersionId,
        rows: &HashMap<VersionId, VersionRow>,
    ) -> bool {
        let mut next = Some(from);
        while let Some(id) = next {
            if id == ancestor {
                return true;
            }
            next = rows.get(&id).and_then(|v| v.parent);
        }
        false
    }
}

/// What rebuilding the index found of this machine's own data.
#[derive(Debug, Serialize)]
pub struct AdoptReport {
    /// Branches whose local volume (found by its labels) was attached again.
    pub volumes: Vec<String>,
    /// The branch found running on the stable port, made HEAD again.
    pub head: Option<String>,
}

impl Project {
    /// After the metadata was lost: the branches' volumes and HEAD's running
    /// container are still in Docker, labelled with the project and branch.
    /// They are attached again, never trusted as saved (a volume may hold
    /// writes no version has: it is read before anything drops it).
    pub async fn adopt_local_data(&mut self) -> Result<AdoptReport> {
        let key = self.row.key.clone();
        let rt = self.runtime().await?;
        let mut volumes = rt.list_data(crate::runtime::LABEL_PROJECT, &key).await?;
        let containers = rt
            .list_engines(crate::runtime::LABEL_PROJECT, &key, true)
            .await?;
        // Engines that run (a paused one is a warm branch's, never HEAD's).
        let running: HashSet<&str> = containers
            .iter()
            .filter(|c| c.role == Some(Role::Engine) && c.state == Some(ContainerState::Running))
            .map(|c| c.name.as_str())
            .collect();
        // When two volumes claim one branch, the one HEAD's engine runs on
        // (the freshest label, and the unsaved writes) takes its name.
        volumes.sort_by_key(|v| {
            let uid = self.objects().uid_of_data(&v.name).unwrap_or_default();
            !running.contains(self.objects().engine(uid).as_str())
        });
        let mut report = AdoptReport {
            volumes: Vec::new(),
            head: None,
        };
        // A volume a branch records is that branch's, whatever its label
        // says (a label is set once; renames and `checkout -b` move volumes).
        let recorded: HashSet<String> = self
            .meta
            .branches()?
            .into_iter()
            .filter_map(|b| b.volume)
            .collect();
        for v in volumes {
            let (volume, branch) = (v.name, v.branch);
            if recorded.contains(&volume) {
                continue;
            }
            let Some(uid) = self.objects().uid_of_data(&volume).map(str::to_string) else {
                continue;
            };
            if v.role != Some(Role::Data) || BranchName::parse(&branch).is_err() {
                continue;
            }
            let (branch, known) = match self.meta.branch(&branch)? {
                // Another volume claims the branch: a label is set once, and
                // `checkout -b` hands HEAD's volume to the new branch. This
                // one is kept under a name of its own, never dropped.
                Some(b) if b.volume.is_some() => {
                    let other = format!("{branch}-{}", &uid[..uid.len().min(8)]);
                    if BranchName::parse(&other).is_err() || self.meta.branch(&other)?.is_some() {
                        continue;
                    }
                    (other, false)
                }
                found => (branch, found.is_some()),
            };
            match known {
                true => self.meta.set_branch_uid(&branch, &uid)?,
                false => self.meta.insert_branch(&BranchRow {
                    name: branch.clone(),
                    uid: uid.clone(),
                    head_version: None,
                    volume: None,
                    created_at: Utc::now(),
                    clean: None,
                })?,
            }
            self.meta.set_branch_volume(&branch, Some(&volume))?;
            report.volumes.push(branch);
        }
        if self.row.head.is_none() {
            // HEAD's engine is known by its name, which its branch's uid makes
            // (its label names the branch it was started for).
            let branches = self.meta.branches()?;
            let head = running.iter().find_map(|name| {
                branches
                    .iter()
                    .find(|b| self.objects().engine(&b.uid) == *name)
            });
            if let Some(b) = head {
                self.set_head(&b.name)?;
                report.head = Some(b.name.clone());
            }
        }
        Ok(report)
    }
}
