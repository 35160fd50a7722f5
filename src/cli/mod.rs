//! Command-line interface: clap definitions (one file per verb), output in
//! human or JSON form, plugin dispatch, and the one place errors become messages.

/// `eprintln!` that cannot panic: a closed stderr (a git hook's pipe that git
/// stopped reading, a test that stopped listening) must not turn a repair or
/// an error message into a crash.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod allow;
mod branch;
mod checkout;
mod commit;
mod diff;
mod docs;
mod export;
mod fetch;
mod fsck;
mod gc;
mod help;
mod hooks;
mod import;
mod init;
mod log;
mod mount;
mod pager;
mod plugin;
mod progress;
mod reset;
mod show;
mod stash;
mod status;
mod tag;
mod uri;
mod wait;

#[cfg(test)]
pub(crate) use crate::config::parse_size;
#[cfg(test)]
pub(crate) use gc::parse_duration;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::core::{Error, Progress, Project, Result};
use crate::mount::MountError;

#[derive(Parser)]
#[command(
    name = "argon",
    version,
    about = "git for MongoDB databases: branch, save, stash and time-travel your local MongoDB",
    propagate_version = true,
    allow_external_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Run as if argon was started in DIR
    #[arg(short = 'C', global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Answer yes to confirmations (also implied when stdin is not a terminal)
    #[arg(long, short = 'y', global = true)]
    yes: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create argon.toml for the application in this folder
    Init(init::Args),
    /// Show HEAD, its state, connection string and latest version
    Status,
    /// List, create, rename or delete branches
    Branch(branch::Args),
    /// Switch HEAD to a branch (saving the one it leaves), or create one with -b
    Checkout(checkout::Args),
    /// Save a version of HEAD while it keeps running
    Commit(commit::Args),
    /// Suspend HEAD (save and stop) or resume it (pop)
    Stash(stash::Args),
    /// Wait until the branches checkout and stash left are saved (they save in the background)
    Wait,
    /// Show saved versions, newest first
    Log(log::Args),
    /// Show what changed: HEAD's uncommitted changes, or between two versions
    Diff(diff::Args),
    /// Show a version: what it holds and what it changed
    Show(show::Args),
    /// Write a version out as a mongodump folder
    Export(export::Args),
    /// Make a branch from a mongodump folder
    Import(import::Args),
    /// Put HEAD back to an earlier version (the state it leaves is saved first)
    Reset(reset::Args),
    /// Print HEAD's connection string
    Uri,
    /// Print MONGODB_URI=... for eval or a .env file
    Env,
    /// Bring in versions and branches other machines saved to the same store
    Fetch,
    /// List, create or delete tags (tagged versions are never collected)
    Tag(tag::Args),
    /// Delete expired versions and unused chunks from the store; --local evicts volumes
    Gc(gc::Args),
    /// Check that every saved version in the store is whole
    Fsck(fsck::Args),
    /// Browse every saved version as read-only files (FUSE), until Ctrl-C
    Mount(mount::Args),
    /// Unmount a folder 'argon mount' is serving
    Umount(mount::UmountArgs),
    /// Make the database follow git branches (git hooks)
    Hooks(hooks::Args),
    /// Let the git hooks act in this project (as it is now: a changed argon.toml asks again)
    Allow,
    /// Stop the git hooks from acting in this project
    Deny,
    /// Show help for argon or a command; -a lists plugins too
    Help(help::Args),
    /// Write shell completions and man pages (for packagers and the repository)
    #[command(hide = true)]
    GenerateDocs(docs::Args),
    /// Branch names, one per line (for shell completion)
    #[command(name = "__branches", hide = true)]
    Branches,
    /// argon's own: gives a new engine its first user, from inside its container
    #[command(name = "__engine-login", hide = true)]
    EngineLogin,
    /// argon's own: measures volumes on disk, from inside a helper container
    #[command(name = "__disk-usage", hide = true)]
    DiskUsage { dirs: Vec<String> },
    /// argon's own: the proxy serving HEAD on the stable port (see src/proxy)
    #[command(name = "__proxy", hide = true)]
    Proxy(ProxyArgs),
    /// argon's own, run by the proxy: stash HEAD after [serve] idle_suspend with no client
    #[command(name = "__suspend-idle", hide = true)]
    SuspendIdle,
    /// argon's own, run by the proxy: start HEAD suspended while idle for a client
    #[command(name = "__wake", hide = true)]
    Wake,
    /// argon's own, run by checkout and stash: finish pending saves in the background
    #[command(name = "__background-save", hide = true)]
    BackgroundSave,
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

#[derive(clap::Args)]
pub struct ProxyArgs {
    listen: std::net::SocketAddr,
    control: std::path::PathBuf,
    project_file: std::path::PathBuf,
}

/// Where command output goes, in the chosen format.
pub struct Out {
    pub format: Format,
}

impl Out {
    /// Prints `value` as JSON, or the human text.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        let text = match self.format {
            Format::Json => serde_json::to_string_pretty(value).unwrap_or_default(),
            Format::Human => human(),
        };
        if text.is_empty() {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (e.g. `argon log | head`) is not an error.
        let _ = writeln!(stdout, "{}", text.trim_end_matches('\n'));
    }
}

use crate::config::number_and_unit;

/// Shared context handed to every verb.
pub struct Ctx {
    pub dir: PathBuf,
    pub out: Out,
    pub yes: bool,
}

impl Ctx {
    fn progress(&self) -> std::sync::Arc<dyn Progress> {
        std::sync::Arc::new(progress::Terminal {
            bars: self.out.format == Format::Human && std::io::stderr().is_terminal(),
        })
    }

    pub async fn open(&self, write: bool) -> Result<Project> {
        let project = Project::open(&self.dir, write, self.progress()).await?;
        Ok(Self::noted(project))
    }

    /// `open` for a switch: a background save makes way, pending saves stay
    /// pending (see `Project::lock_for_switch`).
    pub async fn open_for_switch(&self) -> Result<Project> {
        let mut project = Project::open(&self.dir, false, self.progress()).await?;
        project.lock_for_switch().await?;
        Ok(Self::noted(project))
    }

    /// Says what opening a project repaired.
    fn noted(project: Project) -> Project {
        if let Some(note) = &project.recovered {
            errln!("warning: {note}");
        }
        project
    }

    /// Asks before destroying data, unless --yes or stdin is not a terminal.
    pub fn confirm(&self, question: &str) -> Result<()> {
        if self.yes || !std::io::stdin().is_terminal() {
            return Ok(());
        }
        match dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact()
        {
            Ok(true) => Ok(()),
            _ => Err(Error::Aborted),
        }
    }
}

/// A visible builtin command, by name, with its one-line description
/// (listed by `argon help -a`, and never shadowed by a plugin).
#[derive(serde::Serialize)]
pub struct Builtin {
    pub name: String,
    pub about: String,
}

/// The visible builtin commands.
pub fn builtins() -> Vec<Builtin> {
    <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| Builtin {
            name: c.get_name().to_string(),
            about: c.get_about().map(|a| a.to_string()).unwrap_or_default(),
        })
        .collect()
}

/// Runs argon and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start argon's async runtime: {e}");
            return 1;
        }
    };
    let code = runtime.block_on(run(cli));
    // Do not wait for background driver tasks to wind down.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}

async fn run(cli: Cli) -> i32 {
    let dir = cli.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let ctx = Ctx {
        dir,
        out: Out { format: cli.format },
        yes: cli.yes,
    };
    // An interrupted operation is stopped and repaired, then argon exits 130.
    // The mount and plugins handle signals themselves.
    if matches!(
        cli.command,
        Command::Mount(_) | Command::External(_) | Command::Umount(_)
    ) {
        return dispatch(&ctx, cli.command).await;
    }
    tokio::spawn(last_resort_exit());
    tokio::select! {
        code = dispatch(&ctx, cli.command) => code,
        signal = interrupted() => {
            errln!("argon: {signal}: stopping, then repairing what was under way");
            match crate::core::repair(&ctx.dir).await {
                Ok(Some(note)) => errln!("warning: {note}"),
                Ok(None) => {}
                Err(e) => {
                    report(&e);
                    errln!("hint: the next argon command repairs it");
                }
            }
            130
        }
    }
}

/// The first SIGINT, SIGTERM or SIGHUP, by name.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        // Without handlers the default actions stay: nothing to wait for.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "interrupted",
        _ = term.recv() => "terminated",
        _ = hup.recv() => "hung up",
    }
}

/// With nothing under way, a signal ends argon at once; otherwise the repair
/// gets a while, and a second signal or a stuck repair ends it anyway (the
/// journal makes the next argon finish the repair).
async fn last_resort_exit() {
    interrupted().await;
    if !crate::core::operation_in_progress() {
        std::process::exit(130);
    }
    tokio::select! {
        _ = interrupted() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
    }
    std::process::exit(130);
}

async fn dispatch(ctx: &Ctx, command: Command) -> i32 {
    let result = match command {
        Command::Init(args) => init::run(ctx, args),
        Command::Status => status::run(ctx).await,
        Command::Branch(args) => branch::run(ctx, args).await,
        Command::Checkout(args) => checkout::run(ctx, args).await,
        Command::Commit(args) => commit::run(ctx, args).await,
        Command::Stash(args) => stash::run(ctx, args).await,
        Command::Wait => wait::run(ctx).await,
        Command::Log(args) => log::run(ctx, args).await,
        Command::Diff(args) => {
            return match diff::run(ctx, args).await {
                Ok(code) => code,
                Err(e) => report(&e),
            }
        }
        Command::Show(args) => show::run(ctx, args).await,
        Command::Export(args) => export::run(ctx, args).await,
        Command::Import(args) => import::run(ctx, args).await,
        Command::Reset(args) => reset::run(ctx, args).await,
        Command::Uri => uri::run_uri(ctx).await,
        Command::Env => uri::run_env(ctx).await,
        Command::Hooks(args) => hooks::run(ctx, args).await,
        Command::Allow => allow::allow(ctx),
        Command::Deny => allow::deny(ctx),
        Command::Fsck(args) => fsck::run(ctx, args).await,
        Command::Fetch => fetch::run(ctx).await,
        Command::Mount(args) => mount::run(ctx, args).await,
        Command::Umount(args) => mount::umount(args),
        Command::Tag(args) => tag::run(ctx, args).await,
        Command::Gc(args) => gc::run(ctx, args).await,
        Command::Help(args) => help::run(ctx, args),
        Command::GenerateDocs(args) => docs::run(ctx, args),
        Command::Branches => branch::names(ctx).await,
        Command::EngineLogin => uri::engine_login().await,
        Command::DiskUsage { dirs } => {
            print!("{}", crate::runtime::disk::report(&dirs));
            Ok(())
        }
        Command::Proxy(args) => crate::proxy::run(args.listen, args.control, args.project_file),
        Command::SuspendIdle => stash::suspend_idle(ctx).await,
        Command::Wake => stash::wake(ctx).await,
        Command::BackgroundSave => wait::background_save(ctx).await,
        Command::External(args) => return plugin::run(ctx, args).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => report(&e),
    }
}

/// Prints an error as one line (with its causes), a hint, and returns its exit code.
pub(crate) fn report(e: &Error) -> i32 {
    let mut line = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    errln!("error: {line}");
    if let Some(hint) = e.hint() {
        errln!("hint: {hint}");
    }
    exit_code(e)
}

/// The process exit code of an error: 1 for failures of the environment or data, 2 for bad input, 130 for aborted.
fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Config(_)
        | Error::InvalidName(_)
        | Error::BadRevision(_)
        | Error::UnknownRevision(_)
        | Error::AmbiguousRevision { .. }
        | Error::TooFarBack { .. }
        | Error::NoVersionAtTime { .. }
        | Error::NoBranch(_)
        | Error::BranchExists(_)
        | Error::DeleteHead(_)
        | Error::AlreadyInitialized(_)
        | Error::UnknownCommand { .. }
        | Error::TagExists(_)
        | Error::NoTag(_)
        | Error::Diff(crate::diff::DiffError::NoSuchNamespace(_))
        | Error::ExportTarget(_)
        | Error::NotADump(_)
        | Error::NoNamespace { .. }
        | Error::Mount(
            MountError::NotAFolder(_) | MountError::NotEmpty(_) | MountError::NotMounted(_),
        ) => 2,
        Error::Aborted => 130,
        _ => 1,
    }
}

/// The 12-digit form of a version id people read.
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Sizes as people read them.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// "3 minutes ago", like git's relative dates.
pub fn ago(t: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (chrono::Utc::now() - t).num_seconds().max(0);
    let (n, unit) = match secs {
        0..=89 => (secs, "second"),
        90..=5399 => (secs / 60, "minute"),
        5400..=129_599 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}
