//! `argon import DIR --branch NAME [--ns NS]... [--exclude NS]...`.

use crate::core::{is_uri, ImportReport, ImportSource, Result};

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// A MongoDB connection string (mongodb://...; read only, at one point in
    /// time where the server allows it), or a mongodump folder: one folder
    /// per database holding <collection>.bson (or .bson.gz) and .metadata.json
    #[arg(value_name = "SOURCE")]
    source: String,
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
    let folder = ctx.dir.join(&args.source);
    let source = match is_uri(&args.source) {
        true => ImportSource::Server(&args.source),
        false => ImportSource::Dump(&folder),
    };
    let report = project
        .import(source, &args.branch, &args.namespaces, &args.exclude)
        .await?;
    ctx.out.emit(&report, || human(&report));
    Ok(())
}

fn human(r: &ImportReport) -> String {
    format!(
        "Imported {} ({}): branch '{}' at version {} ({} collection(s), {} documents, {})\n'argon checkout {}' starts it",
        r.source.display(),
        match r.consistency.as_str() {
            "plain" => "each collection as it was when read: the server has no snapshot reads",
            "snapshot-read" => "one point in time",
            _ => "the dump",
        },
        r.branch,
        short(&r.version),
        r.collections,
        r.documents,
        human_bytes(r.bytes),
        r.branch
    )
}
