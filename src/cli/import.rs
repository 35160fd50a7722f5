//! `argon import DIR --branch NAME [--ns NS]... [--exclude NS]...`.

use std::path::PathBuf;

use crate::core::{ImportReport, Result};

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// A mongodump folder: one folder per database holding <collection>.bson
    /// (or .bson.gz) and <collection>.metadata.json
    #[arg(value_name = "DIR")]
    source: PathBuf,
    /// The new branch (it must not exist)
    #[arg(long, short = 'b', value_name = "NAME")]
    branch: String,
    /// Only this namespace (DB or DB.COLLECTION); repeat for more
    #[arg(long = "ns", value_name = "NS")]
    namespaces: Vec<String>,
    /// Leave this namespace out (DB or DB.COLLECTION); repeat for more
    #[arg(long, value_name = "NS")]
    exclude: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(true).await?;
    let source = if args.source.is_absolute() {
        args.source.clone()
    } else {
        ctx.dir.join(&args.source)
    };
    let report = project
        .import_dump(&source, &args.branch, &args.namespaces, &args.exclude)
        .await?;
    ctx.out.emit(&report, || human(&report));
    Ok(())
}

fn human(r: &ImportReport) -> String {
    format!(
        "Imported {}: branch '{}' at version {} ({} collection(s), {} documents, {})\n'argon checkout {}' starts it",
        r.source.display(),
        r.branch,
        short(&r.version),
        r.collections,
        r.documents,
        human_bytes(r.bytes),
        r.branch
    )
}
