//! An opened project: configuration, metadata, Docker and the store behind
//! lazily made handles; the journal and the repair of interrupted operations.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::lock::ProjectLock;
use super::pending;
use super::{resolve, BranchState, Error, Progress, Result};
use crate::config::{self, Config};
use crate::credentials::Login;
use crate::meta::{BranchRow, Meta, ProjectRow, VersionRow};
use crate::runtime::{self, ContainerState, Endpoint, EngineHost, ObjectNames};
use crate::snapshot::{self, Manifest};
use crate::store::{Hash, Store, VersionId};

/// Set while a journalled operation runs in this process: a front end that
/// is interrupted then must stop it and repair (see `repair`), rather than exit.
static OPERATION_IN_PROGRESS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

pub fn operation_in_progress() -> bool {
    OPERATION_IN_PROGRESS.load(std::sync::atomic::Ordering::SeqCst)
}

/// Repairs what an interrupted operation of the project containing `start`
/// left (the front end calls it after dropping that operation): returns the
/// note of what was repaired, if anything was.
pub async fn repair(start: &Path) -> Result<Option<String>> {
    let project = Project::open(start, true, Arc::new(crate::progress::Silent)).await?;
    OPERATION_IN_PROGRESS.store(false, std::sync::atomic::Ordering::SeqCst);
    Ok(project.recovered.clone())
}

/// An opened project: configuration, metadata, and (lazily) Docker and the store.
pub struct Project {
    pub config: Config,
    pub(super) meta: Meta,
    pub(super) row: ProjectRow,
    pub(super) state_dir: PathBuf,
    pub(super) runtime: tokio::sync::OnceCell<Arc<dyn EngineHost>>,
    pub(super) store: Option<Arc<Store>>,
    pub(super) progress: Arc<dyn Progress>,
    /// This machine's name in a shared store (its refs, leases, locks).
    pub(super) machine: String,
    /// argon's login on the project's engines, when `[engine] auth` is on.
    pub(super) login: Option<Login>,
    /// Where the engine host publishes engines (127.0.0.1 for local Docker).
    pub(super) engine_address: std::net::IpAddr,
    /// Nesting of journalled steps: the journal row stays while any is open.
    pub(super) journal_depth: u32,
    /// Set when opening found and repaired an operation a killed argon left behind.
    pub recovered: Option<String>,
    /// Held while an operation that changes the project runs (see `lock`).
    lock: Option<ProjectLock>,
    /// Pending saves this process finished when it took the lock.
    pub(super) finished_saves: Vec<pending::FinishedSave>,
    /// This process is the background save: it makes way for a switch that
    /// asks (see `lock_for_switch`).
    pub(super) yields: bool,
    /// Engines this process killed to make way for a switch, whose
    /// containers it removes once it has let the lock go
    /// (`remove_killed_engines`), so the switch does not wait for that.
    pub(super) killed: std::sync::Mutex<Vec<crate::runtime::Killed>>,
}

/// This machine's id in shared stores: random, made once, kept in ARGON_HOME.
fn machine_id(state_dir: &Path) -> Result<String> {
    let path = state_dir.join("machine-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if id.trim().len() >= 8 && id.trim().chars().all(|c| c.is_ascii_hexdigit()) => {
            return Ok(id.trim().to_string())
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("reading this machine's id")(e)),
    }
    let id = format!("{}{}", random_uid(), random_uid());
    crate::private::write(&path, id.as_bytes()).map_err(Error::io("writing this machine's id"))?;
    Ok(id)
}

pub(crate) fn random_uid() -> String {
    let mut h = Sha256::new();
    h.update(std::process::id().to_le_bytes());
    h.update(
        Utc::now()
            .timestamp_nanos_opt()
            .unwrap_or_default()
            .to_le_bytes(),
    );
    h.update(format!("{:p}", &h).as_bytes());
    hex::encode(&h.finalize()[..6])
}

/// What a command takes the project lock for (see `Project::lock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LockFor {
    /// Most commands: pending saves are finished first.
    Work,
    /// A switch: see `Project::lock_for_switch`.
    Switch,
    /// A quick repair: neither waits for a background save nor finishes
    /// pending saves.
    Repair,
}

impl Project {
    /// Opens the project containing `start`. `write` takes the project lock
    /// (until `unlock` or the end of the handle) and repairs what an
    /// interrupted argon left behind.
    pub async fn open(start: &Path, write: bool, progress: Arc<dyn Progress>) -> Result<Project> {
        let root = config::find_root(start)?;
        let config = Config::load(&root)?;
        let mut project = Project::open_at(config, config::state_dir(), progress)?;
        if write {
            project.lock().await?;
        }
        Ok(project)
    }

    /// Opens the project `config` describes with argon's state in
    /// `state_dir` (a front end, or a test, that chooses its own), unlocked.
    pub fn open_at(
        config: Config,
        state_dir: PathBuf,
        progress: Arc<dyn Progress>,
    ) -> Result<Project> {
        crate::private::create_dir_all(&state_dir)
            .and_then(|()| crate::private::restrict(&state_dir))
            .map_err(Error::io(format!(
                "creating argon's state folder {}",
                state_dir.display()
            )))?;
        let root = config.root.clone();
        let root_text = root.display().to_string();
        let key = format!(
            "{}-{}",
            config.name,
            &Hash::of(root_text.as_bytes()).to_hex()[..8]
        );
        let (meta, row) = Meta::open(
            &state_dir.join("argon.db"),
            &root_text,
            config.name.as_str(),
            &key,
        )?;
        let machine = machine_id(&state_dir)?;
        let engine_address = runtime::published_address()?;
        // Engines published on another machine's network address are
        // reachable from that network: they always require argon's login.
        let mut config = config;
        config.engine.auth |= !engine_address.is_loopback();
        let login = if config.engine.auth {
            let path = state_dir.join("credentials").join(&key);
            Some(Login::load_or_create(&path).map_err(Error::io(format!(
                "reading the engines' login in {}",
                path.display()
            )))?)
        } else {
            None
        };
        Ok(Project {
            config,
            meta,
            row,
            state_dir,
            runtime: tokio::sync::OnceCell::new(),
            store: None,
            progress,
            machine,
            login,
            engine_address,
            journal_depth: 0,
            recovered: None,
            lock: None,
            finished_saves: Vec::new(),
            yields: false,
            killed: Default::default(),
        })
    }

    /// Takes the project lock for one operation (another argon process
    /// working on the project makes this fail with `Locked`), re-reads the
    /// project's row (HEAD may have moved meanwhile) and repairs what an
    /// interrupted argon left. `unlock` ends it. The CLI locks once per
    /// process (`open(.., true, ..)`); a long-running front end locks around
    /// each action, so it holds nothing while idle.
    ///
    /// Pending saves are finished here (see `pending`), so no operation
    /// meets a volume whose version is not recorded; a background argon
    /// finishing them is waited for rather than reported busy.
    pub async fn lock(&mut self) -> Result<()> {
        self.lock_with(LockFor::Work).await
    }

    /// `lock` for a switch (`checkout NAME`, `checkout -b NAME` from HEAD,
    /// `stash`, a wake): a background save under way makes way for it (it
    /// stops, and the switch starts it again on its way out), and pending
    /// saves stay pending. A switch touches no branch whose save is pending
    /// except the one it switches to, which takes its volume back
    /// (`take_back_pending`); so switching back and forth never waits for
    /// the saves it leaves behind.
    pub async fn lock_for_switch(&mut self) -> Result<()> {
        self.lock_with(LockFor::Switch).await
    }

    pub(super) async fn lock_with(&mut self, purpose: LockFor) -> Result<()> {
        if self.lock.is_some() {
            return Ok(());
        }
        let path = self.lock_path();
        let mut told = false;
        let mut asked_to_yield = None;
        let asked = std::time::Instant::now();
        let mut unnamed_since = None;
        let acquired = loop {
            match ProjectLock::acquire(&path, self.config.name.as_str()) {
                Err(Error::Locked { pid, command, .. })
                    if purpose != LockFor::Repair
                        && command.contains(pending::BACKGROUND_SAVE_COMMAND) =>
                {
                    unnamed_since = None;
                    if purpose == LockFor::Switch && asked_to_yield.is_none() {
                        asked_to_yield = Some(self.ask_background_save_to_yield());
                    }
                    if !told && (purpose == LockFor::Work || asked.elapsed().as_secs() >= 2) {
                        self.progress.notice(&format!(
                            "waiting for the background save (pid {pid}) to {}",
                            match purpose {
                                LockFor::Switch => "make way",
                                _ => "finish",
                            }
                        ));
                        told = true;
                    }
                    let poll = match purpose {
                        LockFor::Switch => pending::YIELD_POLL,
                        _ => pending::FINISH_POLL,
                    };
                    tokio::time::sleep(poll).await;
                }
                // Its holder has locked but not yet said who it is: a moment later it has.
                Err(Error::Locked { command, .. })
                    if command.is_empty()
                        && unnamed_since
                            .get_or_insert_with(std::time::Instant::now)
                            .elapsed()
                            < std::time::Duration::from_secs(2) =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                other => break other,
            }
        };
        if let Some(Ok(request)) = asked_to_yield {
            let _ = std::fs::remove_file(request);
        }
        self.lock = Some(acquired?);
        self.refresh()?;
        if let Err(e) = self.recover().await {
            self.lock = None;
            return Err(e);
        }
        // Best effort: a command that needs the engine host reports it down.
        let recovered = self.recovered.is_some();
        let _ = self.repair_route(recovered).await;
        if purpose == LockFor::Work {
            match self.finish_pending_saves().await {
                Ok(finished) => self.finished_saves.extend(finished),
                Err(e) => {
                    self.lock = None;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    pub(super) fn lock_path(&self) -> PathBuf {
        self.state_dir
            .join("locks")
            .join(format!("{}.lock", self.row.key))
    }

    pub(super) fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    /// Ends the operation `lock` began.
    pub fn unlock(&mut self) {
        self.lock = None;
    }

    /// Re-reads what another process may have changed (HEAD, branches are
    /// read fresh from SQLite each time): for a front end that keeps a project open.
    pub fn refresh(&mut self) -> Result<()> {
        self.row = self.meta.row()?;
        Ok(())
    }

    pub(super) async fn runtime(&self) -> Result<&dyn EngineHost> {
        Ok(self
            .runtime
            .get_or_try_init(runtime::connect)
            .await?
            .as_ref())
    }

    /// The engine host itself, for a task that outlives a borrow of the project.
    pub(super) async fn runtime_handle(&self) -> Result<Arc<dyn EngineHost>> {
        Ok(self
            .runtime
            .get_or_try_init(runtime::connect)
            .await?
            .clone())
    }

    pub(super) async fn store(&mut self) -> Result<Arc<Store>> {
        if let Some(s) = &self.store {
            return Ok(s.clone());
        }
        let store = Arc::new(Store::open(&self.config.store, &self.config.name).await?);
        store.check().await?;
        self.store = Some(store.clone());
        Ok(store)
    }

    /// This project's temporary files (a paused copy's archive): per project,
    /// so recovery can clear them while another project's save runs.
    pub(super) fn tmp_dir(&self) -> Result<PathBuf> {
        let dir = self.state_dir.join("tmp").join(&self.row.key);
        crate::private::create_dir_all(&dir)
            .map_err(Error::io("creating argon's temporary folder"))?;
        Ok(dir)
    }

    /// What this project's containers, volumes and network are called on its engine host.
    pub(super) fn objects(&self) -> ObjectNames<'_> {
        ObjectNames::new(&self.row.key)
    }

    /// Gives the project's network back when none of its containers is left
    /// (HEAD stashed). Best effort: a network that stays costs only address
    /// space, so a failure here never fails the operation that succeeded.
    pub(super) async fn release_network_if_idle(&self) {
        let Ok(rt) = self.runtime().await else {
            return;
        };
        let idle = rt
            .list_engines(runtime::LABEL_PROJECT, &self.row.key, false)
            .await
            .is_ok_and(|containers| containers.is_empty());
        if idle {
            let _ = rt.release_network(&self.objects().network()).await;
        }
    }

    /// HEAD's connection string, password included: for `argon uri`, `argon
    /// env` and plugins, which exist to hand it over.
    pub fn uri(&self) -> String {
        self.stable_endpoint().uri(self.login.as_ref())
    }

    /// Where HEAD is served: the stable port.
    pub(super) fn stable_endpoint(&self) -> Endpoint {
        Endpoint::new(self.serve_address(), self.config.serve_port)
    }

    /// HEAD's connection string as reports print it: the password masked.
    pub fn uri_shown(&self) -> String {
        let masked = self.login.as_ref().map(Login::masked);
        self.stable_endpoint().uri(masked.as_ref())
    }

    /// With `[engine] auth`, makes sure argon's login works on the engine in
    /// `container` (answering at `endpoint`, labelled `labels`): an engine on a
    /// volume that never had a user (new, or restored: versions do not carry
    /// the admin database) gets it as its first user.
    pub(super) async fn ensure_login(
        &self,
        container: &str,
        endpoint: &Endpoint,
        mut labels: HashMap<String, String>,
    ) -> Result<()> {
        let Some(login) = self.login.clone() else {
            return Ok(());
        };
        if snapshot::login::accepts(endpoint, &login).await? {
            return Ok(());
        }
        labels.insert(runtime::LABEL_ROLE.to_string(), "login".to_string());
        let engine = &self.config.engine;
        self.runtime()
            .await?
            .create_first_user(
                &format!("{container}-login"),
                container,
                &engine.image,
                engine.port,
                labels,
                &login,
            )
            .await?;
        if snapshot::login::accepts(endpoint, &login).await? {
            return Ok(());
        }
        Err(Error::LoginRefused {
            container: container.to_string(),
        })
    }

    /// Who owns this clone's refs in a shared store: the machine, and which of
    /// its clones of the project (two clones may both have a `main`).
    fn ref_owner(&self) -> String {
        let clone = self.row.key.rsplit('-').next().unwrap_or_default();
        format!("{}.{clone}", self.machine)
    }

    /// Publishes (or withdraws) a branch head in the store, so a gc on any
    /// machine sharing it keeps the versions this branch needs.
    pub(super) async fn publish_head(
        &mut self,
        branch: &str,
        version: Option<VersionId>,
    ) -> Result<()> {
        let owner = self.ref_owner();
        let store = self.store().await?;
        match version {
            Some(v) => store.publish_ref(&owner, branch, v).await?,
            None => store.delete_ref(&owner, branch).await?,
        }
        Ok(())
    }

    /// A lease on the store for the length of a save (see `store::shared`).
    pub(super) async fn lease(&mut self, op: &str) -> Result<crate::store::shared::Lease> {
        let store = self.store().await?;
        Ok(store.begin_lease(&self.machine, op).await?)
    }

    pub fn head(&self) -> Option<&str> {
        self.row.head.as_deref()
    }

    pub(super) fn head_branch(&self) -> Result<BranchRow> {
        self.head_row()?.ok_or(Error::NoHead)
    }

    /// HEAD's branch row, if HEAD names a branch that exists.
    pub(super) fn head_row(&self) -> Result<Option<BranchRow>> {
        match &self.row.head {
            Some(h) => Ok(self.meta.branch(h)?),
            None => Ok(None),
        }
    }

    pub(super) fn branch(&self, name: &str) -> Result<BranchRow> {
        self.meta
            .branch(name)?
            .ok_or_else(|| Error::NoBranch(name.to_string()))
    }

    pub(super) fn set_head(&mut self, name: &str) -> Result<()> {
        self.meta.set_head(Some(name))?;
        self.row.head = Some(name.to_string());
        Ok(())
    }

    /// Repairs what a killed or interrupted argon left: a paused or
    /// fsync-locked HEAD, every other container of the project (private
    /// capture, restore and copy engines, a branch started but never made
    /// HEAD, which would hold the stable port), volumes no branch records (a
    /// half-filled one, a capture copy), and temporary files.
    async fn recover(&mut self) -> Result<()> {
        let Some(entry) = self.meta.journal_pending()? else {
            return Ok(());
        };
        let head = self
            .row
            .head
            .clone()
            .and_then(|h| self.meta.branch(&h).ok().flatten());
        let head_container = head.as_ref().map(|b| self.objects().engine(&b.uid));
        let recorded: std::collections::HashSet<String> = self
            .meta
            .branches()?
            .into_iter()
            .filter_map(|b| b.volume)
            .collect();
        let key = self.row.key.clone();
        let rt = self.runtime().await?;
        for c in rt.list_engines(runtime::LABEL_PROJECT, &key, false).await? {
            if Some(&c.name) != head_container.as_ref() {
                rt.remove_engine(&c.name).await?;
            }
        }
        for v in rt.list_data(runtime::LABEL_PROJECT, &key).await? {
            if !recorded.contains(&v.name) {
                rt.remove_data(&v.name).await?;
            }
        }
        let mut head_running = false;
        if let Some(name) = &head_container {
            rt.resume_if_paused(name).await?;
            if rt.engine_state(name).await? == Some(ContainerState::Running) {
                head_running = true;
            }
        }
        if let (Some(b), true) = (&head, head_running) {
            if let Ok(endpoint) = self.engine_endpoint(b).await {
                if let Ok(client) = snapshot::connect(&endpoint, self.login.as_ref()).await {
                    snapshot::fsync_unlock(&client).await;
                }
            }
        }
        let tmp = self.tmp_dir()?;
        std::fs::remove_dir_all(&tmp).map_err(Error::io("removing interrupted saves' files"))?;
        // Half-written objects are junk: a store that cannot be reached now
        // keeps them until the next recovery.
        if let Ok(store) = self.store().await {
            let _ = store.remove_temporaries().await;
        }
        self.meta.journal_end()?;
        let mut note = format!(
            "recovered from an interrupted {} of branch '{}'; no version was lost",
            entry.kind, entry.branch
        );
        if let (Some(h), false) = (&head, head_running) {
            note.push_str(&format!(
                "; HEAD '{}' is stopped: 'argon checkout {}' serves it again",
                h.name, h.name
            ));
        }
        self.recovered = Some(note);
        Ok(())
    }

    /// Records that an operation on `branch` is under way, so that the next
    /// argon repairs what it leaves if it is killed. Steps nest: the record
    /// goes when the outermost step ends.
    pub(super) fn journal_begin(&mut self, kind: &str, branch: &str) -> Result<()> {
        // Every operation that changes Docker or the store journals: none may
        // run outside `lock`, or two processes could interleave them.
        if self.lock.is_none() {
            return Err(Error::NotLocked);
        }
        if self.journal_depth == 0 {
            self.meta.journal_begin(kind, branch)?;
            OPERATION_IN_PROGRESS.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.journal_depth += 1;
        Ok(())
    }

    pub(super) fn journal_end(&mut self) -> Result<()> {
        self.journal_depth = self.journal_depth.saturating_sub(1);
        if self.journal_depth == 0 {
            self.meta.journal_end()?;
            OPERATION_IN_PROGRESS.store(false, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }

    pub(super) async fn branch_state(&mut self, b: &BranchRow) -> Result<BranchState> {
        let name = self.objects().engine(&b.uid);
        let is_head = self.row.head.as_deref() == Some(b.name.as_str());
        let engine = self.runtime().await?.engine_state(&name).await?;
        Ok(BranchState::of(engine, is_head, b.volume.is_some()))
    }

    /// Resolves a revision to a version id.
    pub fn resolve(&self, text: &str) -> Result<VersionId> {
        resolve::resolve(&self.meta, self.row.head.as_deref(), text, Utc::now())
    }

    /// Ids of every version the metadata lists.
    pub(super) fn known_version_ids(&self) -> Result<std::collections::HashSet<VersionId>> {
        Ok(self.meta.versions()?.iter().map(|v| v.id).collect())
    }

    pub(super) fn version_row(&self, id: VersionId) -> Result<VersionRow> {
        resolve::version_row(&self.meta, id)
    }

    pub(super) async fn manifest(&mut self, id: VersionId) -> Result<Manifest> {
        let store = self.store().await?;
        let bytes = store.get_version_bytes(id).await?;
        Manifest::from_bytes(&bytes).map_err(|message| Error::BadManifest {
            id: id.short(),
            message,
        })
    }
}
