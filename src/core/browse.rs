//! Reading a saved version's documents a page at a time, from the store
//! alone (no engine runs): what a dashboard's document browser shows.

use mongodb::bson::RawDocumentBuf;
use serde::Serialize;

use super::{Error, Project, Result};
use crate::store::chunks::fetch_chunk;

/// One page of a collection's documents, in the order they were saved.
#[derive(Debug)]
pub struct DocumentPage {
    pub ns: String,
    /// Documents before this page.
    pub skip: u64,
    /// Documents the collection holds.
    pub total: u64,
    pub documents: Vec<RawDocumentBuf>,
}

/// A namespace of a version, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionInfo {
    pub ns: String,
    pub kind: String,
    pub documents: u64,
    pub bytes: u64,
    pub options: serde_json::Value,
    pub indexes: Vec<serde_json::Value>,
}

impl Project {
    /// Every namespace of version `rev`, with its options and indexes.
    pub async fn collections(&mut self, rev: &str) -> Result<Vec<CollectionInfo>> {
        let id = self.resolve(rev)?;
        let manifest = self.manifest(id).await?;
        Ok(manifest
            .namespaces()
            .map(|(ns, c)| CollectionInfo {
                ns,
                kind: c.kind.clone(),
                documents: c.documents,
                bytes: c.bytes,
                options: c.options.clone(),
                indexes: c.indexes.clone(),
            })
            .collect())
    }

    /// Documents `skip..skip + limit` of `ns` (DB.COLLECTION) in version
    /// `rev`. Chunks are fetched in order and only as far as the page needs.
    pub async fn documents(
        &mut self,
        rev: &str,
        ns: &str,
        skip: u64,
        limit: usize,
    ) -> Result<DocumentPage> {
        let id = self.resolve(rev)?;
        let manifest = self.manifest(id).await?;
        let Some((_, c)) = manifest.namespaces().find(|(n, _)| n == ns) else {
            return Err(Error::NoNamespace {
                ns: ns.to_string(),
                version: id.short(),
            });
        };
        let store = self.store().await?;
        let mut page = DocumentPage {
            ns: ns.to_string(),
            skip,
            total: c.documents,
            documents: Vec::new(),
        };
        // Documents cross chunk boundaries: `pending` holds the bytes of the
        // one begun in the chunks read so far.
        let mut pending: Vec<u8> = Vec::new();
        let mut seen = 0u64;
        'chunks: for chunk in &c.chunks {
            pending.extend(fetch_chunk(&store, *chunk).await?);
            let mut at = 0;
            while pending.len() - at >= 4 {
                let len = i32::from_le_bytes([
                    pending[at],
                    pending[at + 1],
                    pending[at + 2],
                    pending[at + 3],
                ]) as usize;
                if len < 5 {
                    return Err(Error::BadManifest {
                        id: id.short(),
                        message: format!("{ns} holds a document of length {len}"),
                    });
                }
                if pending.len() - at < len {
                    break;
                }
                if seen >= skip {
                    let doc = RawDocumentBuf::from_bytes(pending[at..at + len].to_vec()).map_err(
                        |e| Error::BadManifest {
                            id: id.short(),
                            message: format!("{ns}: {e}"),
                        },
                    )?;
                    page.documents.push(doc);
                    if page.documents.len() >= limit {
                        break 'chunks;
                    }
                }
                seen += 1;
                at += len;
            }
            pending.drain(..at);
        }
        Ok(page)
    }
}
