//! Running a branch: restoring or copying its data into a volume, private
//! engines, serving it on the stable port, stopping it.

use std::collections::HashMap;

use super::clean::CleanState;
use super::pending::YieldWatch;
use super::{BranchState, Error, Project, Result};
use crate::meta::BranchRow;
use crate::runtime::{self, CopySource, DataCopy, Endpoint, EngineSpec, Role};
use crate::snapshot;
use crate::store::VersionId;

impl Project {
    /// Starts branch `b` and serves it on the stable port (through the proxy,
    /// or published there), restoring its latest version into a new volume
    /// when it has no local data.
    pub(super) async fn start_branch(
        &mut self,
        b: &BranchRow,
        copy_from: Option<&str>,
    ) -> Result<Option<VersionId>> {
        // With the proxy, clients wait for the engine rather than being refused.
        self.route_hold().await?;
        let started = self.start_head_engine(b, copy_from).await;
        let routed = match &started {
            Ok(_) => {
                let b = self.branch(&b.name)?;
                self.route_to(&b).await
            }
            Err(_) => self.route_closed().await,
        };
        let restored = started?;
        routed?;
        Ok(restored)
    }

    async fn start_head_engine(
        &mut self,
        b: &BranchRow,
        copy_from: Option<&str>,
    ) -> Result<Option<VersionId>> {
        let endpoint = self.head_publish_endpoint()?;
        if !endpoint.is_free() {
            return Err(runtime::RuntimeError::PortInUse {
                port: endpoint.port,
            }
            .into());
        }
        let container = self.objects().engine(&b.uid);
        let engine = self.config.engine.clone();
        let network = self.objects().network();
        let image = engine.image.clone();
        let progress = self.progress.clone();
        {
            let rt = self.runtime().await?;
            let pull = progress.task(&format!("pulling {image}"));
            let report = |s: &str| pull.set_message(&format!("pulling {image}: {s}"));
            let pulled = rt.ensure_image(&image, &report).await;
            pull.finish();
            pulled?;
        }
        let existing = match &b.volume {
            Some(v) if self.runtime().await?.data_exists(v).await? => Some(v.clone()),
            Some(_) => {
                self.forget_lost_volume(b)?;
                None
            }
            None => None,
        };
        let mut restored = None;
        let volume = match existing {
            Some(v) => v,
            None => {
                let volume = self.objects().data(&b.uid);
                let labels = self.objects().labels(&b.name, Role::Data);
                let copier = self.objects().copier();
                let rt = self.runtime().await?;
                // What a killed earlier attempt half filled is not this branch's
                // data: its containers and volume go first.
                rt.remove_engine(&container).await?;
                rt.remove_engine(&copier).await?;
                rt.remove_data(&volume).await?;
                rt.create_data(&volume, labels).await?;
                // A local copy of a quiescent volume is much faster than a restore.
                let filled = match (copy_from, b.head_version) {
                    (Some(source), _) => {
                        self.copy_volume(b, CopySource::Data(source), &volume).await
                    }
                    (None, Some(version)) => {
                        restored = Some(version);
                        self.restore_privately(b, &volume, version).await
                    }
                    (None, None) => Ok(()),
                };
                if let Err(e) = filled {
                    let rt = self.runtime().await?;
                    let _ = rt.remove_engine(&container).await;
                    let _ = rt.remove_data(&volume).await;
                    return Err(e);
                }
                // Recorded only once whole: a branch never points at a half-filled volume.
                self.meta.set_branch_volume(&b.name, Some(&volume))?;
                volume
            }
        };
        // Behind the proxy the engine's port is a private one, picked again
        // just before the start (a restore may have taken a while), and
        // again when something took it meanwhile: another program, or
        // another project starting an engine at the same moment.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let endpoint = match attempts {
                1 if !self.config.serve_proxy => endpoint.clone(),
                _ => self.head_publish_endpoint()?,
            };
            let spec = EngineSpec {
                container: &container,
                image: &engine.image,
                command: &engine.command,
                volume: &volume,
                data_dir: &engine.data_dir,
                engine_port: engine.port,
                endpoint,
                labels: self.objects().labels(&b.name, Role::Engine),
                restart: true,
                network: &network,
                auth: engine.auth,
                background: false,
            };
            match self.run_engine(&spec).await {
                Err(Error::Runtime(runtime::RuntimeError::PortInUse { .. }))
                    if self.config.serve_proxy && attempts < 3 =>
                {
                    continue
                }
                other => break other?,
            }
        }
        let started = self.branch(&b.name)?;
        self.rebaseline(&started).await?;
        Ok(restored)
    }

    /// Copies the data of `source` (a stopped branch's volume, or a running
    /// engine's, paused for the copy) into branch `b`'s new `volume`.
    pub(super) async fn copy_volume(
        &mut self,
        b: &BranchRow,
        source: CopySource<'_>,
        volume: &str,
    ) -> Result<()> {
        let helper = self.objects().copier();
        let engine = self.config.engine.clone();
        let copy = DataCopy {
            source,
            to: volume,
            image: &engine.image,
            data_dir: &engine.data_dir,
            helper: &helper,
            labels: self.objects().labels(&b.name, Role::Copy),
        };
        Ok(self.runtime().await?.copy_data(&copy).await?)
    }

    /// Runs the engine as `container` on `volume`, published on a free private
    /// port no client knows, and connects to it once it answers.
    pub(super) async fn start_private_engine(
        &self,
        container: &str,
        volume: &str,
        labels: HashMap<String, String>,
    ) -> Result<mongodb::Client> {
        let engine = &self.config.engine;
        let network = self.objects().network();
        // A remote host's ports cannot be checked from here: a clash there
        // means another port, a few times.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let endpoint =
                Endpoint::free_on(self.engine_address).map_err(Error::io("finding a free port"))?;
            let spec = EngineSpec {
                container,
                image: &engine.image,
                command: &engine.command,
                volume,
                data_dir: &engine.data_dir,
                engine_port: engine.port,
                endpoint: endpoint.clone(),
                labels: labels.clone(),
                restart: false,
                network: &network,
                auth: engine.auth,
                background: self.yields,
            };
            match self.run_engine(&spec).await {
                Err(Error::Runtime(runtime::RuntimeError::PortInUse { .. })) if attempts < 3 => {
                    continue
                }
                Err(e) => return Err(e),
                Ok(()) => return Ok(snapshot::connect(&endpoint, self.login.as_ref()).await?),
            }
        }
    }

    /// Creates and starts the engine `spec` describes, waits until it
    /// answers, and gives it argon's login when engines require one. An
    /// engine that fails any step is removed again.
    async fn run_engine(&self, spec: &EngineSpec<'_>) -> Result<()> {
        let rt = self.runtime().await?;
        let served = async {
            rt.create_engine(spec).await?;
            rt.start_engine(spec.container, &spec.endpoint).await?;
            // A background save's engine (a capture's) gives way to a switch
            // while it comes up: the engine is removed below.
            let ready = async {
                Ok(rt
                    .wait_ready(spec.container, &spec.endpoint, runtime::READY_DEADLINE)
                    .await?)
            };
            YieldWatch::run(self.yield_watch(), ready).await?;
            self.ensure_login(spec.container, &spec.endpoint, spec.labels.clone())
                .await
        }
        .await;
        if served.is_err() {
            let _ = self.remove_engine_after(spec.container, &served).await;
        }
        served
    }

    /// Restores `version` into `volume` through an engine on a private port, so
    /// no client sees a half-restored database on the stable port.
    async fn restore_privately(
        &mut self,
        b: &BranchRow,
        volume: &str,
        version: VersionId,
    ) -> Result<()> {
        let manifest = self.manifest(version).await?;
        let store = self.store().await?;
        let container = self.objects().engine(&b.uid);
        let labels = self.objects().labels(&b.name, Role::Restore);
        let client = self
            .start_private_engine(&container, volume, labels)
            .await?;
        let bar = self
            .progress
            .task(&format!("restoring {} at {}", b.name, version.short()));
        let result = snapshot::restore(
            &client,
            &store,
            &manifest,
            self.config.engine.restore_indexes,
            &bar,
        )
        .await;
        bar.finish();
        // What the restored data looks like, to know it unchanged once served.
        let token = match &result {
            Ok(()) => snapshot::change_token(&client).await,
            Err(_) => None,
        };
        snapshot::close(client).await;
        result?;
        self.runtime().await?.remove_engine(&container).await?;
        let state = token.map(|t| CleanState {
            version,
            catalog: t.catalog,
            engine: None,
            verified: true,
        });
        self.record_clean(&b.name, state.as_ref())?;
        Ok(())
    }

    pub(super) async fn stop_branch(&mut self, b: &BranchRow) -> Result<()> {
        let name = self.objects().engine(&b.uid);
        self.runtime().await?.remove_engine(&name).await?;
        Ok(())
    }

    pub(super) async fn is_running(&mut self, b: &BranchRow) -> Result<bool> {
        Ok(self.branch_state(b).await? == BranchState::Running)
    }
}
