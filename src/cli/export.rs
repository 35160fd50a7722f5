//! `argon export REV (DIR | --archive FILE [--gzip]) [--ns NS...]`.

use std::path::PathBuf;

use crate::core::{ExportReport, ExportTo, Result};

use super::{human_bytes, short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// The version to export: any revision (main, main~2, a tag, an id)
    rev: String,
    /// The folder to write: <db>/<collection>.bson and .metadata.json, as
    /// mongodump writes them (it must not exist, or be empty)
    #[arg(value_name = "DIR", required_unless_present = "archive")]
    folder: Option<PathBuf>,
    /// Write one mongodump archive file instead (as 'mongodump --archive=FILE'); it must not exist
    #[arg(long, value_name = "FILE", conflicts_with = "folder")]
    archive: Option<PathBuf>,
    /// Compress the archive with gzip (as 'mongodump --archive --gzip')
    #[arg(long, requires = "archive")]
    gzip: bool,
    /// Only this namespace (DB or DB.COLLECTION); repeat for more
    #[arg(long = "ns", value_name = "NS")]
    namespaces: Vec<String>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut project = ctx.open(false).await?;
    // Relative to the folder argon works in (-C); an absolute one stays as it is.
    let folder = args.folder.as_ref().map(|f| ctx.dir.join(f));
    let archive = args.archive.as_ref().map(|f| ctx.dir.join(f));
    let to = match (&archive, &folder) {
        (Some(file), _) => ExportTo::Archive {
            file,
            gzip: args.gzip,
        },
        (None, Some(dir)) => ExportTo::Folder(dir),
        // clap requires one of the two.
        (None, None) => ExportTo::Folder(&ctx.dir),
    };
    let is_archive = archive.is_some();
    let report = project.export(&args.rev, to, &args.namespaces).await?;
    ctx.out.emit(&report, || human(&report, is_archive));
    Ok(())
}

fn human(r: &ExportReport, archive: bool) -> String {
    let restore = match archive {
        true => format!("mongorestore --archive={}", r.path.display()),
        false => format!("mongorestore --dir {}", r.path.display()),
    };
    format!(
        "Exported {} to {}: {} collection(s), {} documents, {}\n({restore} restores it{})",
        short(&r.version),
        r.path.display(),
        r.collections,
        r.documents,
        human_bytes(r.bytes),
        match archive {
            true => "; add --gzip if it was written with --gzip",
            false => "",
        }
    )
}
