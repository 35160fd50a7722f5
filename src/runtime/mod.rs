//! Docker, through bollard: images, one volume per branch, engine containers
//! bound to 127.0.0.1, readiness over the MongoDB wire protocol.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use crate::credentials::Login;

/// How `create_first_user` runs argon inside an engine's network namespace.
pub const LOGIN_BINARY: &str = "/argon-login";
pub const LOGIN_COMMAND: &str = "__engine-login";
pub const LOGIN_ENV_PORT: &str = "ARGON_LOGIN_PORT";
pub const LOGIN_ENV_USER: &str = "ARGON_LOGIN_USER";
pub const LOGIN_ENV_PASSWORD: &str = "ARGON_LOGIN_PASSWORD";

/// Label keys on everything argon creates.
pub const LABEL_PROJECT: &str = "dev.argon.project";
pub const LABEL_BRANCH: &str = "dev.argon.branch";
pub const LABEL_ROLE: &str = "dev.argon.role";

/// Seconds an engine gets to shut down cleanly before Docker kills it.
const STOP_TIMEOUT_SECS: i32 = 30;
/// How long an engine may take to answer a ping after its container starts.
pub const READY_DEADLINE: Duration = Duration::from_secs(60);
/// Log lines shown when an engine fails to start.
const LOG_TAIL_LINES: &str = "20";

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot reach the Docker engine: {message}")]
    Unreachable { message: String },
    #[error("image '{image}' is not available locally and could not be pulled: {message}")]
    ImageMissing { image: String, message: String },
    #[error("port {port} on 127.0.0.1 is already in use")]
    PortInUse { port: u16 },
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
            RuntimeError::PortInUse { .. } => Some(
                "stop what listens there, or set [serve] port in argon.toml (or ARGON_PORT)".into(),
            ),
            RuntimeError::Exited { .. } | RuntimeError::NotReady { .. } => {
                Some("check [engine] image, command and data_dir in argon.toml".into())
            }
            RuntimeError::Login { .. } => Some(
                "the image must run a glibc binary (argon's own); or set [engine] auth = false in argon.toml".into(),
            ),
            _ => None,
        }
    }
}

type Result<T> = std::result::Result<T, RuntimeError>;

fn docker(op: &'static str, object: &str) -> impl FnOnce(DockerError) -> RuntimeError {
    let object = object.to_string();
    move |source| match source {
        DockerError::HyperResponseError { .. } | DockerError::IOError { .. } => {
            RuntimeError::Unreachable {
                message: source.to_string(),
            }
        }
        _ => RuntimeError::Docker { op, object, source },
    }
}

fn is_not_found(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// What a branch's engine container looks like.
pub struct EngineSpec<'a> {
    pub container: &'a str,
    pub image: &'a str,
    pub command: &'a [String],
    pub volume: &'a str,
    pub data_dir: &'a str,
    pub engine_port: u16,
    pub host_port: u16,
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
}

impl EngineSpec<'_> {
    /// The container's command: the configured one, with `--auth` when the
    /// engine requires a login. With no command configured, `--auth` alone is
    /// the command; the official image's entrypoint runs `mongod --auth`.
    fn command(&self) -> Option<Vec<String>> {
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
    pub role: String,
}

impl Labelled {
    fn new(name: String, labels: HashMap<String, String>) -> Labelled {
        let get = |key: &str| labels.get(key).cloned().unwrap_or_default();
        Labelled {
            branch: get(LABEL_BRANCH),
            role: get(LABEL_ROLE),
            name,
        }
    }
}

fn label_filter(label: &str, value: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{label}={value}")])])
}

/// Is anything listening on (or holding) this port on 127.0.0.1?
pub fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A free port on 127.0.0.1 chosen by the kernel, for private containers.
pub fn free_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| RuntimeError::Io {
            op: "finding a free port",
            source,
        })
}

pub struct Runtime {
    docker: bollard::Docker,
}

impl Runtime {
    /// Connects to the engine named by DOCKER_HOST or the local socket, and checks it answers.
    pub async fn connect() -> Result<Runtime> {
        let unreachable = |e: DockerError| RuntimeError::Unreachable {
            message: e.to_string(),
        };
        let client = bollard::Docker::connect_with_defaults().map_err(unreachable)?;
        let client = client.with_timeout(Duration::from_secs(600));
        let client = client.negotiate_version().await.map_err(unreachable)?;
        client.ping().await.map_err(unreachable)?;
        Ok(Runtime { docker: client })
    }

    /// Makes sure `image` is present, pulling it (reporting progress lines) when it is not.
    pub async fn ensure_image(&self, image: &str, mut progress: impl FnMut(&str)) -> Result<()> {
        match self.docker.inspect_image(image).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(docker("inspecting image", image)(e)),
        }
        let (name, tag) = split_image(image);
        let options = CreateImageOptionsBuilder::default()
            .from_image(name)
            .tag(tag)
            .build();
        let mut pull = self.docker.create_image(Some(options), None, None);
        while let Some(item) = pull.next().await {
            match item {
                Ok(info) => {
                    if let Some(status) = info.status {
                        progress(&status);
                    }
                }
                Err(e) => {
                    return Err(RuntimeError::ImageMissing {
                        image: image.to_string(),
                        message: first_line(&e.to_string()),
                    })
                }
            }
        }
        Ok(())
    }

    pub async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(docker("inspecting volume", name)(e)),
        }
    }

    pub async fn create_volume(&self, name: &str, labels: HashMap<String, String>) -> Result<()> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(docker("creating volume", name))
    }

    /// Removes a volume; one that is already gone is fine.
    pub async fn remove_volume(&self, name: &str) -> Result<()> {
        match self
            .docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(docker("removing volume", name)(e)),
        }
    }

    /// Creates the container described by `spec` (replacing a leftover one of the
    /// same name), without starting it.
    /// Makes sure the bridge network `name` exists.
    async fn ensure_network(&self, name: &str, labels: HashMap<String, String>) -> Result<()> {
        match self.docker.inspect_network(name, None).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(docker("inspecting network", name)(e)),
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            // Created meanwhile by another argon: fine.
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(docker("creating network", name)(e)),
        }
    }

    pub async fn create_engine(&self, spec: &EngineSpec<'_>) -> Result<()> {
        // The network carries the engine's project label, as everything argon makes.
        let network_labels = spec
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() == LABEL_PROJECT)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.ensure_network(spec.network, network_labels).await?;
        let engine_port = format!("{}/tcp", spec.engine_port);
        let mut bindings = HashMap::new();
        bindings.insert(
            engine_port.clone(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".to_string()),
                host_port: Some(spec.host_port.to_string()),
            }]),
        );
        let body = ContainerCreateBody {
            image: Some(spec.image.to_string()),
            cmd: spec.command(),
            labels: Some(spec.labels.clone()),
            exposed_ports: Some(vec![engine_port]),
            host_config: Some(HostConfig {
                binds: Some(vec![format!("{}:{}", spec.volume, spec.data_dir)]),
                port_bindings: Some(bindings),
                // An engine that ignores SIGTERM as PID 1 would make every stop wait out the timeout.
                init: Some(true),
                network_mode: Some(spec.network.to_string()),
                restart_policy: spec.restart.then_some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.replace_container(spec.container, body).await
    }

    /// Creates container `name` from `body`, first removing a leftover one of
    /// that name (from a killed run).
    async fn replace_container(&self, name: &str, body: ContainerCreateBody) -> Result<()> {
        self.remove_container(name).await?;
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map(|_| ())
            .map_err(docker("creating container", name))
    }

    /// Creates a container that is never started: a handle on `volume` for
    /// copying files in or out through the archive API.
    pub async fn create_idle(
        &self,
        name: &str,
        image: &str,
        volume: &str,
        data_dir: &str,
        labels: HashMap<String, String>,
    ) -> Result<()> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            labels: Some(labels),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                binds: Some(vec![format!("{volume}:{data_dir}")]),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.replace_container(name, body).await
    }

    /// Copies every file of volume `from` into volume `to` with `cp` inside a
    /// throwaway container of `image` (a reflink where the file system can).
    /// Returns false, having changed nothing, when the image has no usable
    /// `cp`; the caller then copies through the archive API.
    pub async fn copy_volume_files(
        &self,
        name: &str,
        image: &str,
        from: &str,
        to: &str,
        labels: HashMap<String, String>,
    ) -> Result<bool> {
        // GNU cp first (reflinks), then any cp (busybox has no --reflink).
        let attempts: [&[&str]; 2] = [
            &["cp", "-a", "--reflink=auto", "/argon-src/.", "/argon-dst/"],
            &["cp", "-a", "/argon-src/.", "/argon-dst/"],
        ];
        for command in attempts {
            let body = ContainerCreateBody {
                image: Some(image.to_string()),
                labels: Some(labels.clone()),
                network_disabled: Some(true),
                user: Some("0:0".into()),
                entrypoint: Some(command.iter().map(|s| s.to_string()).collect()),
                cmd: Some(Vec::new()),
                host_config: Some(HostConfig {
                    binds: Some(vec![
                        format!("{from}:/argon-src:ro"),
                        format!("{to}:/argon-dst"),
                    ]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            self.replace_container(name, body).await?;
            let Some(code) = self.run_to_end(name).await? else {
                // No `cp` in the image at all.
                self.remove_container(name).await?;
                return Ok(false);
            };
            self.remove_container(name).await?;
            if code == 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Starts the created container `name` and waits for it to exit: its
    /// exit code, or None when it could not start at all.
    async fn run_to_end(&self, name: &str) -> Result<Option<i64>> {
        if self.docker.start_container(name, None).await.is_err() {
            return Ok(None);
        }
        let mut wait = self.docker.wait_container(name, None);
        let code = match wait.next().await {
            Some(Ok(r)) => r.status_code,
            Some(Err(DockerError::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => {
                let _ = self.remove_container(name).await;
                return Err(docker("waiting for", name)(e));
            }
            None => -1,
        };
        Ok(Some(code))
    }

    /// Gives the engine in `engine` (running, `--auth`, no user yet) its first
    /// user, `login`. The engine takes a first user only from a loopback
    /// connection (mongod's localhost exception), and the published port is
    /// not one: so argon's own binary runs as container `name` inside the
    /// engine's network namespace and connects to 127.0.0.1 there. The
    /// password reaches it in its environment, for the second it lives.
    pub async fn create_first_user(
        &self,
        name: &str,
        engine: &str,
        image: &str,
        engine_port: u16,
        labels: HashMap<String, String>,
        login: &Login,
    ) -> Result<()> {
        let exe = std::env::current_exe().map_err(|source| RuntimeError::Io {
            op: "finding argon's own binary",
            source,
        })?;
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            labels: Some(labels),
            user: Some("0:0".into()),
            entrypoint: Some(vec![LOGIN_BINARY.into(), LOGIN_COMMAND.into()]),
            cmd: Some(Vec::new()),
            env: Some(vec![
                format!("{LOGIN_ENV_PORT}={engine_port}"),
                format!("{LOGIN_ENV_USER}={}", login.user),
                format!("{LOGIN_ENV_PASSWORD}={}", login.password()),
            ]),
            host_config: Some(HostConfig {
                binds: Some(vec![format!("{}:{LOGIN_BINARY}:ro", exe.display())]),
                network_mode: Some(format!("container:{engine}")),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.replace_container(name, body).await?;
        let code = self.run_to_end(name).await;
        let logs = match &code {
            Ok(Some(0)) => String::new(),
            _ => self.logs_tail(name).await,
        };
        self.remove_container(name).await?;
        match code? {
            Some(0) => Ok(()),
            _ => Err(RuntimeError::Login {
                container: engine.to_string(),
                logs,
            }),
        }
    }

    pub async fn start(&self, container: &str, host_port: u16) -> Result<()> {
        match self.docker.start_container(container, None).await {
            Ok(()) => Ok(()),
            Err(DockerError::DockerResponseServerError { message, .. })
                if message.contains("address already in use")
                    || message.contains("port is already allocated") =>
            {
                let _ = self.remove_container(container).await;
                Err(RuntimeError::PortInUse { port: host_port })
            }
            Err(e) => Err(docker("starting container", container)(e)),
        }
    }

    /// Stops (cleanly, within a timeout) and removes a container; a missing one is fine.
    pub async fn remove_container(&self, name: &str) -> Result<()> {
        let stop = StopContainerOptionsBuilder::default()
            .t(STOP_TIMEOUT_SECS)
            .build();
        match self.docker.stop_container(name, Some(stop)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            // 304: already stopped.
            Err(DockerError::DockerResponseServerError {
                status_code: 304, ..
            }) => {}
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) => {
                // Paused containers cannot be stopped: unpause first.
                let _ = self.docker.unpause_container(name).await;
                let stop = StopContainerOptionsBuilder::default()
                    .t(STOP_TIMEOUT_SECS)
                    .build();
                let _ = self.docker.stop_container(name, Some(stop)).await;
            }
            Err(e) => return Err(docker("stopping container", name)(e)),
        }
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(docker("removing container", name)(e)),
        }
    }

    pub async fn state(&self, name: &str) -> Result<Option<ContainerState>> {
        match self.docker.inspect_container(name, None).await {
            Ok(info) => {
                let state = info.state.unwrap_or_default();
                Ok(Some(if state.paused.unwrap_or(false) {
                    ContainerState::Paused
                } else if state.running.unwrap_or(false) {
                    ContainerState::Running
                } else {
                    ContainerState::Stopped
                }))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(docker("inspecting container", name)(e)),
        }
    }

    /// Every container carrying `label=value` (stopped ones too unless
    /// `running_only`), with its branch and role labels.
    pub async fn containers_labelled(
        &self,
        label: &str,
        value: &str,
        running_only: bool,
    ) -> Result<Vec<Labelled>> {
        let options = ListContainersOptionsBuilder::default()
            .all(!running_only)
            .filters(&label_filter(label, value))
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(docker("listing containers of", value))?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let name = c.names?.first()?.trim_start_matches('/').to_string();
                Some(Labelled::new(name, c.labels.unwrap_or_default()))
            })
            .collect())
    }

    /// Every volume carrying `label=value`, with its branch and role labels.
    pub async fn volumes_labelled(&self, label: &str, value: &str) -> Result<Vec<Labelled>> {
        let options = ListVolumesOptionsBuilder::default()
            .filters(&label_filter(label, value))
            .build();
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(docker("listing volumes of", value))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| Labelled::new(v.name, v.labels))
            .collect())
    }

    pub async fn pause(&self, name: &str) -> Result<()> {
        self.docker
            .pause_container(name)
            .await
            .map_err(docker("pausing container", name))
    }

    pub async fn unpause(&self, name: &str) -> Result<()> {
        self.docker
            .unpause_container(name)
            .await
            .map_err(docker("unpausing container", name))
    }

    /// Writes a tar of `path` inside `container` to the local file `dest`.
    pub async fn download(&self, container: &str, path: &str, dest: &Path) -> Result<u64> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self
            .docker
            .download_from_container(container, Some(options));
        let io = |source| RuntimeError::Io {
            op: "saving a copy of the engine's data",
            source,
        };
        let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
        let mut total = 0u64;
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(docker("copying data out of", container))?
        {
            total += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(total)
    }

    /// Copies `from_path` of container `from` into `to_path` of container `to`
    /// (either may be stopped), streaming the archive from one to the other
    /// without a temporary file.
    pub async fn copy_between(
        &self,
        from: &str,
        from_path: &str,
        to: &str,
        to_path: &str,
    ) -> Result<()> {
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(from_path)
            .build();
        let archive = self
            .docker
            .download_from_container(from, Some(options))
            .map_err(std::io::Error::other);
        let options = UploadToContainerOptionsBuilder::default()
            .path(to_path)
            .build();
        self.docker
            .upload_to_container(to, Some(options), bollard::body_try_stream(archive))
            .await
            .map_err(docker("copying data into", to))
    }

    /// Unpacks the tar file `src` into `path` inside `container` (which may be stopped).
    pub async fn upload(&self, container: &str, path: &str, src: &Path) -> Result<()> {
        let file = tokio::fs::File::open(src)
            .await
            .map_err(|source| RuntimeError::Io {
                op: "reading a copy of the engine's data",
                source,
            })?;
        let stream = futures_util::stream::try_unfold(file, |mut f| async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 1 << 20];
            let n = f.read(&mut buf).await?;
            if n == 0 {
                Ok(None)
            } else {
                buf.truncate(n);
                Ok(Some((bytes::Bytes::from(buf), f)))
            }
        });
        let options = UploadToContainerOptionsBuilder::default()
            .path(path)
            .build();
        self.docker
            .upload_to_container(container, Some(options), bollard::body_try_stream(stream))
            .await
            .map_err(docker("copying data into", container))
    }

    /// The last lines the container wrote, for error messages.
    pub async fn logs_tail(&self, container: &str) -> String {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(LOG_TAIL_LINES)
            .build();
        let mut out = String::new();
        let mut logs = self.docker.logs(container, Some(options));
        while let Some(Ok(line)) = logs.next().await {
            out.push_str(&line.to_string());
        }
        out
    }

    /// Polls the engine with `ping` until it answers, it exits, or the deadline passes.
    pub async fn wait_ready(&self, container: &str, port: u16, deadline: Duration) -> Result<()> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            if ping(port).await {
                return Ok(());
            }
            match self.state(container).await? {
                Some(ContainerState::Running) => {}
                _ => {
                    return Err(RuntimeError::Exited {
                        container: container.to_string(),
                        logs: self.logs_tail(container).await,
                    })
                }
            }
            if start.elapsed() > deadline {
                return Err(RuntimeError::NotReady {
                    container: container.to_string(),
                    secs: deadline.as_secs(),
                    logs: self.logs_tail(container).await,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }
}

/// One wire-protocol `ping`, with a short timeout.
async fn ping(port: u16) -> bool {
    let uri = format!(
        "mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    );
    let Ok(client) = mongodb::Client::with_uri_str(&uri).await else {
        return false;
    };
    let ok = client
        .database("admin")
        .run_command(mongodb::bson::doc! { "ping": 1 })
        .await
        .is_ok();
    // Bounded: the driver's shutdown can wait on a background task forever.
    let _ = tokio::time::timeout(Duration::from_secs(5), client.shutdown().immediate(true)).await;
    ok
}

fn split_image(image: &str) -> (&str, &str) {
    // A ':' after the last '/' separates the tag; one before it belongs to a registry port.
    let slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[slash..].rfind(':') {
        Some(i) if !image.contains('@') => (&image[..slash + i], &image[slash + i + 1..]),
        _ => (image, if image.contains('@') { "" } else { "latest" }),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        assert_eq!(split_image("mongo:7.0"), ("mongo", "7.0"));
        assert_eq!(split_image("mongo"), ("mongo", "latest"));
        assert_eq!(
            split_image("reg:5000/team/mongo"),
            ("reg:5000/team/mongo", "latest")
        );
        assert_eq!(split_image("reg:5000/mongo:8"), ("reg:5000/mongo", "8"));
    }
}
