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
pub struct Builtin {
    pub name: String,
    pub about: String,
}

#[derive(Serialize)]
struct Listing {
    builtins: Vec<Builtin>,
    plugins: Vec<plugin::Plugin>,
}

/// Names and one-line descriptions of the visible builtin commands.
pub fn builtins() -> Vec<Builtin> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| Builtin {
            name: c.get_name().to_string(),
            about: c.get_about().map(|a| a.to_string()).unwrap_or_default(),
        })
        .collect()
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
        builtins: builtins(),
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
