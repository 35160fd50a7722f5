//! The proxy process: accepts clients on the stable port and splices each to
//! the current route; takes its routes on a Unix socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::watch;

use super::Route;

/// How long a client may wait on a switch before it is closed.
const HOLD_LIMIT: Duration = Duration::from_secs(60);
/// How long a retarget waits for the old route's clients to close.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// Bytes buffered in each direction of a splice.
const SPLICE_BUFFER: usize = 64 * 1024;

/// The route and the clients spliced along each route there has been.
struct Routing {
    /// Bumped by every new route: a client belongs to the generation it was
    /// routed in, and ends when the generation moves on.
    generation: u64,
    route: Route,
    clients: HashMap<u64, usize>,
    /// Since when no client has been connected (with the route serving).
    idle_since: Instant,
    /// Suspend HEAD after this long without a client; `None`: never.
    idle_suspend: Option<Duration>,
    /// An `argon __suspend-idle` or `argon __wake` was started for this
    /// generation: one is enough.
    asked: bool,
}

impl Routing {
    fn total(&self) -> usize {
        self.clients.values().sum()
    }
}

struct Shared {
    routing: Mutex<Routing>,
    changed: watch::Sender<u64>,
    argon: Argon,
}

/// argon itself, run by the proxy in the project for what needs the
/// project: suspending an idle HEAD, waking it. Its output goes to the
/// proxy's log; it takes the project lock like any command, so it never
/// runs across a switch.
struct Argon {
    root: PathBuf,
}

impl Argon {
    fn run(&self, command: &str) {
        let exe = match crate::argon_program() {
            Ok(exe) => exe,
            Err(e) => {
                eprintln!("argon proxy: cannot find argon to run {command}: {e}");
                return;
            }
        };
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("-C")
            .arg(&self.root)
            .arg(command)
            .stdin(std::process::Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        match cmd.spawn() {
            // Waited for on a thread, so it leaves no zombie behind.
            Ok(mut child) => {
                std::thread::spawn(move || child.wait());
            }
            Err(e) => eprintln!("argon proxy: cannot run argon {command}: {e}"),
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Routing> {
        // A panic while the lock was held leaves plain data: still usable.
        self.routing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets a new route; returns once every client of older routes has gone.
    async fn set(&self, route: Route) {
        let generation = {
            let mut r = self.lock();
            if r.route == route {
                return;
            }
            r.generation += 1;
            r.route = route;
            r.idle_since = Instant::now();
            r.asked = false;
            r.generation
        };
        self.changed.send_replace(generation);
        let start = Instant::now();
        while start.elapsed() < DRAIN_LIMIT {
            let old: usize = {
                let r = self.lock();
                r.clients
                    .iter()
                    .filter(|(g, _)| **g < generation)
                    .map(|(_, n)| n)
                    .sum()
            };
            if old == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Routes a new client: its upstream and generation, once not holding.
    async fn admit(&self) -> Option<(SocketAddr, u64)> {
        let mut changed = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + HOLD_LIMIT;
        loop {
            {
                let mut r = self.lock();
                match r.route {
                    Route::Serve(addr) => {
                        let generation = r.generation;
                        *r.clients.entry(generation).or_default() += 1;
                        return Some((addr, generation));
                    }
                    Route::Closed => return None,
                    Route::Hold => {}
                    Route::Sleep => {
                        if !r.asked {
                            r.asked = true;
                            self.argon.run("__wake");
                        }
                    }
                }
                changed.borrow_and_update();
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
    }

    fn leave(&self, generation: u64) {
        let mut r = self.lock();
        if let Some(n) = r.clients.get_mut(&generation) {
            *n -= 1;
            if *n == 0 {
                r.clients.remove(&generation);
            }
        }
        if r.total() == 0 {
            r.idle_since = Instant::now();
        }
    }

    /// Asks argon to suspend HEAD once no client has come for `idle_suspend`.
    fn check_idle(&self) {
        let mut r = self.lock();
        let due = r
            .idle_suspend
            .is_some_and(|limit| r.idle_since.elapsed() >= limit);
        if matches!(r.route, Route::Serve(_)) && r.total() == 0 && due && !r.asked {
            r.asked = true;
            self.argon.run("__suspend-idle");
        }
    }

    fn status(&self) -> String {
        let r = self.lock();
        let clients = r.total();
        format!(
            "pid {} route {} clients {clients}",
            std::process::id(),
            r.route.command()
        )
    }
}

/// Runs the proxy: clients on `listen`, routes on the Unix socket `control`,
/// until told to exit or until `project_file` (the project's argon.toml) or
/// the control socket is gone (the project was removed, or another proxy
/// took over).
pub async fn serve(listen: SocketAddr, control: PathBuf, project_file: PathBuf) -> ! {
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!("argon proxy: port {} is already in use", listen.port());
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("argon proxy: cannot listen on {listen}: {e}");
            std::process::exit(1)
        }
    };
    let _ = std::fs::remove_file(&control);
    let controls = match UnixListener::bind(&control) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("argon proxy: cannot open {}: {e}", control.display());
            std::process::exit(1)
        }
    };
    let _ = std::fs::set_permissions(&control, std::fs::Permissions::from_mode(0o600));
    let socket_inode = std::fs::metadata(&control).map(|m| m.ino()).unwrap_or(0);
    eprintln!("argon proxy {}: listening on {listen}", std::process::id());
    let (changed, _) = watch::channel(0);
    let root = project_file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let shared = Arc::new(Shared {
        routing: Mutex::new(Routing {
            generation: 0,
            route: Route::Closed,
            clients: HashMap::new(),
            idle_since: Instant::now(),
            idle_suspend: None,
            asked: false,
        }),
        changed,
        argon: Argon { root },
    });
    {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                shared.check_idle();
            }
        });
    }
    tokio::spawn(watch_project(control.clone(), socket_inode, project_file));
    let clients = {
        let shared = shared.clone();
        async move {
            loop {
                if let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(splice(shared.clone(), client));
                }
            }
        }
    };
    tokio::spawn(clients);
    loop {
        if let Ok((stream, _)) = controls.accept().await {
            tokio::spawn(control_session(shared.clone(), stream, control.clone()));
        }
    }
}

/// Exits once the project or this proxy's control socket is gone.
async fn watch_project(control: PathBuf, inode: u64, project_file: PathBuf) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let ours = std::fs::metadata(&control).is_ok_and(|m| m.ino() == inode);
        if !ours || !project_file.exists() {
            if ours {
                let _ = std::fs::remove_file(&control);
            }
            eprintln!("argon proxy {}: project gone, exiting", std::process::id());
            std::process::exit(0);
        }
    }
}

async fn control_session(shared: Arc<Shared>, stream: UnixStream, control: PathBuf) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    if BufReader::new(read).read_line(&mut line).await.is_err() {
        return;
    }
    let command = line.trim();
    let reply = match command {
        "status" => shared.status(),
        "exit" => {
            let _ = write.write_all(b"ok\n").await;
            let _ = std::fs::remove_file(&control);
            std::process::exit(0);
        }
        other => match (other.strip_prefix("idle "), Route::parse(other)) {
            (Some(secs), _) => match secs.parse::<u64>() {
                Ok(secs) => {
                    shared.lock().idle_suspend = (secs > 0).then(|| Duration::from_secs(secs));
                    "ok".to_string()
                }
                Err(_) => format!("error: bad idle setting '{other}'"),
            },
            (None, route) => match route {
                Some(route) => {
                    shared.set(route).await;
                    "ok".to_string()
                }
                None => format!("error: unknown command '{other}'"),
            },
        },
    };
    let _ = write.write_all(format!("{reply}\n").as_bytes()).await;
}

/// One client: held while a switch is under way, then spliced to the route
/// of that moment until either side closes or the route changes.
async fn splice(shared: Arc<Shared>, mut client: TcpStream) {
    let mut changed = shared.changed.subscribe();
    let Some((addr, generation)) = shared.admit().await else {
        return;
    };
    let spliced = async {
        let mut upstream =
            tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr)).await??;
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        tokio::io::copy_bidirectional_with_sizes(
            &mut client,
            &mut upstream,
            SPLICE_BUFFER,
            SPLICE_BUFFER,
        )
        .await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    let moved_on = async {
        while changed.changed().await.is_ok() {
            if *changed.borrow_and_update() != generation {
                return;
            }
        }
    };
    tokio::select! {
        _ = spliced => {}
        _ = moved_on => {}
    }
    shared.leave(generation);
}
