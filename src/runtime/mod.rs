//! Where engines run: the `EngineHost` trait, at the level core thinks in
//! (an image, named data, an engine on some data published at an
//! `Endpoint`, a copy of data, a frozen copy of a running engine's data), and
//! its one implementation today, a Docker engine (`docker.rs`, local socket or
//! `DOCKER_HOST`). A second host (Kubernetes: docs/engine-hosts.md) is one
//! more file implementing the trait, plus its line in `connect`.

pub mod disk;
mod docker;
mod names;
mod ping;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::errors::Error as DockerError;

use crate::credentials::Login;

pub use crate::endpoint::Endpoint;
pub use disk::DISK_USAGE_COMMAND;
pub use docker::DockerHost;
pub use names::{ObjectNames, Role};

/// Where a helper container finds argon's own binary (`create_first_user`
/// runs it inside an engine's network namespace, `data_sizes` on volumes).
pub const LOGIN_BINARY: &str = "/argon-login";
pub const LOGIN_COMMAND: &str = "__engine-login";
pub const LOGIN_ENV_PORT: &str = "ARGON_LOGIN_PORT";
pub const LOGIN_ENV_USER: &str = "ARGON_LOGIN_USER";
pub const LOGIN_ENV_PASSWORD: &str = "ARGON_LOGIN_PASSWORD";

/// Label keys on everything argon creates.
pub const LABEL_PROJECT: &str = "dev.argon.project";
pub const LABEL_BRANCH: &str = "dev.argon.branch";
pub const LABEL_ROLE: &str = "dev.argon.role";

/// How long an engine may take to answer a ping after its container starts.
pub const READY_DEADLINE: Duration = Duration::from_secs(60);
/// How often `wait_ready` pings an engine that is starting.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(10);
/// How often `wait_ready` asks Docker whether a starting engine exited.
const EXIT_CHECK_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot reach the Docker engine: {message}")]
    Unreachable { message: String },
    #[error("image '{image}' is not available locally and could not be pulled: {message}")]
    ImageMissing { image: String, message: String },
    #[error("port {port} is already in use")]
    PortInUse { port: u16 },
    #[error("DOCKER_HOST={value} cannot be used: {message}")]
    BadDockerHost { value: String, message: String },
    #[error("the engine in container {container} exited before it was ready{}", logs_suffix(.logs))]
    Exited { container: String, logs: String },
    #[error("the engine in container {container} did not answer a ping within {secs} s{}", logs_suffix(.logs))]
    NotReady {
        container: String,
        secs: u64,
        logs: String,
    },
    #[error("could not create argon's login in the engine of {container}{}", logs_suffix(.logs))]
    Login { container: String, logs: String },
    #[error("could not measure the data on disk in helper {container}{}", logs_suffix(.logs))]
    DiskUsage { container: String, logs: String },
    #[error("Docker failed while {op} {object}")]
    Docker {
        op: &'static str,
        object: String,
        #[source]
        source: DockerError,
    },
    #[error("I/O failed while {op}")]
    Io {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
}

fn logs_suffix(logs: &str) -> String {
    if logs.trim().is_empty() {
        String::new()
    } else {
        format!("; its last log lines:\n{}", logs.trim_end())
    }
}

impl RuntimeError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RuntimeError::Unreachable { .. } => {
                Some("start Docker (e.g. 'sudo systemctl start docker') or set DOCKER_HOST".into())
            }
            RuntimeError::ImageMissing { image, .. } => Some(format!(
                "run 'docker pull {image}' or set [engine] image in argon.toml to an image you have"
            )),
            RuntimeError::BadDockerHost { .. } => Some(
                "unset DOCKER_HOST for the local engine, or set it to tcp://HOST:PORT (with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for TLS)".into(),
            ),
            RuntimeError::PortInUse { .. } => Some(
                "stop what listens there, or set [serve] port in argon.toml (or ARGON_PORT)".into(),
            ),
            RuntimeError::Exited { .. } | RuntimeError::NotReady { .. } => {
                Some("check [engine] image, command and data_dir in argon.toml".into())
            }
            RuntimeError::Login { .. } => Some(
                "the image must run a glibc binary (argon's own); or set [engine] auth = false in argon.toml".into(),
            ),
            RuntimeError::DiskUsage { .. } => Some(
                "the engine image must run a glibc binary (argon's own) to measure its volumes".into(),
            ),
            _ => None,
        }
    }
}

type Result<T> = std::result::Result<T, RuntimeError>;

/// What a host's operations return: a boxed future, so the trait is object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a running engine is reached (see `EngineHost::engine_address`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineAddress {
    /// The port Docker publishes for it: bound to this container for its
    /// whole life, whatever restarts it.
    pub published: std::net::SocketAddr,
    /// Its own address on its network, reachable from here. Faster (one
    /// userland hop fewer), but given out again when the container stops:
    /// another container started meanwhile may take it.
    pub network: Option<std::net::SocketAddr>,
    /// Which run of the container this is (when it last started), while it
    /// runs: two looks that see the same run saw a container that kept its
    /// network address all along.
    pub run: Option<String>,
}

/// What a branch's engine container looks like.
pub struct EngineSpec<'a> {
    pub container: &'a str,
    pub image: &'a str,
    pub command: &'a [String],
    pub volume: &'a str,
    pub data_dir: &'a str,
    pub engine_port: u16,
    /// Where the engine is published: the stable port, or a private one.
    pub endpoint: Endpoint,
    pub labels: HashMap<String, String>,
    /// HEAD's engine comes back after a Docker or machine restart, as a
    /// developer's database does; private engines never do.
    pub restart: bool,
    /// The project's own bridge network: containers of other projects and
    /// on Docker's default bridge cannot reach the engine.
    pub network: &'a str,
    /// The engine requires a login (`--auth`, which mongod and the official
    /// image's entrypoint both take).
    pub auth: bool,
    /// A background save's engine: it gets a smaller share of the CPU than
    /// the engines serving clients, so a save never slows the branch in use.
    pub background: bool,
}

impl EngineSpec<'_> {
    /// The container's command: the configured one, with `--auth` when the
    /// engine requires a login. With no command configured, `--auth` alone is
    /// the command; the official image's entrypoint runs `mongod --auth`.
    pub fn command(&self) -> Option<Vec<String>> {
        let mut command = self.command.to_vec();
        if self.auth && !command.iter().any(|a| a == "--auth") {
            command.push("--auth".into());
        }
        (!command.is_empty()).then_some(command)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Running,
    Paused,
    Stopped,
}

/// A container or volume argon made, by its name and labels.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub name: String,
    pub branch: String,
    /// `None` for a role label this argon does not know.
    pub role: Option<Role>,
    /// A container's state when listed (`None` for a volume).
    pub state: Option<ContainerState>,
}

impl Labelled {
    pub fn new(name: String, labels: HashMap<String, String>) -> Labelled {
        let get = |key: &str| labels.get(key).cloned().unwrap_or_default();
        Labelled {
            branch: get(LABEL_BRANCH),
            role: Role::parse(&get(LABEL_ROLE)),
            name,
            state: None,
        }
    }
}

/// Where the data a copy reads comes from.
pub enum CopySource<'a> {
    /// Data no engine runs on.
    Data(&'a str),
    /// The data of a running engine, frozen (paused) for the copy: a copy of
    /// one instant, as a crash would leave it.
    RunningEngine { engine: &'a str, data: &'a str },
}

/// A copy of all the files of some data into other (new, empty) data.
pub struct DataCopy<'a> {
    pub source: CopySource<'a>,
    pub to: &'a str,
    /// The engine's image (its `cp`, if it has one, copies fastest) and where
    /// its data lives inside a container.
    pub image: &'a str,
    pub data_dir: &'a str,
    /// The name (and labels) of the helper the copy may need.
    pub helper: &'a str,
    pub labels: HashMap<String, String>,
}

/// An engine that `kill_engine` killed, whose container is still to be
/// removed. It names that very container, not the engine's name, so its
/// removal never touches a new engine of the same name made meanwhile.
#[derive(Debug)]
#[must_use = "a killed engine's container stays until remove_killed"]
pub struct Killed {
    engine: String,
    container: String,
}

impl Killed {
    fn new(engine: &str, container: String) -> Killed {
        Killed {
            engine: engine.to_string(),
            container,
        }
    }

    /// The name of the engine that was killed.
    pub fn engine(&self) -> &str {
        &self.engine
    }
}

/// A place engines run on named data. Everything is named by core (engines,
/// data) and labelled with the project, so that recovery can find it again.
pub trait EngineHost: Send + Sync {
    /// Makes sure `image` is present, pulling it (reporting progress lines) when it is not.
    fn ensure_image<'a>(
        &'a self,
        image: &'a str,
        progress: &'a (dyn Fn(&str) + Send + Sync),
    ) -> BoxFuture<'a, Result<()>>;
    fn data_exists<'a>(&'a self, data: &'a str) -> BoxFuture<'a, Result<bool>>;
    fn create_data<'a>(
        &'a self,
        data: &'a str,
        labels: HashMap<String, String>,
    ) -> BoxFuture<'a, Result<()>>;
    /// Removes data; data that is already gone is fine.
    fn remove_data<'a>(&'a self, data: &'a str) -> BoxFuture<'a, Result<()>>;
    /// All data carrying `label=value`.
    fn list_data<'a>(
        &'a self,
        label: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Labelled>>>;
    /// Copies all the files of `copy.source` into `copy.to`.
    fn copy_data<'a>(&'a self, copy: &'a DataCopy<'a>) -> BoxFuture<'a, Result<()>>;
    /// Creates (without starting) the engine `spec` describes, replacing a
    /// leftover of the same name.
    fn create_engine<'a>(&'a self, spec: &'a EngineSpec<'a>) -> BoxFuture<'a, Result<()>>;
    /// Starts a created engine, published at `endpoint`.
    fn start_engine<'a>(
        &'a self,
        engine: &'a str,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<()>>;
    /// Stops (cleanly, within a timeout) and removes an engine or helper; a
    /// missing one is fine.
    fn remove_engine<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Kills (SIGKILL) an engine that served no client, when someone waits
    /// for it to be gone: a background save's capture engine making way for
    /// a switch. A clean stop of an engine still starting takes about a
    /// second; a kill leaves its files as a crash would, which every engine
    /// recovers from. Returns once its processes are gone, so its data is
    /// free; its container stays until `remove_killed`, which the one
    /// waiting need not wait for. `None`: there was no such engine, or it
    /// is removed already.
    fn kill_engine<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<Option<Killed>>>;
    /// Removes the container of a killed engine; one already gone is fine.
    fn remove_killed(&self, killed: Killed) -> BoxFuture<'_, Result<()>>;
    fn engine_state<'a>(&'a self, engine: &'a str)
        -> BoxFuture<'a, Result<Option<ContainerState>>>;
    /// Every engine or helper carrying `label=value` (stopped ones too unless `running_only`).
    fn list_engines<'a>(
        &'a self,
        label: &'a str,
        value: &'a str,
        running_only: bool,
    ) -> BoxFuture<'a, Result<Vec<Labelled>>>;
    /// Removes the network `name` when no container uses it any more (one
    /// in use, or already gone, is left as it is): Docker has room for only
    /// about 30 bridge networks, so a project with nothing running gives its
    /// network back (`create_engine` makes it again).
    fn release_network<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Where this machine reaches `engine`'s `engine_port`: the port it
    /// publishes on `published_on`, and its own address on its network
    /// when the engine host runs here and that address is reachable (no
    /// userland port proxy in between). `None` when there is no such
    /// engine or it publishes nothing.
    fn engine_address<'a>(
        &'a self,
        engine: &'a str,
        engine_port: u16,
        published_on: std::net::IpAddr,
    ) -> BoxFuture<'a, Result<Option<EngineAddress>>>;
    /// Bytes each of the volumes `data` takes on disk, measured by the
    /// helper container `helper` of `image` (see `disk`); a volume missing
    /// from the answer could not be measured. The helper mounts them
    /// read-only and lives about a second.
    fn data_sizes<'a>(
        &'a self,
        helper: &'a str,
        image: &'a str,
        data: &'a [String],
        labels: HashMap<String, String>,
    ) -> BoxFuture<'a, Result<HashMap<String, u64>>>;
    /// Freezes an engine: its clients wait, nothing it holds is lost.
    fn pause_engine<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<()>>;
    fn resume_engine<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<()>>;
    /// The memory `engine` holds now (page cache it could drop not
    /// counted, as `docker stats` shows it); `None` when the host cannot say.
    fn engine_memory<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<Option<u64>>>;

    /// Resumes `engine` when it is paused; any other state is left as it is.
    fn resume_if_paused<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if self.engine_state(engine).await? == Some(ContainerState::Paused) {
                self.resume_engine(engine).await?;
            }
            Ok(())
        })
    }
    /// The last lines the engine wrote, for error messages.
    fn engine_logs<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, String>;
    /// Gives the running `--auth` engine `engine` (no user yet) its first
    /// user, `login`, from a loopback connection inside its network
    /// (the localhost exception); `helper` names what runs there.
    fn create_first_user<'a>(
        &'a self,
        helper: &'a str,
        engine: &'a str,
        image: &'a str,
        engine_port: u16,
        labels: HashMap<String, String>,
        login: &'a Login,
    ) -> BoxFuture<'a, Result<()>>;

    /// Polls the engine with `ping` until it answers, it exits, or `deadline` passes.
    fn wait_ready<'a>(
        &'a self,
        engine: &'a str,
        endpoint: &'a Endpoint,
        deadline: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let start = Instant::now();
            // A refused ping costs little: poll often, and ask Docker now
            // and then whether the engine exited meanwhile.
            let mut checked = Instant::now();
            loop {
                if ping::ping(endpoint).await {
                    return Ok(());
                }
                if checked.elapsed() >= EXIT_CHECK_INTERVAL {
                    checked = Instant::now();
                    match self.engine_state(engine).await? {
                        Some(ContainerState::Running) => {}
                        _ => {
                            return Err(RuntimeError::Exited {
                                container: engine.to_string(),
                                logs: self.engine_logs(engine).await,
                            })
                        }
                    }
                }
                if start.elapsed() > deadline {
                    return Err(RuntimeError::NotReady {
                        container: engine.to_string(),
                        secs: deadline.as_secs(),
                        logs: self.engine_logs(engine).await,
                    });
                }
                tokio::time::sleep(READY_POLL_INTERVAL).await;
            }
        })
    }
}

/// Where the engine host argon uses publishes engines: 127.0.0.1 for the
/// local Docker engine, the remote machine's address for DOCKER_HOST=tcp://.
pub fn published_address() -> Result<std::net::IpAddr> {
    docker::published_address(std::env::var("DOCKER_HOST").ok().as_deref())
}

/// The engine host argon uses: the Docker engine DOCKER_HOST names, or the local socket.
pub async fn connect() -> Result<Arc<dyn EngineHost>> {
    Ok(Arc::new(DockerHost::connect().await?))
}
