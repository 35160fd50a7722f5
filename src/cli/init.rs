//! `argon init`: write argon.toml.

use crate::core::{self, InitOptions, Result};

use super::Ctx;

#[derive(clap::Args)]
pub struct Args {
    /// Project name (default: the folder's name)
    #[arg(long)]
    name: Option<String>,
    /// Engine image (default: mongo:7.0)
    #[arg(long)]
    image: Option<String>,
    /// Store URL: file:///path or s3://bucket/prefix
    #[arg(long)]
    store: Option<String>,
    /// HEAD's stable port on 127.0.0.1 (default: the first free one from 27018)
    #[arg(long)]
    port: Option<u16>,
    /// Override the image's command (repeat for each argument)
    #[arg(long = "command", value_name = "ARG", allow_hyphen_values = true, num_args = 1..)]
    command: Option<Vec<String>>,
    /// Engines require a login: argon generates one per project, kept 0600 in
    /// ARGON_HOME, and 'argon uri' / 'argon env' print it
    #[arg(long)]
    auth: bool,
    /// Overwrite an existing argon.toml
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let dir = ctx
        .dir
        .canonicalize()
        .map_err(core::Error::io(format!("opening {}", ctx.dir.display())))?;
    let report = core::init(
        &dir,
        InitOptions {
            name: args.name,
            image: args.image,
            store: args.store,
            port: args.port,
            command: args.command,
            auth: args.auth,
            force: args.force,
        },
    )?;
    ctx.out.emit(&report, || {
        format!(
            "Initialized argon project '{}' in {}\n  engine image: {}\n  stable port:  127.0.0.1:{}\n  store:        {}\nNext: 'argon checkout -b main' starts the main branch.",
            report.project,
            report.path.display(),
            report.image,
            report.port,
            report.store
        )
    });
    Ok(())
}
