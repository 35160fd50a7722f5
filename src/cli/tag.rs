//! `argon tag [NAME [REV]]`, `argon tag -d NAME`: names that pin versions.

use serde::Serialize;

use crate::core::{Error, Result};

use super::{short, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// Delete the tag
    #[arg(short = 'd', long = "delete")]
    delete: bool,
    /// Tag name (git ref rules); none lists tags
    name: Option<String>,
    /// The version to tag (default HEAD's latest version)
    rev: Option<String>,
}

#[derive(Serialize)]
struct Deleted<'a> {
    deleted: &'a str,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    match (args.delete, args.name) {
        (true, Some(name)) => {
            let mut project = ctx.open(true).await?;
            project.delete_tag(&name).await?;
            ctx.out.emit(&Deleted { deleted: &name }, || {
                format!("Deleted tag '{name}'")
            });
        }
        (true, None) => return Err(Error::InvalidName("usage: argon tag -d NAME".into())),
        (false, Some(name)) => {
            let mut project = ctx.open(true).await?;
            let t = project.tag(&name, args.rev.as_deref()).await?;
            ctx.out.emit(&t, || {
                format!("Tagged {} as '{}'", short(&t.version), t.name)
            });
        }
        (false, None) => {
            let project = ctx.open(false).await?;
            let tags = project.tags()?;
            ctx.out.emit(&tags, || {
                tags.iter()
                    .map(|t| format!("{}  {}", t.name, short(&t.version)))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}
