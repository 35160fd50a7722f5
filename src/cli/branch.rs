//! `argon branch`: list, create, rename, delete.

use serde::Serialize;

use crate::core::Result;

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Delete the branch (its versions stay in the store)
    #[arg(short = 'd', long = "delete", conflicts_with_all = ["force_delete", "rename"])]
    delete: bool,
    /// Delete without asking
    #[arg(short = 'D', conflicts_with = "rename")]
    force_delete: bool,
    /// Rename OLD to NEW
    #[arg(short = 'm', long = "move")]
    rename: bool,
    /// With the list: also each branch's size on disk (its volume; takes about a second)
    #[arg(long, conflicts_with_all = ["delete", "force_delete", "rename"])]
    disk: bool,
    /// Branch name (or OLD NEW with -m, or NAME REV to create at REV)
    names: Vec<String>,
}

#[derive(Serialize)]
struct Renamed<'a> {
    old: &'a str,
    new: &'a str,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let usage = |msg: &str| crate::core::Error::InvalidName(msg.to_string());
    if args.delete || args.force_delete {
        let [name] = args.names.as_slice() else {
            return Err(usage("usage: argon branch -d NAME"));
        };
        let mut project = ctx.open(true).await?;
        if !args.force_delete {
            ctx.confirm(&format!(
                "Delete branch '{name}' and its local data? Its versions stay in the store"
            ))?;
        }
        let report = project.delete_branch(name).await?;
        ctx.out.emit(&report, || match &report.latest {
            Some(v) => format!("Deleted branch {} (was {})", report.branch, short(v)),
            None => format!("Deleted branch {}", report.branch),
        });
        return Ok(());
    }
    if args.rename {
        let [old, new] = args.names.as_slice() else {
            return Err(usage("usage: argon branch -m OLD NEW"));
        };
        let mut project = ctx.open(true).await?;
        project.rename_branch(old, new).await?;
        ctx.out.emit(&Renamed { old, new }, || {
            format!("Renamed branch {old} to {new}")
        });
        return Ok(());
    }
    match args.names.as_slice() {
        [] => {
            let mut project = ctx.open(false).await?;
            let mut list = project.branches().await?;
            if args.disk {
                let sizes = project.disk_usage().await?;
                for b in &mut list {
                    b.disk_bytes = sizes.get(&b.name).copied();
                }
            }
            ctx.out.emit(&list, || {
                let width = list.iter().map(|b| b.name.len()).max().unwrap_or(0);
                list.iter()
                    .map(|b| {
                        let disk = match args.disk {
                            true => format!(
                                "  {:>9} on disk",
                                b.disk_bytes.map_or("-".into(), human_bytes)
                            ),
                            false => String::new(),
                        };
                        format!(
                            "{} {:width$}  {:8}  {:>3} version{}  {:>9}{disk}  {}{}",
                            if b.head { "*" } else { " " },
                            b.name,
                            b.state.as_str(),
                            b.versions,
                            if b.versions == 1 { " " } else { "s" },
                            human_bytes(b.bytes),
                            b.latest.as_deref().map(short).unwrap_or("-"),
                            if b.saving {
                                "  (saving in the background)"
                            } else {
                                ""
                            },
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        _ if args.disk => return Err(usage("--disk goes with the list: argon branch --disk")),
        [name, rest @ ..] if rest.len() <= 1 => {
            let mut project = ctx.open(true).await?;
            let info = project
                .create_branch(name, rest.first().map(String::as_str))
                .await?;
            ctx.out.emit(&info, || {
                format!(
                    "Created branch {} at {}",
                    info.name,
                    info.latest.as_deref().map(short).unwrap_or("-")
                )
            });
        }
        _ => return Err(usage("usage: argon branch [NAME [REV]]")),
    }
    Ok(())
}

/// Branch names only, from the metadata (no Docker): fast enough for completion.
pub async fn names(ctx: &Ctx) -> Result<()> {
    let project = ctx.open(false).await?;
    let names = project.branch_names()?;
    ctx.out.emit(&names, || names.join("\n"));
    Ok(())
}
