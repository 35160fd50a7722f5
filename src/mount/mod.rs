//! `argon mount`: the store's saved versions as a read-only file tree (FUSE).
//! This module owns everything about FUSE: checking the mount point, mounting,
//! serving until a signal or an outside unmount, and unmounting.

mod cache;
mod catalog;
mod extjson;
mod fs;
mod handles;
mod read;
pub(crate) mod render;
mod source;
mod tree;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use std::os::unix::fs::MetadataExt;

use serde::Serialize;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::snapshot::SnapshotError;
use crate::store::Store;

pub use fs::log;

/// The filesystem type mounts show in /proc/mounts (`fuse.argon`).
const FS_NAME: &str = "argon";

#[derive(Debug, Clone)]
pub struct MountOptions {
    pub dir: PathBuf,
    /// Ceiling of the in-memory chunk cache.
    pub memory_cache: u64,
    /// Optional on-disk cache of compressed chunks, and its ceiling.
    pub disk_cache: Option<(PathBuf, u64)>,
    /// How old the list of versions may get before it is read again.
    pub refresh: Duration,
}

#[derive(Debug, Serialize)]
pub struct Mounted {
    pub mountpoint: PathBuf,
    pub versions: usize,
    pub branches: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("FUSE is not available here: {0}")]
    NoFuse(String),
    #[error("{} does not exist or is not a folder", .0.display())]
    NotAFolder(PathBuf),
    #[error("{} is not empty", .0.display())]
    NotEmpty(PathBuf),
    #[error("{} is already a mount point ({kind})", path.display())]
    AlreadyMounted { path: PathBuf, kind: String },
    #[error("cannot mount at {}: {source}", path.display())]
    Mount {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not mounted", .0.display())]
    NotMounted(PathBuf),
    #[error("cannot unmount {}: {message}", path.display())]
    Unmount { path: PathBuf, message: String },
    #[error("cannot use the cache folder {}: {source}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the store's versions: {0}")]
    Load(#[from] SnapshotError),
}

impl MountError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            MountError::NoFuse(_) => "install FUSE 3 (Debian/Ubuntu: apt install fuse3) and make sure /dev/fuse exists; in a container add --device /dev/fuse --cap-add SYS_ADMIN".into(),
            MountError::NotAFolder(p) => format!("create it first: mkdir -p {}", p.display()),
            MountError::NotEmpty(_) => "mount on an empty folder, so no file is hidden under the mount".into(),
            MountError::AlreadyMounted { path, .. } => format!("unmount it first: argon umount {}", path.display()),
            MountError::NotMounted(_) => "see what is mounted with: grep fuse.argon /proc/mounts".into(),
            MountError::Unmount { path, .. } => format!(
                "close the programs using files under it, or detach it now and let them finish: argon umount --lazy {}",
                path.display()
            ),
            MountError::Load(SnapshotError::Store(e)) => return e.hint(),
            _ => return None,
        })
    }
}

/// Mounts the store at `opts.dir` and serves it until Ctrl-C, SIGTERM, or an
/// outside unmount; always leaves the folder unmounted when it returns.
pub async fn serve(
    store: Arc<Store>,
    opts: &MountOptions,
    on_ready: impl FnOnce(&Mounted),
) -> Result<(), MountError> {
    let dir = absolute(&opts.dir);
    check_fuse()?;
    prepare_mountpoint(&dir)?;
    // Before mounting: a Ctrl-C from now on unmounts instead of killing us.
    let mut stop = stop_signals().map_err(|source| MountError::Mount {
        path: dir.clone(),
        source,
    })?;
    let owner = std::fs::metadata(&dir).map_err(|_| MountError::NotAFolder(dir.clone()))?;
    let disk_cache = opts.disk_cache.clone();
    let cache_dir = disk_cache.as_ref().map(|d| d.0.clone()).unwrap_or_default();
    let cache =
        cache::ChunkCache::new(store.clone(), opts.memory_cache, disk_cache).map_err(|source| {
            MountError::Cache {
                path: cache_dir,
                source,
            }
        })?;
    let source = source::Source::load(store, opts.refresh).await?;
    let (versions, branches) = source.counts();
    let filesystem = fs::ArgonFs::new(
        tokio::runtime::Handle::current(),
        source,
        Arc::new(cache),
        owner.uid(),
        owner.gid(),
    );
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::RO,
        fuser::MountOption::FSName(FS_NAME.into()),
        fuser::MountOption::Subtype(FS_NAME.into()),
        fuser::MountOption::NoSuid,
        fuser::MountOption::NoDev,
        fuser::MountOption::NoExec,
        fuser::MountOption::DefaultPermissions,
    ];
    config.n_threads = Some(4);
    let mount_dir = dir.clone();
    let session = tokio::task::spawn_blocking(move || {
        fuser::Session::new(filesystem, &mount_dir, &config).and_then(|s| s.spawn())
    })
    .await
    .map_err(|e| MountError::Mount {
        path: dir.clone(),
        source: std::io::Error::other(e),
    })?
    .map_err(|source| MountError::Mount {
        path: dir.clone(),
        source,
    })?;
    on_ready(&Mounted {
        mountpoint: dir.clone(),
        versions,
        branches,
    });

    let outside_unmount = !wait_for_stop(&session, &mut stop).await;
    if outside_unmount {
        let _ = session.join();
        log(&format!("{} was unmounted", dir.display()));
        return Ok(());
    }
    let joined = tokio::task::spawn_blocking(move || session.umount_and_join());
    match tokio::time::timeout(Duration::from_secs(5), joined).await {
        Ok(Ok(Ok(()))) => {}
        // Busy or slow: detach it so the folder is free; open files finish on their own.
        _ => unmount(&dir, true)?,
    }
    log(&format!("unmounted {}", dir.display()));
    Ok(())
}

/// Ctrl-C, SIGTERM and SIGHUP, which all mean "unmount and exit".
fn stop_signals() -> std::io::Result<[Signal; 3]> {
    Ok([
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
        signal(SignalKind::hangup())?,
    ])
}

/// Serves until a stop signal (true) or until the folder is unmounted from
/// outside, which ends the session (false).
async fn wait_for_stop(session: &fuser::BackgroundSession, stop: &mut [Signal; 3]) -> bool {
    let [int, term, hup] = stop;
    loop {
        tokio::select! {
            _ = int.recv() => return true,
            _ = term.recv() => return true,
            _ = hup.recv() => return true,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if session.guard.is_finished() {
                    return false;
                }
            }
        }
    }
}

/// Unmounts an argon mount, also one whose process was killed.
pub fn unmount(dir: &Path, lazy: bool) -> Result<(), MountError> {
    let dir = absolute(dir);
    match mounted_at(&dir) {
        None => return Err(MountError::NotMounted(dir)),
        Some(m) if !m.is_argon() => {
            return Err(MountError::Unmount {
                path: dir,
                message: format!("it is a {} mount, not argon's", m.fs_type),
            })
        }
        Some(_) => {}
    }
    let mut last = String::from("no fusermount3, fusermount or umount found");
    let tries: [(&str, &[&str]); 3] = [
        ("fusermount3", if lazy { &["-u", "-z"] } else { &["-u"] }),
        ("fusermount", if lazy { &["-u", "-z"] } else { &["-u"] }),
        ("umount", if lazy { &["-l"] } else { &[] }),
    ];
    for (program, args) in tries {
        match Command::new(program).args(args).arg(&dir).output() {
            Ok(out) if out.status.success() => return Ok(()),
            Ok(out) => {
                last = String::from_utf8_lossy(&out.stderr).trim().to_string();
            }
            Err(_) => continue,
        }
        if mounted_at(&dir).is_none() {
            return Ok(());
        }
    }
    Err(MountError::Unmount {
        path: dir,
        message: last,
    })
}

fn check_fuse() -> Result<(), MountError> {
    if !Path::new("/dev/fuse").exists() {
        return Err(MountError::NoFuse("/dev/fuse does not exist".into()));
    }
    let has_fusermount = ["fusermount3", "fusermount"].iter().any(|p| {
        Command::new(p)
            .arg("-V")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    if !has_fusermount {
        return Err(MountError::NoFuse("fusermount3 is not installed".into()));
    }
    Ok(())
}

/// The folder must exist and be empty; a dead argon mount (its process was
/// killed) is cleared first, anything else mounted there is refused.
fn prepare_mountpoint(dir: &Path) -> Result<(), MountError> {
    if let Some(m) = mounted_at(dir) {
        let dead = std::fs::read_dir(dir).is_err();
        if m.is_argon() && dead {
            log(&format!(
                "{} was left mounted by an argon that was killed; unmounting it",
                dir.display()
            ));
            unmount(dir, true)?;
        } else {
            return Err(MountError::AlreadyMounted {
                path: dir.to_path_buf(),
                kind: m.fs_type,
            });
        }
    }
    let mut entries = std::fs::read_dir(dir).map_err(|_| MountError::NotAFolder(dir.into()))?;
    if entries.next().is_some() {
        return Err(MountError::NotEmpty(dir.into()));
    }
    Ok(())
}

/// An absolute path without resolving the last component (a dead mount
/// point cannot be resolved).
fn absolute(dir: &Path) -> PathBuf {
    let joined = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    match (joined.parent(), joined.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map(|p| p.join(name))
            .unwrap_or(joined),
        _ => joined,
    }
}

/// What is mounted at a folder, as /proc/self/mountinfo says.
struct MountEntry {
    fs_type: String,
    source: String,
}

impl MountEntry {
    /// fusermount records argon's mounts as type `fuse` (or `fuse.argon`) with source `argon`.
    fn is_argon(&self) -> bool {
        self.fs_type == format!("fuse.{FS_NAME}")
            || (self.fs_type == "fuse" && self.source == FS_NAME)
    }
}

/// The mount exactly at `dir` (the last one, which is the visible one).
fn mounted_at(dir: &Path) -> Option<MountEntry> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let want = dir.to_str()?;
    let mut found = None;
    for line in table.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if left.split(' ').nth(4).map(unescape_mount_path).as_deref() == Some(want) {
            let mut fields = right.split(' ');
            found = Some(MountEntry {
                fs_type: fields.next().unwrap_or_default().to_string(),
                source: fields.next().unwrap_or_default().to_string(),
            });
        }
    }
    found
}

/// /proc/self/mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = i + 3 < bytes.len()
            && bytes[i] == b'\\'
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b));
        if octal {
            let digit = |k: usize| u32::from(bytes[i + k] - b'0');
            out.push((digit(1) * 64 + digit(2) * 8 + digit(3)) as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_unescaped() {
        assert_eq!(unescape_mount_path("/tmp/my\\040dir"), "/tmp/my dir");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
    }
}
