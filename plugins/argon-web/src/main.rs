//! argon-web: the project's branches and versions in a browser.
//!
//!     argon web [--port N] [--open]
//!
//! Serves on 127.0.0.1 only and prints its address with a random access
//! token (as Jupyter does): a request without the token is refused. The
//! pages are rendered on the server from argon's library (`core::Project`),
//! the same calls the CLI makes, so the page and the terminal never
//! disagree; each request opens the project without its lock, so the CLI
//! works while the page is open. Everything served is inside this binary.

mod auth;
mod disk;
mod graph;
mod html;
mod live;
mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: argon web [--port N] [--open]";

/// What every request handler shares.
pub struct App {
    /// The project's folder (where argon was run).
    pub project: PathBuf,
    /// The access token the printed address carries.
    pub token: String,
    /// Required in every state-changing request's form.
    pub csrf: String,
    /// The running action's progress, for the pages following it.
    pub live: Arc<live::Live>,
    /// Branch sizes on disk, measured in the background.
    pub disk: Arc<disk::DiskSizes>,
}

fn random_hex(bytes: usize) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(hex::encode(buf))
}

/// Prints a line to stdout, ignoring a closed pipe.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Starts a browser on `url`: each command of `$BROWSER` in turn (a
/// colon-separated list, as Python's `webbrowser` reads it; `%s` stands for
/// the address, else it goes last), then the system's opener. False when
/// none could be started.
fn open_browser(url: &str) -> bool {
    let mut commands: Vec<Vec<String>> = std::env::var("BROWSER")
        .unwrap_or_default()
        .split(':')
        .map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|words| !words.is_empty())
        .map(|mut words| {
            match words.iter().any(|w| w.contains("%s")) {
                true => words.iter_mut().for_each(|w| *w = w.replace("%s", url)),
                false => words.push(url.to_string()),
            }
            words
        })
        .collect();
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    commands.push(vec![opener.to_string(), url.to_string()]);
    commands.iter().any(|words| {
        let started = std::process::Command::new(&words[0])
            .args(&words[1..])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match started {
            Ok(mut browser) => {
                // Reaped when it ends, so it leaves no zombie behind.
                std::thread::spawn(move || browser.wait());
                true
            }
            Err(_) => false,
        }
    })
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(1)
}

struct Args {
    port: u16,
    open: bool,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        port: 0,
        open: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--open" => out.open = true,
            "--port" => {
                let v = it.next().ok_or("--port needs a number")?;
                out.port = v
                    .parse()
                    .map_err(|_| format!("--port {v} is not a port number (1-65535)"))?;
            }
            other => match other.strip_prefix("--port=") {
                Some(v) => {
                    out.port = v
                        .parse()
                        .map_err(|_| format!("--port {v} is not a port number (1-65535)"))?
                }
                None => return Err(format!("unexpected argument '{other}'\n{USAGE}")),
            },
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!(
            "{USAGE}\nServes a dashboard of this project on 127.0.0.1 and prints its address."
        );
        return ExitCode::SUCCESS;
    }
    let args = match parse(&args) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let project = std::env::var_os("ARGON_PROJECT_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    // The project must open now, not on the first request.
    if let Err(e) = pages::open(&project).await {
        return fail(e);
    }
    let (token, csrf) = match (random_hex(16), random_hex(16)) {
        (Ok(t), Ok(c)) => (t, c),
        (Err(e), _) | (_, Err(e)) => return fail(format!("reading /dev/urandom: {e}")),
    };
    let app = Arc::new(App {
        disk: disk::DiskSizes::new(project.clone()),
        project,
        token,
        csrf,
        live: Arc::new(live::Live::new()),
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            return fail(format!(
                "cannot listen on {addr}: {e}\nhint: choose another port with --port N, or leave it out for a free one"
            ))
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);
    let url = format!("http://127.0.0.1:{port}/?token={}", app.token);
    // Whoever started us may stop reading our output: that is no reason to stop serving.
    say(&format!("argon web: {url}\n(Ctrl-C stops it)"));
    if args.open && !open_browser(&url) {
        eprintln!(
            "argon web: could not start a browser\nhint: open the address above yourself, or set BROWSER to a browser command"
        );
    }
    let router = pages::router(app);
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    match served {
        Ok(()) => {
            say("argon web: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("serving: {e}")),
    }
}
