//! Content-defined chunking (FastCDC with normalized chunking): cut points
//! depend only on the bytes around them, so an edit changes the chunks near it
//! and leaves the rest identical, which is what makes saves deduplicate.
//! Pure: no I/O; fed with byte slices, it hands out complete chunks.

/// Chunk size bounds in bytes.
#[derive(Debug, Clone, Copy)]
pub struct ChunkSizes {
    pub min: usize,
    pub avg: usize,
    pub max: usize,
}

/// Measured with `benches/run.sh` on a 1 GB dataset: with a 64 KiB average, a
/// change of 1% of one collection's documents (of five) rewrote 24% of the
/// saved bytes, because nearly every chunk of that collection held a changed
/// document. A 16 KiB chunk holds ~40 documents of ~400 bytes, so far fewer
/// chunks change, at the cost of 4x more (small) objects.
/// The largest chunk argon accepts when reading, raw or compressed: above
/// every size argon has cut (today's maximum is 64 KiB), and a bound on what
/// an untrusted store or manifest can make argon allocate.
pub const MAX_CHUNK_BYTES: usize = 1 << 20;

pub const DEFAULT_SIZES: ChunkSizes = ChunkSizes {
    min: 4 << 10,
    avg: 16 << 10,
    max: 64 << 10,
};

const fn gear_table() -> [u64; 256] {
    // splitmix64: a fixed, well-mixed table, the same on every machine forever
    // (cut points, and so chunk ids, depend on it).
    let mut table = [0u64; 256];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut i = 0;
    while i < 256 {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        table[i] = z ^ (z >> 31);
        i += 1;
    }
    table
}

static GEAR: [u64; 256] = gear_table();

/// A mask of `bits` high bits: high bits of the gear hash depend on the last 64 bytes.
const fn high_mask(bits: u32) -> u64 {
    if bits == 0 {
        0
    } else {
        u64::MAX << (64 - bits)
    }
}

/// Length of the first chunk of `data`; `data` must hold `max` bytes unless it is the end.
pub fn cut_point(data: &[u8], sizes: ChunkSizes) -> usize {
    let len = data.len();
    if len <= sizes.min {
        return len;
    }
    let bits = sizes.avg.max(2).ilog2();
    // Normalized chunking: harder to cut before the average, easier after.
    let mask_small = high_mask(bits + 2);
    let mask_large = high_mask(bits.saturating_sub(2));
    let end = len.min(sizes.max);
    let normal = sizes.avg.min(end);
    let mut hash: u64 = 0;
    let mut i = sizes.min;
    while i < normal {
        hash = (hash << 1).wrapping_add(GEAR[data[i] as usize]);
        if hash & mask_small == 0 {
            return i + 1;
        }
        i += 1;
    }
    while i < end {
        hash = (hash << 1).wrapping_add(GEAR[data[i] as usize]);
        if hash & mask_large == 0 {
            return i + 1;
        }
        i += 1;
    }
    end
}

/// Streaming chunker: push bytes in, get complete chunks out.
pub struct Chunker {
    sizes: ChunkSizes,
    buf: Vec<u8>,
    start: usize,
}

impl Chunker {
    pub fn new(sizes: ChunkSizes) -> Chunker {
        Chunker {
            sizes,
            buf: Vec::with_capacity(sizes.max * 2),
            start: 0,
        }
    }

    /// Adds bytes; calls `emit` for each chunk that is now complete.
    pub fn push<E>(
        &mut self,
        data: &[u8],
        mut emit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.buf.extend_from_slice(data);
        while self.buf.len() - self.start >= self.sizes.max {
            let n = cut_point(&self.buf[self.start..], self.sizes);
            emit(&self.buf[self.start..self.start + n])?;
            self.start += n;
        }
        if self.start > self.sizes.max {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(())
    }

    /// Emits the remaining chunks at the end of the stream.
    pub fn finish<E>(mut self, mut emit: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        while self.start < self.buf.len() {
            let n = cut_point(&self.buf[self.start..], self.sizes);
            emit(&self.buf[self.start..self.start + n])?;
            self.start += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn chunks(data: &[u8], pieces: usize) -> Vec<Vec<u8>> {
        let mut c = Chunker::new(DEFAULT_SIZES);
        let mut out = Vec::new();
        for part in data.chunks(data.len().div_ceil(pieces).max(1)) {
            c.push(part, |ch| {
                out.push(ch.to_vec());
                Ok::<_, ()>(())
            })
            .unwrap();
        }
        c.finish(|ch| {
            out.push(ch.to_vec());
            Ok::<_, ()>(())
        })
        .unwrap();
        out
    }

    #[test]
    fn chunks_reassemble_and_respect_bounds() {
        let data = pseudo_random(5 << 20, 7);
        let out = chunks(&data, 1);
        assert_eq!(out.concat(), data);
        for c in &out[..out.len() - 1] {
            assert!(
                c.len() >= DEFAULT_SIZES.min && c.len() <= DEFAULT_SIZES.max,
                "{}",
                c.len()
            );
        }
        let avg = data.len() / out.len();
        assert!(
            avg > DEFAULT_SIZES.avg / 2 && avg < DEFAULT_SIZES.avg * 2,
            "average {avg}"
        );
    }

    #[test]
    fn the_way_bytes_arrive_does_not_change_the_chunks() {
        let data = pseudo_random(3 << 20, 11);
        assert_eq!(chunks(&data, 1), chunks(&data, 977));
    }

    #[test]
    fn an_edit_changes_only_nearby_chunks() {
        let data = pseudo_random(8 << 20, 3);
        let mut edited = data.clone();
        edited[4 << 20] ^= 0xff;
        edited.splice(6 << 20..6 << 20, [1u8, 2, 3]);
        let a = chunks(&data, 1);
        let b = chunks(&edited, 1);
        let set: std::collections::HashSet<_> = a.iter().collect();
        let new_bytes: usize = b.iter().filter(|c| !set.contains(c)).map(|c| c.len()).sum();
        assert!(
            new_bytes < 4 * DEFAULT_SIZES.max,
            "{new_bytes} bytes changed for two small edits"
        );
    }

    #[test]
    fn empty_and_tiny_inputs() {
        assert!(chunks(&[], 1).is_empty());
        assert_eq!(chunks(b"abc", 1), vec![b"abc".to_vec()]);
    }
}
