//! `import`: a mongodump folder (`<db>/<coll>.bson[.gz]` and
//! `.metadata.json`) becomes a new branch whose first version holds exactly
//! that data. Documents go through the same chunk pipeline a save uses; the
//! branch exists only once its version is whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;

use super::report::version_row_of;
use super::{Error, Project, Result};
use crate::names::{namespace_kept, unmatched_pattern, BranchName};
use crate::snapshot::{CaptureMethod, CollectionEntry, DatabaseEntry, Manifest, MANIFEST_FORMAT};
use crate::store::chunks::{ChunkWriter, KnownChunks};
use crate::store::{Hash, ObjectKey, VersionId};

/// Bytes of whole documents handed to the chunk pipeline at a time.
const BATCH_BYTES: usize = 1 << 20;

/// What `import` made.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub branch: String,
    pub version: String,
    pub source: PathBuf,
    pub collections: usize,
    pub documents: u64,
    pub bytes: u64,
    /// How consistent the data is: `dump` (what the folder or archive
    /// holds), `snapshot-read` (a live server read at one point in time) or
    /// `plain` (a live server without snapshot reads: each collection as it
    /// was when read).
    pub consistency: String,
    /// Times a live read was cut off (a network fault) and resumed.
    #[serde(skip_serializing_if = "is_zero")]
    pub resumed: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ImportReport {
    /// What importing `databases` as `branch` from `source` made; `version`
    /// is filled in once it is recorded.
    pub(super) fn of(
        branch: &str,
        source: PathBuf,
        databases: &[DatabaseEntry],
        consistency: &str,
        resumed: u32,
    ) -> ImportReport {
        let entries = || databases.iter().flat_map(|d| &d.collections);
        ImportReport {
            branch: branch.to_string(),
            version: String::new(),
            source,
            collections: entries().count(),
            documents: entries().map(|c| c.documents).sum(),
            bytes: entries().map(|c| c.bytes).sum(),
            consistency: consistency.into(),
            resumed,
        }
    }
}

impl From<argon_dump::Error> for Error {
    fn from(e: argon_dump::Error) -> Error {
        match e {
            argon_dump::Error::NotADump(path) => Error::NotADump(path),
            argon_dump::Error::Damaged { path, message } => Error::BadDump { path, message },
            argon_dump::Error::Io { path, source } => {
                Error::io(format!("reading {}", path.display()))(source)
            }
        }
    }
}

/// A collection entry for imported documents, before its chunks are known.
fn entry_of(name: &str, meta: argon_dump::Metadata) -> CollectionEntry {
    CollectionEntry {
        name: name.to_string(),
        kind: meta.kind,
        options: meta.options,
        indexes: meta.indexes,
        documents: 0,
        bytes: 0,
        chunks: Vec::new(),
        doc_starts: Vec::new(),
    }
}

/// Adds `entry` of database `db` to `databases`, kept in (db, name) order
/// by the callers.
fn push_entry(databases: &mut Vec<DatabaseEntry>, db: &str, entry: CollectionEntry) {
    match databases.last_mut() {
        Some(last) if last.name == db => last.collections.push(entry),
        _ => databases.push(DatabaseEntry {
            name: db.to_string(),
            collections: vec![entry],
        }),
    }
}

/// Namespaces an import leaves out whatever it is asked: the server's own.
fn is_system(db: &str, collection: &str) -> bool {
    db.is_empty() || collection.starts_with("system.")
}

/// Where `import` reads from.
pub enum ImportSource<'a> {
    /// A folder: mongodump's `<db>/<coll>.bson[.gz]` + `.metadata.json`,
    /// or extended-JSON fixtures `<db>/<coll>.json|.jsonl`.
    Folder(&'a Path),
    /// A mongodump archive file (gzip-compressed or not).
    Archive(&'a Path),
    /// A MongoDB connection string (`import_live.rs`).
    Server(&'a str),
}

impl Project {
    /// Makes branch `branch` from `source`, limited to the namespaces in
    /// `only` (all when empty) and without those in `exclude`.
    pub async fn import(
        &mut self,
        source: ImportSource<'_>,
        branch: &str,
        only: &[String],
        exclude: &[String],
    ) -> Result<ImportReport> {
        let name = BranchName::parse(branch).map_err(Error::InvalidName)?;
        self.journal_begin("import", name.as_str())?;
        let imported = match self.lease("import").await {
            Ok(lease) => {
                // The lease keeps a gc elsewhere from collecting the new
                // chunks before the version that holds them is written.
                let imported = match source {
                    ImportSource::Folder(dir) => {
                        self.import_folder(dir, &name, only, exclude).await
                    }
                    ImportSource::Archive(file) => {
                        self.import_archive(file, &name, only, exclude).await
                    }
                    ImportSource::Server(uri) => {
                        self.import_server(uri, &name, only, exclude).await
                    }
                };
                lease.release().await;
                imported
            }
            Err(e) => Err(e),
        };
        self.journal_end()?;
        imported
    }

    async fn import_folder(
        &mut self,
        dir: &Path,
        name: &BranchName,
        only: &[String],
        exclude: &[String],
    ) -> Result<ImportReport> {
        let row = self.new_branch_row(name, None)?;
        let mut dumped = argon_dump::scan(dir)?;
        let there: Vec<String> = dumped.iter().map(argon_dump::Dumped::ns).collect();
        if let Some(o) = unmatched_pattern(only, &there) {
            return Err(Error::NoNamespace {
                ns: o.clone(),
                version: dir.display().to_string(),
            });
        }
        dumped.retain(|d| namespace_kept(only, exclude, &d.ns()));
        let store = self.store().await?;
        let bar = self.progress.task(&format!("importing {}", dir.display()));
        bar.set_total(dumped.iter().map(argon_dump::Dumped::data_len).sum());
        let mut databases: Vec<DatabaseEntry> = Vec::new();
        let mut written_bytes = 0u64;
        for d in dumped {
            let (db, ns) = (d.db.clone(), d.ns());
            let mut entry = entry_of(&d.name, d.read_metadata()?);
            if entry.kind != "view" {
                let writer = ChunkWriter::start(store.clone(), KnownChunks::new([]));
                let bar_in = bar.clone();
                // The file is read on a blocking thread; batches of whole
                // documents go to the pipeline, which hashes, compresses and uploads.
                let (documents, writer) = tokio::task::spawn_blocking(move || {
                    let read = d.read_documents(
                        BATCH_BYTES,
                        |n| bar_in.advance(n),
                        |b| writer.send_blocking(b),
                    );
                    (read, writer)
                })
                .await
                .map_err(|e| Error::io("reading the dump")(std::io::Error::other(e)))?;
                let stream = writer.finish(&ns).await;
                entry.documents = documents?;
                let stream = stream?;
                entry.bytes = stream.bytes;
                entry.chunks = stream.chunks;
                entry.doc_starts = stream.doc_starts;
                written_bytes += stream.written;
            }
            push_entry(&mut databases, &db, entry);
        }
        bar.finish();
        self.record_dump_import(row, databases, written_bytes, dir)
            .await
    }

    async fn import_archive(
        &mut self,
        file: &Path,
        name: &BranchName,
        only: &[String],
        exclude: &[String],
    ) -> Result<ImportReport> {
        let row = self.new_branch_row(name, None)?;
        let (mut reader, prelude) = argon_dump::archive::open(file, BATCH_BYTES)?;
        let there: Vec<String> = prelude
            .collections
            .iter()
            .filter(|c| !is_system(&c.db, &c.collection))
            .map(|c| c.ns())
            .collect();
        if let Some(o) = unmatched_pattern(only, &there) {
            return Err(Error::NoNamespace {
                ns: o.clone(),
                version: file.display().to_string(),
            });
        }
        let (only, exclude) = (only.to_vec(), exclude.to_vec());
        let kept = move |db: &str, coll: &str| {
            !is_system(db, coll) && namespace_kept(&only, &exclude, &format!("{db}.{coll}"))
        };
        let store = self.store().await?;
        let bar = self.progress.task(&format!("importing {}", file.display()));
        bar.set_total(
            prelude
                .collections
                .iter()
                .filter(|c| kept(&c.db, &c.collection))
                .map(|c| c.size)
                .sum(),
        );
        // Collections may interleave in an archive: one chunk pipeline per
        // collection, fed as its segments come. The archive is read on a
        // blocking thread.
        type Streams = BTreeMap<(String, String), (ChunkWriter, u64)>;
        let listed: Vec<(String, String)> = prelude
            .collections
            .iter()
            .map(|c| (c.db.clone(), c.collection.clone()))
            .collect();
        let kept_in = kept.clone();
        let bar_in = bar.clone();
        let store_in = store.clone();
        let (read, streams) = tokio::task::spawn_blocking(move || {
            let mut streams: Streams = BTreeMap::new();
            let read = (|| -> argon_dump::Result<()> {
                while let Some(event) = reader.next_event()? {
                    let argon_dump::archive::Event::Documents {
                        db,
                        collection,
                        bytes,
                        count,
                    } = event
                    else {
                        continue;
                    };
                    if !kept_in(&db, &collection) {
                        continue;
                    }
                    bar_in.advance(bytes.len() as u64);
                    let (writer, documents) =
                        streams.entry((db, collection)).or_insert_with(|| {
                            (
                                ChunkWriter::start(store_in.clone(), KnownChunks::new([])),
                                0,
                            )
                        });
                    *documents += count;
                    writer.send_blocking(bytes);
                }
                Ok(())
            })();
            (read, streams)
        })
        .await
        .map_err(|e| Error::io("reading the archive")(std::io::Error::other(e)))?;
        read?;
        // Every kept collection the archive lists, and any it holds
        // documents of without listing them, in (db, name) order.
        let mut names: Vec<(String, String)> = listed
            .into_iter()
            .filter(|(db, c)| kept(db, c))
            .chain(streams.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        let mut streams = streams;
        let mut databases: Vec<DatabaseEntry> = Vec::new();
        let mut written_bytes = 0u64;
        for (db, coll) in names {
            let mut entry = entry_of(&coll, prelude.metadata_of(&db, &coll, file)?);
            if let Some((writer, documents)) = streams.remove(&(db.clone(), coll.clone())) {
                let stream = writer.finish(&format!("{db}.{coll}")).await?;
                entry.documents = documents;
                entry.bytes = stream.bytes;
                entry.chunks = stream.chunks;
                entry.doc_starts = stream.doc_starts;
                written_bytes += stream.written;
            }
            push_entry(&mut databases, &db, entry);
        }
        bar.finish();
        self.record_dump_import(row, databases, written_bytes, file)
            .await
    }

    /// Records a folder's or an archive's import and reports it.
    async fn record_dump_import(
        &mut self,
        row: crate::meta::BranchRow,
        databases: Vec<DatabaseEntry>,
        written_bytes: u64,
        source: &Path,
    ) -> Result<ImportReport> {
        let mut report = ImportReport::of(&row.name, source.to_path_buf(), &databases, "dump", 0);
        let message = format!("imported from {}", source.display());
        let id = self
            .record_import(row, databases, written_bytes, message, None)
            .await?;
        report.version = id.to_string();
        Ok(report)
    }

    /// Writes the imported data's version, then the branch `row` pointing
    /// at it: a branch exists only once its data is whole.
    pub(super) async fn record_import(
        &mut self,
        row: crate::meta::BranchRow,
        databases: Vec<DatabaseEntry>,
        written_bytes: u64,
        message: String,
        engine_version: Option<String>,
    ) -> Result<VersionId> {
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            project: self.config.name.to_string(),
            branch: row.name.clone(),
            parent: None,
            created_at: Utc::now(),
            message,
            capture: CaptureMethod::Imported,
            engine_version,
            databases,
            written_bytes,
        };
        let bytes = manifest.to_bytes();
        let id = VersionId(Hash::of(&bytes));
        self.store()
            .await?
            .put_bytes(ObjectKey::Version(id), bytes)
            .await?;
        self.meta.index_version(&version_row_of(id, &manifest))?;
        let name = row.name.clone();
        self.meta.insert_branch(&crate::meta::BranchRow {
            head_version: Some(id),
            ..row
        })?;
        self.publish_head(&name, Some(id)).await?;
        Ok(id)
    }
}
