//! `argon reset --hard REV`.

use crate::core::Result;

use super::{short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Replace HEAD's data with REV's (required: argon has no soft reset)
    #[arg(long, required = true)]
    hard: bool,
    /// The version to go back to
    rev: String,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(true).await?;
    let head = project.head().unwrap_or("HEAD").to_string();
    ctx.confirm(&format!(
        "Replace the data of '{head}' with {}? Its current state is saved first",
        args.rev
    ))?;
    let r = project.reset_hard(&args.rev).await?;
    ctx.out.emit(&r, || {
        let mut t = format!("HEAD ({}) is now at {}", r.branch, short(&r.target));
        if let Some(s) = r.saved.as_deref().map(short) {
            t.push_str(&format!(
                "\nThe state it left is saved as {s} ('argon reset --hard {s}' goes back)"
            ));
        }
        t
    });
    Ok(())
}
