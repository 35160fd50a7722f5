//! The chunk pipeline: a byte stream cut into content-defined chunks,
//! hashed, compressed and sent to the store (only chunks it lacks); and
//! chunks fetched back, decompressed and checked against their names.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};

use super::chunker::{Chunker, DEFAULT_SIZES, MAX_CHUNK_BYTES};
use super::manifest::{ChunkRef, NO_DOCUMENT_START};
use super::{ChunkId, Hash, ObjectKey, Result, Store, StoreError};

/// Batches in flight between the reader and the chunker (bounds memory).
const PIPE_DEPTH: usize = 8;
/// New chunks go to the store in batches of up to this many...
const UPLOAD_BATCH_CHUNKS: usize = 64;
/// ...or this many stored bytes: each batch is one trip to the store's
/// writer (a local store appends it to its pack in one write), not one per
/// chunk, whose hand-offs between threads cost more than the write.
const UPLOAD_BATCH_BYTES: usize = 1 << 20;
/// Batches waiting for upload, and batches being uploaded, per stream
/// (bounds memory: x 1 MiB each).
const UPLOAD_DEPTH: usize = 2;
/// Chunk transfers in flight per stream (reads; writes go by batch).
pub const TRANSFER_PARALLEL: usize = 16;
/// zstd's fastest level: a save is bound by CPU on small machines, and level 3
/// made 7% smaller chunks for 8% more time (benches/save.sh). Chunks are
/// named by their uncompressed bytes, so levels mix freely in one store.
const ZSTD_LEVEL: i32 = 1;

/// Chunks known to be in the store: those of the parent version, plus those
/// this save wrote. Known chunks are neither checked nor uploaded again.
#[derive(Clone)]
pub struct KnownChunks(Arc<Mutex<HashSet<ChunkId>>>);

impl KnownChunks {
    pub fn new(ids: impl IntoIterator<Item = ChunkId>) -> KnownChunks {
        KnownChunks(Arc::new(Mutex::new(ids.into_iter().collect())))
    }

    /// True when `id` was not known before (and is now).
    fn insert(&self, id: ChunkId) -> bool {
        self.0.lock().map(|mut set| set.insert(id)).unwrap_or(true)
    }
}

/// What a stream became in the store.
pub struct WrittenStream {
    pub chunks: Vec<ChunkRef>,
    /// Per chunk, where the first document starting in it starts
    /// (`NO_DOCUMENT_START` when none does): see `CollectionEntry::doc_starts`.
    pub doc_starts: Vec<u32>,
    /// Bytes of the stream.
    pub bytes: u64,
    /// Compressed bytes actually sent (chunks the store lacked).
    pub written: u64,
}

/// Where documents start in a stream of whole BSON documents, fed batch by
/// batch (each batch whole documents), and read back chunk by chunk.
#[derive(Default)]
pub(crate) struct DocStarts {
    /// Offsets in the stream of documents not yet passed by a chunk.
    pending: VecDeque<u64>,
    /// Bytes of the stream seen so far.
    seen: u64,
}

impl DocStarts {
    /// Notes the documents of `batch` (whole BSON documents, each led by its length).
    pub(crate) fn push(&mut self, batch: &[u8]) {
        let mut at = 0usize;
        while at + 4 <= batch.len() {
            self.pending.push_back(self.seen + at as u64);
            let n = i32::from_le_bytes([batch[at], batch[at + 1], batch[at + 2], batch[at + 3]]);
            // Malformed lengths stop the notes (the reader hands whole documents).
            if n < 5 {
                break;
            }
            at += n as usize;
        }
        self.seen += batch.len() as u64;
    }

    /// The first document start in the chunk at `[start, start + len)`, as
    /// an offset into the chunk.
    pub(crate) fn first_in(&mut self, start: u64, len: usize) -> u32 {
        while self.pending.front().is_some_and(|&s| s < start) {
            self.pending.pop_front();
        }
        match self.pending.front() {
            Some(&s) if s < start + len as u64 => (s - start) as u32,
            _ => NO_DOCUMENT_START,
        }
    }
}

/// New chunks gathered for one trip to the store.
#[derive(Default)]
struct UploadBatch {
    chunks: Vec<(ChunkId, Vec<u8>)>,
    bytes: usize,
}

impl UploadBatch {
    /// Adds a chunk; returns the batch once it is full.
    fn add(&mut self, id: ChunkId, stored: Vec<u8>) -> Option<Vec<(ChunkId, Vec<u8>)>> {
        self.bytes += stored.len();
        self.chunks.push((id, stored));
        let full = self.chunks.len() >= UPLOAD_BATCH_CHUNKS || self.bytes >= UPLOAD_BATCH_BYTES;
        full.then(|| self.take()).flatten()
    }

    fn take(&mut self) -> Option<Vec<(ChunkId, Vec<u8>)>> {
        self.bytes = 0;
        (!self.chunks.is_empty()).then(|| std::mem::take(&mut self.chunks))
    }
}

/// What the chunker made of a stream (before the uploads are counted).
struct Chunked {
    chunks: Vec<ChunkRef>,
    doc_starts: Vec<u32>,
    bytes: u64,
}

/// One stream on its way into the store: `send` batches of bytes (whole
/// BSON documents), then `finish`. The chunker and compressor run on a blocking thread and the
/// uploads in parallel; every queue is bounded, so memory does not grow with
/// the stream.
pub struct ChunkWriter {
    batches: tokio::sync::mpsc::Sender<Vec<u8>>,
    chunker: tokio::task::JoinHandle<std::io::Result<Chunked>>,
    uploader: tokio::task::JoinHandle<Result<u64>>,
}

impl ChunkWriter {
    pub fn start(store: Arc<Store>, known: KnownChunks) -> ChunkWriter {
        let (batches, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(PIPE_DEPTH);
        let (up_tx, up_rx) = tokio::sync::mpsc::channel::<Vec<(ChunkId, Vec<u8>)>>(UPLOAD_DEPTH);
        let chunker = tokio::task::spawn_blocking(move || {
            let mut refs = Vec::new();
            let mut firsts = Vec::new();
            let mut total = 0u64;
            let starts = std::cell::RefCell::new(DocStarts::default());
            // One context for the stream: making one per chunk costs as much
            // as compressing a small chunk.
            let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
            let mut upload = UploadBatch::default();
            let send = |batch: Vec<(ChunkId, Vec<u8>)>| {
                up_tx
                    .blocking_send(batch)
                    .map_err(|_| std::io::Error::other("the upload stopped"))
            };
            let mut emit = |chunk: &[u8]| -> std::io::Result<()> {
                let id = ChunkId(Hash::of(chunk));
                refs.push(ChunkRef(id, chunk.len() as u32));
                firsts.push(starts.borrow_mut().first_in(total, chunk.len()));
                total += chunk.len() as u64;
                if known.insert(id) {
                    if let Some(full) = upload.add(id, compressor.compress(chunk)?) {
                        send(full)?;
                    }
                }
                Ok(())
            };
            let mut chunker = Chunker::new(DEFAULT_SIZES);
            while let Some(batch) = rx.blocking_recv() {
                starts.borrow_mut().push(&batch);
                chunker.push(&batch, &mut emit)?;
            }
            chunker.finish(&mut emit)?;
            if let Some(last) = upload.take() {
                send(last)?;
            }
            Ok(Chunked {
                chunks: refs,
                doc_starts: firsts,
                bytes: total,
            })
        });
        let uploader = tokio::spawn(async move {
            let batches = futures_util::stream::unfold(up_rx, |mut rx| async move {
                rx.recv().await.map(|c| (c, rx))
            });
            batches
                .map(|batch| {
                    let store = store.clone();
                    // An interrupted save's chunks are already there: not sent again.
                    async move { store.put_new_chunks(batch).await }
                })
                .buffer_unordered(UPLOAD_DEPTH)
                .try_fold(0u64, |sum, n| async move { Ok(sum + n) })
                .await
        });
        ChunkWriter {
            batches,
            chunker,
            uploader,
        }
    }

    /// Hands the next bytes of the stream over, waiting (without holding a
    /// runtime thread) while the pipeline is full; false once the pipeline
    /// stopped (its error comes from `finish`).
    pub async fn send(&self, batch: Vec<u8>) -> bool {
        self.batches.send(batch).await.is_ok()
    }

    /// [`ChunkWriter::send`] from a blocking thread (a file read there).
    pub fn send_blocking(&self, batch: Vec<u8>) -> bool {
        self.batches.blocking_send(batch).is_ok()
    }

    /// Ends the stream and waits until every chunk is in the store.
    pub async fn finish(self, stream: &str) -> Result<WrittenStream> {
        drop(self.batches);
        let joined = |op: &'static str| {
            let stream = stream.to_string();
            move |e: tokio::task::JoinError| StoreError::Io {
                op,
                key: stream,
                source: std::io::Error::other(e),
            }
        };
        let chunked = self.chunker.await.map_err(joined("chunking"))?;
        let written = self.uploader.await.map_err(joined("uploading"))??;
        let Chunked {
            chunks,
            doc_starts,
            bytes,
        } = chunked.map_err(|source| StoreError::Io {
            op: "chunking",
            key: stream.to_string(),
            source,
        })?;
        Ok(WrittenStream {
            chunks,
            doc_starts,
            bytes,
            written,
        })
    }
}

/// Chunks up to this size are decoded where they are fetched: a few tens
/// of microseconds, less than a trip to the blocking pool and back.
const DECODE_INLINE_BYTES: usize = 64 << 10;

/// Downloads a chunk, decompresses it and checks that it hashes to its name.
pub async fn fetch_chunk(store: &Store, chunk: ChunkRef) -> Result<Vec<u8>> {
    let compressed = store.get_bytes(ObjectKey::Chunk(chunk.0)).await?;
    if chunk.1 as usize <= DECODE_INLINE_BYTES {
        return decode_chunk(&compressed, chunk);
    }
    tokio::task::spawn_blocking(move || decode_chunk(&compressed, chunk))
        .await
        .map_err(|e| StoreError::Io {
            op: "verifying",
            key: ObjectKey::Chunk(chunk.0).to_string(),
            source: std::io::Error::other(e),
        })?
}

/// Decompresses a stored chunk and checks its length and hash: a chunk that
/// does not match its name is reported as corrupt, never returned.
pub fn decode_chunk(compressed: &[u8], chunk: ChunkRef) -> Result<Vec<u8>> {
    let ChunkRef(id, len) = chunk;
    let corrupt = || StoreError::Corrupt {
        key: ObjectKey::Chunk(id).to_string(),
    };
    // The length comes from a manifest, which is untrusted: no allocation beyond a chunk's maximum.
    if len as usize > MAX_CHUNK_BYTES {
        return Err(corrupt());
    }
    // One context per thread: making one per chunk costs as much as
    // decompressing a small chunk.
    thread_local! {
        static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let raw = DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(d) => d.decompress(compressed, len as usize),
            None => Err(std::io::Error::other("no decompressor")),
        }
    });
    match raw {
        Ok(raw) if raw.len() == len as usize && Hash::of(&raw) == id.0 => Ok(raw),
        _ => Err(corrupt()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryBackend;

    /// A document of `n` bytes (a BSON length header, filler, the end byte).
    fn document(n: usize) -> Vec<u8> {
        let mut d = vec![b'x'; n];
        d[..4].copy_from_slice(&(n as i32).to_le_bytes());
        d[n - 1] = 0;
        d
    }

    #[tokio::test]
    async fn every_chunk_knows_where_its_first_document_starts() {
        let store = Arc::new(Store::new(Arc::new(MemoryBackend::new())));
        let writer = ChunkWriter::start(store, KnownChunks::new([]));
        let mut starts = Vec::new();
        let mut at = 0u64;
        let mut batch = Vec::new();
        // Small documents, and some larger than a chunk, in uneven batches.
        for i in 0..3000usize {
            let n = if i % 500 == 7 {
                300_000
            } else {
                20 + (i * 37) % 900
            };
            starts.push(at);
            at += n as u64;
            batch.extend_from_slice(&document(n));
            if i % 13 == 0 {
                assert!(writer.send(std::mem::take(&mut batch)).await);
            }
        }
        assert!(writer.send(batch).await);
        let written = writer.finish("t.c").await.unwrap();
        assert_eq!(written.doc_starts.len(), written.chunks.len());
        let mut offset = 0u64;
        let mut spanned = 0;
        for (chunk, first) in written.chunks.iter().zip(&written.doc_starts) {
            let end = offset + u64::from(chunk.1);
            let expected = starts.iter().find(|&&s| s >= offset && s < end);
            match expected {
                Some(s) => assert_eq!(u64::from(*first), s - offset),
                None => {
                    assert_eq!(*first, NO_DOCUMENT_START);
                    spanned += 1;
                }
            }
            offset = end;
        }
        assert_eq!(offset, at);
        assert!(spanned > 0, "a large document spans whole chunks");
    }
}
