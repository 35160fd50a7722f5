//! The proxy process: accepts clients on the stable port and splices each to
//! the current route; takes its routes on a Unix socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::watch;

use super::Route;

/// How long a client may wait on a switch before it is closed.
const HOLD_LIMIT: Duration = Duration::from_secs(60);
/// How long a retarget waits for the old route's clients to close.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// Bytes buffered in each direction of a splice.
const SPLICE_BUFFER: usize = 64 * 1024;
/// How long the canary of a direct route may take to connect; without it
/// the route serves the published port only.
const CANARY_CONNECT: Duration = Duration::from_secs(1);

/// The route and the clients spliced along each route there has been.
struct Routing {
    /// Bumped by every new route: a client belongs to the generation it was
    /// routed in, and ends when the generation moves on.
    generation: u64,
    /// The route as argon set it.
    route: Route,
    /// The route's direct address while its canary holds, with the canary's
    /// number; `None`: clients go to the published port.
    direct: Option<(SocketAddr, u64)>,
    /// Canaries started so far (each gets the next number).
    canaries: u64,
    /// The route's canary closed: its engine ended, and clients go to the
    /// published port until argon routes again.
    canary_lost: bool,
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

    /// The route new clients take now.
    fn effective(&self) -> Route {
        match self.route {
            Route::Serve { published, .. } => Route::Serve {
                published,
                direct: self.direct.map(|(addr, _)| addr),
            },
            other => other,
        }
    }
}

/// Where one client is spliced to: the engine's own address when the route
/// has one that its canary vouches for, else (or when that connection
/// fails) the port the engine's container publishes.
#[derive(Clone, Copy)]
struct Upstream {
    direct: Option<SocketAddr>,
    published: SocketAddr,
}

impl Upstream {
    async fn connect(self) -> std::io::Result<TcpStream> {
        let connect = |addr| tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr));
        if let Some(direct) = self.direct {
            if let Ok(Ok(stream)) = connect(direct).await {
                return Ok(stream);
            }
        }
        connect(self.published).await?
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
    async fn set(self: &Arc<Self>, route: Route) {
        // Connected before the route is taken: no client goes to the direct
        // address before its canary watches it.
        let canary = match route {
            Route::Serve {
                direct: Some(addr), ..
            } => Canary::connect(addr).await,
            _ => None,
        };
        let generation = {
            let mut r = self.lock();
            // The same published port is the same container (it keeps the
            // port for its life): argon, having checked that it runs, gives
            // its address again (its canary was lost, say). Clients on the
            // published port stay; new ones go to the address.
            let same_engine = match (r.route, route) {
                (Route::Serve { published: was, .. }, Route::Serve { published, .. }) => {
                    was == published
                }
                _ => false,
            };
            if same_engine && (r.route == route || canary.is_some()) {
                if let (None, Some(canary)) = (r.direct, canary) {
                    r.route = route;
                    canary.watch(self, &mut r);
                    r.canary_lost = false;
                }
                return;
            }
            r.generation += 1;
            r.route = route;
            r.direct = None;
            r.canary_lost = false;
            if let Some(canary) = canary {
                canary.watch(self, &mut r);
            }
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
    async fn admit(&self) -> Option<(Upstream, u64)> {
        let mut changed = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + HOLD_LIMIT;
        loop {
            {
                let mut r = self.lock();
                match r.route {
                    Route::Serve { published, .. } => {
                        let generation = r.generation;
                        *r.clients.entry(generation).or_default() += 1;
                        let direct = r.direct.map(|(addr, _)| addr);
                        return Some((Upstream { direct, published }, generation));
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
        if r.route.serves() && r.total() == 0 && due && !r.asked {
            r.asked = true;
            self.argon.run("__suspend-idle");
        }
    }

    fn status(&self) -> String {
        let r = self.lock();
        let clients = r.total();
        format!(
            "pid {} route {} clients {clients}{}",
            std::process::id(),
            r.effective().command(),
            if r.canary_lost { " canary lost" } else { "" }
        )
    }
}

/// A connection of the proxy's own to the engine at its address on its
/// network, on which nothing is ever sent. It closes when the engine's
/// process ends (a `docker stop`, a crash, Docker restarting), which comes
/// well before Docker can give that address to another container: the
/// proxy then stops using the address at once and sends clients to the
/// published port, which stays with the container, until argon routes
/// again. So a direct route never outlives its engine onto another one.
struct Canary {
    addr: SocketAddr,
    stream: TcpStream,
}

impl Canary {
    async fn connect(addr: SocketAddr) -> Option<Canary> {
        match tokio::time::timeout(CANARY_CONNECT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => Some(Canary { addr, stream }),
            _ => {
                eprintln!(
                    "argon proxy: cannot reach the engine at {addr}; serving its published port"
                );
                None
            }
        }
    }

    /// Makes the canary's address the route's direct one until the canary
    /// closes or the route changes.
    fn watch(self, shared: &Arc<Shared>, r: &mut Routing) {
        r.canaries += 1;
        let number = r.canaries;
        r.direct = Some((self.addr, number));
        let shared = shared.clone();
        let Canary { addr, mut stream } = self;
        tokio::spawn(async move {
            let mut changed = shared.changed.subscribe();
            let ours = |r: &Routing| r.direct.is_some_and(|(_, n)| n == number);
            let mut buf = [0u8; 512];
            loop {
                tokio::select! {
                    read = stream.read(&mut buf) => match read {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    },
                    moved = changed.changed() => {
                        if moved.is_err() || !ours(&shared.lock()) {
                            return;
                        }
                    }
                }
            }
            let mut r = shared.lock();
            if ours(&r) {
                r.direct = None;
                r.canary_lost = true;
                eprintln!(
                    "argon proxy: the engine at {addr} closed; serving its published port until argon routes again"
                );
            }
        });
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
            direct: None,
            canaries: 0,
            canary_lost: false,
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
    let Some((upstream, generation)) = shared.admit().await else {
        return;
    };
    let spliced = async {
        let mut upstream = upstream.connect().await?;
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
