//! `argon help [-a] [COMMAND]`: builtins, and with -a the argon-* plugins on PATH.

use clap::CommandFactory;
use serde::Serialize;

use crate::core::Result;

use super::{plugin, Cli, Ctx};

#[derive(clap::Args)]
pub struct Args {
    /// List all commands: builtins and argon-* plugins found on PATH
    #[arg(short = 'a', long = "all")]
    all: bool,
    /// The command to show help for
    command: Option<String>,
}

#[derive(Serialize)]
struct Listing {
    builtins: Vec<super::Builtin>,
    plugins: Vec<plugin::Plugin>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut cmd = Cli::command();
    if let Some(name) = &args.command {
        if let Some(sub) = cmd.find_subcommand_mut(name) {
            let _ = sub.print_long_help();
            return Ok(());
        }
        if let Some(p) = plugin::find(name) {
            // Plugins document themselves.
            let _ = std::process::Command::new(&p).arg("--help").status();
            return Ok(());
        }
        return Err(crate::core::Error::UnknownCommand {
            name: name.clone(),
            suggestion: plugin::suggest(name),
        });
    }
    if !args.all {
        let _ = cmd.print_help();
        return Ok(());
    }
    let listing = Listing {
        builtins: super::builtins(),
        plugins: plugin::found(),
    };
    ctx.out.emit(&listing, || {
        let width = listing
            .builtins
            .iter()
            .map(|b| b.name.len())
            .chain(listing.plugins.iter().map(|p| p.name.len()))
            .max()
            .unwrap_or(0);
        let mut t = String::from("argon commands:\n");
        for b in &listing.builtins {
            t.push_str(&format!("  {:width$}  {}\n", b.name, b.about));
        }
        if listing.plugins.is_empty() {
            t.push_str("\nNo argon-* plugins on PATH.");
        } else {
            t.push_str("\nPlugins (argon-* on PATH):\n");
            for p in &listing.plugins {
                t.push_str(&format!("  {:width$}  {}\n", p.name, p.path.display()));
            }
        }
        t
    });
    Ok(())
}
