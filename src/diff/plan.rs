//! Which bytes of a collection's stream a diff must read: the chunks the
//! other side does not share, found from the manifests alone.
//!
//! A chunk is known by its id, length and where its first document starts
//! (`CollectionEntry::doc_starts`), so the same key parses into the same
//! documents wherever it sits. A document whose every chunk the other side
//! holds, each next to the same neighbour, is in the other side too, byte for
//! byte ("proven"): it cannot have changed, since a collection holds one
//! document per `_id`. Only documents touching other chunks are decoded and
//! compared. Versions saved before argon recorded document starts, or a
//! stream that repeats a chunk, are read whole.

use std::collections::HashSet;

use crate::store::manifest::{ChunkRef, CollectionEntry, NO_DOCUMENT_START};
use crate::store::ChunkId;

/// A chunk as both sides can recognise it: id, length, first document start.
type Key = (ChunkId, u32, u32);

/// A stretch of the stream to decode: documents overlapping `[from, to)`,
/// parsed from the document start `parse_from`, in chunk `first_chunk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub first_chunk: usize,
    pub parse_from: u64,
    pub from: u64,
    pub to: u64,
}

/// One side's reading plan against the other side.
pub struct SidePlan {
    pub chunks: Vec<ChunkRef>,
    /// Offset of each chunk in the stream, and the stream's length last.
    pub offsets: Vec<u64>,
    pub runs: Vec<Run>,
    keys: Vec<Key>,
    other_keys: HashSet<Key>,
    other_pairs: HashSet<(Key, Key)>,
    /// Every document is decoded; none is proven.
    whole: bool,
}

/// `ARGON_DIFF_READ_WHOLE` (for benches/run.sh's baseline): read both
/// sides whole, as if no version recorded document starts.
pub(super) fn read_whole_forced() -> bool {
    std::env::var_os("ARGON_DIFF_READ_WHOLE").is_some_and(|v| !v.is_empty())
}

fn keys(c: &CollectionEntry) -> Option<Vec<Key>> {
    if c.doc_starts.len() != c.chunks.len() || read_whole_forced() {
        return None;
    }
    let keys: Vec<Key> = c
        .chunks
        .iter()
        .zip(&c.doc_starts)
        .map(|(r, &s)| (r.0, r.1, s))
        .collect();
    // A repeated chunk breaks "each next to the same neighbour".
    let unique: HashSet<&Key> = keys.iter().collect();
    (unique.len() == keys.len()).then_some(keys)
}

fn offsets(chunks: &[ChunkRef]) -> Vec<u64> {
    let mut at = 0u64;
    let mut out = Vec::with_capacity(chunks.len() + 1);
    for c in chunks {
        out.push(at);
        at += u64::from(c.1);
    }
    out.push(at);
    out
}

impl SidePlan {
    /// What to read of `this` to compare it with `other`.
    pub fn new(this: &CollectionEntry, other: &CollectionEntry) -> SidePlan {
        let offsets = offsets(&this.chunks);
        let total = *offsets.last().unwrap_or(&0);
        let (Some(keys), Some(theirs)) = (keys(this), keys(other)) else {
            let runs = match total {
                0 => Vec::new(),
                _ => vec![Run {
                    first_chunk: 0,
                    parse_from: 0,
                    from: 0,
                    to: total,
                }],
            };
            return SidePlan {
                chunks: this.chunks.clone(),
                offsets,
                runs,
                keys: Vec::new(),
                other_keys: HashSet::new(),
                other_pairs: HashSet::new(),
                whole: true,
            };
        };
        let other_pairs: HashSet<(Key, Key)> = theirs.windows(2).map(|w| (w[0], w[1])).collect();
        let other_keys: HashSet<Key> = theirs.into_iter().collect();
        let n = keys.len();
        let paired = |i: usize| other_pairs.contains(&(keys[i], keys[i + 1]));
        let dirty: Vec<bool> = (0..n)
            .map(|i| {
                !other_keys.contains(&keys[i])
                    || (i > 0 && !paired(i - 1))
                    || (i + 1 < n && !paired(i))
            })
            .collect();
        let mut runs: Vec<Run> = Vec::new();
        let mut i = 0;
        while i < n {
            if !dirty[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < n && dirty[i] {
                i += 1;
            }
            // Where to start parsing. The document crossing into `start` from
            // a clean chunk is proven (its chunks and their neighbours are the
            // other side's), so parsing starts at the first document starting
            // in `start`; when none does, at the nearest earlier one.
            let (first_chunk, parse_from) = if start == 0 {
                (0, 0)
            } else if keys[start].2 != NO_DOCUMENT_START {
                (start, offsets[start] + u64::from(keys[start].2))
            } else {
                match (0..start).rev().find(|&k| keys[k].2 != NO_DOCUMENT_START) {
                    Some(k) => (k, offsets[k] + u64::from(keys[k].2)),
                    None => (0, 0),
                }
            };
            let run = Run {
                first_chunk,
                parse_from,
                from: offsets[start],
                to: offsets[i],
            };
            match runs.last_mut() {
                // Reading on from the last run costs less than starting again.
                Some(last) if run.parse_from <= last.to => last.to = run.to,
                _ => runs.push(run),
            }
        }
        SidePlan {
            chunks: this.chunks.clone(),
            offsets,
            runs,
            keys,
            other_keys,
            other_pairs,
            whole: false,
        }
    }

    /// The chunk holding stream offset `at`.
    pub fn chunk_at(&self, at: u64) -> usize {
        match self.offsets.binary_search(&at) {
            Ok(i) => i.min(self.chunks.len().saturating_sub(1)),
            Err(i) => i - 1,
        }
    }

    /// Is the document at `[start, end)` in the other side, byte for byte?
    pub fn proven(&self, start: u64, end: u64) -> bool {
        if self.whole || end <= start {
            return false;
        }
        let (first, last) = (self.chunk_at(start), self.chunk_at(end - 1));
        (first..=last).all(|i| self.other_keys.contains(&self.keys[i]))
            && (first..last).all(|i| self.other_pairs.contains(&(self.keys[i], self.keys[i + 1])))
    }

    /// Bytes of the chunks the runs read: what decoding this side costs.
    pub fn bytes_to_read(&self) -> u64 {
        self.runs.iter().map(|r| r.to - r.parse_from).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Hash;

    fn entry(chunks: &[(&str, u32, u32)]) -> CollectionEntry {
        CollectionEntry {
            name: "c".into(),
            kind: "collection".into(),
            options: serde_json::json!({}),
            indexes: Vec::new(),
            documents: 0,
            bytes: chunks.iter().map(|c| u64::from(c.1)).sum(),
            chunks: chunks
                .iter()
                .map(|(n, len, _)| ChunkRef(ChunkId(Hash::of(n.as_bytes())), *len))
                .collect(),
            doc_starts: chunks.iter().map(|c| c.2).collect(),
        }
    }

    #[test]
    fn only_chunks_the_other_side_lacks_are_read() {
        let old = entry(&[("a", 100, 0), ("b", 100, 10), ("c", 100, 5), ("d", 100, 0)]);
        let new = entry(&[("a", 100, 0), ("b", 100, 10), ("X", 100, 5), ("d", 100, 0)]);
        let plan = SidePlan::new(&new, &old);
        // X is new; b and d lost a neighbour, so documents crossing into X are read too.
        assert_eq!(
            plan.runs,
            vec![Run {
                first_chunk: 1,
                parse_from: 110,
                from: 100,
                to: 400
            }]
        );
        assert!(
            plan.proven(0, 100),
            "a document inside 'a' is in the other side"
        );
        assert!(plan.proven(110, 150));
        assert!(!plan.proven(150, 250), "it reaches into X");
        assert!(!plan.proven(250, 320), "it crosses X into d");
    }

    #[test]
    fn identical_neighbours_make_a_crossing_document_proven() {
        let old = entry(&[("a", 100, 0), ("b", 100, 10), ("c", 100, 5)]);
        let new = entry(&[("a", 100, 0), ("b", 100, 10), ("c", 100, 5), ("z", 50, 0)]);
        let plan = SidePlan::new(&new, &old);
        assert!(plan.proven(50, 110), "a|b are neighbours on both sides");
        assert_eq!(plan.runs.len(), 1);
        assert_eq!(plan.runs[0].from, 200);
    }

    #[test]
    fn a_run_inside_a_large_document_starts_where_that_document_starts() {
        let old = entry(&[("a", 100, 0), ("b", 100, NO_DOCUMENT_START), ("c", 100, 40)]);
        let new = entry(&[("a", 100, 0), ("B", 100, NO_DOCUMENT_START), ("c", 100, 40)]);
        let plan = SidePlan::new(&new, &old);
        assert_eq!(plan.runs[0].first_chunk, 0);
        assert_eq!(plan.runs[0].parse_from, 0);
    }

    #[test]
    fn versions_without_document_starts_are_read_whole() {
        let mut old = entry(&[("a", 100, 0), ("b", 100, 10)]);
        old.doc_starts.clear();
        let new = entry(&[("a", 100, 0), ("c", 100, 10)]);
        let plan = SidePlan::new(&new, &old);
        assert_eq!(
            plan.runs,
            vec![Run {
                first_chunk: 0,
                parse_from: 0,
                from: 0,
                to: 200
            }]
        );
        assert!(!plan.proven(0, 50));
    }
}
