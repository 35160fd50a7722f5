//! A store in a local folder: write to a temporary file, fsync, rename.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use super::{Backend, ChunkId, ObjectKey, Result, StoreError, StoredChunk, VersionId};

pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    pub fn new(root: PathBuf) -> Self {
        LocalBackend { root }
    }

    fn path(&self, key: ObjectKey) -> PathBuf {
        self.root.join(key.path())
    }

    /// A temporary path in the destination's folder, so the final rename is atomic.
    async fn temp_for(&self, key: ObjectKey) -> Result<(PathBuf, PathBuf)> {
        let dest = self.path(key);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|source| io_err("creating folder for", key, source))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        Ok((dest, tmp))
    }

    async fn commit(&self, key: ObjectKey, tmp: &Path, dest: &Path) -> Result<()> {
        tokio::fs::rename(tmp, dest)
            .await
            .map_err(|source| io_err("renaming into place", key, source))?;
        if let Some(dir) = dest.parent() {
            // Make the rename itself durable.
            if let Ok(d) = tokio::fs::File::open(dir).await {
                let _ = d.sync_all().await;
            }
        }
        Ok(())
    }
}

fn io_err(op: &'static str, key: ObjectKey, source: std::io::Error) -> StoreError {
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
    async fn put_file(&self, key: ObjectKey, path: &Path) -> Result<()> {
        let (dest, tmp) = self.temp_for(key).await?;
        tokio::fs::copy(path, &tmp)
            .await
            .map_err(|source| io_err("writing", key, source))?;
        let f = tokio::fs::File::open(&tmp)
            .await
            .map_err(|source| io_err("writing", key, source))?;
        f.sync_all()
            .await
            .map_err(|source| io_err("syncing", key, source))?;
        self.commit(key, &tmp, &dest).await
    }

    async fn put_bytes(&self, key: ObjectKey, bytes: Vec<u8>) -> Result<()> {
        let (dest, tmp) = self.temp_for(key).await?;
        let mut f = tokio::fs::File::create(&tmp)
            .await
            .map_err(|source| io_err("writing", key, source))?;
        f.write_all(&bytes)
            .await
            .map_err(|source| io_err("writing", key, source))?;
        f.sync_all()
            .await
            .map_err(|source| io_err("syncing", key, source))?;
        drop(f);
        self.commit(key, &tmp, &dest).await
    }

    async fn get_to_file(&self, key: ObjectKey, path: &Path) -> Result<()> {
        tokio::fs::copy(self.path(key), path)
            .await
            .map(|_| ())
            .map_err(|source| io_err("reading", key, source))
    }

    async fn get_bytes(&self, key: ObjectKey) -> Result<Vec<u8>> {
        tokio::fs::read(self.path(key))
            .await
            .map_err(|source| io_err("reading", key, source))
    }

    async fn exists(&self, key: ObjectKey) -> Result<bool> {
        tokio::fs::try_exists(self.path(key))
            .await
            .map_err(|source| io_err("checking", key, source))
    }

    async fn list_versions(&self) -> Result<Vec<VersionId>> {
        let dir = self.root.join("versions");
        let mut out = Vec::new();
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => {
                return Err(StoreError::Io {
                    op: "listing",
                    key: dir.display().to_string(),
                    source,
                })
            }
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|source| StoreError::Io {
                op: "listing",
                key: dir.display().to_string(),
                source,
            })?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json").and_then(VersionId::parse) {
                out.push(id);
            }
        }
        Ok(out)
    }

    async fn list_chunks(&self) -> Result<Vec<StoredChunk>> {
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
    }

    async fn delete(&self, key: ObjectKey) -> Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(io_err("deleting", key, source)),
        }
    }

    async fn check(&self) -> Result<()> {
        tokio::fs::create_dir_all(&self.root)
            .await
            .map_err(|source| StoreError::Io {
                op: "creating",
                key: self.root.display().to_string(),
                source,
            })
    }
}
