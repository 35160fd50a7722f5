//! mongodump archives (`mongodump --archive [--gzip]`), as mongo-tools
//! documents them (docs/archive-format.md in mongodb/mongo-tools):
//!
//! ```text
//! archive   = magic header *collection-metadata terminator *(segment | eof)
//! magic     = 6d e2 99 81          (0x8199e26d, little-endian)
//! header    = { concurrent_collections: int32, version: "0.1",
//!               server_version, tool_version }
//! metadata  = { db, collection, metadata: <the .metadata.json text>, size }
//! segment   = { db, collection, EOF: false, CRC: 0 } +document terminator
//! eof       = { db, collection, EOF: true, CRC: <CRC-64 of the namespace's
//!               documents> } terminator
//! terminator = ff ff ff ff
//! ```
//!
//! Segments of different collections may interleave. The CRC is Go's
//! `crc64.ECMA` (CRC-64/XZ) over every document byte of the namespace, in
//! order. With `--gzip` the whole stream is gzip-compressed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bson::{doc, Document};
use crc_fast::{CrcAlgorithm, Digest};

use crate::documents::{read_one, Next};
use crate::folder::Metadata;
use crate::{Error, Result};

/// The first four bytes of every archive.
pub const MAGIC: [u8; 4] = [0x6d, 0xe2, 0x99, 0x81];
const TERMINATOR: [u8; 4] = [0xff; 4];
/// The only archive format version there is.
pub const FORMAT_VERSION: &str = "0.1";

fn crc() -> Digest {
    Digest::new(CrcAlgorithm::Crc64Xz)
}

/// A collection as an archive's prelude lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedCollection {
    pub db: String,
    pub collection: String,
    /// The collection's `.metadata.json` text (canonical extended JSON).
    pub metadata: String,
    /// Uncompressed bytes of its documents.
    pub size: u64,
}

impl ArchivedCollection {
    pub fn ns(&self) -> String {
        format!("{}.{}", self.db, self.collection)
    }
}

/// What precedes the documents: who wrote the archive, and every
/// collection's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Prelude {
    pub server_version: String,
    pub tool_version: String,
    pub collections: Vec<ArchivedCollection>,
}

impl Prelude {
    /// The parsed metadata of `db.collection` (the defaults when the
    /// prelude does not list it). `path` names the archive in errors.
    pub fn metadata_of(&self, db: &str, collection: &str, path: &Path) -> Result<Metadata> {
        match self
            .collections
            .iter()
            .find(|c| c.db == db && c.collection == collection)
        {
            Some(c) => Metadata::parse(&c.metadata, path),
            None => Ok(Metadata::default()),
        }
    }
}

/// One step through an archive's body.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// Whole documents of `db.collection`, raw BSON back to back.
    Documents {
        db: String,
        collection: String,
        bytes: Vec<u8>,
        count: u64,
    },
    /// `db.collection` is complete and its CRC matched.
    End { db: String, collection: String },
}

/// Reads an archive one [`Event`] at a time.
pub struct ArchiveReader<R> {
    from: R,
    path: PathBuf,
    batch_bytes: usize,
    /// The namespace whose segment is being read.
    current: Option<(String, String)>,
    /// CRC so far of every namespace begun and not yet ended.
    open: BTreeMap<(String, String), (Digest, u64)>,
    ended: BTreeSet<(String, String)>,
    /// Collections the prelude lists that hold documents (not views).
    expected: Vec<(String, String)>,
}

/// Opens the archive file at `path`, gzip-compressed or not (told apart by
/// its first bytes).
pub fn open(
    path: &Path,
    batch_bytes: usize,
) -> Result<(ArchiveReader<Box<dyn Read + Send>>, Prelude)> {
    let gzip = crate::is_gzip(path)?;
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let file = std::io::BufReader::with_capacity(1 << 20, file);
    let from: Box<dyn Read + Send> = match gzip {
        true => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
        false => Box::new(file),
    };
    ArchiveReader::new(from, path, batch_bytes)
}

fn string(d: &Document, key: &str) -> std::result::Result<String, String> {
    d.get_str(key)
        .map(str::to_string)
        .map_err(|_| format!("a header lacks its '{key}'"))
}

impl<R: Read> ArchiveReader<R> {
    /// Reads the magic number and the prelude. `path` names the archive in
    /// errors; `batch_bytes` bounds the bytes of one [`Event::Documents`].
    pub fn new(mut from: R, path: &Path, batch_bytes: usize) -> Result<(Self, Prelude)> {
        let damaged = |m: String| Error::damaged(path, m);
        let mut magic = [0u8; 4];
        from.read_exact(&mut magic)
            .map_err(|_| Error::NotADump(path.to_path_buf()))?;
        if magic != MAGIC {
            return Err(Error::NotADump(path.to_path_buf()));
        }
        let header = next_header(&mut from, false, "its header")
            .map_err(damaged)?
            .ok_or_else(|| damaged("it ends after its magic number: truncated".into()))?;
        let version = string(&header, "version").map_err(damaged)?;
        if version != FORMAT_VERSION {
            return Err(damaged(format!(
                "archive format {version} is not one argon reads (it reads {FORMAT_VERSION})"
            )));
        }
        let mut prelude = Prelude {
            server_version: header.get_str("server_version").unwrap_or_default().into(),
            tool_version: header.get_str("tool_version").unwrap_or_default().into(),
            collections: Vec::new(),
        };
        while let Some(m) = next_header(&mut from, true, "the collection list").map_err(damaged)? {
            let size = match m.get("size") {
                Some(bson::Bson::Int32(n)) => *n as u64,
                Some(bson::Bson::Int64(n)) => *n as u64,
                Some(bson::Bson::Double(n)) => *n as u64,
                _ => 0,
            };
            prelude.collections.push(ArchivedCollection {
                db: string(&m, "db").map_err(damaged)?,
                collection: string(&m, "collection").map_err(damaged)?,
                metadata: string(&m, "metadata").map_err(damaged)?,
                size,
            });
        }
        let mut expected = Vec::new();
        for c in &prelude.collections {
            if Metadata::parse(&c.metadata, path)?.kind != "view" {
                expected.push((c.db.clone(), c.collection.clone()));
            }
        }
        let reader = ArchiveReader {
            from,
            path: path.to_path_buf(),
            batch_bytes,
            current: None,
            open: BTreeMap::new(),
            ended: BTreeSet::new(),
            expected,
        };
        Ok((reader, prelude))
    }

    fn damaged(&self, message: impl Into<String>) -> Error {
        Error::damaged(&self.path, message)
    }

    /// The next event; `None` once the archive ended where an archive may
    /// end (every namespace begun has ended, and every collection the
    /// prelude lists was there).
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        loop {
            let Some((db, collection)) = self.current.clone() else {
                let header = next_header(&mut self.from, false, "a namespace header")
                    .map_err(|m| self.damaged(m))?;
                let Some(header) = header else {
                    return self.at_end().map(|()| None);
                };
                let key = (
                    string(&header, "db").map_err(|m| self.damaged(m))?,
                    string(&header, "collection").map_err(|m| self.damaged(m))?,
                );
                if self.ended.contains(&key) {
                    return Err(
                        self.damaged(format!("{}.{} continues after its end", key.0, key.1))
                    );
                }
                if !header.get_bool("EOF").unwrap_or(false) {
                    self.open.entry(key.clone()).or_insert_with(|| (crc(), 0));
                    self.current = Some(key);
                    continue;
                }
                let mut end = [0u8; 4];
                self.from
                    .read_exact(&mut end)
                    .map_err(|_| self.damaged("it ends inside a namespace's end: truncated"))?;
                if end != TERMINATOR {
                    return Err(self.damaged(format!(
                        "{}.{}'s end is not followed by a terminator",
                        key.0, key.1
                    )));
                }
                let (digest, _) = self.open.remove(&key).unwrap_or_else(|| (crc(), 0));
                let want = match header.get("CRC") {
                    Some(bson::Bson::Int64(n)) => *n as u64,
                    Some(bson::Bson::Int32(n)) => *n as u32 as u64,
                    _ => 0,
                };
                let got = digest.finalize();
                if want != got {
                    return Err(self.damaged(format!(
                        "the documents of {}.{} do not match their checksum (CRC-64 {got:#018x}, the archive says {want:#018x})",
                        key.0, key.1
                    )));
                }
                self.ended.insert(key.clone());
                return Ok(Some(Event::End {
                    db: key.0,
                    collection: key.1,
                }));
            };
            let key = (db, collection);
            let mut bytes = Vec::new();
            let mut count = 0u64;
            let done_before = self.open.get(&key).map_or(0, |(_, n)| *n);
            loop {
                let at = bytes.len();
                match read_one(&mut self.from, &mut bytes, true, done_before + count + 1) {
                    Ok(Next::Document) => {
                        count += 1;
                        if let Some((digest, _)) = self.open.get_mut(&key) {
                            digest.update(&bytes[at..]);
                        }
                        if bytes.len() >= self.batch_bytes {
                            break;
                        }
                    }
                    Ok(Next::Terminator) => {
                        self.current = None;
                        break;
                    }
                    Ok(Next::End) => {
                        return Err(
                            self.damaged(format!("it ends inside {}.{}: truncated", key.0, key.1))
                        )
                    }
                    Err(m) => {
                        return Err(self.damaged(format!("in {}.{}: {m}", key.0, key.1)));
                    }
                }
            }
            if let Some((_, n)) = self.open.get_mut(&key) {
                *n += count;
            }
            if count > 0 {
                return Ok(Some(Event::Documents {
                    db: key.0,
                    collection: key.1,
                    bytes,
                    count,
                }));
            }
        }
    }

    fn at_end(&self) -> Result<()> {
        if let Some((db, coll)) = self.open.keys().next() {
            return Err(self.damaged(format!("it ends before {db}.{coll} does: truncated")));
        }
        if let Some((db, coll)) = self.expected.iter().find(|k| !self.ended.contains(k)) {
            return Err(self.damaged(format!(
                "it lists {db}.{coll} but ends before its documents: truncated"
            )));
        }
        Ok(())
    }
}

/// The next BSON document of `from` as a header; `None` at a terminator
/// (when `until_terminator`) or at the end of the stream (otherwise).
fn next_header(
    from: &mut dyn Read,
    until_terminator: bool,
    what: &str,
) -> std::result::Result<Option<Document>, String> {
    let mut buf = Vec::new();
    match read_one(from, &mut buf, true, 1).map_err(|m| format!("in {what}: {m}"))? {
        Next::Document => Document::from_reader(&buf[..])
            .map(Some)
            .map_err(|e| format!("{what} is not a BSON document: {e}")),
        Next::Terminator if until_terminator => Ok(None),
        Next::Terminator => Err(format!("{what} is missing: a terminator is in its place")),
        Next::End if until_terminator => Err(format!("it ends inside {what}: truncated")),
        Next::End => Ok(None),
    }
}

/// Writes an archive: the prelude first, then each collection's documents
/// ([`ArchiveWriter::begin`], [`ArchiveWriter::write`], [`ArchiveWriter::end`]).
pub struct ArchiveWriter<W: Write> {
    to: W,
    /// The namespace being written, its CRC, and whether its segment has
    /// started (a segment holds at least one document).
    current: Option<(String, String, Digest, bool)>,
}

fn write_doc(to: &mut dyn Write, d: &Document) -> std::io::Result<()> {
    let mut buf = Vec::new();
    d.to_writer(&mut buf).map_err(std::io::Error::other)?;
    to.write_all(&buf)
}

impl<W: Write> ArchiveWriter<W> {
    /// Writes the magic number, the header and the collection list.
    pub fn start(mut to: W, prelude: &Prelude) -> std::io::Result<Self> {
        to.write_all(&MAGIC)?;
        write_doc(
            &mut to,
            &doc! {
                "concurrent_collections": 1i32,
                "version": FORMAT_VERSION,
                "server_version": &prelude.server_version,
                "tool_version": &prelude.tool_version,
            },
        )?;
        for c in &prelude.collections {
            // An int32 when the size fits, as mongodump (Go's int) writes it.
            let size = match i32::try_from(c.size) {
                Ok(n) => bson::Bson::Int32(n),
                Err(_) => bson::Bson::Int64(c.size as i64),
            };
            write_doc(
                &mut to,
                &doc! {
                    "db": &c.db,
                    "collection": &c.collection,
                    "metadata": &c.metadata,
                    "size": size,
                },
            )?;
        }
        to.write_all(&TERMINATOR)?;
        Ok(ArchiveWriter { to, current: None })
    }

    /// Starts the documents of `db.collection` (ending the one before).
    pub fn begin(&mut self, db: &str, collection: &str) -> std::io::Result<()> {
        self.end()?;
        self.current = Some((db.to_string(), collection.to_string(), crc(), false));
        Ok(())
    }

    /// Appends raw BSON to the current namespace. Calls may split documents
    /// anywhere; by [`ArchiveWriter::end`] the bytes must be whole documents.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let Some((db, collection, digest, started)) = &mut self.current else {
            return Err(std::io::Error::other(
                "archive: documents before a namespace",
            ));
        };
        if bytes.is_empty() {
            return Ok(());
        }
        if !*started {
            let header = doc! { "db": &*db, "collection": &*collection, "EOF": false, "CRC": 0i64 };
            write_doc(&mut self.to, &header)?;
            *started = true;
        }
        digest.update(bytes);
        self.to.write_all(bytes)
    }

    /// Ends the current namespace: its segment's terminator, then its EOF
    /// header with the CRC of everything written for it.
    pub fn end(&mut self) -> std::io::Result<()> {
        let Some((db, collection, digest, started)) = self.current.take() else {
            return Ok(());
        };
        if started {
            self.to.write_all(&TERMINATOR)?;
        }
        let header = doc! {
            "db": db,
            "collection": collection,
            "EOF": true,
            "CRC": digest.finalize() as i64,
        };
        write_doc(&mut self.to, &header)?;
        self.to.write_all(&TERMINATOR)
    }

    /// Ends the last namespace and hands back the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.end()?;
        self.to.flush()?;
        Ok(self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(d: &Document) -> Vec<u8> {
        let mut out = Vec::new();
        d.to_writer(&mut out).unwrap();
        out
    }

    #[test]
    fn the_checksum_is_gos_crc64_ecma() {
        // Go: crc64.Checksum([]byte("123456789"), crc64.MakeTable(crc64.ECMA)).
        let mut d = crc();
        d.update(b"123456789");
        assert_eq!(d.finalize(), 0x995d_c9bb_df19_39fa);
    }

    /// An archive assembled by hand from the format's documentation, not by
    /// [`ArchiveWriter`]: two interleaved collections, an empty one, a view.
    fn fixture(users: &[Document], orders: &[Document]) -> Vec<u8> {
        let crc_of = |docs: &[Document]| {
            let mut d = crc();
            for x in docs {
                d.update(&raw(x));
            }
            d.finalize() as i64
        };
        let mut a = vec![0x6d, 0xe2, 0x99, 0x81];
        a.extend(raw(
            &doc! { "concurrent_collections": 4i32, "version": "0.1",
            "server_version": "7.0.12", "tool_version": "100.9.4" },
        ));
        for (coll, meta) in [
            (
                "users",
                r#"{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}],"uuid":"","collectionName":"users","type":"collection"}"#,
            ),
            (
                "orders",
                r#"{"options":{},"indexes":[],"collectionName":"orders"}"#,
            ),
            (
                "empty",
                r#"{"options":{},"indexes":[],"collectionName":"empty","type":"collection"}"#,
            ),
            (
                "recent",
                r#"{"options":{"viewOn":"orders","pipeline":[]},"indexes":[],"collectionName":"recent","type":"view"}"#,
            ),
        ] {
            a.extend(raw(
                &doc! { "db": "shop", "collection": coll, "metadata": meta, "size": 10i32 },
            ));
        }
        a.extend([0xff; 4]);
        let segment = |a: &mut Vec<u8>, coll: &str, docs: &[Document]| {
            a.extend(raw(
                &doc! { "db": "shop", "collection": coll, "EOF": false, "CRC": 0i64 },
            ));
            for d in docs {
                a.extend(raw(d));
            }
            a.extend([0xff; 4]);
        };
        let eof = |a: &mut Vec<u8>, coll: &str, crc: i64| {
            a.extend(raw(
                &doc! { "db": "shop", "collection": coll, "EOF": true, "CRC": crc },
            ));
            a.extend([0xff; 4]);
        };
        segment(&mut a, "users", &users[..1]);
        segment(&mut a, "orders", orders);
        segment(&mut a, "users", &users[1..]);
        eof(&mut a, "orders", crc_of(orders));
        eof(&mut a, "empty", crc_of(&[]));
        eof(&mut a, "users", crc_of(users));
        a
    }

    fn docs(n: i32, tag: &str) -> Vec<Document> {
        (0..n)
            .map(|i| doc! { "_id": i, "tag": tag, "pad": "x".repeat(40) })
            .collect()
    }

    /// The prelude, every namespace's documents, and the order namespaces ended.
    type ReadBack = (Prelude, BTreeMap<String, Vec<u8>>, Vec<String>);

    fn read_all(bytes: &[u8], batch: usize) -> Result<ReadBack> {
        let (mut r, prelude) = ArchiveReader::new(bytes, Path::new("t.archive"), batch)?;
        let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut ended = Vec::new();
        while let Some(e) = r.next_event()? {
            match e {
                Event::Documents {
                    db,
                    collection,
                    bytes,
                    ..
                } => data
                    .entry(format!("{db}.{collection}"))
                    .or_default()
                    .extend(bytes),
                Event::End { db, collection } => ended.push(format!("{db}.{collection}")),
            }
        }
        Ok((prelude, data, ended))
    }

    #[test]
    fn reads_an_archive_written_to_the_documented_format() {
        let (users, orders) = (docs(5, "u"), docs(3, "o"));
        let archive = fixture(&users, &orders);
        let (prelude, data, ended) = read_all(&archive, 100).unwrap();
        assert_eq!(prelude.server_version, "7.0.12");
        assert_eq!(prelude.collections.len(), 4);
        let users_meta = prelude
            .metadata_of("shop", "users", Path::new("t"))
            .unwrap();
        assert_eq!(users_meta.indexes.len(), 1);
        assert_eq!(
            prelude
                .metadata_of("shop", "recent", Path::new("t"))
                .unwrap()
                .kind,
            "view"
        );
        assert_eq!(
            data["shop.users"],
            users.iter().flat_map(raw).collect::<Vec<_>>()
        );
        assert_eq!(
            data["shop.orders"],
            orders.iter().flat_map(raw).collect::<Vec<_>>()
        );
        assert!(!data.contains_key("shop.empty"));
        assert_eq!(ended, ["shop.orders", "shop.empty", "shop.users"]);
    }

    #[test]
    fn the_writer_produces_what_the_reader_and_the_documentation_agree_on() {
        let (users, orders) = (docs(5, "u"), docs(3, "o"));
        let prelude = Prelude {
            server_version: "7.0.12".into(),
            tool_version: "argon".into(),
            collections: vec![ArchivedCollection {
                db: "shop".into(),
                collection: "users".into(),
                metadata: "{}".into(),
                size: 5,
            }],
        };
        let mut w = ArchiveWriter::start(Vec::new(), &prelude).unwrap();
        w.begin("shop", "users").unwrap();
        let all: Vec<u8> = users.iter().flat_map(raw).collect();
        // Split mid-document: whole documents only by the end.
        w.write(&all[..7]).unwrap();
        w.write(&all[7..]).unwrap();
        w.begin("shop", "empty").unwrap();
        w.begin("shop", "orders").unwrap();
        w.write(&orders.iter().flat_map(raw).collect::<Vec<_>>())
            .unwrap();
        let bytes = w.finish().unwrap();
        assert_eq!(&bytes[..4], &MAGIC);
        let (read_prelude, data, ended) = read_all(&bytes, 1 << 20).unwrap();
        assert_eq!(read_prelude, prelude);
        assert_eq!(data["shop.users"], all);
        assert_eq!(ended, ["shop.users", "shop.empty", "shop.orders"]);
    }

    #[test]
    fn damage_and_truncation_are_refused() {
        let (users, orders) = (docs(5, "u"), docs(3, "o"));
        let archive = fixture(&users, &orders);
        // Cut anywhere after the prelude: never a clean end.
        let prelude_end = archive.windows(4).position(|w| w == [0xff; 4]).unwrap() + 4;
        for cut in (prelude_end..archive.len()).step_by(13) {
            let e = read_all(&archive[..cut], 64).unwrap_err().to_string();
            assert!(
                e.contains("truncated") || e.contains("ends"),
                "cut at {cut}: {e}"
            );
        }
        // One flipped byte inside a document's string: the CRC says so.
        let mut flipped = archive.clone();
        let at = flipped.windows(3).rposition(|w| w == b"xxx").unwrap();
        flipped[at] = b'y';
        let e = read_all(&flipped, 64).unwrap_err().to_string();
        assert!(e.contains("do not match their checksum"), "{e}");
        // Not an archive at all.
        assert!(matches!(
            ArchiveReader::new(&b"{\"a\":1}"[..], Path::new("x"), 64),
            Err(Error::NotADump(_))
        ));
    }
}
