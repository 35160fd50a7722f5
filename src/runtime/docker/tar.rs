//! A tar archive of one file, streamed: how argon puts its own binary into a
//! container on an engine host that does not share this machine's files
//! (Docker's archive upload is the only way in there).

use std::path::Path;

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use tokio::io::AsyncReadExt;

const BLOCK: usize = 512;
const READ_CHUNK: usize = 1 << 20;

/// The ustar header of a regular file `name` of `size` bytes with `mode`.
fn header(name: &str, size: u64, mode: u32) -> std::io::Result<[u8; BLOCK]> {
    if name.len() > 99 || name.is_empty() {
        return Err(std::io::Error::other(format!(
            "file name '{name}' does not fit a tar header"
        )));
    }
    let mut h = [0u8; BLOCK];
    let mut put = |at: usize, field: &[u8]| h[at..at + field.len()].copy_from_slice(field);
    put(0, name.as_bytes());
    put(100, format!("{mode:07o}\0").as_bytes());
    put(108, b"0000000\0"); // uid
    put(116, b"0000000\0"); // gid
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, b"00000000000\0"); // mtime
    put(148, b"        "); // the checksum counts itself as spaces
    put(156, b"0"); // a regular file
    put(257, b"ustar\0");
    put(263, b"00");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

/// `path` as the only member of a tar archive, named `name`, executable.
pub async fn single_file(
    path: &Path,
    name: &str,
) -> std::io::Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static> {
    let file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    let head = Bytes::copy_from_slice(&header(name, size, 0o755)?);
    let padding = (BLOCK - (size as usize % BLOCK)) % BLOCK;
    // The data's padding, then the two empty blocks that end an archive.
    let tail = Bytes::from(vec![0u8; padding + 2 * BLOCK]);
    let body = stream::try_unfold((file, size), |(mut file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; READ_CHUNK.min(left as usize)];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::other(
                "the file shrank while it was archived",
            ));
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), (file, left - n as u64))))
    });
    Ok(stream::once(async { Ok(head) })
        .chain(body)
        .chain(stream::once(async { Ok(tail) })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_checksum_is_the_sum_of_its_bytes_with_the_field_as_spaces() {
        let h = header("argon-login", 1234, 0o755).unwrap();
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        let sum: u32 = blank.iter().map(|&b| u32::from(b)).sum();
        let field = std::str::from_utf8(&h[148..154]).unwrap();
        assert_eq!(u32::from_str_radix(field, 8).unwrap(), sum);
        assert_eq!(&h[124..135], format!("{:011o}", 1234).as_bytes());
    }

    #[tokio::test]
    async fn an_archive_is_whole_blocks_with_the_file_inside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let parts: Vec<Bytes> = single_file(&path, "f")
            .await
            .unwrap()
            .map(|b| b.unwrap())
            .collect()
            .await;
        let all: Vec<u8> = parts.concat();
        assert_eq!(all.len() % BLOCK, 0);
        assert_eq!(all.len(), BLOCK + 1024 + 2 * BLOCK);
        assert_eq!(&all[BLOCK..BLOCK + 1000], &[7u8; 1000][..]);
        assert!(all[BLOCK + 1000..].iter().all(|&b| b == 0));
        // And tar itself reads it back.
        let archive = dir.path().join("a.tar");
        std::fs::write(&archive, &all).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let status = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(std::fs::read(out.join("f")).unwrap(), vec![7u8; 1000]);
    }
}
