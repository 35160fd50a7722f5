//! The FUSE side: inode numbers for tree nodes, attributes, open files, and
//! reads answered from the chunk cache. FUSE calls arrive on fuser's worker
//! threads and block on argon's async runtime for store I/O.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenAccMode, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen,
    ReplyStatfs, Request,
};
use tokio::runtime::Handle as Runtime;

use super::cache::ChunkCache;
use super::catalog::Catalog;
use super::handles::{CollectionKey, Inodes, Open};
use super::render::{self, JsonlStream};
use super::source::Source;
use super::tree::{self, FileKind, Kind, Node};
use crate::sync::lock;

/// How long the kernel may keep what it learned about things that never
/// change (a saved version's files) and about listings that do.
const TTL_IMMUTABLE: Duration = Duration::from_secs(60);
const TTL_LIVE: Duration = Duration::from_secs(1);

/// Everything the mount process prints goes to stderr, one line per event.
pub fn log(message: &str) {
    // A closed stderr must not take the mount down.
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!("argon mount: {message}\n"),
    );
}

pub struct ArgonFs {
    pub(super) rt: Runtime,
    source: Source,
    pub(super) cache: Arc<ChunkCache>,
    inodes: Mutex<Inodes>,
    open: Mutex<HashMap<u64, Arc<Open>>>,
    next_fh: AtomicU64,
    /// Lengths of `.jsonl` files rendered to the end once (unknown before).
    jsonl_sizes: Mutex<HashMap<CollectionKey, u64>>,
    uid: u32,
    gid: u32,
    mounted_at: SystemTime,
}

impl ArgonFs {
    pub fn new(rt: Runtime, source: Source, cache: Arc<ChunkCache>, uid: u32, gid: u32) -> Self {
        ArgonFs {
            rt,
            source,
            cache,
            inodes: Mutex::new(Inodes::new()),
            open: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            jsonl_sizes: Mutex::new(HashMap::new()),
            uid,
            gid,
            mounted_at: SystemTime::now(),
        }
    }

    fn node(&self, ino: INodeNo) -> Option<Node> {
        lock(&self.inodes).node(ino.0)
    }

    /// Does `node` still exist (versions can be collected while mounted)?
    fn exists(&self, node: &Node, catalog: &Catalog) -> bool {
        match node.version() {
            Some(id) => catalog.versions.contains_key(&id),
            None => match node {
                Node::BranchDir(prefix) => catalog.is_branch_dir(prefix),
                Node::Latest(branch) => catalog.latest(branch).is_some(),
                _ => true,
            },
        }
    }

    fn attr(&self, ino: u64, node: &Node, catalog: &Catalog) -> Option<FileAttr> {
        let time = match node.version().and_then(|id| catalog.versions.get(&id)) {
            Some(m) => m.created_at.into(),
            None => self.mounted_at,
        };
        let (kind, perm, size) = match node.kind() {
            Kind::Dir => (FileType::Directory, 0o555, 0),
            Kind::Symlink => {
                let Node::Latest(branch) = node else {
                    return None;
                };
                (
                    FileType::Symlink,
                    0o777,
                    catalog.latest(branch)?.len() as u64,
                )
            }
            Kind::File => (FileType::RegularFile, 0o444, self.file_size(node, catalog)?),
        };
        Some(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: time,
            mtime: time,
            ctime: time,
            crtime: time,
            kind,
            perm,
            nlink: if kind == FileType::Directory { 2 } else { 1 },
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 128 * 1024,
            flags: 0,
        })
    }

    fn file_size(&self, node: &Node, catalog: &Catalog) -> Option<u64> {
        match node {
            Node::VersionJson(id) => {
                Some(render::version_json(*id, catalog.versions.get(id)?).len() as u64)
            }
            Node::File { id, db, coll, kind } => {
                let m = catalog.versions.get(id)?;
                let (_, _, c) = tree::collection(m, db, coll)?;
                Some(match kind {
                    FileKind::Bson => c.bytes,
                    FileKind::Metadata => render::metadata_json(c).len() as u64,
                    // Unknown until rendered once; readers read to the end anyway.
                    FileKind::Jsonl => lock(&self.jsonl_sizes)
                        .get(&(*id, db.clone(), coll.clone()))
                        .copied()
                        .unwrap_or(0),
                })
            }
            _ => None,
        }
    }

    fn ttl(node: &Node) -> Duration {
        match node {
            n if n.is_live() => TTL_LIVE,
            // Its size becomes known after a first full read.
            Node::File {
                kind: FileKind::Jsonl,
                ..
            } => TTL_LIVE,
            _ => TTL_IMMUTABLE,
        }
    }

    fn add_open(&self, open: Open) -> FileHandle {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        lock(&self.open).insert(fh, Arc::new(open));
        FileHandle(fh)
    }

    fn get_open(&self, fh: FileHandle) -> Option<Arc<Open>> {
        lock(&self.open).get(&fh.0).cloned()
    }

    fn open_file(&self, node: &Node, catalog: &Catalog) -> Option<(Open, FopenFlags)> {
        match node {
            Node::VersionJson(id) => Some((
                Open::Bytes(render::version_json(*id, catalog.versions.get(id)?)),
                FopenFlags::FOPEN_KEEP_CACHE,
            )),
            Node::File { id, db, coll, kind } => {
                let m = catalog.versions.get(id)?.clone();
                let (di, ci, c) = tree::collection(&m, db, coll)?;
                let label = format!("{db}.{coll} of version {}", id.short());
                Some(match kind {
                    FileKind::Metadata => (
                        Open::Bytes(render::metadata_json(c)),
                        FopenFlags::FOPEN_KEEP_CACHE,
                    ),
                    FileKind::Bson => {
                        let mut offsets = Vec::with_capacity(c.chunks.len() + 1);
                        let mut at = 0u64;
                        for chunk in &c.chunks {
                            offsets.push(at);
                            at += u64::from(chunk.1);
                        }
                        offsets.push(at);
                        let open = Open::Bson {
                            manifest: m.clone(),
                            db: di,
                            coll: ci,
                            offsets,
                            prefetched_to: Mutex::new(0),
                            label,
                        };
                        (open, FopenFlags::FOPEN_KEEP_CACHE)
                    }
                    // Rendered while read: no page cache, so reads past the
                    // (unknown) size still reach us.
                    FileKind::Jsonl => (
                        Open::Jsonl(Mutex::new(JsonlStream::new(m.clone(), di, ci)), label),
                        FopenFlags::FOPEN_DIRECT_IO,
                    ),
                })
            }
            _ => None,
        }
    }
}

impl Filesystem for ArgonFs {
    fn init(&mut self, _req: &Request, config: &mut fuser::KernelConfig) -> std::io::Result<()> {
        // Larger reads mean fewer round trips through the kernel; take what
        // the kernel allows when it offers less.
        for size in [1 << 20, 512 << 10, 256 << 10] {
            if config.set_max_readahead(size).is_ok() {
                break;
            }
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let (Some(parent), Some(name)) = (self.node(parent), name.to_str()) else {
            return reply.error(Errno::ENOENT);
        };
        let catalog = self.source.catalog(&self.rt);
        let Some(child) = parent.child(&catalog, name) else {
            return reply.error(Errno::ENOENT);
        };
        // The attributes first: a reference is taken only when the reply carries it.
        let Some(mut attr) = self.attr(0, &child, &catalog) else {
            return reply.error(Errno::ENOENT);
        };
        attr.ino = INodeNo(lock(&self.inodes).lookup(child.clone()));
        reply.entry(&Self::ttl(&child), &attr, Generation(0))
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let Some(node) = self.node(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let catalog = if node.is_live() {
            self.source.catalog(&self.rt)
        } else {
            self.source.snapshot().0
        };
        match self.attr(ino.0, &node, &catalog) {
            Some(attr) if self.exists(&node, &catalog) => reply.attr(&Self::ttl(&node), &attr),
            _ => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let catalog = self.source.catalog(&self.rt);
        match self.node(ino) {
            Some(Node::Latest(branch)) => match catalog.latest(&branch) {
                Some(target) => reply.data(target.as_bytes()),
                None => reply.error(Errno::ENOENT),
            },
            _ => reply.error(Errno::EINVAL),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.acc_mode() != OpenAccMode::O_RDONLY {
            return reply.error(Errno::EROFS);
        }
        let Some(node) = self.node(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let catalog = self.source.snapshot().0;
        match self.open_file(&node, &catalog) {
            Some((open, fopen)) => reply.opened(self.add_open(open), fopen),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(open) = self.get_open(fh) else {
            return reply.error(Errno::EBADF);
        };
        let size = size as usize;
        let result = match &*open {
            Open::Bytes(bytes) => {
                let from = (offset as usize).min(bytes.len());
                Ok(bytes[from..(from + size).min(bytes.len())].to_vec())
            }
            Open::Bson {
                manifest,
                db,
                coll,
                offsets,
                prefetched_to,
                label,
            } => self
                .read_bson(manifest, *db, *coll, offsets, prefetched_to, offset, size)
                .map_err(|e| (e, label)),
            Open::Jsonl(stream, label) => {
                let mut stream = lock(stream);
                let result = self.rt.block_on(stream.read(&self.cache, offset, size));
                if let (Some(len), Some(Node::File { id, db, coll, .. })) =
                    (stream.total_len(), self.node(ino))
                {
                    lock(&self.jsonl_sizes).insert((id, db, coll), len);
                }
                result.map_err(|e| (e, label))
            }
            Open::Dir(_) => return reply.error(Errno::EISDIR),
        };
        match result {
            Ok(bytes) => reply.data(&bytes),
            Err((e, label)) => {
                // Never wrong data: the reader gets EIO and the log says why.
                log(&format!("error reading {label}: {}", error_chain(&e)));
                reply.error(Errno::EIO)
            }
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: fuser::ReplyEmpty,
    ) {
        lock(&self.open).remove(&fh.0);
        reply.ok();
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let Some(node) = self.node(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let catalog = self.source.catalog(&self.rt);
        if node.kind() != Kind::Dir || !self.exists(&node, &catalog) {
            return reply.error(Errno::ENOENT);
        }
        // The listing is taken once per opendir, so a long listing read in
        // several calls is consistent and costs one pass over the catalog.
        let mut entries = vec![
            (ino.0, FileType::Directory, ".".to_string()),
            (1, FileType::Directory, "..".to_string()),
        ];
        for (name, child) in node.children(&catalog) {
            let kind = match child.kind() {
                Kind::Dir => FileType::Directory,
                Kind::File => FileType::RegularFile,
                Kind::Symlink => FileType::Symlink,
            };
            entries.push((lock(&self.inodes).list(child), kind, name));
        }
        reply.opened(self.add_open(Open::Dir(entries)), FopenFlags::empty());
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(open) = self.get_open(fh) else {
            return reply.error(Errno::EBADF);
        };
        let Open::Dir(entries) = &*open else {
            return reply.error(Errno::ENOTDIR);
        };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), (i + 1) as u64, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: fuser::ReplyEmpty,
    ) {
        let released = lock(&self.open).remove(&fh.0);
        if let Some(Open::Dir(entries)) = released.as_deref() {
            let mut inodes = lock(&self.inodes);
            // "." is the directory itself (held by the kernel) and ".." the root.
            for (ino, _, name) in entries {
                if name != "." && name != ".." {
                    inodes.unlist(*ino);
                }
            }
        }
        reply.ok();
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        lock(&self.inodes).forget(ino.0, nlookup);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let catalog = self.source.snapshot().0;
        let bytes: u64 = catalog.versions.values().map(|m| m.total_bytes()).sum();
        let blocks = bytes.div_ceil(4096);
        reply.statfs(
            blocks,
            0,
            0,
            catalog.versions.len() as u64,
            0,
            4096,
            255,
            4096,
        );
    }
}

/// An error with its causes, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
