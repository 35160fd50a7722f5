//! The Docker engine host, through bollard: data is a named volume, an
//! engine a container on the project's own network, published on 127.0.0.1.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, EventsOptionsBuilder,
    KillContainerOptionsBuilder, ListContainersOptionsBuilder, ListVolumesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{
    BoxFuture, ContainerState, DataCopy, Endpoint, EngineAddress, EngineHost, EngineSpec, Killed,
    Labelled, Result, RuntimeError, LABEL_PROJECT,
};
use crate::credentials::Login;

mod address;
mod copy;
mod tar;

pub use address::published_address;

/// Seconds an engine gets to shut down cleanly before Docker kills it.
const STOP_TIMEOUT_SECS: i32 = 30;
/// Log lines shown when an engine fails to start.
const LOG_TAIL_LINES: &str = "20";

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

fn label_filter(label: &str, value: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{label}={value}")])])
}

pub struct DockerHost {
    docker: bollard::Docker,
    /// The engine shares this machine's files (a unix socket), so
    /// containers can bind-mount them.
    local: bool,
    /// Whether containers' own addresses are reachable from here
    /// (`reaches_networks`): 0 not yet known, 1 yes, 2 no.
    direct: AtomicU8,
}

/// A Docker engine on another host, over TLS as the docker CLI does it: when
/// DOCKER_TLS_VERIFY is set to anything but empty (or the URL is https://),
/// with the client certificate, key and CA in DOCKER_CERT_PATH (else ~/.docker).
fn connect_remote(host: &str) -> std::result::Result<bollard::Docker, DockerError> {
    let tls = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0")
        || host.starts_with("https://");
    if !tls {
        return bollard::Docker::connect_with_http(host, 120, bollard::API_DEFAULT_VERSION);
    }
    // bollard's TLS signs with the process's crypto provider; installing it
    // twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs = match std::env::var_os("DOCKER_CERT_PATH").filter(|p| !p.is_empty()) {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".docker")
        }
    };
    bollard::Docker::connect_with_ssl(
        host,
        &certs.join("key.pem"),
        &certs.join("cert.pem"),
        &certs.join("ca.pem"),
        120,
        bollard::API_DEFAULT_VERSION,
    )
}

impl DockerHost {
    /// Connects to the engine named by DOCKER_HOST or the local socket, and checks it answers.
    pub async fn connect() -> Result<DockerHost> {
        let unreachable = |e: DockerError| RuntimeError::Unreachable {
            message: e.to_string(),
        };
        let host = std::env::var("DOCKER_HOST").unwrap_or_default();
        let local = host.is_empty() || host.starts_with("unix://") || host.starts_with("npipe://");
        let client = if local {
            bollard::Docker::connect_with_defaults().map_err(unreachable)?
        } else {
            // Which address engines publish on: a DOCKER_HOST argon cannot use fails here.
            published_address(Some(&host))?;
            connect_remote(&host).map_err(unreachable)?
        };
        let client = client.with_timeout(Duration::from_secs(600));
        let client = client.negotiate_version().await.map_err(unreachable)?;
        client.ping().await.map_err(unreachable)?;
        Ok(DockerHost {
            docker: client,
            local,
            direct: AtomicU8::new(0),
        })
    }

    /// Makes sure `image` is present, pulling it (reporting progress lines) when it is not.
    async fn ensure_image(
        &self,
        image: &str,
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<()> {
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

    async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(docker("inspecting volume", name)(e)),
        }
    }

    async fn create_volume(&self, name: &str, labels: HashMap<String, String>) -> Result<()> {
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
    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut attempt = 0;
        loop {
            let removed = self
                .docker
                .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
                .await;
            match removed {
                Ok(()) => return Ok(()),
                Err(e) if is_not_found(&e) => return Ok(()),
                // In use: by a helper measuring it (`data_sizes`), which is
                // gone within seconds; argon removes a volume's engine first.
                Err(DockerError::DockerResponseServerError {
                    status_code: 409, ..
                }) if attempt < 30 => {
                    if attempt == 0 {
                        self.remove_stopped_users(name).await?;
                    }
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(docker("removing volume", name)(e)),
            }
        }
    }

    /// Removes the stopped containers that still name volume `name`: an
    /// engine killed to make way for a switch whose argon died before it
    /// removed the container (`EngineHost::kill_engine`). With the volume
    /// going, they hold nothing.
    async fn remove_stopped_users(&self, name: &str) -> Result<()> {
        let filters = HashMap::from([
            ("volume".to_string(), vec![name.to_string()]),
            (
                "status".to_string(),
                vec!["created".into(), "exited".into(), "dead".into()],
            ),
        ]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let stopped = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(docker("listing the containers of volume", name))?;
        for id in stopped.into_iter().filter_map(|c| c.id) {
            self.force_remove(&id).await?;
        }
        Ok(())
    }

    /// Removes the bridge network `name`, unless a container still uses it.
    async fn release_network(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // Still in use by a container: it stays.
            Err(DockerError::DockerResponseServerError {
                status_code: 403 | 409,
                ..
            }) => Ok(()),
            Err(e) => Err(docker("removing network", name)(e)),
        }
    }

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

    async fn create_engine(&self, spec: &EngineSpec<'_>) -> Result<()> {
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
                host_ip: Some(spec.endpoint.host.clone()),
                host_port: Some(spec.endpoint.port.to_string()),
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
                // A quarter of the default weight (1024) when the CPU is contended.
                cpu_shares: spec.background.then_some(256),
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

    async fn start(&self, container: &str, endpoint: &Endpoint) -> Result<()> {
        match self.docker.start_container(container, None).await {
            Ok(()) => Ok(()),
            Err(DockerError::DockerResponseServerError { message, .. })
                if message.contains("address already in use")
                    || message.contains("port is already allocated") =>
            {
                let _ = self.remove_container(container).await;
                Err(RuntimeError::PortInUse {
                    port: endpoint.port,
                })
            }
            Err(e) => Err(docker("starting container", container)(e)),
        }
    }

    /// Stops (cleanly, within a timeout) and removes a container; a missing one is fine.
    async fn remove_container(&self, name: &str) -> Result<()> {
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
        self.force_remove(name).await
    }

    /// Removes a container, killing it (SIGKILL) if it still runs; a
    /// missing one is fine.
    async fn force_remove(&self, name: &str) -> Result<()> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(docker("removing container", name)(e)),
        }
    }

    /// Kills a container's processes (SIGKILL), leaving the container (see
    /// `EngineHost::kill_engine`).
    async fn kill(&self, name: &str) -> Result<Option<Killed>> {
        let info = match self.docker.inspect_container(name, None).await {
            Ok(info) => info,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(docker("inspecting container", name)(e)),
        };
        let state = info.state.unwrap_or_default();
        let (Some(id), false) = (info.id, state.paused.unwrap_or(false)) else {
            // Paused (no engine of a save is): the forced remove takes it
            // down whatever its state.
            self.force_remove(name).await?;
            return Ok(None);
        };
        if !state.running.unwrap_or(false) {
            return Ok(Some(Killed::new(name, id)));
        }
        // Docker answers a SIGKILL only once it has cleaned up after the
        // container (its mounts, its network: a tenth of a second here), but
        // its processes are gone at its "die" event, which is all the one
        // waiting needs. So the kill goes on its own, and the first of that
        // event (from its start on, so it cannot be missed) and the kill's
        // answer ends the wait.
        let since = state
            .started_at
            .as_deref()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map_or(0, |at| at.timestamp());
        let filters = HashMap::from([
            ("container", vec![id.as_str()]),
            ("type", vec!["container"]),
            ("event", vec!["die"]),
        ]);
        let events = EventsOptionsBuilder::default()
            .since(&since.to_string())
            .filters(&filters)
            .build();
        let mut died = self.docker.events(Some(events));
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        let host = self.docker.clone();
        let target = id.clone();
        let mut answer =
            tokio::spawn(async move { host.kill_container(&target, Some(options)).await });
        let answer = tokio::select! {
            Some(Ok(_)) = died.next() => return Ok(Some(Killed::new(name, id))),
            answer = &mut answer => answer,
        };
        match answer {
            Ok(Ok(())) => Ok(Some(Killed::new(name, id))),
            Ok(Err(e)) if is_not_found(&e) => Ok(None),
            // 409: it stopped meanwhile.
            Ok(Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            })) => Ok(Some(Killed::new(name, id))),
            Ok(Err(e)) => Err(docker("killing container", name)(e)),
            Err(e) => Err(RuntimeError::Io {
                op: "killing a container",
                source: std::io::Error::other(e),
            }),
        }
    }

    async fn state(&self, name: &str) -> Result<Option<ContainerState>> {
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

    async fn engine_address(
        &self,
        name: &str,
        engine_port: u16,
        published_on: IpAddr,
    ) -> Result<Option<EngineAddress>> {
        let info = match self.docker.inspect_container(name, None).await {
            Ok(info) => info,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(docker("inspecting container", name)(e)),
        };
        let key = format!("{engine_port}/tcp");
        let published = info
            .host_config
            .and_then(|h| h.port_bindings)
            .and_then(|mut b| b.remove(&key))
            .flatten()
            .and_then(|bindings| bindings.into_iter().next())
            .and_then(|b| b.host_port)
            .and_then(|p| p.parse::<u16>().ok());
        let Some(published) = published else {
            return Ok(None);
        };
        let run = info
            .state
            .filter(|s| s.running == Some(true))
            .and_then(|s| s.started_at);
        // Only for a published engine: one that publishes nothing is not
        // meant to be reached from here.
        let network = info
            .network_settings
            .and_then(|n| n.networks)
            .into_iter()
            .flat_map(|n| n.into_values())
            .filter_map(|n| n.ip_address)
            .find_map(|ip| ip.parse::<IpAddr>().ok());
        let mut direct = None;
        if let Some(ip) = network.filter(|_| self.local) {
            let addr = SocketAddr::new(ip, engine_port);
            if self.reaches_networks(addr).await {
                direct = Some(addr);
            }
        }
        Ok(Some(EngineAddress {
            published: SocketAddr::new(published_on, published),
            network: direct,
            run,
        }))
    }

    /// Whether this machine reaches containers at their own addresses (the
    /// Linux bridge does; Docker Desktop's VM and rootless Docker's
    /// namespace do not): tried once per process, on `addr`. A refused
    /// connection counts as reached (the engine is not listening yet).
    async fn reaches_networks(&self, addr: SocketAddr) -> bool {
        const UNKNOWN: u8 = 0;
        const YES: u8 = 1;
        const NO: u8 = 2;
        if !cfg!(target_os = "linux") {
            return false;
        }
        match self.direct.load(Ordering::Relaxed) {
            YES => return true,
            NO => return false,
            _ => {}
        }
        let attempt = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await;
        let reached = match attempt {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionRefused,
            Err(_) => false,
        };
        let _ = self.direct.compare_exchange(
            UNKNOWN,
            if reached { YES } else { NO },
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        reached
    }

    /// Every container carrying `label=value` (stopped ones too unless
    /// `running_only`), with its branch and role labels.
    async fn containers_labelled(
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
                use bollard::models::ContainerSummaryStateEnum as Docker;
                let name = c.names?.first()?.trim_start_matches('/').to_string();
                let mut labelled = Labelled::new(name, c.labels.unwrap_or_default());
                labelled.state = Some(match c.state {
                    Some(Docker::RUNNING | Docker::RESTARTING) => ContainerState::Running,
                    Some(Docker::PAUSED) => ContainerState::Paused,
                    _ => ContainerState::Stopped,
                });
                Some(labelled)
            })
            .collect())
    }

    /// Every volume carrying `label=value`, with its branch and role labels.
    async fn volumes_labelled(&self, label: &str, value: &str) -> Result<Vec<Labelled>> {
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

    async fn pause(&self, name: &str) -> Result<()> {
        self.docker
            .pause_container(name)
            .await
            .map_err(docker("pausing container", name))
    }

    /// As `docker stats` computes it: usage less the inactive page cache.
    async fn memory_in_use(&self, name: &str) -> Result<Option<u64>> {
        use futures_util::StreamExt;
        let options = bollard::query_parameters::StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(true)
            .build();
        let mut stats = self.docker.stats(name, Some(options));
        let Some(first) = stats.next().await else {
            return Ok(None);
        };
        let memory = first
            .map_err(docker("reading the memory of container", name))?
            .memory_stats;
        Ok(memory.and_then(|m| {
            let usage = m.usage?;
            let inactive = m.stats.as_ref().and_then(|s| {
                s.get("inactive_file")
                    .or_else(|| s.get("total_inactive_file"))
                    .copied()
            });
            Some(usage.saturating_sub(inactive.unwrap_or(0)))
        }))
    }

    async fn unpause(&self, name: &str) -> Result<()> {
        self.docker
            .unpause_container(name)
            .await
            .map_err(docker("unpausing container", name))
    }

    /// The last lines the container wrote, for error messages.
    async fn logs_tail(&self, container: &str) -> String {
        self.logs_of(container, Some(LOG_TAIL_LINES)).await
    }

    /// What the container wrote on stdout and stderr: the last `tail`
    /// lines, or all of it.
    pub(super) async fn logs_of(&self, container: &str, tail: Option<&str>) -> String {
        let mut options = LogsOptionsBuilder::default().stdout(true).stderr(true);
        if let Some(tail) = tail {
            options = options.tail(tail);
        }
        let options = options.build();
        let mut out = String::new();
        let mut logs = self.docker.logs(container, Some(options));
        while let Some(Ok(line)) = logs.next().await {
            out.push_str(&line.to_string());
        }
        out
    }
}

impl EngineHost for DockerHost {
    fn ensure_image<'a>(
        &'a self,
        image: &'a str,
        progress: &'a (dyn Fn(&str) + Send + Sync),
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DockerHost::ensure_image(self, image, progress))
    }
    fn data_exists<'a>(&'a self, data: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.volume_exists(data))
    }
    fn create_data<'a>(
        &'a self,
        data: &'a str,
        labels: HashMap<String, String>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.create_volume(data, labels))
    }
    fn remove_data<'a>(&'a self, data: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.remove_volume(data))
    }
    fn list_data<'a>(
        &'a self,
        label: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Labelled>>> {
        Box::pin(self.volumes_labelled(label, value))
    }
    fn copy_data<'a>(&'a self, copy: &'a DataCopy<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(DockerHost::copy_data(self, copy))
    }
    fn create_engine<'a>(&'a self, spec: &'a EngineSpec<'a>) -> BoxFuture<'a, Result<()>> {
        Box::pin(DockerHost::create_engine(self, spec))
    }
    fn start_engine<'a>(
        &'a self,
        engine: &'a str,
        endpoint: &'a Endpoint,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.start(engine, endpoint))
    }
    fn remove_engine<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.remove_container(engine))
    }
    fn kill_engine<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<Option<Killed>>> {
        Box::pin(self.kill(engine))
    }
    fn remove_killed(&self, killed: Killed) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { self.force_remove(&killed.container).await })
    }
    fn engine_state<'a>(
        &'a self,
        engine: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContainerState>>> {
        Box::pin(self.state(engine))
    }
    fn list_engines<'a>(
        &'a self,
        label: &'a str,
        value: &'a str,
        running_only: bool,
    ) -> BoxFuture<'a, Result<Vec<Labelled>>> {
        Box::pin(self.containers_labelled(label, value, running_only))
    }
    fn release_network<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(DockerHost::release_network(self, name))
    }
    fn engine_address<'a>(
        &'a self,
        engine: &'a str,
        engine_port: u16,
        published_on: IpAddr,
    ) -> BoxFuture<'a, Result<Option<EngineAddress>>> {
        Box::pin(DockerHost::engine_address(
            self,
            engine,
            engine_port,
            published_on,
        ))
    }
    fn data_sizes<'a>(
        &'a self,
        helper: &'a str,
        image: &'a str,
        data: &'a [String],
        labels: HashMap<String, String>,
    ) -> BoxFuture<'a, Result<HashMap<String, u64>>> {
        Box::pin(DockerHost::data_sizes(self, helper, image, data, labels))
    }
    fn pause_engine<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.pause(engine))
    }
    fn resume_engine<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.unpause(engine))
    }
    fn engine_memory<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, Result<Option<u64>>> {
        Box::pin(self.memory_in_use(engine))
    }
    fn engine_logs<'a>(&'a self, engine: &'a str) -> BoxFuture<'a, String> {
        Box::pin(self.logs_tail(engine))
    }
    fn create_first_user<'a>(
        &'a self,
        helper: &'a str,
        engine: &'a str,
        image: &'a str,
        engine_port: u16,
        labels: HashMap<String, String>,
        login: &'a Login,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(DockerHost::create_first_user(
            self,
            helper,
            engine,
            image,
            engine_port,
            labels,
            login,
        ))
    }
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
