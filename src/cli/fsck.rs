//! `argon fsck [--read-data]`.

use crate::core::{Error, Result};

use super::{short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Also download every chunk and verify its content (slow; reads the whole store)
    #[arg(long)]
    read_data: bool,
    /// First recreate the local metadata (versions, branches) from the store
    #[arg(long)]
    rebuild_index: bool,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(args.rebuild_index).await?;
    if args.rebuild_index {
        let f = project.fetch().await?;
        let adopted = project.adopt_local_data().await?;
        if ctx.out.format == super::Format::Human {
            errln!(
                "rebuilt the index: {} version(s) and {} branch(es) added from the store",
                f.new_versions,
                f.new_branches.len()
            );
            if !adopted.volumes.is_empty() {
                errln!(
                    "local data found again for: {}{}",
                    adopted.volumes.join(", "),
                    adopted
                        .head
                        .as_ref()
                        .map(|h| format!(" (HEAD: {h}, running)"))
                        .unwrap_or_default()
                );
            }
        }
    }
    let r = project.fsck(args.read_data).await?;
    ctx.out.emit(&r, || {
        let mut t = format!(
            "checked {} versions and {} chunks in {}{}",
            r.versions,
            r.chunks,
            r.store,
            if r.read_data {
                " (contents read and verified)"
            } else {
                " (presence only; --read-data reads them)"
            }
        );
        for d in &r.damaged {
            t.push_str(&format!(
                "\ndamaged: version {} ({})",
                short(&d.id),
                d.branch.as_deref().unwrap_or("?")
            ));
            for p in &d.problems {
                t.push_str(&format!("\n  {p}"));
            }
        }
        if r.damaged.is_empty() {
            t.push_str("\nno problems found");
        }
        t
    });
    match r.damaged.len() {
        0 => Ok(()),
        count => Err(Error::Damaged { count }),
    }
}
