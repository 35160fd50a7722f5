//! `export`: a version written out as a mongodump folder (the mount's
//! layout, without FUSE), byte for byte the documents argon stored.

use std::path::{Path, PathBuf};

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use super::{Error, Project, Result};
use crate::mount::render::metadata_json;
use crate::names::{namespace_kept, unmatched_pattern};
use crate::store::chunks::{fetch_chunk, TRANSFER_PARALLEL};

/// Bytes written to a `.bson` file at a time.
const WRITE_BUFFER: usize = 4 << 20;

/// What `export` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub version: String,
    pub path: PathBuf,
    pub collections: usize,
    pub documents: u64,
    pub bytes: u64,
}

impl Project {
    /// Writes version `rev` into `dir` as mongodump does: `<db>/<coll>.bson`
    /// and `<db>/<coll>.metadata.json` (views: the metadata only). `dir`
    /// must not exist or be empty; the files are written in a temporary
    /// folder beside it and moved into place at the end, so a failed export
    /// leaves nothing half-made.
    pub async fn export(&mut self, rev: &str, dir: &Path, only: &[String]) -> Result<ExportReport> {
        let id = self.resolve(rev)?;
        let manifest = self.manifest(id).await?;
        let there: Vec<String> = manifest.namespaces().map(|(ns, _)| ns).collect();
        if let Some(o) = unmatched_pattern(only, &there) {
            return Err(Error::NoNamespace {
                ns: o.clone(),
                version: id.short(),
            });
        }
        let in_use = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
        if in_use || (dir.exists() && !dir.is_dir()) {
            return Err(Error::ExportTarget(dir.to_path_buf()));
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .map_err(Error::io(format!("creating {}", parent.display())))?;
        let partial = tempfile::Builder::new()
            .prefix(".argon-export-")
            .tempdir_in(&parent)
            .map_err(Error::io(format!(
                "creating a folder in {}",
                parent.display()
            )))?;
        let store = self.store().await?;
        let mut report = ExportReport {
            version: id.to_string(),
            path: dir.to_path_buf(),
            collections: 0,
            documents: 0,
            bytes: 0,
        };
        let bar = self.progress.task(&format!("exporting {}", id.short()));
        bar.set_total(
            manifest
                .namespaces()
                .filter(|(ns, _)| namespace_kept(only, &[], ns))
                .map(|(_, c)| c.bytes)
                .sum(),
        );
        for db in &manifest.databases {
            for c in &db.collections {
                if !namespace_kept(only, &[], &format!("{}.{}", db.name, c.name)) {
                    continue;
                }
                let folder = partial.path().join(&db.name);
                tokio::fs::create_dir_all(&folder)
                    .await
                    .map_err(Error::io(format!("creating {}", folder.display())))?;
                let meta = folder.join(format!("{}.metadata.json", c.name));
                tokio::fs::write(&meta, metadata_json(c))
                    .await
                    .map_err(Error::io(format!("writing {}", meta.display())))?;
                report.collections += 1;
                if c.kind == "view" {
                    continue;
                }
                let path = folder.join(format!("{}.bson", c.name));
                // A large buffer: each flush is one trip to tokio's blocking pool.
                let mut file = tokio::io::BufWriter::with_capacity(
                    WRITE_BUFFER,
                    tokio::fs::File::create(&path)
                        .await
                        .map_err(Error::io(format!("writing {}", path.display())))?,
                );
                let mut chunks = futures_util::stream::iter(c.chunks.iter().copied())
                    .map(|chunk| {
                        let store = store.clone();
                        async move { fetch_chunk(&store, chunk).await }
                    })
                    .buffered(TRANSFER_PARALLEL);
                while let Some(bytes) = chunks.try_next().await? {
                    file.write_all(&bytes)
                        .await
                        .map_err(Error::io(format!("writing {}", path.display())))?;
                    bar.advance(bytes.len() as u64);
                }
                file.flush()
                    .await
                    .map_err(Error::io(format!("writing {}", path.display())))?;
                report.documents += c.documents;
                report.bytes += c.bytes;
            }
        }
        bar.finish();
        // An empty target folder gives way to the finished export.
        if dir.exists() {
            std::fs::remove_dir(dir).map_err(Error::io(format!("replacing {}", dir.display())))?;
        }
        let done = partial.keep();
        std::fs::rename(&done, dir)
            .map_err(Error::io(format!("moving the export to {}", dir.display())))?;
        Ok(report)
    }
}
