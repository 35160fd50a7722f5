//! A store in a local folder: write to a temporary file, fsync, rename.
//! Chunk renames are made durable in one pass over their folders just before
//! a manifest is written, not one fsync each: the manifest still lands only
//! after every chunk it names is on disk.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::io::AsyncWriteExt;

use super::{Backend, BoxFuture, ChunkId, ObjectKey, Result, StoreError, StoredChunk, VersionId};

pub struct LocalBackend {
    root: PathBuf,
    /// Folders holding renames not yet made durable.
    unsynced: Mutex<HashSet<PathBuf>>,
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

impl LocalBackend {
    pub fn new(root: PathBuf) -> Self {
        LocalBackend {
            root,
            unsynced: Mutex::new(HashSet::new()),
        }
    }

    /// Makes every pending rename durable.
    async fn sync_pending(&self, key: &ObjectKey) -> Result<()> {
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

    /// A temporary path in the destination's folder, so the final rename is atomic.
    async fn temp_for(&self, key: &ObjectKey) -> Result<(PathBuf, PathBuf)> {
        let dest = self.path(key);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        crate::private::create_dir_all_async(&dir)
            .await
            .map_err(|source| io_err("creating folder for", key, source))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        Ok((dest, tmp))
    }

    async fn commit(&self, key: &ObjectKey, tmp: &Path, dest: &Path) -> Result<()> {
        tokio::fs::rename(tmp, dest)
            .await
            .map_err(|source| io_err("renaming into place", key, source))?;
        let Some(dir) = dest.parent() else {
            return Ok(());
        };
        match key {
            ObjectKey::Chunk(_) => {
                if let Ok(mut set) = self.unsynced.lock() {
                    set.insert(dir.to_path_buf());
                }
                Ok(())
            }
            _ => sync_dir(dir)
                .await
                .map_err(|source| io_err("syncing", key, source)),
        }
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
            if let ObjectKey::Version(_) = key {
                self.sync_pending(&key).await?;
            }
            let (dest, tmp) = self.temp_for(&key).await?;
            // Removed however this ends (an error, or the save dropping this write
            // when another one failed); a no-op once renamed into place.
            let _cleanup = RemoveOnDrop(tmp.clone());
            let written = async {
                let mut f = crate::private::create_file_async(&tmp)
                    .await
                    .map_err(|source| io_err("writing", &key, source))?;
                f.write_all(&bytes)
                    .await
                    .map_err(|source| io_err("writing", &key, source))?;
                // tokio's File reports a failed write (ENOSPC) on flush, never on
                // sync_all: without this a full disk renames a truncated chunk
                // into place under its valid name.
                f.flush()
                    .await
                    .map_err(|source| io_err("writing", &key, source))?;
                f.sync_all()
                    .await
                    .map_err(|source| io_err("syncing", &key, source))
            }
            .await;
            written?;
            self.commit(&key, &tmp, &dest).await
        })
    }

    fn get_bytes(&self, key: ObjectKey) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(async move {
            let path = self.path(&key);
            let size = tokio::fs::metadata(&path)
                .await
                .map_err(|source| io_err("reading", &key, source))?
                .len();
            if size > key.max_bytes() {
                return Err(StoreError::TooLarge {
                    key: key.to_string(),
                    size,
                    max: key.max_bytes(),
                });
            }
            tokio::fs::read(path)
                .await
                .map_err(|source| io_err("reading", &key, source))
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
            tokio::task::spawn_blocking(move || -> std::io::Result<Vec<StoredChunk>> {
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
            .map_err(std::io::Error::other)
            .and_then(|r| r)
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
