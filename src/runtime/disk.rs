//! What a branch's data takes on disk. An engine host cannot always say
//! (Docker's own disk-usage report is slow and its format changed between
//! API versions), so a helper container mounts the volumes read-only and
//! runs argon's own binary, `argon __disk-usage DIR...`, which prints one
//! line per folder: its index and the bytes its files take, as `du` counts
//! them (allocated blocks, each file once).

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The hidden command the helper runs.
pub const DISK_USAGE_COMMAND: &str = "__disk-usage";

/// Where the helper mounts the `i`th volume.
pub fn mount_point(i: usize) -> String {
    format!("/v/{i}")
}

/// Bytes the files under `dir` take on disk; hard links counted once.
pub fn bytes_under(dir: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    let mut seen = HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            // Files go while an engine runs: what is gone takes no room.
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            }
            if meta.nlink() > 1 && !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            total += meta.blocks() * 512;
        }
    }
    Ok(total)
}

/// The helper's report for `dirs`: "<index> <bytes>" per line; a folder it
/// cannot read is left out.
pub fn report(dirs: &[String]) -> String {
    dirs.iter()
        .enumerate()
        .filter_map(|(i, d)| bytes_under(Path::new(d)).ok().map(|n| format!("{i} {n}\n")))
        .collect()
}

/// Reads the helper's report back: bytes by index.
pub fn parse_report(text: &str) -> Vec<(usize, u64)> {
    text.lines()
        .filter_map(|line| {
            let (i, n) = line.trim().split_once(' ')?;
            Some((i.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_file_below_and_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a"), vec![1u8; 10_000]).unwrap();
        std::fs::write(dir.path().join("sub/b"), vec![2u8; 100_000]).unwrap();
        std::fs::hard_link(dir.path().join("sub/b"), dir.path().join("c")).unwrap();
        let n = bytes_under(dir.path()).unwrap();
        assert!((110_000..200_000).contains(&n), "{n}");
        let text = report(&[
            dir.path().display().to_string(),
            "/no/such/folder".to_string(),
        ]);
        assert_eq!(parse_report(&text), vec![(0, n)]);
    }
}
