//! `argon commit -m MSG`.

use crate::core::Result;

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Describe the version
    #[arg(short = 'm', long = "message")]
    message: String,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(true).await?;
    let report = project.commit(&args.message).await?;
    ctx.out.emit(&report, || match &report.version {
        Some(v) => format!(
            "[{} {}] {} ({} collections, {}, {})",
            report.branch,
            v.short_id,
            v.message,
            v.collections,
            human_bytes(v.bytes),
            v.capture
        ),
        None => format!(
            "nothing to commit: {} is unchanged since {}",
            report.branch,
            report.latest.as_deref().map(short).unwrap_or("-")
        ),
    });
    Ok(())
}
