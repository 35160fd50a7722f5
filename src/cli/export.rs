//! `argon export REV DIR [--ns NS...]`.

use std::path::PathBuf;

use crate::core::{ExportReport, Result};

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// The version to export: any revision (main, main~2, a tag, an id)
    rev: String,
    /// The folder to write: <db>/<collection>.bson and .metadata.json, as
    /// mongodump writes them (it must not exist, or be empty)
    #[arg(value_name = "DIR")]
    folder: PathBuf,
    /// Only this namespace (DB or DB.COLLECTION); repeat for more
    #[arg(long = "ns", value_name = "NS")]
    namespaces: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(false).await?;
    // Relative to the folder argon works in (-C); an absolute one stays as it is.
    let dir = ctx.dir.join(&args.folder);
    let report = project.export(&args.rev, &dir, &args.namespaces).await?;
    ctx.out.emit(&report, || human(&report));
    Ok(())
}

fn human(r: &ExportReport) -> String {
    format!(
        "Exported {} to {}: {} collection(s), {} documents, {}\n(mongorestore --dir {} restores it)",
        short(&r.version),
        r.path.display(),
        r.collections,
        r.documents,
        human_bytes(r.bytes),
        r.path.display()
    )
}
