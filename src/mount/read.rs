//! Reads of `.bson` files: the chunks under a byte range, from the cache,
//! with the next chunks fetched ahead of a sequential reader.

use std::sync::{Arc, Mutex};

use super::fs::ArgonFs;
use crate::snapshot::{Manifest, SnapshotError};
use crate::sync::lock;

/// Chunks fetched ahead of a sequential `.bson` reader.
const PREFETCH_CHUNKS: usize = 16;

impl ArgonFs {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn read_bson(
        &self,
        manifest: &Arc<Manifest>,
        db: usize,
        coll: usize,
        offsets: &[u64],
        prefetched_to: &Mutex<usize>,
        offset: u64,
        size: usize,
    ) -> Result<Vec<u8>, SnapshotError> {
        let chunks = &manifest.databases[db].collections[coll].chunks;
        let end_of_stream = offsets.last().copied().unwrap_or(0);
        let end = (offset + size as u64).min(end_of_stream);
        if offset >= end {
            return Ok(Vec::new());
        }
        // The chunk holding `offset`, and the first chunk starting at or past `end`.
        let first = offsets.partition_point(|&o| o <= offset) - 1;
        let last = offsets.partition_point(|&o| o < end).min(chunks.len());
        self.prefetch(manifest, db, coll, last, prefetched_to);
        let bytes = self
            .rt
            .block_on(self.cache.get_many(&chunks[first..last]))?;
        let mut out = Vec::with_capacity((end - offset) as usize);
        for (i, chunk) in bytes.iter().enumerate() {
            let start = offsets[first + i];
            let from = offset.saturating_sub(start) as usize;
            let to = ((end - start) as usize).min(chunk.len());
            out.extend_from_slice(&chunk[from..to]);
        }
        Ok(out)
    }

    /// Sequential readers (cat, cp, mongorestore) get the next chunks fetched
    /// while the kernel copies the current ones out; a random read just moves
    /// the window.
    fn prefetch(
        &self,
        manifest: &Arc<Manifest>,
        db: usize,
        coll: usize,
        next: usize,
        prefetched_to: &Mutex<usize>,
    ) {
        let len = manifest.databases[db].collections[coll].chunks.len();
        let mut to = lock(prefetched_to);
        if *to >= next + PREFETCH_CHUNKS / 2 && *to <= next + PREFETCH_CHUNKS {
            return;
        }
        let from = if *to > next && *to <= next + PREFETCH_CHUNKS {
            *to
        } else {
            next
        };
        let until = (next + PREFETCH_CHUNKS).min(len);
        if from >= until {
            return;
        }
        *to = until;
        for &chunk in &manifest.databases[db].collections[coll].chunks[from..until] {
            let cache = self.cache.clone();
            // Errors surface when the reader gets there.
            self.rt.spawn(async move {
                let _ = cache.get(chunk).await;
            });
        }
    }
}
