//! A store in a local folder: write to a temporary file, fsync, rename.
//! Chunks, thousands per save, are not synced one by one: each waits under
//! its temporary name until the next manifest is written, when one sync of
//! the whole filesystem makes them durable, they are renamed into place and
//! their folders synced. So a chunk under its name is always whole (a save
//! that finds it there does not send it again), and the manifest lands only
//! after every chunk it names is on disk.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Backend, BoxFuture, ChunkId, ObjectKey, Result, StoreError, StoredChunk, VersionId};

pub struct LocalBackend {
    root: PathBuf,
    durability: Durability,
    /// Folders holding renames not yet made durable.
    unsynced: Mutex<HashSet<PathBuf>>,
    /// Chunks written under their temporary names, waiting for the sync
    /// before the next manifest: final path -> temporary path.
    staged: Arc<Mutex<HashMap<PathBuf, PathBuf>>>,
}

/// Chunks staged before they are made durable and placed together (about
/// 16 MiB of data at the chunker's average size).
const STAGED_BATCH: usize = 1024;

/// What a crash may do to a local folder's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// A store: a chunk takes its name only once it is on disk.
    Store,
    /// A scratch folder (a spool) whose chunks are also elsewhere: nothing
    /// is synced, and a crash leaves a folder that recovery clears.
    Scratch,
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
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
            root,
            durability,
            unsynced: Mutex::new(HashSet::new()),
            staged: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Makes every staged chunk durable and renames it into place, then
    /// makes every pending rename durable.
    async fn sync_pending(&self, key: &ObjectKey) -> Result<()> {
        self.place_staged(key).await?;
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

    /// Makes the staged chunks durable and gives them their names (their
    /// folders' renames still to be synced, before the next manifest).
    async fn place_staged(&self, key: &ObjectKey) -> Result<()> {
        let staged: Vec<(PathBuf, PathBuf)> = match self.staged.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => Vec::new(),
        };
        if staged.is_empty() {
            return Ok(());
        }
        let root = self.root.clone();
        let placed = blocking(move || place_staged(&root, staged))
            .await
            .map_err(|source| io_err("syncing chunks before", key, source))?;
        if let Ok(mut set) = self.unsynced.lock() {
            set.extend(placed);
        }
        Ok(())
    }

    /// Writes a chunk under its temporary name, in one blocking task: a
    /// store's waits for the sync before the next manifest, a scratch
    /// folder's is renamed into place at once.
    async fn put_chunk(&self, key: ObjectKey, bytes: Vec<u8>) -> Result<()> {
        let (dest, tmp) = self.paths_for(&key);
        let scratch = self.durability == Durability::Scratch;
        let staged = self.staged.clone();
        // The written file is recorded by the blocking task itself: it runs
        // to its end even when this future is dropped (a save given up
        // after another chunk failed), and a file nothing records would be
        // left behind.
        let batch_full = blocking(move || {
            create_parent(&tmp)?;
            let cleanup = RemoveOnDrop(tmp.clone());
            crate::private::write(&tmp, &bytes)?;
            if scratch {
                std::fs::rename(&tmp, &dest)?;
                std::mem::forget(cleanup);
                return Ok(false);
            }
            std::mem::forget(cleanup);
            Ok(match staged.lock() {
                Ok(mut map) => {
                    map.insert(dest, tmp);
                    map.len() >= STAGED_BATCH
                }
                Err(_) => false,
            })
        })
        .await
        .map_err(|source| io_err("writing", &key, source))?;
        // A long save places its chunks batch by batch: one killed part way
        // leaves them stored, and its rerun does not send them again.
        if batch_full {
            self.place_staged(&key).await?;
            crate::fault::point("store:chunks-placed").await;
        }
        Ok(())
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

/// Creates the (private) folder `file` goes in.
fn create_parent(file: &Path) -> std::io::Result<()> {
    match file.parent() {
        Some(dir) => crate::private::create_dir_all(dir),
        None => Ok(()),
    }
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

/// Makes the staged chunks (final path, temporary path) durable and renames
/// them into place; returns the folders whose renames are still to be
/// synced. The staged files are removed if this fails part way.
fn place_staged(root: &Path, staged: Vec<(PathBuf, PathBuf)>) -> std::io::Result<HashSet<PathBuf>> {
    let cleanup: Vec<RemoveOnDrop> = staged
        .iter()
        .map(|(_, tmp)| RemoveOnDrop(tmp.clone()))
        .collect();
    sync_files(root, staged.iter().map(|(_, tmp)| tmp.as_path()))?;
    let mut dirs = HashSet::new();
    for (dest, tmp) in &staged {
        std::fs::rename(tmp, dest)?;
        if let Some(dir) = dest.parent() {
            dirs.insert(dir.to_path_buf());
        }
    }
    // Renamed: removing the temporary names is a no-op now.
    drop(cleanup);
    Ok(dirs)
}

/// Puts `files` (under `root`) on disk: on Linux one `syncfs` of root's
/// filesystem, which reports any write-back error since the files were
/// written; elsewhere one fsync each.
fn sync_files<'a>(root: &Path, files: impl Iterator<Item = &'a Path>) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let _ = files;
        rustix::fs::syncfs(std::fs::File::open(root)?)?;
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = root;
        for file in files {
            std::fs::File::open(file)?.sync_all()?;
        }
    }
    Ok(())
}

impl Drop for LocalBackend {
    /// Chunks staged by a save that never wrote its manifest (it failed):
    /// nothing names them, so they go.
    fn drop(&mut self) {
        if let Ok(map) = self.staged.lock() {
            for tmp in map.values() {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
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
            if let ObjectKey::Chunk(_) = key {
                return self.put_chunk(key, bytes).await;
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

    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(async move {
            let path = self.path(&key);
            let max = key.max_bytes();
            // One blocking task for the open, the size check and the read: a
            // mount or a restore reads thousands of small chunks, and each
            // trip to the blocking pool costs a thread wake-up.
            let read = blocking(move || {
                let mut file = std::fs::File::open(&path)?;
                let size = file.metadata()?.len();
                if size > max {
                    return Ok(Err(size));
                }
                let mut bytes = Vec::with_capacity(size as usize);
                std::io::Read::read_to_end(&mut file, &mut bytes)?;
                Ok(Ok(bytes))
            })
            .await
            .map_err(|source| io_err("reading", &key, source))?;
            read.map_err(|size| StoreError::TooLarge {
                key: key.to_string(),
                size,
                max,
            })
        })
    }

    fn exists(&self, key: ObjectKey) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            tokio::fs::try_exists(self.path(&key))
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
            let root = self.root.join("chunks");
            blocking(move || -> std::io::Result<Vec<StoredChunk>> {
                let mut out = Vec::new();
                let fans = match std::fs::read_dir(&root) {
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
            match tokio::fs::remove_file(self.path(&key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(io_err("deleting", &key, source)),
            }
        })
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

    #[tokio::test]
    async fn a_scratch_folder_names_its_chunks_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let spool = LocalBackend::scratch(dir.path().to_path_buf());
        let (key, bytes) = chunk(3);
        spool.put_bytes(key.clone(), bytes.clone()).await.unwrap();
        assert_eq!(spool.get_bytes(key).await.unwrap(), bytes);
    }
}
