//! Inode numbers and open files. The kernel holds a reference to every inode
//! a `lookup` returned until it `forget`s it; a directory listing holds its
//! entries until the listing is released. An inode nobody holds is dropped,
//! so browsing a store of 126,000 files does not keep 126,000 nodes forever.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fuser::FileType;

use super::render::JsonlStream;
use super::tree::Node;
use crate::snapshot::Manifest;
use crate::store::VersionId;

/// The root's inode number, fixed by FUSE; it is never dropped.
pub(super) const ROOT: u64 = 1;

struct Entry {
    node: Node,
    /// References the kernel holds (lookups not yet forgotten).
    lookups: u64,
    /// Open directory listings that name this inode.
    listings: u64,
}

/// Node <-> inode number, for as long as someone holds the inode.
pub(super) struct Inodes {
    by_node: HashMap<Node, u64>,
    entries: HashMap<u64, Entry>,
    next: u64,
}

impl Inodes {
    pub(super) fn new() -> Inodes {
        let mut inodes = Inodes {
            by_node: HashMap::new(),
            entries: HashMap::new(),
            next: ROOT,
        };
        inodes.intern(Node::Root);
        inodes
    }

    fn intern(&mut self, node: Node) -> u64 {
        if let Some(ino) = self.by_node.get(&node) {
            return *ino;
        }
        let ino = self.next;
        self.next += 1;
        self.by_node.insert(node.clone(), ino);
        let entry = Entry {
            node,
            lookups: 0,
            listings: 0,
        };
        self.entries.insert(ino, entry);
        ino
    }

    /// The inode of `node` for a `lookup` reply: the kernel now holds one more reference.
    pub(super) fn lookup(&mut self, node: Node) -> u64 {
        let ino = self.intern(node);
        if let Some(e) = self.entries.get_mut(&ino) {
            e.lookups += 1;
        }
        ino
    }

    /// The inode of `node` for a directory listing, held until `unlist`.
    pub(super) fn list(&mut self, node: Node) -> u64 {
        let ino = self.intern(node);
        if let Some(e) = self.entries.get_mut(&ino) {
            e.listings += 1;
        }
        ino
    }

    /// A listing that named `ino` was released.
    pub(super) fn unlist(&mut self, ino: u64) {
        if let Some(e) = self.entries.get_mut(&ino) {
            e.listings = e.listings.saturating_sub(1);
        }
        self.drop_if_unheld(ino);
    }

    /// The kernel dropped `n` references to `ino`.
    pub(super) fn forget(&mut self, ino: u64, n: u64) {
        if let Some(e) = self.entries.get_mut(&ino) {
            e.lookups = e.lookups.saturating_sub(n);
        }
        self.drop_if_unheld(ino);
    }

    pub(super) fn node(&self, ino: u64) -> Option<Node> {
        self.entries.get(&ino).map(|e| e.node.clone())
    }

    /// Inodes held now (the root included).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    fn drop_if_unheld(&mut self, ino: u64) {
        let unheld = self
            .entries
            .get(&ino)
            .is_some_and(|e| e.lookups == 0 && e.listings == 0);
        if ino != ROOT && unheld {
            if let Some(e) = self.entries.remove(&ino) {
                self.by_node.remove(&e.node);
            }
        }
    }
}

/// An open file or directory.
pub(super) enum Open {
    /// A listing: (inode, type, name) of each entry, each held by it.
    Dir(Vec<(u64, FileType, String)>),
    Bytes(Vec<u8>),
    Bson {
        manifest: Arc<Manifest>,
        db: usize,
        coll: usize,
        /// Offset of each chunk in the stream, plus the stream's end.
        offsets: Vec<u64>,
        /// Chunks up to here were asked for ahead of the reader.
        prefetched_to: Mutex<usize>,
        label: String,
    },
    Jsonl(Mutex<JsonlStream>, String),
}

/// A collection of a version, by its names: the key of what is known of its `.jsonl` size.
pub(super) type CollectionKey = (VersionId, String, String);

#[cfg(test)]
mod tests {
    use super::*;

    fn branch(name: &str) -> Node {
        Node::BranchDir(name.to_string())
    }

    #[test]
    fn an_inode_lives_while_the_kernel_or_a_listing_holds_it() {
        let mut inodes = Inodes::new();
        let a = inodes.lookup(branch("a"));
        assert_eq!(inodes.lookup(branch("a")), a, "same node, same inode");
        inodes.forget(a, 1);
        assert_eq!(inodes.node(a), Some(branch("a")), "one reference left");
        inodes.forget(a, 1);
        assert_eq!(inodes.node(a), None, "forgotten");

        let listed: Vec<u64> = (0..1000)
            .map(|i| inodes.list(branch(&i.to_string())))
            .collect();
        let b = inodes.lookup(branch("7"));
        assert_eq!(inodes.len(), 1001);
        for ino in &listed {
            inodes.unlist(*ino);
        }
        assert_eq!(
            inodes.len(),
            2,
            "the root, and the one the kernel looked up"
        );
        assert_eq!(inodes.node(b), Some(branch("7")));
        inodes.forget(ROOT, 5);
        assert_eq!(inodes.node(ROOT), Some(Node::Root), "the root stays");
        let again = inodes.lookup(branch("a"));
        assert_ne!(again, a, "a dropped inode's number is not reused");
    }
}
