//! The Docker host's copies and helpers: containers that run once (a `cp`
//! between volumes, argon's own binary creating an engine's first user) and
//! tar streams between containers through the archive API.

use std::collections::HashMap;
use std::path::Path;

use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::{StreamExt, TryStreamExt};

use super::{docker, DockerHost};
use crate::credentials::Login;
use crate::runtime::{
    disk, CopySource, DataCopy, Result, RuntimeError, LOGIN_BINARY, LOGIN_COMMAND,
    LOGIN_ENV_PASSWORD, LOGIN_ENV_PORT, LOGIN_ENV_USER,
};

impl DockerHost {
    /// Creates a container that is never started: a handle on `volume` for
    /// copying files in or out through the archive API.
    pub(super) async fn create_idle(
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
    pub(super) async fn copy_volume_files(
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
            let code = self.run_to_end(name).await?;
            self.remove_container(name).await?;
            match code {
                Some(0) => return Ok(true),
                // No `cp` in the image at all.
                None => return Ok(false),
                Some(_) => {}
            }
        }
        Ok(false)
    }

    /// Starts the created container `name` and waits for it to exit: its
    /// exit code, or None when it could not start at all.
    pub(super) async fn run_to_end(&self, name: &str) -> Result<Option<i64>> {
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
    pub(super) async fn create_first_user(
        &self,
        name: &str,
        engine: &str,
        image: &str,
        engine_port: u16,
        labels: HashMap<String, String>,
        login: &Login,
    ) -> Result<()> {
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            labels: Some(labels),
            cmd: Some(Vec::new()),
            env: Some(vec![
                format!("{LOGIN_ENV_PORT}={engine_port}"),
                format!("{LOGIN_ENV_USER}={}", login.user),
                format!("{LOGIN_ENV_PASSWORD}={}", login.password()),
            ]),
            host_config: Some(HostConfig {
                network_mode: Some(format!("container:{engine}")),
                ..Default::default()
            }),
            ..Default::default()
        };
        let code = self.run_argon_helper(name, LOGIN_COMMAND, body).await;
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

    /// Measures `data` (volumes) with argon's own binary in the helper
    /// container `name` of `image`, which mounts them read-only and has no
    /// network (see `runtime::disk`).
    pub(super) async fn data_sizes(
        &self,
        name: &str,
        image: &str,
        data: &[String],
        labels: HashMap<String, String>,
    ) -> Result<HashMap<String, u64>> {
        if data.is_empty() {
            return Ok(HashMap::new());
        }
        let binds: Vec<String> = data
            .iter()
            .enumerate()
            .map(|(i, volume)| format!("{volume}:{}:ro", disk::mount_point(i)))
            .collect();
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            labels: Some(labels),
            cmd: Some((0..data.len()).map(disk::mount_point).collect()),
            host_config: Some(HostConfig {
                binds: Some(binds),
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let code = self
            .run_argon_helper(name, disk::DISK_USAGE_COMMAND, body)
            .await;
        let output = self.logs_of(name, None).await;
        self.remove_container(name).await?;
        match code? {
            Some(0) => Ok(disk::parse_report(&output)
                .into_iter()
                .filter_map(|(i, bytes)| Some((data.get(i)?.clone(), bytes)))
                .collect()),
            _ => Err(RuntimeError::DiskUsage {
                container: name.to_string(),
                logs: output,
            }),
        }
    }

    /// Creates the helper `name` from `body`, in which argon's own binary
    /// runs `command` as root from LOGIN_BINARY (bind-mounted from here on
    /// a local engine, copied in on another host), runs it to its end and
    /// gives its exit code; the caller reads its output and removes it.
    async fn run_argon_helper(
        &self,
        name: &str,
        command: &str,
        mut body: ContainerCreateBody,
    ) -> Result<Option<i64>> {
        let exe = crate::argon_binary().map_err(|source| RuntimeError::Io {
            op: "finding argon's own binary",
            source,
        })?;
        body.user = Some("0:0".into());
        body.entrypoint = Some(vec![LOGIN_BINARY.into(), command.into()]);
        if self.local {
            let host = body.host_config.get_or_insert_with(HostConfig::default);
            host.binds
                .get_or_insert_with(Vec::new)
                .push(format!("{}:{LOGIN_BINARY}:ro", exe.display()));
        }
        self.replace_container(name, body).await?;
        if !self.local {
            if let Err(e) = self.upload_binary(name, &exe).await {
                let _ = self.remove_container(name).await;
                return Err(e);
            }
        }
        self.run_to_end(name).await
    }

    /// Puts the file `exe` into the created container `name` at LOGIN_BINARY.
    async fn upload_binary(&self, name: &str, exe: &Path) -> Result<()> {
        let io = |source| RuntimeError::Io {
            op: "reading argon's own binary",
            source,
        };
        let file_name = LOGIN_BINARY.trim_start_matches('/');
        let archive = super::tar::single_file(exe, file_name).await.map_err(io)?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(name, Some(options), bollard::body_try_stream(archive))
            .await
            .map_err(docker("copying argon's binary into", name))
    }

    /// Copies `from_path` of container `from` into `to_path` of container `to`
    /// (either may be stopped), streaming the archive from one to the other
    /// without a temporary file.
    pub(super) async fn copy_between(
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

    /// `copy`, in two ways: `cp` inside the image between two volumes (a
    /// reflink where the file system can), else a tar stream through
    /// Docker's archive API from a container on the source to one on the
    /// target (any image, and a remote engine). A running engine is paused
    /// for the copy.
    pub(super) async fn copy_data(&self, copy: &DataCopy<'_>) -> Result<()> {
        let parent = Path::new(copy.data_dir)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or("/".into());
        let receiver = format!("{}-to", copy.helper);
        let cp = |from| {
            self.copy_volume_files(copy.helper, copy.image, from, copy.to, copy.labels.clone())
        };
        match copy.source {
            CopySource::Data(from) => {
                if cp(from).await? {
                    return Ok(());
                }
            }
            // A `cp` beside the paused engine, on its data: much faster than
            // a tar stream out of the engine's container and into another.
            CopySource::RunningEngine { engine, data } => {
                self.pause(engine).await?;
                crate::fault::point("save:paused").await;
                let copied = cp(data).await;
                let resumed = self.unpause(engine).await;
                match copied {
                    Ok(true) => return resumed,
                    Ok(false) => resumed?,
                    Err(e) => return Err(e),
                }
            }
        }
        // The tar stream's receiving end: a container on the target data.
        let idle = |name: &str, data: &str| {
            let (name, data) = (name.to_string(), data.to_string());
            async move {
                self.create_idle(&name, copy.image, &data, copy.data_dir, copy.labels.clone())
                    .await
            }
        };
        idle(&receiver, copy.to).await?;
        let copied = match copy.source {
            CopySource::Data(from) => {
                let copied = async {
                    idle(copy.helper, from).await?;
                    self.copy_between(copy.helper, copy.data_dir, &receiver, &parent)
                        .await
                }
                .await;
                self.remove_container(copy.helper).await?;
                copied
            }
            CopySource::RunningEngine { engine, .. } => match self.pause(engine).await {
                Ok(()) => {
                    crate::fault::point("save:paused").await;
                    let copied = self
                        .copy_between(engine, copy.data_dir, &receiver, &parent)
                        .await;
                    let resumed = self.unpause(engine).await;
                    copied.and(resumed)
                }
                Err(e) => Err(e),
            },
        };
        self.remove_container(&receiver).await?;
        copied
    }
}
