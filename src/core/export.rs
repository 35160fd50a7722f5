//! `export`: a version written out as a mongodump folder (the mount's
//! layout, without FUSE) or a mongodump archive, byte for byte the
//! documents argon stored.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use argon_dump::archive::{ArchiveWriter, ArchivedCollection, Prelude};

use super::{Error, Project, Result};
use crate::mount::render::metadata_json;
use crate::names::{namespace_kept, unmatched_pattern};
use crate::progress::Task;
use crate::snapshot::CollectionEntry;
use crate::store::chunks::{fetch_chunk, TRANSFER_PARALLEL};
use crate::store::Store;

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

/// Where `export` writes.
pub enum ExportTo<'a> {
    /// A mongodump folder: `<db>/<coll>.bson` and `.metadata.json`.
    Folder(&'a Path),
    /// A mongodump archive file, gzip-compressed when `gzip`.
    Archive { file: &'a Path, gzip: bool },
}

impl Project {
    /// Writes version `rev` (only the namespaces `only` names, all when it
    /// is empty) to `to`. The target must be new (a folder may be empty);
    /// everything is written beside it first and moved into place at the
    /// end, so a failed export leaves nothing half-made.
    pub async fn export(
        &mut self,
        rev: &str,
        to: ExportTo<'_>,
        only: &[String],
    ) -> Result<ExportReport> {
        let id = self.resolve(rev)?;
        let manifest = self.manifest(id).await?;
        let there: Vec<String> = manifest.namespaces().map(|(ns, _)| ns).collect();
        if let Some(o) = unmatched_pattern(only, &there) {
            return Err(Error::NoNamespace {
                ns: o.clone(),
                version: id.short(),
            });
        }
        let target = match to {
            ExportTo::Folder(dir) => dir,
            ExportTo::Archive { file, .. } => file,
        };
        let in_use = match to {
            ExportTo::Folder(dir) => {
                std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
                    || (dir.exists() && !dir.is_dir())
            }
            ExportTo::Archive { file, .. } => file.exists(),
        };
        if in_use {
            return Err(Error::ExportTarget(target.to_path_buf()));
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .map_err(Error::io(format!("creating {}", parent.display())))?;
        let collections: Vec<(&str, &CollectionEntry)> = manifest
            .databases
            .iter()
            .flat_map(|db| db.collections.iter().map(move |c| (db.name.as_str(), c)))
            .filter(|(db, c)| namespace_kept(only, &[], &format!("{db}.{}", c.name)))
            .collect();
        let store = self.store().await?;
        let bar = self.progress.task(&format!("exporting {}", id.short()));
        bar.set_total(collections.iter().map(|(_, c)| c.bytes).sum());
        let report = ExportReport {
            version: id.to_string(),
            path: target.to_path_buf(),
            collections: collections.len(),
            documents: collections.iter().map(|(_, c)| c.documents).sum(),
            bytes: collections.iter().map(|(_, c)| c.bytes).sum(),
        };
        match to {
            ExportTo::Folder(dir) => {
                let partial = tempfile::Builder::new()
                    .prefix(".argon-export-")
                    .tempdir_in(&parent)
                    .map_err(Error::io(format!(
                        "creating a folder in {}",
                        parent.display()
                    )))?;
                for (db, c) in &collections {
                    write_collection_files(&store, partial.path(), db, c, &bar).await?;
                }
                // An empty target folder gives way to the finished export.
                if dir.exists() {
                    std::fs::remove_dir(dir)
                        .map_err(Error::io(format!("replacing {}", dir.display())))?;
                }
                let done = partial.keep();
                // A temporary folder is private (0700); an export is not, as
                // mongodump's own output is not.
                set_mode(&done, 0o755)?;
                std::fs::rename(&done, dir)
                    .map_err(Error::io(format!("moving the export to {}", dir.display())))?;
            }
            ExportTo::Archive { file, gzip } => {
                let prelude = Prelude {
                    server_version: manifest.engine_version.clone().unwrap_or_default(),
                    tool_version: format!("argon {}", env!("CARGO_PKG_VERSION")),
                    collections: collections
                        .iter()
                        .map(|(db, c)| ArchivedCollection {
                            db: db.to_string(),
                            collection: c.name.clone(),
                            metadata: String::from_utf8_lossy(&metadata_json(c))
                                .trim_end()
                                .to_string(),
                            size: c.bytes,
                        })
                        .collect(),
                };
                let partial = tempfile::Builder::new()
                    .prefix(".argon-export-")
                    .tempfile_in(&parent)
                    .map_err(Error::io(format!(
                        "creating a file in {}",
                        parent.display()
                    )))?;
                let writing = format!("writing {}", file.display());
                let sink = ArchiveSink::start(&partial, gzip, &prelude)
                    .map_err(Error::io(writing.clone()))?;
                for (db, c) in &collections {
                    if c.kind == "view" {
                        continue;
                    }
                    if !sink.send(Part::Begin(db.to_string(), c.name.clone())) {
                        break;
                    }
                    let mut chunks = chunk_stream(&store, c);
                    while let Some(bytes) = chunks.try_next().await? {
                        bar.advance(bytes.len() as u64);
                        if !sink.send(Part::Data(bytes)) {
                            break;
                        }
                    }
                }
                sink.finish().await.map_err(Error::io(writing))?;
                set_mode(partial.path(), 0o644)?;
                partial.persist_noclobber(file).map_err(|e| {
                    Error::io(format!("moving the export to {}", file.display()))(e.error)
                })?;
            }
        }
        bar.finish();
        Ok(report)
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(Error::io(
        format!("setting the permissions of {}", path.display()),
    ))
}

/// A collection's stored bytes, chunk after chunk, fetched in parallel.
fn chunk_stream<'a>(
    store: &'a Arc<Store>,
    c: &'a CollectionEntry,
) -> impl futures_util::Stream<Item = Result<Vec<u8>>> + Unpin + 'a {
    futures_util::stream::iter(c.chunks.iter().copied())
        .map(move |chunk| async move { Ok(fetch_chunk(store, chunk).await?) })
        .buffered(TRANSFER_PARALLEL)
}

/// `<db>/<coll>.metadata.json` and (not for views) `<db>/<coll>.bson` under `root`.
async fn write_collection_files(
    store: &Arc<Store>,
    root: &Path,
    db: &str,
    c: &CollectionEntry,
    bar: &Task,
) -> Result<()> {
    let folder = root.join(db);
    tokio::fs::create_dir_all(&folder)
        .await
        .map_err(Error::io(format!("creating {}", folder.display())))?;
    let meta = folder.join(format!("{}.metadata.json", c.name));
    tokio::fs::write(&meta, metadata_json(c))
        .await
        .map_err(Error::io(format!("writing {}", meta.display())))?;
    if c.kind == "view" {
        return Ok(());
    }
    let path = folder.join(format!("{}.bson", c.name));
    // A large buffer: each flush is one trip to tokio's blocking pool.
    let mut file = tokio::io::BufWriter::with_capacity(
        WRITE_BUFFER,
        tokio::fs::File::create(&path)
            .await
            .map_err(Error::io(format!("writing {}", path.display())))?,
    );
    let mut chunks = chunk_stream(store, c);
    while let Some(bytes) = chunks.try_next().await? {
        file.write_all(&bytes)
            .await
            .map_err(Error::io(format!("writing {}", path.display())))?;
        bar.advance(bytes.len() as u64);
    }
    file.flush()
        .await
        .map_err(Error::io(format!("writing {}", path.display())))
}

/// What the archive-writing thread is handed.
enum Part {
    /// The documents of `db.collection` follow.
    Begin(String, String),
    Data(Vec<u8>),
}

/// An archive written on its own thread (compression is CPU work), fed in
/// order through a bounded channel.
struct ArchiveSink {
    parts: std::sync::mpsc::SyncSender<Part>,
    thread: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl ArchiveSink {
    fn start(
        file: &tempfile::NamedTempFile,
        gzip: bool,
        prelude: &Prelude,
    ) -> std::io::Result<Self> {
        let out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file.reopen()?);
        let out = match gzip {
            true => ArchiveFile::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::fast(),
            )),
            false => ArchiveFile::Plain(out),
        };
        let mut writer = ArchiveWriter::start(out, prelude)?;
        let (parts, rx) = std::sync::mpsc::sync_channel::<Part>(TRANSFER_PARALLEL);
        let thread = tokio::task::spawn_blocking(move || {
            for part in rx {
                match part {
                    Part::Begin(db, coll) => writer.begin(&db, &coll)?,
                    Part::Data(bytes) => writer.write(&bytes)?,
                }
            }
            writer.finish()?.close()
        });
        Ok(ArchiveSink { parts, thread })
    }

    /// `false` when the writing thread has stopped (its error comes from `finish`).
    fn send(&self, part: Part) -> bool {
        self.parts.send(part).is_ok()
    }

    async fn finish(self) -> std::io::Result<()> {
        drop(self.parts);
        self.thread.await.map_err(std::io::Error::other)?
    }
}

/// The archive's file, plain or gzip-compressed.
enum ArchiveFile {
    Plain(std::io::BufWriter<std::fs::File>),
    Gzip(flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>),
}

impl Write for ArchiveFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            ArchiveFile::Plain(w) => w.write(buf),
            ArchiveFile::Gzip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            ArchiveFile::Plain(w) => w.flush(),
            ArchiveFile::Gzip(w) => w.flush(),
        }
    }
}

impl ArchiveFile {
    /// Ends the gzip stream (its trailer), then writes everything through
    /// to the disk, so errors surface here rather than on a silent drop.
    fn close(self) -> std::io::Result<()> {
        let buffered = match self {
            ArchiveFile::Plain(w) => w,
            ArchiveFile::Gzip(w) => w.finish()?,
        };
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}
