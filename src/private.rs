//! Folders and files that hold database contents (argon's state folder, the
//! local store, the mount's disk cache) are their owner's alone: folders are
//! created 0700 and files 0600, whatever the umask. Folders that already
//! exist keep their mode (a team may share a store folder on purpose), except
//! argon's own state folder, which `restrict` closes.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// `mkdir -p` with every folder it creates 0700.
pub fn create_dir_all(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
}

/// The same, for async callers.
pub async fn create_dir_all_async(path: &Path) -> std::io::Result<()> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true).mode(DIR_MODE);
    builder.create(path).await
}

/// Makes an existing folder or file of argon's own private again.
pub fn restrict(path: &Path) -> std::io::Result<()> {
    let mode = if path.is_dir() { DIR_MODE } else { FILE_MODE };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Creates (or truncates) a file only its owner can read.
pub fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Writes `bytes` to a new private file.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    create_file(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_files_are_private_whatever_the_umask() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        for dir in [tmp.path().join("a"), tmp.path().join("a/b"), deep.clone()] {
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", dir.display());
        }
        let file = deep.join("f");
        write(&file, b"x").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
