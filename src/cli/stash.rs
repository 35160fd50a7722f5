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
            let mut project = ctx.open_for_switch().await?;
            let r = project.stash_push(message.as_deref()).await?;
            ctx.out.emit(&r, || {
                let what = match &r.version {
                    _ if r.pending => "saving in the background; 'argon wait' waits for it".into(),
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
            // A pop waits for the stash's save: recorded, HEAD comes back clean.
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

/// `argon __suspend-idle` (the proxy runs it): a project busy with another
/// command is left alone, as that command keeps its clients.
pub async fn suspend_idle(ctx: &Ctx) -> Result<()> {
    let mut project = ctx.open(true).await?;
    if project.suspend_idle().await? {
        errln!("argon: HEAD suspended after [serve] idle_suspend without a client; the next client wakes it");
    }
    Ok(())
}

/// `argon __wake` (the proxy runs it for a client): waits for a busy project
/// (a suspend finishing) for up to a minute.
pub async fn wake(ctx: &Ctx) -> Result<()> {
    let started = std::time::Instant::now();
    let mut project = loop {
        match ctx.open_for_switch().await {
            Err(crate::core::Error::Locked { .. })
                if started.elapsed() < std::time::Duration::from_secs(60) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => break other?,
        }
    };
    if project.wake().await? {
        errln!("argon: HEAD woken for a client");
    }
    Ok(())
}
