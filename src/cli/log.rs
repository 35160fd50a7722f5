//! `argon log [REV]`.

use crate::core::revision::{self, Base};
use crate::core::Result;

use super::{ago, human_bytes, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Start from this revision (default: HEAD)
    rev: Option<String>,
    /// One line per version
    #[arg(long)]
    oneline: bool,
    /// Every version of the project, including ones no branch reaches
    #[arg(long, conflicts_with = "rev")]
    all: bool,
    /// Show at most N versions
    #[arg(short = 'n', long = "max-count", value_name = "N")]
    max_count: Option<usize>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let project = ctx.open(false).await?;
    let mut versions = if args.all {
        project.log_all()?
    } else {
        project.log(args.rev.as_deref(), args.max_count)?
    };
    if let Some(n) = args.max_count {
        versions.truncate(n);
    }
    // A branch left by a switch may have a newer state than its latest version.
    let base = match &args.rev {
        Some(rev) => revision::parse(rev, chrono::Utc::now())
            .map(|r| r.base)
            .ok(),
        None => Some(Base::Head),
    };
    let shown = match (base, args.all) {
        (_, true) => None,
        (Some(Base::Name(name)), false) => Some(name),
        (_, false) => project.head().map(str::to_string),
    };
    for p in project.pending_saves()? {
        if shown.as_ref().is_none_or(|b| *b == p.branch) {
            errln!(
                "note: {}'s newest state ({}) is being saved in the background; 'argon wait' waits for it",
                p.branch,
                p.message
            );
        }
    }
    ctx.out.emit(&versions, || {
        if args.oneline {
            return versions
                .iter()
                .map(|v| format!("{} {}", v.short_id, v.message))
                .collect::<Vec<_>>()
                .join("\n");
        }
        versions
            .iter()
            .map(|v| {
                format!(
                    "version {} ({})\nDate:    {} ({})\nSize:    {} in {} collections, captured by {}\n\n    {}\n",
                    v.id,
                    v.branch,
                    v.created_at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S %z"),
                    ago(v.created_at),
                    human_bytes(v.bytes),
                    v.collections,
                    v.capture,
                    v.message
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
