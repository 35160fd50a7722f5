//! One argon process at a time mutates a project: an advisory lock on a file
//! in argon's state folder, released by the OS when the process ends (even on kill).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use super::error::{Error, Result};

pub struct ProjectLock {
    _file: File,
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
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                return Err(Error::Locked {
                    project: project.to_string(),
                    pid: if pid.trim().is_empty() {
                        "unknown".into()
                    } else {
                        pid.trim().to_string()
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
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(ProjectLock { _file: file })
    }
}
