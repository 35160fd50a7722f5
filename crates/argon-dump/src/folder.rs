//! Folders holding one folder per database: mongodump's
//! `<db>/<coll>.bson[.gz]` + `.metadata.json[.gz]`, and fixture files
//! `<db>/<coll>.json` / `.jsonl` in extended JSON.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use crate::documents::{read_bson_stream, Batches};
use crate::{Error, Result};

/// How a collection's documents are stored in a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// `.bson`: raw documents back to back (mongodump).
    Bson,
    /// `.bson.gz`: the same, gzip-compressed (mongodump --gzip).
    BsonGz,
    /// `.json`: an array of documents (or one document) in extended JSON.
    Json,
    /// `.jsonl`: one extended-JSON document per line.
    Jsonl,
}

impl DataFormat {
    const SUFFIXES: [(&'static str, DataFormat); 4] = [
        (".bson.gz", DataFormat::BsonGz),
        (".bson", DataFormat::Bson),
        (".jsonl", DataFormat::Jsonl),
        (".json", DataFormat::Json),
    ];
}

/// One collection found in a folder.
#[derive(Debug, Clone)]
pub struct Dumped {
    pub db: String,
    pub name: String,
    /// `<coll>.metadata.json` (or `.gz`), when there is one.
    pub metadata: Option<PathBuf>,
    /// The file holding the documents; views and empty dumps may have none.
    pub data: Option<(PathBuf, DataFormat)>,
}

/// What a `.metadata.json` says of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// Collection options, canonical extended JSON (`{}` when none).
    pub options: serde_json::Value,
    /// Index specifications, canonical extended JSON.
    pub indexes: Vec<serde_json::Value>,
    /// `collection`, `view` or `timeseries`.
    pub kind: String,
}

/// Without metadata a collection is a plain one with the index every
/// collection has, on `_id` (what a server creates, and mongodump lists).
impl Default for Metadata {
    fn default() -> Self {
        Metadata {
            options: serde_json::json!({}),
            indexes: vec![serde_json::json!({
                "v": { "$numberInt": "2" },
                "key": { "_id": { "$numberInt": "1" } },
                "name": "_id_"
            })],
            kind: "collection".into(),
        }
    }
}

impl Metadata {
    /// Parses mongodump's metadata JSON (`options`, `indexes`, `type`).
    /// `path` names its file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Metadata> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::damaged(path, format!("its metadata is not JSON: {e}")))?;
        if !v.is_object() {
            return Err(Error::damaged(path, "its metadata is not a JSON object"));
        }
        let options = v
            .get("options")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}));
        let indexes = match v.get("indexes") {
            Some(serde_json::Value::Array(ix)) => ix.clone(),
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(_) => {
                return Err(Error::damaged(
                    path,
                    "'indexes' in its metadata is not a list",
                ))
            }
        };
        let kind = v
            .get("type")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .unwrap_or("collection")
            .to_string();
        Ok(Metadata {
            options,
            indexes,
            kind,
        })
    }
}

impl Dumped {
    /// `db.collection`.
    pub fn ns(&self) -> String {
        format!("{}.{}", self.db, self.name)
    }

    /// The collection's metadata; the defaults when the folder has none.
    pub fn read_metadata(&self) -> Result<Metadata> {
        let Some(path) = &self.metadata else {
            return Ok(Metadata::default());
        };
        let mut text = String::new();
        open(path)?
            .read_to_string(&mut text)
            .map_err(Error::io(path))?;
        Metadata::parse(&text, path)
    }

    /// Size of the data file on disk (compressed when it is), for progress.
    pub fn data_len(&self) -> u64 {
        self.data
            .as_ref()
            .and_then(|(p, _)| p.metadata().ok())
            .map_or(0, |m| m.len())
    }

    /// Reads the documents as raw BSON, handing whole documents to `batch`
    /// about `batch_bytes` at a time (`false` from it stops early), and
    /// reports `read` on-disk bytes consumed as it goes. Returns how many
    /// documents there were.
    pub fn read_documents(
        &self,
        batch_bytes: usize,
        mut read: impl FnMut(u64),
        batch: impl FnMut(Vec<u8>) -> bool,
    ) -> Result<u64> {
        let Some((path, format)) = &self.data else {
            return Ok(0);
        };
        let file = std::fs::File::open(path).map_err(Error::io(path))?;
        let counted = Counted {
            inner: file,
            report: &mut read,
        };
        let buffered = std::io::BufReader::with_capacity(1 << 20, counted);
        match format {
            DataFormat::Bson => read_bson_stream(&mut { buffered }, path, batch_bytes, batch),
            DataFormat::BsonGz => read_bson_stream(
                &mut flate2::bufread::MultiGzDecoder::new(buffered),
                path,
                batch_bytes,
                batch,
            ),
            DataFormat::Json => read_json_array(buffered, path, batch_bytes, batch),
            DataFormat::Jsonl => read_json_lines(buffered, path, batch_bytes, batch),
        }
    }
}

/// A reader that reports how many bytes went through it.
struct Counted<'a, R> {
    inner: R,
    report: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.report)(n as u64);
        Ok(n)
    }
}

/// Opens `path`, decompressing it when its name ends in `.gz`.
fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let file = std::io::BufReader::with_capacity(1 << 20, file);
    Ok(match path.extension().is_some_and(|e| e == "gz") {
        true => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
        false => Box::new(file),
    })
}

/// The collections of the folder `dir`: one folder per database. `system.*`
/// collections (users, roles, views' definitions) are left out: they are
/// the server's, not the application's.
pub fn scan(dir: &Path) -> Result<Vec<Dumped>> {
    let not_a_dump = || Error::NotADump(dir.to_path_buf());
    let entries = std::fs::read_dir(dir).map_err(|_| not_a_dump())?;
    let mut found: BTreeMap<(String, String), Dumped> = BTreeMap::new();
    for db in entries.filter_map(|e| e.ok()) {
        if !db.path().is_dir() {
            continue;
        }
        let db_name = db.file_name().to_string_lossy().into_owned();
        let files = std::fs::read_dir(db.path()).map_err(Error::io(&db.path()))?;
        for f in files.filter_map(|e| e.ok()) {
            let file = f.file_name().to_string_lossy().into_owned();
            let (name, data) = if let Some(n) = file
                .strip_suffix(".metadata.json.gz")
                .or_else(|| file.strip_suffix(".metadata.json"))
            {
                (n.to_string(), None)
            } else if let Some((n, format)) = DataFormat::SUFFIXES
                .iter()
                .find_map(|(suffix, format)| Some((file.strip_suffix(suffix)?, *format)))
            {
                (n.to_string(), Some(format))
            } else {
                continue;
            };
            if name.starts_with("system.") || name.is_empty() {
                continue;
            }
            let entry = found
                .entry((db_name.clone(), name.clone()))
                .or_insert_with(|| Dumped {
                    db: db_name.clone(),
                    name,
                    metadata: None,
                    data: None,
                });
            match data {
                None => entry.metadata = Some(f.path()),
                Some(format) => {
                    if let Some((other, _)) = &entry.data {
                        return Err(Error::damaged(
                            &f.path(),
                            format!(
                                "{} also holds {}'s documents: keep one of the two",
                                other.display(),
                                entry.ns()
                            ),
                        ));
                    }
                    entry.data = Some((f.path(), format));
                }
            }
        }
    }
    if found.is_empty() {
        return Err(not_a_dump());
    }
    Ok(found.into_values().collect())
}

/// One extended-JSON value as raw BSON, appended to `out`.
fn json_to_bson(
    value: serde_json::Value,
    out: &mut Vec<u8>,
    path: &Path,
    what: impl FnOnce() -> String,
) -> Result<()> {
    match bson::Bson::try_from(value) {
        Ok(bson::Bson::Document(d)) => d
            .to_writer(out)
            .map_err(|e| Error::damaged(path, format!("{}: {e}", what()))),
        Ok(_) => Err(Error::damaged(
            path,
            format!("{} is not a document", what()),
        )),
        Err(e) => Err(Error::damaged(
            path,
            format!("{} is not extended JSON: {e}", what()),
        )),
    }
}

fn read_json_array(
    mut from: impl Read,
    path: &Path,
    batch_bytes: usize,
    batch: impl FnMut(Vec<u8>) -> bool,
) -> Result<u64> {
    let mut text = String::new();
    from.read_to_string(&mut text).map_err(Error::io(path))?;
    let items = match serde_json::from_str(&text)
        .map_err(|e| Error::damaged(path, format!("not JSON: {e}")))?
    {
        serde_json::Value::Array(items) => items,
        one @ serde_json::Value::Object(_) => vec![one],
        _ => return Err(Error::damaged(path, "expected a JSON array of documents")),
    };
    let mut batches = Batches::new(batch_bytes, batch);
    for (i, v) in items.into_iter().enumerate() {
        json_to_bson(v, batches.buffer(), path, || format!("item {}", i + 1))?;
        if !batches.added() {
            break;
        }
    }
    Ok(batches.finish())
}

fn read_json_lines(
    from: impl BufRead,
    path: &Path,
    batch_bytes: usize,
    batch: impl FnMut(Vec<u8>) -> bool,
) -> Result<u64> {
    let mut batches = Batches::new(batch_bytes, batch);
    for (i, line) in from.lines().enumerate() {
        let line = line.map_err(Error::io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let line_no = || format!("line {}", i + 1);
        let v = serde_json::from_str(&line)
            .map_err(|e| Error::damaged(path, format!("{}: {e}", line_no())))?;
        json_to_bson(v, batches.buffer(), path, line_no)?;
        if !batches.added() {
            break;
        }
    }
    Ok(batches.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, bytes: &[u8]) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn all(d: &Dumped) -> Vec<bson::Document> {
        let mut bytes = Vec::new();
        d.read_documents(
            64,
            |_| {},
            |b| {
                bytes.extend(b);
                true
            },
        )
        .unwrap();
        let mut docs = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len = i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            docs.push(bson::Document::from_reader(&bytes[at..at + len]).unwrap());
            at += len;
        }
        docs
    }

    #[test]
    fn dumps_and_fixtures_read_to_the_same_documents() {
        let dir = std::env::temp_dir().join(format!("argon-dump-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let docs = [
            bson::doc! { "_id": 1, "at": bson::DateTime::from_millis(0), "n": 1.5 },
            bson::doc! { "_id": 2, "tags": ["a", "b"] },
        ];
        let mut raw = Vec::new();
        for d in &docs {
            d.to_writer(&mut raw).unwrap();
        }
        write(&dir, "app/a.bson", &raw);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        write(&dir, "app/b.bson.gz", &gz.finish().unwrap());
        let json: Vec<_> = docs
            .iter()
            .map(|d| bson::Bson::Document(d.clone()).into_canonical_extjson())
            .collect();
        write(
            &dir,
            "app/c.json",
            serde_json::to_string(&json).unwrap().as_bytes(),
        );
        let lines: Vec<String> = json.iter().map(|v| v.to_string()).collect();
        write(&dir, "app/d.jsonl", lines.join("\n").as_bytes());
        write(
            &dir,
            "app/a.metadata.json",
            br#"{"options":{"capped":true,"size":{"$numberLong":"4096"}},"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}],"type":"collection"}"#,
        );
        write(&dir, "app/system.users.bson", &raw);
        write(&dir, "app/notes.txt", b"not a dump file");

        let found = scan(&dir).unwrap();
        let names: Vec<String> = found.iter().map(Dumped::ns).collect();
        assert_eq!(names, ["app.a", "app.b", "app.c", "app.d"]);
        for d in &found {
            assert_eq!(all(d), docs, "{}", d.ns());
        }
        let meta = found[0].read_metadata().unwrap();
        assert_eq!(meta.options["capped"], true);
        assert_eq!(meta.indexes.len(), 1);
        assert_eq!(found[1].read_metadata().unwrap(), Metadata::default());

        write(&dir, "app/a.json", b"[]");
        let e = scan(&dir).unwrap_err().to_string();
        assert!(e.contains("keep one of the two"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(scan(&dir), Err(Error::NotADump(_))));
    }

    #[test]
    fn a_fixture_that_is_not_a_document_is_named() {
        let e = read_json_lines(&b"{\"a\":1}\n[1,2]\n"[..], Path::new("f.jsonl"), 1, |_| {
            true
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 2 is not a document"), "{e}");
    }
}
