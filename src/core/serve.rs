//! Serving HEAD to clients: through argon's proxy on the stable port (HEAD's
//! engine on a private port behind it), and keeping recently left branches
//! warm, their engines paused, so that switching back is an unpause and a
//! retarget. Without the proxy (`[serve] proxy = false`) HEAD's engine
//! publishes the stable port itself and nothing stays warm.

use std::net::SocketAddr;

use serde::Serialize;

use super::clean::CleanState;
use super::pending::Stopping;
use super::{Error, Project, Result};
use crate::meta::BranchRow;
use crate::proxy::{Proxy, Route};
use crate::runtime::{self, ContainerState, Endpoint, EngineAddress};
use crate::snapshot;

/// What `argon status` says of the proxy on the stable port.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyInfo {
    pub running: bool,
    /// It was down, and this command started it again.
    pub started: bool,
    pub pid: Option<u32>,
    /// Where it sends clients: "serve ADDR", "hold" or "close".
    pub route: Option<String>,
    pub clients: usize,
}

impl Project {
    /// The proxy of this project, when HEAD is served through one.
    pub(super) fn proxy(&self) -> Option<Proxy> {
        self.config.serve_proxy.then(|| {
            Proxy::new(
                SocketAddr::new(self.serve_address(), self.config.serve_port),
                &self.state_dir.join("proxy"),
                &self.row.key,
                self.config.root.join(crate::config::CONFIG_FILE),
                self.config.idle_suspend,
            )
        })
    }

    /// The address clients reach HEAD at: with the proxy, this machine (the
    /// engine host's address when that is one of this machine's, as a
    /// loopback alias is); without it, the engine host's.
    pub(super) fn serve_address(&self) -> std::net::IpAddr {
        let local = || std::net::TcpListener::bind((self.engine_address, 0)).is_ok();
        match self.config.serve_proxy && !local() {
            true => std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            false => self.engine_address,
        }
    }

    /// Where argon itself reaches branch `b`'s running engine: its private
    /// port behind the proxy, else the stable port. Never through the proxy,
    /// which holds clients while a switch is under way.
    pub(super) async fn engine_endpoint(&mut self, b: &BranchRow) -> Result<Endpoint> {
        if !self.config.serve_proxy {
            return Ok(self.stable_endpoint());
        }
        // Its own address where there is one: argon holds the project lock,
        // so no other engine starts between this look and the connection.
        let address = self.engine_addresses(b).await?;
        let addr = address.network.unwrap_or(address.published);
        Ok(Endpoint::new(addr.ip(), addr.port()))
    }

    /// Where branch `b`'s running engine behind the proxy is reached (see
    /// `EngineHost::engine_address`).
    async fn engine_addresses(&mut self, b: &BranchRow) -> Result<EngineAddress> {
        let container = self.objects().engine(&b.uid);
        let (port, published_on) = (self.config.engine.port, self.engine_address);
        let address = self
            .runtime()
            .await?
            .engine_address(&container, port, published_on)
            .await?;
        address.ok_or_else(|| Error::HeadStashed(b.name.clone()))
    }

    /// Where the engine of a branch about to become HEAD is published.
    pub(super) fn head_publish_endpoint(&self) -> Result<Endpoint> {
        match self.config.serve_proxy {
            true => Endpoint::free_on(self.engine_address)
                .map_err(Error::io("finding a free port for HEAD's engine")),
            false => Ok(self.stable_endpoint()),
        }
    }

    /// Sends clients on the stable port to `b`'s running engine.
    pub(super) async fn route_to(&mut self, b: &BranchRow) -> Result<()> {
        let Some(proxy) = self.proxy() else {
            return Ok(());
        };
        let address = self.engine_addresses(b).await?;
        proxy
            .route(Route::Serve {
                published: address.published,
                direct: address.network,
            })
            .await?;
        if address.network.is_none() {
            return Ok(());
        }
        // The proxy's canary connected to the engine's own address between
        // these two looks. Only when both saw one run of the container did
        // that connection reach it (an address is given out again once its
        // container stops); else the published port, which stays with it.
        let again = self.engine_addresses(b).await?;
        if again.run.is_none() || again.run != address.run || again.network != address.network {
            proxy.route(Route::published(again.published)).await?;
        }
        Ok(())
    }

    /// Closes every client of HEAD and holds new ones until `route_to` (or
    /// `route_closed`): from here on HEAD's engine gets no client writes.
    pub(super) async fn route_hold(&self) -> Result<()> {
        self.route_without_engine(Route::Hold).await
    }

    /// HEAD is stashed: clients on the stable port are closed at once.
    pub(super) async fn route_closed(&self) -> Result<()> {
        self.route_without_engine(Route::Closed).await
    }

    /// Sets a route that names no engine; nothing to do without the proxy.
    async fn route_without_engine(&self, route: Route) -> Result<()> {
        match self.proxy() {
            Some(proxy) => Ok(proxy.route(route).await?),
            None => Ok(()),
        }
    }

    /// Brings the proxy in line with HEAD after a crash, a reboot or a
    /// `kill`: serving HEAD's engine when it runs, closed when it does not.
    /// Called with the project lock held, so no switch is under way;
    /// `recovered`: a killed operation was just repaired, so even a proxy
    /// that answers may point at an engine recovery removed.
    pub(super) async fn repair_route(&mut self, recovered: bool) -> Result<()> {
        let Some(proxy) = self.proxy() else {
            return Ok(());
        };
        let status = proxy.status().await;
        // HEAD's engine ended and came back (Docker restarted it, or a
        // `docker start`): the proxy serves its published port meanwhile,
        // and may reach it at its own address again.
        if let (false, Some(s)) = (recovered, &status) {
            if s.canary_lost && s.route.serves() {
                if let Some(b) = self.head_row()? {
                    if self.is_running(&b).await? {
                        return self.route_to(&b).await;
                    }
                }
            }
        }
        // A proxy that answers and is not left holding (by a killed switch) is in line.
        if !recovered && status.is_some_and(|s| s.route != Route::Hold) {
            return Ok(());
        }
        match self.head_row()? {
            Some(b) if self.is_running(&b).await? => self.route_to(&b).await,
            _ => Ok(proxy.route(Route::Closed).await?),
        }
    }

    /// For the commands that only read (`status`, `uri`, `env`): a proxy
    /// found down (a reboot, a `kill`) is started again, as any command that
    /// changes the project would, unless another argon is at work (which
    /// repairs it itself). Returns whether it was started again.
    pub async fn repair_proxy_if_down(&mut self) -> bool {
        let Some(proxy) = self.proxy() else {
            return false;
        };
        if self.is_locked() || proxy.status().await.is_some() {
            return false;
        }
        // Taking the lock repairs (see `lock`); a busy project is left alone,
        // and pending saves are left to a command that can wait for them.
        if self
            .lock_with(super::project::LockFor::Repair)
            .await
            .is_err()
        {
            return false;
        }
        self.unlock();
        proxy.status().await.is_some()
    }

    /// The proxy's state, for `argon status` (`None` without a proxy).
    pub(super) async fn proxy_info(&self, started: bool) -> Option<ProxyInfo> {
        let proxy = self.proxy()?;
        Some(match proxy.status().await {
            Some(s) => ProxyInfo {
                started,
                running: true,
                pid: Some(s.pid),
                route: Some(s.route.command()),
                clients: s.clients,
            },
            None => ProxyInfo {
                started: false,
                running: false,
                pid: None,
                route: None,
                clients: 0,
            },
        })
    }

    /// `argon __suspend-idle`, run by the proxy when HEAD has had no client
    /// for `[serve] idle_suspend`: HEAD is stashed (saved, stopped, the same
    /// safety as `argon stash`) and the proxy told to wake it on the next
    /// client. Nothing happens when a client came meanwhile or HEAD is not
    /// running. Returns whether HEAD was suspended.
    pub async fn suspend_idle(&mut self) -> Result<bool> {
        let Some(proxy) = self.proxy() else {
            return Ok(false);
        };
        let idle = proxy
            .status()
            .await
            .is_some_and(|s| s.route.serves() && s.clients == 0);
        let head = self.head_branch()?;
        if !idle || !self.is_running(&head).await? {
            return Ok(false);
        }
        self.journal_begin("stash", &head.name)?;
        self.route_hold().await?;
        let saved = self.stop_and_save(&head, "idle suspend").await;
        let routed = match &saved {
            Ok(_) => Ok(proxy.route(Route::Sleep).await?),
            Err(_) => self.repair_route(true).await,
        };
        self.journal_end()?;
        saved?;
        routed?;
        self.release_network_if_idle().await;
        Ok(true)
    }

    /// `argon __wake`, run by the proxy when a client comes for a HEAD
    /// suspended while idle: HEAD starts and the proxy serves it (its clients
    /// were held meanwhile). Nothing happens unless the proxy still sleeps.
    pub async fn wake(&mut self) -> Result<bool> {
        let Some(proxy) = self.proxy() else {
            return Ok(false);
        };
        if proxy.status().await.map(|s| s.route) != Some(Route::Sleep) {
            return Ok(false);
        }
        let head = self.head_branch()?;
        if self.is_running(&head).await? {
            self.route_to(&head).await?;
            return Ok(true);
        }
        self.take_back_pending(&head).await?;
        self.stash_pop().await?;
        // It may have stopped a background save to come first.
        self.start_background_save();
        Ok(true)
    }

    /// Is `b` warm: not HEAD, its engine kept (paused) on its private port?
    pub(super) async fn is_warm(&mut self, b: &BranchRow) -> Result<bool> {
        if !self.config.serve_proxy {
            return Ok(false);
        }
        let container = self.objects().engine(&b.uid);
        Ok(matches!(
            self.runtime().await?.engine_state(&container).await?,
            Some(ContainerState::Paused | ContainerState::Running)
        ))
    }

    /// Serves the warm branch `b` as HEAD: its engine resumes (the same
    /// process, so its write counters still vouch for its clean state) and
    /// the proxy sends clients to it.
    pub(super) async fn wake_warm(&mut self, b: &BranchRow) -> Result<()> {
        let container = self.objects().engine(&b.uid);
        self.runtime().await?.resume_if_paused(&container).await?;
        let endpoint = self.engine_endpoint(b).await?;
        self.runtime()
            .await?
            .wait_ready(&container, &endpoint, runtime::READY_DEADLINE)
            .await?;
        self.meta.set_branch_warm(&b.name, false)?;
        self.route_to(b).await
    }

    /// The warm branches to cool once `head` is HEAD: all but the `[serve]
    /// warm` most recently left, and those beyond what fits in `[serve]
    /// warm_memory` together.
    async fn extra_warm(&mut self, head: &str) -> Result<Vec<BranchRow>> {
        let keep = self.config.serve_warm as usize;
        let warm: Vec<String> = self
            .meta
            .warm_branches()?
            .into_iter()
            .filter(|name| name != head)
            .collect();
        let mut held = 0u64;
        let mut extra = Vec::new();
        for (i, name) in warm.into_iter().enumerate() {
            let Some(b) = self.meta.branch(&name)? else {
                self.meta.set_branch_warm(&name, false)?;
                continue;
            };
            let fits = match self.config.warm_memory {
                _ if i >= keep => false,
                None => true,
                Some(budget) => {
                    let container = self.objects().engine(&b.uid);
                    // An engine whose memory cannot be read counts as over budget.
                    let memory = self.runtime().await?.engine_memory(&container).await?;
                    held = held.saturating_add(memory.unwrap_or(u64::MAX));
                    held <= budget
                }
            };
            if !fits {
                extra.push(b);
            }
        }
        Ok(extra)
    }

    /// Begins to cool the warm branches beyond the budget once `head` is
    /// HEAD (see `begin_cool`), before `head` starts: their engines exit
    /// while it does, and leave it their memory. A branch that cannot be
    /// cooled stays warm, and is told.
    pub(super) async fn begin_cooling(&mut self, head: &str) -> Vec<Stopping> {
        let extra = match self.extra_warm(head).await {
            Ok(extra) => extra,
            Err(e) => {
                self.could_not_cool(&e);
                return Vec::new();
            }
        };
        let mut cooling = Vec::new();
        for b in extra {
            match self.begin_cool(&b).await {
                Ok(stopping) => cooling.push(stopping),
                Err(e) => self.could_not_cool(&e),
            }
        }
        cooling
    }

    /// Ends what `begin_cooling` began.
    pub(super) async fn finish_cooling(&mut self, cooling: Vec<Stopping>) {
        for stopping in cooling {
            if let Err(e) = self.finish_cool(stopping).await {
                self.could_not_cool(&e);
            }
        }
    }

    fn could_not_cool(&self, e: &Error) {
        self.progress
            .notice(&format!("could not stop a warm branch's engine: {e}"));
    }

    /// Stops the engine of the warm branch `b`, keeping its volume (it is
    /// stashed then): `begin_cool`, then `finish_cool`.
    pub(super) async fn cool_warm(&mut self, b: &BranchRow) -> Result<()> {
        let stopping = self.begin_cool(b).await?;
        self.finish_cool(stopping).await
    }

    /// Begins to stop the engine of the warm branch `b`. Its engine, the
    /// same process that was saved, is asked first, under `fsyncLock` where
    /// it has it, whether anything was written since: when not, the stopped
    /// volume is known to equal its latest version (verified, as after
    /// `stop_and_save`), so dropping it later needs no full read. Without
    /// that fence it stays unverified.
    async fn begin_cool(&mut self, b: &BranchRow) -> Result<Stopping> {
        let container = self.objects().engine(&b.uid);
        self.runtime().await?.resume_if_paused(&container).await?;
        // As in `stop_and_save`: only under the engine's own fence may its
        // counters mark the volume verified (some engines miss writes).
        let now = match self.engine_endpoint(b).await {
            Ok(endpoint) => match snapshot::connect(&endpoint, self.login.as_ref()).await {
                Ok(client) => {
                    let fenced = snapshot::fsync_lock(&client).await;
                    let token = snapshot::change_token(&client).await;
                    // The engine stops next: writes the fence holds fail with it.
                    snapshot::close(client).await;
                    token.filter(|_| fenced)
                }
                Err(_) => None,
            },
            Err(_) => None,
        };
        let unchanged = CleanState::unchanged(b, now.as_ref());
        let runtime = self.runtime_handle().await?;
        Ok(Stopping::begin(&b.name, unchanged, runtime, container))
    }

    /// Waits for the stop `begin_cool` began: the branch is stashed then.
    async fn finish_cool(&mut self, stopping: Stopping) -> Result<()> {
        let (branch, unchanged) = stopping.wait().await?;
        self.meta.set_branch_warm(&branch, false)?;
        if unchanged {
            self.mark_verified(&branch)?;
        }
        Ok(())
    }
}
