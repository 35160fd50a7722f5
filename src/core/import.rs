//! `import`: a mongodump folder (`<db>/<coll>.bson[.gz]` and
//! `.metadata.json`) becomes a new branch whose first version holds exactly
//! that data. Documents go through the same chunk pipeline a save uses; the
//! branch exists only once its version is whole.

use std::io::Read;
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
/// Largest document a dump may hold (MongoDB's limit, with room for nesting).
const MAX_DOCUMENT_BYTES: usize = 64 << 20;

/// What `import` made.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub branch: String,
    pub version: String,
    pub source: PathBuf,
    pub collections: usize,
    pub documents: u64,
    pub bytes: u64,
    /// How consistent the data is: `dump` (what the folder holds),
    /// `snapshot-read` (a live server read at one point in time) or `plain`
    /// (a live server without snapshot reads: each collection as it was when read).
    pub consistency: String,
}

/// One collection of a dump folder.
struct Dumped {
    db: String,
    name: String,
    metadata: Option<PathBuf>,
    /// The `.bson` stream, gzip-compressed when it ends in `.gz`.
    bson: Option<PathBuf>,
}

impl Dumped {
    fn ns(&self) -> String {
        format!("{}.{}", self.db, self.name)
    }
}

/// The collections of the mongodump folder `dir`: one folder per database.
fn scan(dir: &Path) -> Result<Vec<Dumped>> {
    let not_a_dump = || Error::NotADump(dir.to_path_buf());
    let entries = std::fs::read_dir(dir).map_err(|_| not_a_dump())?;
    let mut found: std::collections::BTreeMap<(String, String), Dumped> = Default::default();
    for db in entries.filter_map(|e| e.ok()) {
        if !db.path().is_dir() {
            continue;
        }
        let db_name = db.file_name().to_string_lossy().into_owned();
        let files = std::fs::read_dir(db.path())
            .map_err(Error::io(format!("reading {}", db.path().display())))?;
        for f in files.filter_map(|e| e.ok()) {
            let file = f.file_name().to_string_lossy().into_owned();
            let (name, is_metadata) = if let Some(n) = file.strip_suffix(".metadata.json.gz") {
                (n, true)
            } else if let Some(n) = file.strip_suffix(".metadata.json") {
                (n, true)
            } else if let Some(n) = file.strip_suffix(".bson.gz") {
                (n, false)
            } else if let Some(n) = file.strip_suffix(".bson") {
                (n, false)
            } else {
                continue;
            };
            if name.starts_with("system.") || name.is_empty() {
                continue;
            }
            let entry = found
                .entry((db_name.clone(), name.to_string()))
                .or_insert_with(|| Dumped {
                    db: db_name.clone(),
                    name: name.to_string(),
                    metadata: None,
                    bson: None,
                });
            match is_metadata {
                true => entry.metadata = Some(f.path()),
                false => entry.bson = Some(f.path()),
            }
        }
    }
    if found.is_empty() {
        return Err(not_a_dump());
    }
    Ok(found.into_values().collect())
}

fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file =
        std::fs::File::open(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let file = std::io::BufReader::with_capacity(BATCH_BYTES, file);
    Ok(match path.extension().is_some_and(|e| e == "gz") {
        true => Box::new(flate2::read::MultiGzDecoder::new(file)),
        false => Box::new(file),
    })
}

/// A `.metadata.json`: options, indexes and type, as mongodump writes them.
fn metadata(path: Option<&Path>) -> Result<(serde_json::Value, Vec<serde_json::Value>, String)> {
    let Some(path) = path else {
        return Ok((serde_json::json!({}), Vec::new(), "collection".into()));
    };
    let mut text = String::new();
    open(path)?
        .read_to_string(&mut text)
        .map_err(Error::io(format!("reading {}", path.display())))?;
    let bad = |message: String| Error::BadDump {
        path: path.to_path_buf(),
        message,
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let options = v
        .get("options")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let indexes = match v.get("indexes") {
        Some(serde_json::Value::Array(ix)) => ix.clone(),
        None => Vec::new(),
        Some(_) => return Err(bad("'indexes' is not a list".into())),
    };
    let kind = v
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("collection")
        .to_string();
    Ok((options, indexes, kind))
}

/// Reads whole BSON documents from `from` in batches; counts them.
fn read_documents(
    from: &mut dyn Read,
    path: &Path,
    mut batch: impl FnMut(Vec<u8>) -> bool,
) -> Result<u64> {
    let bad = |message: String| Error::BadDump {
        path: path.to_path_buf(),
        message,
    };
    let mut count = 0u64;
    let mut out = Vec::with_capacity(BATCH_BYTES + 1024);
    let mut len = [0u8; 4];
    loop {
        match from.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(bad(e.to_string())),
        }
        let n = i32::from_le_bytes(len);
        if !(5..=MAX_DOCUMENT_BYTES as i32).contains(&n) {
            return Err(bad(format!("document {} has a bad length {n}", count + 1)));
        }
        let at = out.len();
        out.extend_from_slice(&len);
        out.resize(at + n as usize, 0);
        from.read_exact(&mut out[at + 4..])
            .map_err(|_| bad(format!("it ends inside document {}: truncated", count + 1)))?;
        if out[at + n as usize - 1] != 0 {
            return Err(bad(format!(
                "document {} does not end where its length says",
                count + 1
            )));
        }
        count += 1;
        if out.len() >= BATCH_BYTES && !batch(std::mem::take(&mut out)) {
            break;
        }
    }
    if !out.is_empty() {
        batch(out);
    }
    Ok(count)
}

/// Where `import` reads from.
pub enum ImportSource<'a> {
    /// A mongodump folder.
    Dump(&'a Path),
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
                    ImportSource::Dump(dir) => self.import_dump(dir, &name, only, exclude).await,
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

    async fn import_dump(
        &mut self,
        dir: &Path,
        name: &BranchName,
        only: &[String],
        exclude: &[String],
    ) -> Result<ImportReport> {
        let row = self.new_branch_row(name, None)?;
        let mut dumped = scan(dir)?;
        let there: Vec<String> = dumped.iter().map(Dumped::ns).collect();
        if let Some(o) = unmatched_pattern(only, &there) {
            return Err(Error::NoNamespace {
                ns: o.clone(),
                version: dir.display().to_string(),
            });
        }
        dumped.retain(|d| namespace_kept(only, exclude, &d.ns()));
        let store = self.store().await?;
        let total: u64 = dumped
            .iter()
            .filter_map(|d| d.bson.as_ref()?.metadata().ok().map(|m| m.len()))
            .sum();
        let bar = self.progress.task(&format!("importing {}", dir.display()));
        bar.set_total(total);
        let mut databases: Vec<DatabaseEntry> = Vec::new();
        let mut report = ImportReport {
            branch: name.to_string(),
            version: String::new(),
            source: dir.to_path_buf(),
            collections: 0,
            documents: 0,
            bytes: 0,
            consistency: "dump".into(),
        };
        let mut written_bytes = 0u64;
        for d in &dumped {
            let (options, indexes, kind) = metadata(d.metadata.as_deref())?;
            let mut entry = CollectionEntry {
                name: d.name.clone(),
                kind,
                options,
                indexes,
                documents: 0,
                bytes: 0,
                chunks: Vec::new(),
                doc_starts: Vec::new(),
            };
            if let (Some(path), false) = (&d.bson, entry.kind == "view") {
                let writer = ChunkWriter::start(store.clone(), KnownChunks::new([]));
                let path = path.clone();
                let bar_in = bar.clone();
                // The file is read on a blocking thread; batches of whole
                // documents go to the pipeline, which hashes, compresses and uploads.
                let (documents, writer) = tokio::task::spawn_blocking(move || {
                    let read = open(&path).and_then(|mut f| {
                        read_documents(&mut f, &path, |b| {
                            bar_in.advance(b.len() as u64);
                            writer.push(b)
                        })
                    });
                    (read, writer)
                })
                .await
                .map_err(|e| Error::io("reading the dump")(std::io::Error::other(e)))?;
                let stream = writer.finish(&d.ns()).await;
                entry.documents = documents?;
                let stream = stream?;
                entry.bytes = stream.bytes;
                entry.chunks = stream.chunks;
                entry.doc_starts = stream.doc_starts;
                written_bytes += stream.written;
            }
            report.collections += 1;
            report.documents += entry.documents;
            report.bytes += entry.bytes;
            match databases.last_mut() {
                Some(db) if db.name == d.db => db.collections.push(entry),
                _ => databases.push(DatabaseEntry {
                    name: d.db.clone(),
                    collections: vec![entry],
                }),
            }
        }
        bar.finish();
        let id = self
            .record_import(
                row,
                databases,
                written_bytes,
                format!("imported from {}", dir.display()),
                None,
            )
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
