//! Length-prefixed BSON documents, one after another: a `.bson` file, and
//! the body of an archive.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// Largest document a dump may hold: MongoDB's 16 MiB limit, with room for
/// the nesting overhead mongodump allows.
pub const MAX_DOCUMENT_BYTES: usize = 64 << 20;

/// What [`read_one`] found next in a stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A whole document, appended to the output.
    Document,
    /// An archive's terminator (`0xffffffff`), when allowed.
    Terminator,
    /// The stream ended cleanly, before any byte of a next document.
    End,
}

/// Reads the next document of `from` and appends it to `out`. `ordinal`
/// (1-based) only names the document in messages.
pub(crate) fn read_one(
    from: &mut dyn Read,
    out: &mut Vec<u8>,
    terminator_allowed: bool,
    ordinal: u64,
) -> std::result::Result<Next, String> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match from.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(Next::End),
            Ok(0) => return Err(format!("it ends inside document {ordinal}: truncated")),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if terminator_allowed && len == [0xff; 4] {
        return Ok(Next::Terminator);
    }
    let n = i32::from_le_bytes(len);
    if !(5..=MAX_DOCUMENT_BYTES as i32).contains(&n) {
        return Err(format!("document {ordinal} has a bad length {n}"));
    }
    let at = out.len();
    out.extend_from_slice(&len);
    out.resize(at + n as usize, 0);
    from.read_exact(&mut out[at + 4..])
        .map_err(|_| format!("it ends inside document {ordinal}: truncated"))?;
    if out[at + n as usize - 1] != 0 {
        return Err(format!(
            "document {ordinal} does not end where its length says"
        ));
    }
    Ok(Next::Document)
}

/// Whole documents gathered into batches of about `batch_bytes` for a sink
/// that returns `false` when it wants no more: the one way every reader
/// here hands documents on.
pub(crate) struct Batches<F> {
    out: Vec<u8>,
    count: u64,
    batch_bytes: usize,
    sink: F,
}

impl<F: FnMut(Vec<u8>) -> bool> Batches<F> {
    pub(crate) fn new(batch_bytes: usize, sink: F) -> Self {
        Batches {
            out: Vec::with_capacity(batch_bytes + 1024),
            count: 0,
            batch_bytes,
            sink,
        }
    }

    /// Where the next whole document is appended.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Documents handed on so far, plus the one being read (1-based).
    pub(crate) fn ordinal(&self) -> u64 {
        self.count + 1
    }

    /// Counts the document just appended; `false` once the sink wants no more.
    pub(crate) fn added(&mut self) -> bool {
        self.count += 1;
        self.out.len() < self.batch_bytes || (self.sink)(std::mem::take(&mut self.out))
    }

    /// Hands on what is left; returns how many documents there were.
    pub(crate) fn finish(mut self) -> u64 {
        if !self.out.is_empty() {
            (self.sink)(std::mem::take(&mut self.out));
        }
        self.count
    }
}

/// Reads a `.bson` stream (documents back to back, as mongodump writes a
/// collection) and hands whole documents to `batch` about `batch_bytes` at
/// a time; `batch` returns `false` to stop early. Returns how many
/// documents were read. `path` names the stream in errors.
pub fn read_bson_stream(
    from: &mut dyn Read,
    path: &Path,
    batch_bytes: usize,
    batch: impl FnMut(Vec<u8>) -> bool,
) -> Result<u64> {
    let mut batches = Batches::new(batch_bytes, batch);
    loop {
        let ordinal = batches.ordinal();
        match read_one(from, batches.buffer(), false, ordinal) {
            Ok(Next::Document) => {}
            Ok(_) => break,
            Err(message) => return Err(Error::damaged(path, message)),
        }
        if !batches.added() {
            break;
        }
    }
    Ok(batches.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(i: i32) -> Vec<u8> {
        let mut out = Vec::new();
        bson::doc! { "_id": i, "name": format!("n{i}") }
            .to_writer(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn reads_whole_documents_in_batches() {
        let stream: Vec<u8> = (0..100).flat_map(doc).collect();
        let mut batches = Vec::new();
        let n = read_bson_stream(&mut &stream[..], Path::new("x.bson"), 256, |b| {
            batches.push(b);
            true
        })
        .unwrap();
        assert_eq!(n, 100);
        assert!(batches.len() > 1);
        assert_eq!(batches.concat(), stream);
        for b in &batches {
            // Each batch is whole documents: it parses to the end.
            let mut at = 0;
            while at < b.len() {
                let len = i32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
                bson::Document::from_reader(&b[at..at + len]).unwrap();
                at += len;
            }
        }
    }

    #[test]
    fn a_truncated_stream_is_an_error_naming_the_document() {
        let mut stream: Vec<u8> = (0..3).flat_map(doc).collect();
        stream.truncate(stream.len() - 3);
        let e = read_bson_stream(&mut &stream[..], Path::new("x.bson"), 1 << 20, |_| true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ends inside document 3: truncated"), "{e}");
        let bad_length = [1u8, 0, 0, 0, 0];
        let e = read_bson_stream(&mut &bad_length[..], Path::new("x.bson"), 1 << 20, |_| true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad length 1"), "{e}");
    }
}
