//! `argon stash [push|pop|list]`.

use clap::Subcommand;

use crate::core::Result;

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Subcommand)]
enum Action {
    /// Save HEAD and stop its container (the default)
    Push {
        #[arg(short = 'm', long = "message")]
        message: Option<String>,
    },
    /// Resume the stashed HEAD
    Pop,
    /// List stashed branches
    List,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    match args.action.unwrap_or(Action::Push { message: None }) {
        Action::Push { message } => {
            let mut project = ctx.open(true).await?;
            let r = project.stash_push(message.as_deref()).await?;
            ctx.out.emit(&r, || {
                let what = match &r.version {
                    Some(v) => format!("saved as {}", v.short_id),
                    None => format!(
                        "unchanged since {}",
                        r.latest.as_deref().map(short).unwrap_or("-")
                    ),
                };
                format!(
                    "Stashed {} ({what}); 'argon stash pop' resumes it",
                    r.branch
                )
            });
        }
        Action::Pop => {
            let mut project = ctx.open(true).await?;
            let r = project.stash_pop().await?;
            ctx.out
                .emit(&r, || format!("Resumed {}\n{}", r.branch, r.uri));
        }
        Action::List => {
            let mut project = ctx.open(false).await?;
            let list = project.stash_list().await?;
            ctx.out.emit(&list, || {
                list.iter()
                    .map(|b| {
                        format!(
                            "{}{} ({}, {})",
                            b.name,
                            if b.head { " (HEAD)" } else { "" },
                            b.latest.as_deref().map(short).unwrap_or("-"),
                            human_bytes(b.bytes)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}
