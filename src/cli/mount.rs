//! `argon mount DIR` / `argon umount DIR`: browse saved versions as files.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::gc::parse_duration;
use super::Ctx;
use crate::config::parse_size;
use crate::core::Result;
use crate::mount::{self, MountOptions};

#[derive(Parser)]
#[command(
    after_help = "Layout: branches/<branch>/<time>/ (and latest), versions/<id>/, tags/<tag>/; \
inside a version: VERSION.json and <db>/<collection>.bson, .metadata.json (mongodump's), .jsonl. \
A version folder works with mongorestore --dir."
)]
pub struct Args {
    /// An empty folder to mount on
    #[arg(value_name = "DIR")]
    mountpoint: PathBuf,
    /// Memory kept for chunks read recently (e.g. 64M, 1G)
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    cache_memory: u64,
    /// Also keep chunks read on disk here (compressed), for repeated reads of an S3 store
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Ceiling of the disk cache
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size, requires = "cache_dir")]
    cache_size: u64,
    /// How often the list of versions is read again (new saves appear after at most this)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    refresh: Duration,
}

#[derive(Parser)]
pub struct UmountArgs {
    /// The folder argon mount is serving (also one whose process was killed)
    #[arg(value_name = "DIR")]
    mountpoint: PathBuf,
    /// Detach now even if files under it are open (they finish reading first)
    #[arg(long)]
    lazy: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(false).await?;
    let opts = MountOptions {
        dir: args.mountpoint,
        memory_cache: args.cache_memory,
        disk_cache: args.cache_dir.map(|d| (d, args.cache_size)),
        refresh: args.refresh,
    };
    let name = project.config.name.to_string();
    project
        .mount(&opts, |m| {
            ctx.out.emit(m, || {
                format!(
                    "mounted {} version(s) of {} branch(es) of '{name}' read-only at {}\n\
                     press Ctrl-C or run 'argon umount {}' to unmount",
                    m.versions,
                    m.branches,
                    m.mountpoint.display(),
                    m.mountpoint.display()
                )
            })
        })
        .await
}

pub fn umount(args: UmountArgs) -> Result<()> {
    mount::unmount(&args.mountpoint, args.lazy)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5X").is_err());
    }
}
