//! `argon import SOURCE --branch NAME [--ns NS]... [--exclude NS]...`.

use std::path::PathBuf;

use crate::core::{is_uri, ImportReport, ImportSource, Result};

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// A MongoDB connection string (mongodb://...; read only, at one point in
    /// time where the server allows it); a mongodump folder (one folder per
    /// database holding <collection>.bson or .bson.gz, and .metadata.json);
    /// a mongodump archive file (gzip or not); or a folder of
    /// <db>/<collection>.json or .jsonl fixtures in extended JSON
    #[arg(value_name = "SOURCE", required_unless_present = "archive")]
    source: Option<String>,
    /// A mongodump archive file (as 'mongorestore --archive=FILE'): the same
    /// as giving it as SOURCE
    #[arg(long, value_name = "FILE", conflicts_with = "source")]
    archive: Option<PathBuf>,
    /// Accepted as mongorestore spells it: gzip is recognised by a file's
    /// first bytes, with or without it
    #[arg(long)]
    gzip: bool,
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
    let _ = args.gzip;
    // Relative to the folder argon works in (-C); an absolute one stays as it is.
    let path = match (&args.archive, &args.source) {
        (Some(file), _) => ctx.dir.join(file),
        (None, Some(source)) => ctx.dir.join(source),
        (None, None) => ctx.dir.clone(),
    };
    let source = match args.source.as_deref() {
        Some(uri) if is_uri(uri) => ImportSource::Server(uri),
        _ if args.archive.is_some() || path.is_file() => ImportSource::Archive(&path),
        _ => ImportSource::Folder(&path),
    };
    let report = project
        .import(source, &args.branch, &args.namespaces, &args.exclude)
        .await?;
    ctx.out.emit(&report, || human(&report));
    Ok(())
}

fn human(r: &ImportReport) -> String {
    let resumed = match r.resumed {
        0 => String::new(),
        n if r.consistency == "plain" => format!("\n(the connection was cut {n} time(s); each collection cut off was read again, and the chunks already sent were not sent again)"),
        n => format!("\n(the connection was cut {n} time(s); each read resumed where it stopped, at the same point in time)"),
    };
    format!(
        "Imported {} ({}): branch '{}' at version {} ({} collection(s), {} documents, {}){resumed}\n'argon checkout {}' starts it",
        r.source.display(),
        match r.consistency.as_str() {
            "plain" => "each collection as it was when read: the server has no snapshot reads",
            "snapshot-read" => "one point in time",
            _ => "what it holds",
        },
        r.branch,
        short(&r.version),
        r.collections,
        r.documents,
        human_bytes(r.bytes),
        r.branch
    )
}
