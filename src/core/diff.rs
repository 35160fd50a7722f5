//! `diff` and `show`: which two states to compare (git's argument shapes),
//! HEAD's live data read into a throwaway spool, and the comparison itself
//! (`crate::diff`).

use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;

use super::{Error, Project, Result, VersionInfo};
use crate::diff::{self, Side, Sink};
use crate::snapshot::{self, CaptureMethod, KnownChunks, Manifest, ReadMode, MANIFEST_FORMAT};
use crate::store::{SpoolBackend, Store, VersionId};

/// One end of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffEnd {
    /// HEAD's data as its engine serves it now.
    Live,
    Version(VersionId),
}

/// One namespace of a version, as `show` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceInfo {
    pub ns: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub documents: u64,
    pub bytes: u64,
    pub indexes: usize,
}

/// A version as `show` prints it, before its diff.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    pub version: VersionInfo,
    pub engine_version: Option<String>,
    pub namespaces: Vec<NamespaceInfo>,
}

/// A manifest to compare, and where its chunks are; a live capture's spool
/// goes with it.
struct Loaded {
    manifest: Manifest,
    store: Arc<Store>,
    _spool: Option<tempfile::TempDir>,
}

fn empty_manifest(project: &str) -> Manifest {
    Manifest {
        format: MANIFEST_FORMAT,
        project: project.to_string(),
        branch: String::new(),
        parent: None,
        created_at: Utc::now(),
        message: String::new(),
        capture: CaptureMethod::Offline,
        engine_version: None,
        databases: Vec::new(),
        written_bytes: 0,
    }
}

impl Project {
    /// The two ends git's shapes name: none (HEAD's latest version against
    /// its live data), `REV` (REV against the live data), `REV1 REV2` or
    /// `REV1..REV2` (two versions).
    pub fn diff_ends(&self, revs: &[String]) -> Result<(DiffEnd, DiffEnd)> {
        let version = |text: &str| self.resolve(text).map(DiffEnd::Version);
        match revs {
            [] => {
                let head = self.head_branch()?;
                let latest = head.head_version.ok_or(Error::NoVersions(head.name))?;
                Ok((DiffEnd::Version(latest), DiffEnd::Live))
            }
            [one] => match one.split_once("..") {
                Some((a, b)) => {
                    let a = if a.is_empty() { "HEAD" } else { a };
                    let b = if b.is_empty() { "HEAD" } else { b };
                    Ok((version(a)?, version(b)?))
                }
                None => Ok((version(one)?, DiffEnd::Live)),
            },
            [a, b] => Ok((version(a)?, version(b)?)),
            _ => Err(Error::BadRevision(
                "argon diff takes at most two revisions (put namespaces after --)".into(),
            )),
        }
    }

    /// Sends every change from `old` to `new`, limited to the namespaces in
    /// `only` (`DB` or `DB.COLL`), to `sink`.
    pub async fn diff(
        &mut self,
        old: &DiffEnd,
        new: &DiffEnd,
        only: &[String],
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        let old = self.load(old).await?;
        let new = match new {
            // The old side's chunks are in the store already: the live
            // capture neither checks nor spools them (and reads no manifest).
            DiffEnd::Live => {
                self.capture_live(KnownChunks::new(old.manifest.chunk_ids()))
                    .await?
            }
            end => self.load(end).await?,
        };
        self.compare(&old, &new, only, sink).await
    }

    async fn compare(
        &self,
        old: &Loaded,
        new: &Loaded,
        only: &[String],
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        let old = Side {
            manifest: &old.manifest,
            store: old.store.clone(),
        };
        let new = Side {
            manifest: &new.manifest,
            store: new.store.clone(),
        };
        Ok(diff::diff(&old, &new, only, sink).await?)
    }

    /// The version `rev` names (HEAD's latest without one), for `show`.
    pub async fn show(&mut self, rev: Option<&str>) -> Result<(ShowReport, VersionId)> {
        let id = self.resolve(rev.unwrap_or("HEAD"))?;
        let row = super::resolve::version_row(&self.meta, id)?;
        let manifest = self.manifest(id).await?;
        let namespaces = manifest
            .databases
            .iter()
            .flat_map(|d| {
                d.collections.iter().map(move |c| NamespaceInfo {
                    ns: format!("{}.{}", d.name, c.name),
                    kind: c.kind.clone(),
                    documents: c.documents,
                    bytes: c.bytes,
                    indexes: c.indexes.len(),
                })
            })
            .collect();
        let report = ShowReport {
            version: VersionInfo::from(&row),
            engine_version: manifest.engine_version.clone(),
            namespaces,
        };
        Ok((report, id))
    }

    /// The changes version `id` made to its parent (to nothing, for a first version).
    pub async fn diff_with_parent(
        &mut self,
        id: VersionId,
        only: &[String],
        sink: &mut Sink<'_>,
    ) -> Result<()> {
        let new = self.load(&DiffEnd::Version(id)).await?;
        let old = match new.manifest.parent {
            Some(parent) => self.load(&DiffEnd::Version(parent)).await?,
            None => Loaded {
                manifest: empty_manifest(self.config.name.as_str()),
                store: self.store().await?,
                _spool: None,
            },
        };
        self.compare(&old, &new, only, sink).await
    }

    async fn load(&mut self, end: &DiffEnd) -> Result<Loaded> {
        match end {
            DiffEnd::Version(id) => Ok(Loaded {
                manifest: self.manifest(*id).await?,
                store: self.store().await?,
                _spool: None,
            }),
            DiffEnd::Live => self.capture_live(KnownChunks::new([])).await,
        }
    }

    /// HEAD's data as it is now, read like a save reads it (collections in
    /// parallel, `known` chunks not stored again) but into a spool that is
    /// thrown away: nothing reaches the store.
    async fn capture_live(&mut self, known: KnownChunks) -> Result<Loaded> {
        let b = self.head_branch()?;
        if !self.is_running(&b).await? {
            return Err(Error::HeadStashed(b.name));
        }
        let store = self.store().await?;
        let spool_dir = tempfile::TempDir::new_in(self.tmp_dir()?)
            .map_err(Error::io("creating a spool for HEAD's live data"))?;
        let spool = SpoolBackend::new(spool_dir.path().join("spool"), store.backend());
        let spooled = Arc::new(Store::new(Arc::new(spool)));
        let endpoint = self.engine_endpoint(&b).await?;
        let client = snapshot::connect(&endpoint, self.login.as_ref()).await?;
        let bar = self.progress.task("reading HEAD's live data");
        let captured = snapshot::capture(&client, &spooled, ReadMode::Plain, &known, &bar).await;
        bar.finish();
        snapshot::close(client).await;
        let captured = captured?;
        let mut manifest = empty_manifest(self.config.name.as_str());
        manifest.branch = b.name;
        manifest.parent = b.head_version;
        manifest.databases = captured.databases;
        manifest.engine_version = captured.engine_version;
        Ok(Loaded {
            manifest,
            store: spooled,
            _spool: Some(spool_dir),
        })
    }
}
