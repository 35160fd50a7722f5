//! Chunks coming back from the store, split into whole BSON documents again.

use mongodb::bson::{RawDocument, RawDocumentBuf};

use super::{Result, SnapshotError};

/// Splits a byte stream into whole BSON documents (documents span chunks).
#[derive(Default)]
pub struct DocSplitter {
    buf: Vec<u8>,
}

impl DocSplitter {
    /// Appends bytes; moves the documents now complete into `out`; returns their size.
    pub fn push(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<RawDocumentBuf>,
        object: &str,
    ) -> Result<usize> {
        self.push_each(bytes, object, |doc| {
            out.push(doc.to_owned());
            Ok(())
        })
    }

    /// Appends bytes and hands each document now complete to `each`, in
    /// place (no copy of it is made); returns their size.
    pub fn push_each(
        &mut self,
        bytes: &[u8],
        object: &str,
        each: impl FnMut(&RawDocument) -> Result<()>,
    ) -> Result<usize> {
        self.buf.extend_from_slice(bytes);
        let size = each_whole_document(&self.buf, object, each)?;
        self.buf.drain(..size);
        Ok(size)
    }

    /// True between documents: nothing is held of one begun but not ended.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn finish(self, object: &str) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        Err(SnapshotError::Malformed {
            object: object.to_string(),
            message: "the stream ends inside a document".into(),
        })
    }
}

/// Hands each whole document at the front of `bytes` to `each`, in place;
/// returns the bytes they take. What follows them is the start of a document
/// that ends further on.
pub fn each_whole_document(
    bytes: &[u8],
    object: &str,
    mut each: impl FnMut(&RawDocument) -> Result<()>,
) -> Result<usize> {
    let malformed = |message: String| SnapshotError::Malformed {
        object: object.to_string(),
        message,
    };
    let mut at = 0;
    while let Some(len) = bytes.get(at..at + 4) {
        let n = i32::from_le_bytes([len[0], len[1], len[2], len[3]]);
        if !(5..=64 << 20).contains(&n) {
            return Err(malformed(format!("bad document length {n}")));
        }
        let Some(doc) = bytes.get(at..at + n as usize) else {
            break;
        };
        each(RawDocument::from_bytes(doc).map_err(|e| malformed(e.to_string()))?)?;
        at += n as usize;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn documents_are_split_across_chunk_boundaries() {
        let docs: Vec<Vec<u8>> = (0..50)
            .map(|i| {
                mongodb::bson::to_vec(&doc! { "i": i as i64, "pad": "x".repeat(i * 7) }).unwrap()
            })
            .collect();
        let stream = docs.concat();
        let mut splitter = DocSplitter::default();
        let mut out = Vec::new();
        for piece in stream.chunks(37) {
            splitter.push(piece, &mut out, "t.c").unwrap();
        }
        splitter.finish("t.c").unwrap();
        let got: Vec<Vec<u8>> = out.into_iter().map(|d| d.into_bytes()).collect();
        assert_eq!(got, docs);
        let mut bad = DocSplitter::default();
        bad.push(&stream[..stream.len() - 3], &mut Vec::new(), "t.c")
            .unwrap();
        assert!(bad.finish("t.c").is_err(), "a truncated stream is an error");
    }
}
