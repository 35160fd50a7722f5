//! `argon checkout [-b] NAME [REV]`.

use crate::core::{CheckoutReport, Result};

use super::{short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Create the branch NAME (from REV, default HEAD's current state) and switch to it
    #[arg(short = 'b')]
    create: bool,
    /// Branch to switch to (or to create, with -b)
    name: String,
    /// With -b: the revision to start from (main~2, main@{1 hour ago}, a version id)
    rev: Option<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open_for_switch().await?;
    let report = if args.create {
        project
            .checkout_new(&args.name, args.rev.as_deref())
            .await?
    } else {
        if args.rev.is_some() {
            return Err(crate::core::Error::BadRevision(
                "a revision needs -b: 'argon checkout -b NEW REV' creates a branch from REV".into(),
            ));
        }
        project.checkout(&args.name).await?
    };
    ctx.out.emit(&report, || human(&report));
    Ok(())
}

fn human(r: &CheckoutReport) -> String {
    let mut t = String::new();
    if let (Some(v), Some(prev)) = (&r.saved, &r.previous) {
        t.push_str(&format!("Saved {prev} as {}\n", v.short_id));
    }
    if let (true, Some(prev)) = (r.pending_save, &r.previous) {
        t.push_str(&format!(
            "Saving {prev} in the background ('argon wait' waits for it)\n"
        ));
    }
    if r.created {
        t.push_str(&format!("Switched to a new branch '{}'", r.branch));
    } else if r.previous.as_deref() == Some(r.branch.as_str()) {
        t.push_str(&format!("Already on '{}'", r.branch));
    } else {
        t.push_str(&format!("Switched to branch '{}'", r.branch));
    }
    if let Some(b) = &r.copied_from {
        t.push_str(&format!(" (a local copy of {b})"));
    }
    if let Some(v) = &r.restored {
        t.push_str(&format!(" (restored from {})", short(v)));
    }
    t.push_str(&format!("\n{}", r.uri));
    t
}
