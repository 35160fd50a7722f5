//! The stable port: a small TCP splice (not a protocol parser) that argon
//! runs beside the engines and points at HEAD's engine on its private port.
//! Switching HEAD is then a retarget, not a port handover: clients that
//! connect during a switch are held and served by the new HEAD, and the
//! connections of the branch left are closed before the switch goes on, so
//! no client reaches it afterwards.
//!
//! `server` is the proxy process (`argon __proxy`); `Proxy` is argon's side:
//! finding it, starting it when it is not running, and telling it where to
//! send clients, over a Unix socket only this user can open.

mod server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// Runs the proxy process until it exits, on a runtime of its own with one
/// thread: a splice hands bytes from socket to socket, and keeping both
/// ends on one thread saves a cross-thread wake-up per message.
pub fn run(listen: SocketAddr, control: PathBuf, project_file: PathBuf) -> ! {
    let proxy = std::thread::spawn(move || {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(server::serve(listen, control, project_file)),
            Err(e) => {
                eprintln!("argon proxy: cannot start its runtime: {e}");
                std::process::exit(1)
            }
        }
    });
    let _ = proxy.join();
    std::process::exit(1)
}

/// The hidden command that runs the proxy process.
pub const PROXY_COMMAND: &str = "__proxy";

/// How long a new proxy may take to listen before argon gives up on it.
const START_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("port {port} is already in use")]
    PortInUse { port: u16 },
    #[error("the proxy on port {port} did not start: {message}")]
    NotStarted { port: u16, message: String },
    #[error("the proxy on port {port} refused '{command}': {message}")]
    Refused {
        port: u16,
        command: String,
        message: String,
    },
    #[error("I/O failed while {op}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl ProxyError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ProxyError::PortInUse { .. } => Some(
                "stop what listens there, or set [serve] port in argon.toml (or ARGON_PORT)".into(),
            ),
            ProxyError::NotStarted { .. } | ProxyError::Refused { .. } => {
                Some("its log is in argon's state folder under proxy/; any argon command starts it again".into())
            }
            ProxyError::Io { .. } => None,
        }
    }
}

type Result<T> = std::result::Result<T, ProxyError>;

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> ProxyError {
    move |source| ProxyError::Io { op, source }
}

/// Where clients on the stable port go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To HEAD's engine: at the port its container publishes, which stays
    /// with that container whatever restarts it, or at its own address on
    /// its network (one userland hop fewer: Docker's port proxy) while the
    /// proxy can tell it is still that engine's (see `server::Canary`).
    Serve {
        published: SocketAddr,
        direct: Option<SocketAddr>,
    },
    /// Nowhere yet: a switch is under way. New clients wait; the clients of
    /// the previous route are closed.
    Hold,
    /// Nowhere: HEAD is stashed. Clients are closed at once.
    Closed,
    /// Nowhere: HEAD was suspended while idle (`[serve] idle_suspend`). The
    /// first client wakes it (`argon __wake`) and waits to be served.
    Sleep,
}

impl Route {
    /// To the engine published at `published` only.
    pub fn published(published: SocketAddr) -> Route {
        Route::Serve {
            published,
            direct: None,
        }
    }

    /// The control command that sets this route; also how `status` names it.
    pub fn command(&self) -> String {
        match self {
            Route::Serve {
                published,
                direct: None,
            } => format!("serve {published}"),
            Route::Serve {
                published,
                direct: Some(direct),
            } => format!("serve {published} via {direct}"),
            Route::Hold => "hold".into(),
            Route::Closed => "close".into(),
            Route::Sleep => "sleep".into(),
        }
    }

    fn parse(command: &str) -> Option<Route> {
        match command.split_once(' ') {
            Some(("serve", addrs)) => match addrs.split_once(" via ") {
                Some((published, direct)) => Some(Route::Serve {
                    published: published.parse().ok()?,
                    direct: Some(direct.parse().ok()?),
                }),
                None => addrs.parse().ok().map(Route::published),
            },
            None if command == "hold" => Some(Route::Hold),
            None if command == "close" => Some(Route::Closed),
            None if command == "sleep" => Some(Route::Sleep),
            _ => None,
        }
    }

    pub fn serves(&self) -> bool {
        matches!(self, Route::Serve { .. })
    }
}

/// What `argon status` says of the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyStatus {
    pub pid: u32,
    /// Where it sends new clients now: a route's `direct` address only
    /// while the proxy can tell it is still that engine's.
    pub route: Route,
    /// Client connections it splices now.
    pub clients: usize,
    /// The engine it reached at its own address ended: clients go to its
    /// published port until argon routes again.
    pub canary_lost: bool,
}

/// The proxy of one project: its port, control socket and log.
pub struct Proxy {
    listen: SocketAddr,
    control: PathBuf,
    log: PathBuf,
    /// Where the proxy exits on its own once it is gone: the project's argon.toml.
    project_file: PathBuf,
    /// HEAD with no client for this long is suspended (`argon __suspend-idle`).
    idle_suspend: Option<Duration>,
}

impl Proxy {
    /// The proxy serving `listen` for the project whose argon.toml is
    /// `project_file`, with its socket and log in `dir` under `key`.
    pub fn new(
        listen: SocketAddr,
        dir: &Path,
        key: &str,
        project_file: PathBuf,
        idle_suspend: Option<Duration>,
    ) -> Proxy {
        let mut control = dir.join(format!("{key}.sock"));
        // A Unix socket's path holds at most 107 bytes.
        if control.as_os_str().len() > 100 {
            control = std::env::temp_dir().join(format!("argon-proxy-{key}.sock"));
        }
        Proxy {
            listen,
            control,
            log: dir.join(format!("{key}.log")),
            project_file,
            idle_suspend,
        }
    }

    pub fn port(&self) -> u16 {
        self.listen.port()
    }

    /// The running proxy's state; `None` when none answers.
    pub async fn status(&self) -> Option<ProxyStatus> {
        let reply = self.ask("status").await.ok()?;
        // "pid 123 route serve 127.0.0.1:5000 via 172.18.0.2:27017 clients 2 [canary lost]"
        let words: Vec<&str> = reply.split_whitespace().collect();
        let pid = words.get(1)?.parse().ok()?;
        let clients_at = words.iter().position(|w| *w == "clients")?;
        let route = Route::parse(&words.get(3..clients_at)?.join(" "))?;
        let clients = words.get(clients_at + 1)?.parse().ok()?;
        let canary_lost = words.get(clients_at + 2..) == Some(&["canary", "lost"][..]);
        Some(ProxyStatus {
            pid,
            route,
            clients,
            canary_lost,
        })
    }

    /// Sends clients along `route`, starting the proxy when none runs. Returns
    /// once the clients of any other route are closed.
    pub async fn route(&self, route: Route) -> Result<()> {
        if self.status().await.is_none() {
            if route == Route::Closed {
                // Nothing listens, so nothing reaches a stopped HEAD anyway.
                return Ok(());
            }
            self.start().await?;
        }
        // The setting as argon.toml says now, before the route it applies to.
        let idle = self.idle_suspend.map(|d| d.as_secs()).unwrap_or(0);
        self.send(&format!("idle {idle}")).await?;
        self.send(&route.command()).await
    }

    /// One command the proxy must acknowledge with "ok".
    async fn send(&self, command: &str) -> Result<()> {
        let command = command.to_string();
        let reply = self.ask(&command).await.map_err(|e| ProxyError::Refused {
            port: self.port(),
            command: command.clone(),
            message: e.to_string(),
        })?;
        match reply.strip_prefix("ok") {
            Some(_) => Ok(()),
            None => Err(ProxyError::Refused {
                port: self.port(),
                command,
                message: reply,
            }),
        }
    }

    /// Stops the proxy (the project is going away); one not running is fine.
    pub async fn stop(&self) {
        let _ = self.ask("exit").await;
    }

    /// Starts the proxy process, detached from this one (its own process
    /// group, so a Ctrl-C at the terminal does not reach it), and waits
    /// until it answers.
    async fn start(&self) -> Result<()> {
        if let Some(dir) = self.log.parent() {
            crate::private::create_dir_all(dir).map_err(io("creating the proxy's folder"))?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io("opening the proxy's log"))?;
        let log_len = log.metadata().map(|m| m.len()).unwrap_or(0);
        let err_log = log.try_clone().map_err(io("opening the proxy's log"))?;
        let exe = crate::argon_program().map_err(io("finding argon's own program"))?;
        let mut command = std::process::Command::new(exe);
        command
            .arg(PROXY_COMMAND)
            .arg(self.listen.to_string())
            .arg(&self.control)
            .arg(&self.project_file)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err_log);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(io("starting the proxy"))?;
        let started = Instant::now();
        loop {
            if self.status().await.is_some() {
                // Reaped by whoever adopts it once this process exits.
                std::mem::forget(child);
                return Ok(());
            }
            if let Ok(Some(_)) = child.try_wait() {
                let message = self.log_since(log_len);
                return Err(if message.contains("in use") {
                    ProxyError::PortInUse { port: self.port() }
                } else {
                    ProxyError::NotStarted {
                        port: self.port(),
                        message,
                    }
                });
            }
            if started.elapsed() > START_DEADLINE {
                let _ = child.kill();
                return Err(ProxyError::NotStarted {
                    port: self.port(),
                    message: format!("no answer within {} s", START_DEADLINE.as_secs()),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the proxy wrote to its log after byte `from`, on one line.
    fn log_since(&self, from: u64) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let start = (from as usize).min(text.len());
        String::from_utf8_lossy(&text[start..])
            .lines()
            .last()
            .unwrap_or("it exited")
            .to_string()
    }

    /// One command on the control socket, and its one-line reply.
    async fn ask(&self, command: &str) -> std::io::Result<String> {
        let exchange = async {
            let stream = UnixStream::connect(&self.control).await?;
            let (read, mut write) = stream.into_split();
            write.write_all(format!("{command}\n").as_bytes()).await?;
            let mut reply = String::new();
            BufReader::new(read).read_line(&mut reply).await?;
            Ok::<_, std::io::Error>(reply.trim().to_string())
        };
        // A retarget waits for the old route's clients to close (bounded in the proxy).
        tokio::time::timeout(Duration::from_secs(15), exchange)
            .await
            .unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the proxy did not answer",
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_read_back_as_written() {
        for route in [
            Route::published("127.0.0.1:27018".parse().unwrap()),
            Route::published("[::1]:5".parse().unwrap()),
            Route::Serve {
                published: "127.0.0.1:27018".parse().unwrap(),
                direct: Some("172.18.0.2:27017".parse().unwrap()),
            },
            Route::Hold,
            Route::Closed,
            Route::Sleep,
        ] {
            assert_eq!(Route::parse(&route.command()), Some(route));
        }
        assert_eq!(Route::parse("serve nowhere"), None);
        assert_eq!(Route::parse("serve 127.0.0.1:1 via nowhere"), None);
        assert_eq!(Route::parse("exit"), None);
    }
}
