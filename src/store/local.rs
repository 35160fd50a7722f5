//! A store in a local folder: write to a temporary file, fsync, rename.
//! Chunks, thousands per save, go into pack files (`pack`), up to 1,024 to a
//! file: each pack is synced and named when it is full and before the next
//! manifest is written. So a chunk is found only once it is whole on disk (a
//! save that finds it does not send it again), and a manifest lands only
//! after every chunk it names is on disk. Chunks stored one file each (by
//! argon before packs, and in a scratch folder) are read as before.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::pack::{self, PackIndex, PackWriter};
use super::{Backend, BoxFuture, ChunkId, ObjectKey, Result, StoreError, StoredChunk, VersionId};

pub struct LocalBackend {
    root: PathBuf,
    durability: Durability,
    /// Folders holding renames not yet made durable.
    unsynced: Mutex<HashSet<PathBuf>>,
    /// Packs being written by this process.
    packing: Arc<Mutex<Packing>>,
    /// Held while packs are sealed or rewritten: a manifest waits for the
    /// packs of its chunks that another task is sealing.
    sealing: Arc<tokio::sync::Mutex<()>>,
    /// Which pack holds each chunk.
    index: Arc<Mutex<PackIndex>>,
}

#[derive(Default)]
struct Packing {
    /// The pack chunks are appended to.
    open: Option<PackWriter>,
    /// Full packs waiting to be sealed.
    full: Vec<PackWriter>,
    /// A pack that failed to seal took chunks already accepted with it: no
    /// manifest may be written by this process after that.
    failed: Option<String>,
}

/// What a crash may do to a local folder's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// A store: chunks go into packs, found only once on disk.
    Store,
    /// A scratch folder (a spool) whose chunks are also elsewhere: a file
    /// each, named at once, nothing synced; a crash leaves a folder that
    /// recovery clears.
    Scratch,
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

fn locked<T>(m: &Mutex<T>) -> std::io::Result<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| std::io::Error::other("a thread writing the store panicked"))
}

impl LocalBackend {
    pub fn new(root: PathBuf) -> Self {
        LocalBackend::with(root, Durability::Store)
    }

    /// A folder for chunks that are also elsewhere (a spool): never synced.
    pub fn scratch(root: PathBuf) -> Self {
        LocalBackend::with(root, Durability::Scratch)
    }

    fn with(root: PathBuf, durability: Durability) -> Self {
        LocalBackend {
            index: Arc::new(Mutex::new(PackIndex::new(root.join(pack::FOLDER)))),
            root,
            durability,
            unsynced: Mutex::new(HashSet::new()),
            packing: Arc::new(Mutex::new(Packing::default())),
            sealing: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Seals every pack this process is writing, then makes every pending
    /// rename durable.
    async fn sync_pending(&self, key: &ObjectKey) -> Result<()> {
        self.seal_packs(key, true).await?;
        let dirs: Vec<PathBuf> = match self.unsynced.lock() {
            Ok(mut set) => set.drain().collect(),
            Err(_) => Vec::new(),
        };
        for dir in dirs {
            sync_dir(&dir)
                .await
                .map_err(|source| io_err("syncing chunks before", key, source))?;
        }
        Ok(())
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.path())
    }

    /// An object's path and a temporary path beside it (`.<name>.<pid>.tmp`),
    /// so the final rename is atomic and a dead writer's files are known.
    fn paths_for(&self, key: &ObjectKey) -> (PathBuf, PathBuf) {
        let dest = self.path(key);
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dest.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        (dest, tmp)
    }

    /// Seals the full packs (and with `all` the open one too), syncing each
    /// and giving it its name; their folder's rename is still to be synced,
    /// before the next manifest.
    async fn seal_packs(&self, key: &ObjectKey, all: bool) -> Result<()> {
        // Held by the blocking task itself, which runs to its end even when
        // this future is dropped: a manifest never lands while a pack of its
        // chunks is still being sealed.
        let sealing = self.sealing.clone().lock_owned().await;
        let packing = self.packing.clone();
        let index = self.index.clone();
        let folder = self.root.join(pack::FOLDER);
        let dir = folder.clone();
        let sealed_any = blocking(move || {
            let _sealing = sealing;
            let writers = {
                let mut p = locked(&packing)?;
                if let Some(failed) = &p.failed {
                    return Err(std::io::Error::other(failed.clone()));
                }
                if all {
                    if let Some(open) = p.open.take() {
                        p.full.push(open);
                    }
                }
                std::mem::take(&mut p.full)
            };
            let any = !writers.is_empty();
            for writer in writers {
                match writer.seal(&folder) {
                    Ok(sealed) => locked(&index)?.add(sealed),
                    Err(e) => {
                        locked(&packing)?.failed = Some(format!(
                            "an earlier pack of chunks failed to be written: {e}"
                        ));
                        return Err(e);
                    }
                }
            }
            Ok(any)
        })
        .await
        .map_err(|source| io_err("syncing chunks before", key, source))?;
        if sealed_any {
            if let Ok(mut set) = self.unsynced.lock() {
                set.insert(dir);
            }
        }
        Ok(())
    }

    /// Appends chunks to this process's open pack (the next one when it
    /// fills), in one blocking task; with `skip_stored`, those the store
    /// has already are left out. Returns the stored bytes appended. A pack
    /// filled is sealed before this returns.
    async fn pack_chunks(&self, chunks: Vec<(ChunkId, Vec<u8>)>, skip_stored: bool) -> Result<u64> {
        let Some(key) = chunks.first().map(|(id, _)| ObjectKey::Chunk(*id)) else {
            return Ok(0);
        };
        let packing = self.packing.clone();
        let index = self.index.clone();
        let root = self.root.clone();
        let (written, full) = blocking(move || {
            let chunks = match skip_stored {
                true => unstored(&index, &root, chunks)?,
                false => chunks,
            };
            let folder = root.join(pack::FOLDER);
            let mut p = locked(&packing)?;
            if let Some(failed) = &p.failed {
                return Err(std::io::Error::other(failed.clone()));
            }
            let mut written = 0u64;
            let mut rest = &chunks[..];
            while !rest.is_empty() {
                let mut writer = match p.open.take() {
                    Some(w) => w,
                    None => PackWriter::create(&folder)?,
                };
                let taken = writer.room_for(rest.iter().map(|(_, b)| b.len()));
                let appended = writer.append_all(&rest[..taken]);
                if appended.is_ok() && writer.is_full() {
                    p.full.push(writer);
                } else {
                    p.open = Some(writer);
                }
                appended?;
                written += rest[..taken]
                    .iter()
                    .map(|(_, b)| b.len() as u64)
                    .sum::<u64>();
                rest = &rest[taken..];
            }
            Ok((written, !p.full.is_empty()))
        })
        .await
        .map_err(|source| io_err("writing", &key, source))?;
        // A long save seals its packs one by one: one killed part way leaves
        // them stored, and its rerun does not send them again.
        if full {
            self.seal_packs(&key, false).await?;
            crate::fault::point("store:chunks-placed").await;
        }
        Ok(written)
    }

    /// Writes a scratch folder's chunk as a file of its own, named at once.
    async fn put_loose_chunk(&self, key: ObjectKey, bytes: Vec<u8>) -> Result<()> {
        let (dest, tmp) = self.paths_for(&key);
        blocking(move || {
            create_parent(&tmp)?;
            let cleanup = RemoveOnDrop(tmp.clone());
            crate::private::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &dest)?;
            std::mem::forget(cleanup);
            Ok(())
        })
        .await
        .map_err(|source| io_err("writing", &key, source))
    }

    /// Reads a chunk from its pack, or from its own file. A chunk not in
    /// the index, or in a pack that is gone, is looked up again after the
    /// index is refreshed: another process may have written (or gc
    /// rewritten) its pack since.
    async fn get_chunk(&self, key: ObjectKey, id: ChunkId) -> Result<Vec<u8>> {
        let index = self.index.clone();
        let loose = self.path(&key);
        let max = key.max_bytes();
        // One blocking task for the lookup and the read: a mount or a
        // restore reads thousands of small chunks, and each trip to the
        // blocking pool costs a thread wake-up.
        let read = blocking(move || {
            for refreshed in [false, true] {
                let located = {
                    let mut index = locked(&index)?;
                    if refreshed {
                        index.refresh()?;
                    } else {
                        index.refresh_if_changed()?;
                    }
                    index.locate(&id)
                };
                if let Some(at) = located {
                    if at.len as u64 > max {
                        return Ok(Err(at.len as u64));
                    }
                    match pack::read_chunk(&at.pack, at.offset, at.len) {
                        Ok(bytes) => return Ok(Ok(bytes)),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    }
                }
                match read_file(&loose, max) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && !refreshed => continue,
                    read => return read,
                }
            }
            Err(std::io::ErrorKind::NotFound.into())
        })
        .await
        .map_err(|source| io_err("reading", &key, source))?;
        within_bound(read, &key, max)
    }

    /// Every chunk stored a file each (by argon before packs, or in a scratch folder).
    fn list_loose_chunks(root: &Path) -> std::io::Result<Vec<StoredChunk>> {
        let mut out = Vec::new();
        let fans = match std::fs::read_dir(root.join("chunks")) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for fan in fans {
            for entry in std::fs::read_dir(fan?.path())? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(id) = crate::store::Hash::parse(&name).map(ChunkId) {
                    let meta = entry.metadata()?;
                    out.push(StoredChunk {
                        id,
                        size: meta.len(),
                        modified: meta.modified()?,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Removes chunks: their own files, and from their packs, each pack
    /// holding one rewritten without them (synced and named before the old
    /// one goes, so a crash keeps every chunk not deleted) or removed when
    /// nothing in it survives. Every pack's trailer is read, not only the
    /// index's: a chunk two writers stored at once is in two packs.
    async fn remove_chunks(&self, ids: Vec<ChunkId>) -> Result<()> {
        // Held by the blocking task itself, which runs to its end even when
        // this future is dropped.
        let sealing = self.sealing.clone().lock_owned().await;
        let index = self.index.clone();
        let root = self.root.clone();
        let what = ids.first().map(|id| ObjectKey::Chunk(*id));
        blocking(move || {
            let _sealing = sealing;
            for id in &ids {
                match std::fs::remove_file(root.join(ObjectKey::Chunk(*id).path())) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            let mut index = locked(&index)?;
            index.refresh()?;
            let folder = index.folder().to_path_buf();
            let doomed: HashSet<ChunkId> = ids.iter().copied().collect();
            for name in index.pack_names() {
                let path = folder.join(&name);
                let entries = match pack::read_entries(&path) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        index.remove(&name);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if !entries.iter().any(|e| doomed.contains(&e.id)) {
                    continue;
                }
                let survivors: Vec<_> = entries
                    .into_iter()
                    .filter(|e| !doomed.contains(&e.id))
                    .collect();
                if !survivors.is_empty() {
                    let mut writer = PackWriter::create(&folder)?;
                    for e in &survivors {
                        writer.append(e.id, &pack::read_chunk(&path, e.offset, e.len)?)?;
                    }
                    let sealed = writer.seal(&folder)?;
                    std::fs::File::open(&folder)?.sync_all()?;
                    index.add(sealed);
                }
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                index.remove(&name);
            }
            if folder.exists() {
                std::fs::File::open(&folder)?.sync_all()?;
            }
            Ok(())
        })
        .await
        .map_err(|source| match &what {
            Some(key) => io_err("deleting", key, source),
            None => StoreError::Io {
                op: "deleting",
                key: "chunks".into(),
                source,
            },
        })
    }

    /// Removes `.<name>.<pid>.tmp` files whose writer process is gone.
    async fn remove_dead_temporaries(&self) -> Result<usize> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            let mut stack = vec![root];
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(path);
                        continue;
                    }
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let pid = name
                        .strip_suffix(".tmp")
                        .filter(|_| name.starts_with('.'))
                        .and_then(|rest| rest.rsplit('.').next())
                        .and_then(|pid| pid.parse::<u32>().ok());
                    let Some(pid) = pid else { continue };
                    let alive = std::path::Path::new("/proc").join(pid.to_string()).exists();
                    if !alive && std::fs::remove_file(&path).is_ok() {
                        removed += 1;
                    }
                }
            }
            removed
        })
        .await
        .map_err(|e| StoreError::Io {
            op: "cleaning",
            key: "temporary files".into(),
            source: std::io::Error::other(e),
        })
    }

    /// Names of the entries of a folder of the store; none when it does not exist yet.
    async fn list_names(&self, folder: &str) -> Result<Vec<String>> {
        let dir = self.root.join(folder);
        let listing_failed = |source| StoreError::Io {
            op: "listing",
            key: dir.display().to_string(),
            source,
        };
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(listing_failed(e)),
        };
        let mut out = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(listing_failed)? {
            // Objects are files; a folder here is a tag with '/' written
            // before names were escaped, which no key names any more.
            if entry.file_type().await.is_ok_and(|t| t.is_dir()) {
                continue;
            }
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(out)
    }
}

/// Runs blocking file work on tokio's blocking pool. The task runs to its
/// end even when the future awaiting it is dropped.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
}

/// Those of `chunks` the store at `root` does not hold: in none of its
/// packs (the index read again when the folder changed), nor in a file of
/// its own (looked for only when the store has such files, from before packs).
fn unstored(
    index: &Mutex<PackIndex>,
    root: &Path,
    chunks: Vec<(ChunkId, Vec<u8>)>,
) -> std::io::Result<Vec<(ChunkId, Vec<u8>)>> {
    let mut index = locked(index)?;
    index.refresh_if_changed()?;
    let loose = root.join("chunks").try_exists()?;
    let mut out = Vec::with_capacity(chunks.len());
    for (id, bytes) in chunks {
        let stored = index.contains(&id)
            || (loose && root.join(ObjectKey::Chunk(id).path()).try_exists()?);
        if !stored {
            out.push((id, bytes));
        }
    }
    Ok(out)
}

/// Creates the (private) folder `file` goes in.
fn create_parent(file: &Path) -> std::io::Result<()> {
    match file.parent() {
        Some(dir) => crate::private::create_dir_all(dir),
        None => Ok(()),
    }
}

/// Reads a whole file, or its size when it is over `max` bytes.
fn read_file(path: &Path, max: u64) -> std::io::Result<std::result::Result<Vec<u8>, u64>> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > max {
        return Ok(Err(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    std::io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(Ok(bytes))
}

/// An object's bytes, or the error for one over `max` bytes (its size in `read`).
fn within_bound(
    read: std::result::Result<Vec<u8>, u64>,
    key: &ObjectKey,
    max: u64,
) -> Result<Vec<u8>> {
    read.map_err(|size| StoreError::TooLarge {
        key: key.to_string(),
        size,
        max,
    })
}

/// Writes `bytes` to the temporary file `tmp`, syncs it, renames it to
/// `dest` and syncs their folder; on an error the temporary file goes.
fn write_object(tmp: &Path, dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_parent(tmp)?;
    let cleanup = RemoveOnDrop(tmp.to_path_buf());
    let mut f = crate::private::create_file(tmp)?;
    std::io::Write::write_all(&mut f, bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, dest)?;
    drop(cleanup);
    if let Some(dir) = dest.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Deletes a temporary file when dropped: a full disk or a cancelled save
/// leaves nothing half-written behind.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn io_err(op: &'static str, key: &ObjectKey, source: std::io::Error) -> StoreError {
    if source.kind() == std::io::ErrorKind::NotFound && op == "reading" {
        return StoreError::NotFound {
            key: key.to_string(),
        };
    }
    StoreError::Io {
        op,
        key: key.to_string(),
        source,
    }
}

impl Backend for LocalBackend {
    fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if let ObjectKey::Chunk(id) = key {
                return match self.durability {
                    Durability::Store => self.pack_chunks(vec![(id, bytes)], false).await.map(drop),
                    Durability::Scratch => self.put_loose_chunk(key, bytes).await,
                };
            }
            if let ObjectKey::Version(_) = key {
                self.sync_pending(&key).await?;
            }
            let (dest, tmp) = self.paths_for(&key);
            // One blocking task, which runs to its end even when this future
            // is dropped (a lease released, a save given up): the object is
            // either whole under its name or not there, never a stray
            // temporary file, nor a write landing after a delete.
            blocking(move || write_object(&tmp, &dest, &bytes))
                .await
                .map_err(|source| io_err("writing", &key, source))
        })
    }

    fn put_new_chunks(&self, chunks: Vec<(ChunkId, Vec<u8>)>) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            match self.durability {
                Durability::Store => self.pack_chunks(chunks, true).await,
                Durability::Scratch => super::backend::put_each_new_chunk(self, chunks).await,
            }
        })
    }

    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(async move {
            if let ObjectKey::Chunk(id) = key {
                return self.get_chunk(key, id).await;
            }
            let path = self.path(&key);
            let max = key.max_bytes();
            let read = blocking(move || read_file(&path, max))
                .await
                .map_err(|source| io_err("reading", &key, source))?;
            within_bound(read, &key, max)
        })
    }

    fn exists(&self, key: ObjectKey) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            let path = self.path(&key);
            let ObjectKey::Chunk(id) = key else {
                return tokio::fs::try_exists(path)
                    .await
                    .map_err(|source| io_err("checking", &key, source));
            };
            let index = self.index.clone();
            blocking(move || {
                let mut index = locked(&index)?;
                index.refresh_if_changed()?;
                Ok(index.contains(&id) || path.try_exists()?)
            })
            .await
            .map_err(|source| io_err("checking", &key, source))
        })
    }

    fn list_versions(&self) -> BoxFuture<'_, Result<Vec<VersionId>>> {
        Box::pin(async move {
            Ok(self
                .list_names("versions")
                .await?
                .iter()
                .filter_map(|name| name.strip_suffix(".json").and_then(VersionId::parse))
                .collect())
        })
    }

    fn list_folder(&self, folder: &'static str) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            let mut names = self.list_names(folder).await?;
            names.retain(|name| !name.starts_with('.'));
            Ok(names)
        })
    }

    fn list_tags(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move {
            // Dot names are temporary files of a write in progress.
            let mut names = self.list_names("tags").await?;
            names.retain(|name| !name.starts_with('.'));
            Ok(names)
        })
    }

    fn list_chunks(&self) -> BoxFuture<'_, Result<Vec<StoredChunk>>> {
        Box::pin(async move {
            let root = self.root.clone();
            let index = self.index.clone();
            blocking(move || -> std::io::Result<Vec<StoredChunk>> {
                let mut newest: HashMap<ChunkId, StoredChunk> = HashMap::new();
                let mut index = locked(&index)?;
                index.refresh()?;
                let packed = index.chunks().map(|(id, len, modified)| StoredChunk {
                    id,
                    size: len as u64,
                    modified,
                });
                // A chunk stored twice (two processes wrote it at once, or a
                // gc was interrupted) is listed once, as its newest copy.
                for chunk in Self::list_loose_chunks(&root)?.into_iter().chain(packed) {
                    match newest.get(&chunk.id) {
                        Some(known) if known.modified >= chunk.modified => {}
                        _ => {
                            newest.insert(chunk.id, chunk);
                        }
                    }
                }
                Ok(newest.into_values().collect())
            })
            .await
            .map_err(|source| StoreError::Io {
                op: "listing",
                key: "chunks".into(),
                source,
            })
        })
    }

    fn delete(&self, key: ObjectKey) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if let ObjectKey::Chunk(id) = key {
                return self.remove_chunks(vec![id]).await;
            }
            match tokio::fs::remove_file(self.path(&key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(io_err("deleting", &key, source)),
            }
        })
    }

    fn delete_chunks(&self, ids: Vec<ChunkId>) -> BoxFuture<'_, Result<()>> {
        Box::pin(self.remove_chunks(ids))
    }

    fn check(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            crate::private::create_dir_all_async(&self.root)
                .await
                .map_err(|source| StoreError::Io {
                    op: "creating",
                    key: self.root.display().to_string(),
                    source,
                })
        })
    }

    fn remove_temporaries(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(self.remove_dead_temporaries())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Hash;

    fn chunk(n: u8) -> (ObjectKey, Vec<u8>) {
        let bytes = vec![n; 100];
        (ObjectKey::Chunk(ChunkId(Hash::of(&bytes))), bytes)
    }

    #[tokio::test]
    async fn a_chunk_takes_its_name_only_when_the_next_manifest_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBackend::new(dir.path().to_path_buf());
        let (key, bytes) = chunk(1);
        store.put_bytes(key.clone(), bytes.clone()).await.unwrap();
        assert!(
            !store.exists(key.clone()).await.unwrap(),
            "staged, not named"
        );
        let version = ObjectKey::Version(VersionId(Hash::of(b"v")));
        store.put_bytes(version, b"{}".to_vec()).await.unwrap();
        assert_eq!(store.get_bytes(key).await.unwrap(), bytes);
    }

    #[tokio::test]
    async fn chunks_of_a_save_that_never_writes_its_manifest_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBackend::new(dir.path().to_path_buf());
        let (key, bytes) = chunk(2);
        store.put_bytes(key, bytes).await.unwrap();
        drop(store);
        let mut stack = vec![dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                assert!(e.path().is_dir(), "left behind: {}", e.path().display());
                stack.push(e.path());
            }
        }
    }

    async fn seal(store: &LocalBackend) {
        let version = ObjectKey::Version(VersionId(Hash::of(b"v")));
        store.put_bytes(version, b"{}".to_vec()).await.unwrap();
    }

    #[tokio::test]
    async fn chunks_go_into_one_pack_that_another_process_reads() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LocalBackend::new(dir.path().to_path_buf());
        let reader = LocalBackend::new(dir.path().to_path_buf());
        // The reader's index is loaded before the pack exists.
        assert!(!reader.exists(chunk(1).0).await.unwrap());
        for n in 1..=3 {
            let (key, bytes) = chunk(n);
            writer.put_bytes(key, bytes).await.unwrap();
        }
        seal(&writer).await;
        let packs: Vec<_> = std::fs::read_dir(dir.path().join(pack::FOLDER))
            .unwrap()
            .collect();
        assert_eq!(packs.len(), 1, "one file for three chunks");
        for n in 1..=3 {
            let (key, bytes) = chunk(n);
            assert_eq!(reader.get_bytes(key).await.unwrap(), bytes);
        }
        assert!(matches!(
            reader.get_bytes(chunk(9).0).await,
            Err(StoreError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn deleting_chunks_rewrites_their_pack_with_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBackend::new(dir.path().to_path_buf());
        for n in 1..=4 {
            let (key, bytes) = chunk(n);
            store.put_bytes(key, bytes).await.unwrap();
        }
        seal(&store).await;
        // A chunk stored as its own file by an argon before packs.
        let (old_key, old_bytes) = chunk(5);
        let old_path = dir.path().join(old_key.path());
        std::fs::create_dir_all(old_path.parent().unwrap()).unwrap();
        std::fs::write(&old_path, &old_bytes).unwrap();
        assert_eq!(store.list_chunks().await.unwrap().len(), 5);
        assert_eq!(store.get_bytes(old_key.clone()).await.unwrap(), old_bytes);

        let id = |n: u8| ChunkId(Hash::of(&[n; 100]));
        let reader = LocalBackend::new(dir.path().to_path_buf());
        assert!(reader.exists(chunk(2).0).await.unwrap());
        store
            .delete_chunks(vec![id(1), id(3), id(5)])
            .await
            .unwrap();
        let mut left: Vec<ChunkId> = store
            .list_chunks()
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        left.sort();
        let mut want = vec![id(2), id(4)];
        want.sort();
        assert_eq!(left, want);
        // A reader whose index named the old pack finds the new one.
        assert_eq!(reader.get_bytes(chunk(2).0).await.unwrap(), chunk(2).1);
        assert!(!reader.exists(chunk(1).0).await.unwrap());
        assert!(!old_path.exists());

        store.delete_chunks(vec![id(2), id(4)]).await.unwrap();
        assert!(store.list_chunks().await.unwrap().is_empty());
        assert_eq!(
            std::fs::read_dir(dir.path().join(pack::FOLDER))
                .unwrap()
                .count(),
            0,
            "a pack with nothing left is removed"
        );
    }

    #[tokio::test]
    async fn a_chunk_two_writers_stored_is_deleted_from_both_packs() {
        let dir = tempfile::tempdir().unwrap();
        let a = LocalBackend::new(dir.path().to_path_buf());
        let b = LocalBackend::new(dir.path().to_path_buf());
        // a stores chunks 7 and 8, b chunk 7 alone: two packs hold 7.
        for (store, chunks) in [(&a, &[7u8, 8][..]), (&b, &[7u8][..])] {
            for n in chunks {
                let (key, bytes) = chunk(*n);
                store.put_bytes(key, bytes).await.unwrap();
            }
            seal(store).await;
        }
        let packs = || {
            std::fs::read_dir(dir.path().join(pack::FOLDER))
                .unwrap()
                .count()
        };
        assert_eq!(packs(), 2);
        a.delete_chunks(vec![ChunkId(Hash::of(&[7; 100]))])
            .await
            .unwrap();
        assert_eq!(packs(), 1, "b's pack is gone, a's rewritten");
        assert!(!b.exists(chunk(7).0).await.unwrap());
        assert_eq!(b.get_bytes(chunk(8).0).await.unwrap(), chunk(8).1);
    }

    #[tokio::test]
    async fn a_scratch_folder_names_its_chunks_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let spool = LocalBackend::scratch(dir.path().to_path_buf());
        let (key, bytes) = chunk(3);
        spool.put_bytes(key.clone(), bytes.clone()).await.unwrap();
        assert_eq!(spool.get_bytes(key).await.unwrap(), bytes);
    }
}
