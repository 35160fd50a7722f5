//! `argon hooks install|uninstall|status` and the hidden `argon hooks run`.

use clap::Subcommand;
use serde::Serialize;

use crate::core::{Error, Result};
use crate::git::{hooks, Repo};

use super::Ctx;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Install git hooks so the database follows `git checkout` / `git switch`
    Install {
        /// Replace an existing hook instead of chaining it (a backup is kept)
        #[arg(long, conflicts_with = "manual")]
        force: bool,
        /// Change nothing; print what to add to your own hooks
        #[arg(long)]
        manual: bool,
    },
    /// Remove argon's hooks (a chained hook of yours is put back)
    Uninstall,
    /// Show the hooks and whether git and the database are in step
    Status,
    /// Run by the hooks themselves
    #[command(hide = true)]
    Run {
        hook: String,
        #[arg(allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Serialize)]
struct Manual {
    hooks_dir: std::path::PathBuf,
    lines: Vec<(String, String)>,
}

pub async fn run(ctx: &Ctx, args: Args) -> Result<()> {
    match args.action {
        Action::Install { force, manual } => {
            let repo = Repo::open(&ctx.dir)?;
            let dir = repo.hooks_dir()?;
            if manual {
                let m = Manual {
                    hooks_dir: dir.clone(),
                    lines: hooks::HOOKS
                        .iter()
                        .map(|h| (h.to_string(), hooks::manual_lines(h)))
                        .collect(),
                };
                ctx.out.emit(&m, || {
                    m.lines
                        .iter()
                        .map(|(h, l)| format!("Add to {}:\n  {l}", dir.join(h).display()))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                return Ok(());
            }
            let existing = if force {
                hooks::Existing::Replace
            } else {
                hooks::Existing::Chain
            };
            let changes = hooks::install(&dir, existing)?;
            // Installing the hooks here is the user's say-so for this project.
            if let Ok(root) = crate::core::trust::project_root(&ctx.dir) {
                crate::core::trust::allow(&root)?;
            }
            ctx.out.emit(&changes, || describe(&changes));
        }
        Action::Uninstall => {
            let repo = Repo::open(&ctx.dir)?;
            let changes = hooks::uninstall(&repo.hooks_dir()?)?;
            ctx.out.emit(&changes, || describe(&changes));
        }
        Action::Status => {
            let project = ctx.open(false).await?;
            let s = project.hooks_status()?;
            ctx.out.emit(&s, || {
                let mut t = String::new();
                for h in &s.hooks {
                    t.push_str(&format!(
                        "{}: {:?} ({})\n",
                        h.hook,
                        h.state,
                        h.path.display()
                    ));
                }
                t.push_str(&format!(
                    "git branch: {}\ndatabase HEAD: {}\n{}",
                    s.git_branch.as_deref().unwrap_or("(detached)"),
                    s.head.as_deref().unwrap_or("-"),
                    match (s.in_step, s.follow) {
                        (_, false) => "following is off ([git] follow = false)",
                        (true, true) => "in step",
                        (false, true) =>
                            "NOT in step: 'git checkout' again or 'argon checkout' the branch",
                    }
                ));
                t
            });
        }
        Action::Run { hook, args } => return run_hook(ctx, &hook, &args).await,
    }
    Ok(())
}

fn describe(changes: &[hooks::HookChange]) -> String {
    changes
        .iter()
        .map(|c| match &c.detail {
            Some(d) => format!(
                "{}: {} ({} -> {})",
                c.hook,
                c.action,
                c.path.display(),
                d.display()
            ),
            None => format!("{}: {} ({})", c.hook, c.action, c.path.display()),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the hook scripts call. Prints one line; failures become the hook's one warning line.
async fn run_hook(ctx: &Ctx, hook: &str, args: &[String]) -> Result<()> {
    if hook != "post-checkout" {
        return Ok(());
    }
    // git passes: previous HEAD, new HEAD, 1 for a branch checkout.
    let flag = args.get(2).map(String::as_str).unwrap_or("0");
    if flag != "1" {
        return Ok(());
    }
    let root = match crate::core::trust::project_root(&ctx.dir) {
        Ok(root) => root,
        // Not an argon project: the hook has nothing to do here.
        Err(Error::Config(crate::config::ConfigError::NotAProject(_))) => return Ok(()),
        Err(e) => return Err(e),
    };
    // Only in projects this user allowed: a cloned argon.toml names an image to run.
    let report = crate::core::trust::TrustReport {
        trust: crate::core::trust::trust(&root)?,
        root,
    };
    if let Some(refusal) = super::allow::refusal(&report) {
        errln!("{refusal}");
        return Ok(());
    }
    let mut project = ctx.open_for_switch().await?;
    let r = project.follow_git(flag).await?;
    ctx.out.emit(&r, || match (r.action, &r.branch) {
        ("created", Some(b)) => format!("argon: database branch '{b}' created and checked out"),
        ("switched", Some(b)) => format!("argon: database switched to '{b}'"),
        _ => String::new(),
    });
    Ok(())
}
