//! The files inside a version folder that are not stored as such: mongodump's
//! `.metadata.json`, `VERSION.json`, and `.jsonl` rendered from the BSON stream
//! as it is read.

use std::sync::Arc;

use mongodb::bson::RawDocument;
use serde::Serialize;

use super::cache::{ChunkCache, FETCH_PARALLELISM};
use crate::snapshot::{CollectionEntry, DocSplitter, Manifest, SnapshotError};
use crate::store::VersionId;

/// `<collection>.metadata.json` in the shape mongodump writes (what
/// mongorestore reads back): options, indexes, name and type.
pub fn metadata_json(c: &CollectionEntry) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Metadata<'a> {
        options: &'a serde_json::Value,
        indexes: &'a [serde_json::Value],
        collection_name: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
    }
    let m = Metadata {
        options: &c.options,
        indexes: &c.indexes,
        collection_name: &c.name,
        kind: &c.kind,
    };
    let mut out = serde_json::to_vec(&m).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `VERSION.json`: what a version is, for people and scripts.
pub fn version_json(id: VersionId, m: &Manifest) -> Vec<u8> {
    #[derive(Serialize)]
    struct Version<'a> {
        id: String,
        project: &'a str,
        branch: &'a str,
        parent: Option<String>,
        created_at: String,
        message: &'a str,
        capture: &'a str,
        engine_version: Option<&'a str>,
        collections: u64,
        bytes: u64,
    }
    let v = Version {
        id: id.to_string(),
        project: &m.project,
        branch: &m.branch,
        parent: m.parent.map(|p| p.to_string()),
        created_at: m
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        message: &m.message,
        capture: m.capture.as_str(),
        engine_version: m.engine_version.as_deref(),
        collections: m.collection_count(),
        bytes: m.total_bytes(),
    };
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// One document as a line of relaxed extended JSON (what `mongoexport` writes).
pub fn jsonl_line(doc: &RawDocument, out: &mut Vec<u8>) -> Result<(), String> {
    super::extjson::write_document(doc, out)?;
    out.push(b'\n');
    Ok(())
}

/// A `.jsonl` file being read: renders the collection's stream a few chunks at
/// a time and keeps only what the reader has not consumed yet, so memory stays
/// at a few chunks whatever the collection's size.
pub struct JsonlStream {
    manifest: Arc<Manifest>,
    db: usize,
    coll: usize,
    next_chunk: usize,
    splitter: DocSplitter,
    /// Rendered bytes starting at file offset `out_start`.
    out: Vec<u8>,
    out_start: u64,
    finished: bool,
    /// The batch after the one rendered last, being fetched: its first
    /// chunk's index, and one task per chunk.
    ahead: Option<(usize, Vec<Fetching>)>,
}

type Fetching = tokio::task::JoinHandle<Result<Arc<Vec<u8>>, SnapshotError>>;

impl JsonlStream {
    pub fn new(manifest: Arc<Manifest>, db: usize, coll: usize) -> JsonlStream {
        JsonlStream {
            manifest,
            db,
            coll,
            next_chunk: 0,
            splitter: DocSplitter::default(),
            out: Vec::new(),
            out_start: 0,
            finished: false,
            ahead: None,
        }
    }

    fn entry(&self) -> &CollectionEntry {
        &self.manifest.databases[self.db].collections[self.coll]
    }

    fn object(&self) -> String {
        format!(
            "{}.{}",
            self.manifest.databases[self.db].name,
            self.entry().name
        )
    }

    /// The file's length, once it has been rendered to the end.
    pub fn total_len(&self) -> Option<u64> {
        self.finished
            .then_some(self.out_start + self.out.len() as u64)
    }

    /// Bytes at `offset`, at most `size`; empty at the end. Reading backwards
    /// starts the rendering over (tools read these files front to back).
    pub async fn read(
        &mut self,
        cache: &Arc<ChunkCache>,
        offset: u64,
        size: usize,
    ) -> Result<Vec<u8>, SnapshotError> {
        if offset < self.out_start {
            *self = JsonlStream::new(self.manifest.clone(), self.db, self.coll);
        }
        let want_end = offset + size as u64;
        while !self.finished && self.out_start + (self.out.len() as u64) < want_end {
            // Drop what the reader is past before rendering more.
            let consumed = (offset.saturating_sub(self.out_start) as usize).min(self.out.len());
            self.out.drain(..consumed);
            self.out_start += consumed as u64;
            self.render_more(cache).await?;
        }
        let from = offset.saturating_sub(self.out_start) as usize;
        if from >= self.out.len() {
            return Ok(Vec::new());
        }
        let to = (from + size).min(self.out.len());
        Ok(self.out[from..to].to_vec())
    }

    async fn render_more(&mut self, cache: &Arc<ChunkCache>) -> Result<(), SnapshotError> {
        let all = &self.entry().chunks;
        if self.next_chunk >= all.len() {
            let splitter = std::mem::take(&mut self.splitter);
            splitter.finish(&self.object())?;
            self.finished = true;
            return Ok(());
        }
        let end = (self.next_chunk + FETCH_PARALLELISM).min(all.len());
        let batch = all[self.next_chunk..end].to_vec();
        let ahead = all[end..(end + FETCH_PARALLELISM).min(all.len())].to_vec();
        let bytes = match self.ahead.take() {
            Some((start, fetching)) if start == self.next_chunk => {
                let mut bytes = Vec::with_capacity(fetching.len());
                for f in fetching {
                    bytes.push(f.await.map_err(|e| SnapshotError::Malformed {
                        object: self.object(),
                        message: format!("fetching ahead stopped: {e}"),
                    })??);
                }
                bytes
            }
            _ => cache.get_many(&batch).await?,
        };
        // The next batch is fetched while this one is rendered, so reading
        // the store and rendering overlap.
        self.ahead = Some((
            end,
            ahead
                .into_iter()
                .map(|chunk| {
                    let cache = cache.clone();
                    tokio::spawn(async move { cache.get(chunk).await })
                })
                .collect(),
        ));
        let object = self.object();
        self.next_chunk = end;
        let out = &mut self.out;
        for chunk in &bytes {
            self.splitter.push_each(chunk, &object, |doc| {
                jsonl_line(doc, out).map_err(|message| SnapshotError::Malformed {
                    object: object.clone(),
                    message,
                })
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, oid::ObjectId, DateTime, RawDocumentBuf};

    #[test]
    fn jsonl_lines_are_relaxed_extended_json_in_field_order() {
        let oid = ObjectId::parse_str("65f0a1b2c3d4e5f601234567").unwrap();
        let d = doc! { "_id": oid, "n": 3_i64, "when": DateTime::from_millis(0), "a": [1, "x"] };
        let raw = RawDocumentBuf::from_document(&d).unwrap();
        let mut out = Vec::new();
        jsonl_line(&raw, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"_id\":{\"$oid\":\"65f0a1b2c3d4e5f601234567\"},\"n\":3,\"when\":{\"$date\":\"1970-01-01T00:00:00Z\"},\"a\":[1,\"x\"]}\n"
        );
    }

    #[test]
    fn metadata_json_has_mongodump_shape() {
        let c = CollectionEntry {
            name: "users".into(),
            kind: "collection".into(),
            options: serde_json::json!({}),
            indexes: vec![
                serde_json::json!({"v": {"$numberInt": "2"}, "key": {"_id": {"$numberInt": "1"}}, "name": "_id_"}),
            ],
            documents: 0,
            bytes: 0,
            chunks: vec![],
            doc_starts: vec![],
        };
        let v: serde_json::Value = serde_json::from_slice(&metadata_json(&c)).unwrap();
        assert_eq!(v["collectionName"], "users");
        assert_eq!(v["type"], "collection");
        assert_eq!(v["indexes"][0]["name"], "_id_");
        assert!(v["options"].is_object());
    }
}
