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
        mut each: impl FnMut(&RawDocument) -> Result<()>,
    ) -> Result<usize> {
        let malformed = |message: String| SnapshotError::Malformed {
            object: object.to_string(),
            message,
        };
        self.buf.extend_from_slice(bytes);
        let (mut at, mut size) = (0, 0);
        while self.buf.len() - at >= 4 {
            let n = i32::from_le_bytes([
                self.buf[at],
                self.buf[at + 1],
                self.buf[at + 2],
                self.buf[at + 3],
            ]);
            if !(5..=64 << 20).contains(&n) {
                return Err(malformed(format!("bad document length {n}")));
            }
            let n = n as usize;
            if self.buf.len() - at < n {
                break;
            }
            let doc = RawDocument::from_bytes(&self.buf[at..at + n])
                .map_err(|e| malformed(e.to_string()))?;
            each(doc)?;
            at += n;
            size += n;
        }
        self.buf.drain(..at);
        Ok(size)
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
