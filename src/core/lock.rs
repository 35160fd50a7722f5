//! One argon process at a time mutates a project: an advisory lock on a file
//! in argon's state folder, released by the OS when the process ends (even on kill).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use super::error::{Error, Result};

pub struct ProjectLock {
    file: File,
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        // Marks when the lock was let go: the background save waits for a
        // quiet moment after it (see `last_taken_or_released`).
        let _ = self.file.set_modified(std::time::SystemTime::now());
    }
}

/// When the lock at `path` was last taken or let go (by a process that
/// ended normally): its file's modification time.
pub fn last_taken_or_released(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What this process says it is doing while it holds a project's lock; by
/// default its command line (every connection string's password masked).
static HOLDER: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Names what this process does under the lock from now on (a front end on
/// the library: "argon web: checkout feature").
pub fn describe_holder(what: &str) {
    if let Ok(mut holder) = HOLDER.lock() {
        *holder = Some(what.to_string());
    }
}

fn holder() -> String {
    if let Some(what) = HOLDER.lock().ok().and_then(|h| h.clone()) {
        return what;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|a| super::import_live::masked_uri(&a))
        .collect();
    format!("argon {}", args.join(" ")).trim().to_string()
}

/// Who last took a project's lock, when that process still runs (it then
/// holds the lock, or is about to release it).
#[derive(Debug, Clone)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
}

/// The live holder recorded in the lock file at `path`. Read without
/// locking, so that looking never makes another process's `acquire` fail.
pub fn holder_of(path: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let pid: u32 = lines.next()?.trim().parse().ok()?;
    // The recorded process may be gone (the file keeps its last holder).
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let running = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let command = lines.next().unwrap_or_default().trim().to_string();
    // A reused pid runs something else (masked passwords differ, so
    // connection strings are not compared).
    let same = command
        .split_whitespace()
        .skip(1)
        .filter(|word| !word.contains("://"))
        .all(|word| running.contains(word));
    if !same {
        return None;
    }
    Some(Holder { pid, command })
}

impl ProjectLock {
    pub fn acquire(path: &Path, project: &str) -> Result<ProjectLock> {
        if let Some(dir) = path.parent() {
            crate::private::create_dir_all(dir).map_err(Error::io("creating the lock folder"))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(Error::io(format!(
                "opening the lock file {}",
                path.display()
            )))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut held = String::new();
                let _ = file.read_to_string(&mut held);
                let mut lines = held.lines();
                let pid = lines.next().unwrap_or_default().trim();
                let what = lines.next().unwrap_or_default().trim();
                return Err(Error::Locked {
                    project: project.to_string(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.to_string()
                    },
                    command: match what.is_empty() {
                        true => String::new(),
                        false => format!(": {what}"),
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(format!("locking {}", path.display()))(e))
            }
        }
        // Record who holds it, for the message another process shows.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}\n{}\n", std::process::id(), holder());
        let _ = file.flush();
        Ok(ProjectLock { file })
    }
}
