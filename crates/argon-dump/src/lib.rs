//! The files MongoDB data travels in without a server.
//!
//! - **mongodump folders**: `<db>/<collection>.bson` (or `.bson.gz`) beside
//!   `<collection>.metadata.json` (options, indexes, type);
//! - **mongodump archives** (`mongodump --archive [--gzip]`): one stream
//!   holding every collection's metadata and documents ([`archive`]);
//! - **fixture folders**: `<db>/<collection>.json` (an array of documents)
//!   or `.jsonl` (one per line) in MongoDB extended JSON, as `mongoexport`
//!   writes them.
//!
//! Everything here reads and writes files; nothing talks to a server.
//! Documents travel as raw BSON bytes (`Vec<u8>` of whole documents), so a
//! document read from a dump is byte for byte the one mongodump wrote.

pub mod archive;
mod documents;
mod error;
pub mod folder;

pub use documents::{read_bson_stream, MAX_DOCUMENT_BYTES};
pub use error::{Error, Result};
pub use folder::{scan, DataFormat, Dumped, Metadata};

/// `true` when the file at `path` starts as gzip does.
pub fn is_gzip(path: &std::path::Path) -> Result<bool> {
    use std::io::Read;
    let mut magic = [0u8; 2];
    let mut file = std::fs::File::open(path).map_err(Error::io(path))?;
    let n = file.read(&mut magic).map_err(Error::io(path))?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}
