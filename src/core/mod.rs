//! Branch operations: the only place that combines configuration, metadata,
//! Docker, snapshots and the store. Functions return reports; printing is the CLI's job.

mod clean;
pub mod error;
mod fetch;
mod follow;
mod fsck;
mod gc;
mod lock;
mod mount;
pub mod names;
mod resolve;
pub mod revision;
pub mod trust;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{self, Config, FileConfig, Overrides};
use crate::meta::{BranchRow, Meta, ProjectRow, VersionRow};
use crate::runtime::{self, ContainerState, EngineSpec, Runtime};
use crate::snapshot::{self, CaptureMethod, Manifest, ReadMode, MANIFEST_FORMAT};
use crate::store::{Backend, Hash, ObjectKey, Store, VersionId};
pub use clean::ChangeCheck;
use clean::CleanState;
pub use error::{Error, Result};
pub use fetch::FetchReport;
pub use follow::{FollowReport, HooksStatus};
pub use fsck::FsckReport;
pub use gc::{GcOptions, GcReport, LocalGcReport, TagInfo, DEFAULT_GRACE};
use lock::ProjectLock;
use names::BranchName;

/// What the front end shows while an operation runs: whether progress is
/// drawn (on stderr, only when it is a terminal), and where notices go (things
/// the user should know that did not stop the operation).
#[derive(Clone, Copy)]
pub struct Progress {
    pub enabled: bool,
    pub notice: fn(&str),
}

impl Progress {
    fn bar(&self, message: &str) -> ProgressBar {
        let bar = if self.enabled {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {pos}/{len} documents ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar
    }

    fn spinner(&self, message: &str) -> ProgressBar {
        let bar = if self.enabled {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_message(message.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }
}

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
pub async fn repair(start: &Path, overrides: &Overrides) -> Result<Option<String>> {
    let quiet = Progress {
        enabled: false,
        notice: |_| {},
    };
    let project = Project::open(start, overrides, true, quiet).await?;
    OPERATION_IN_PROGRESS.store(false, std::sync::atomic::Ordering::SeqCst);
    Ok(project.recovered.clone())
}

/// What `argon init` wrote.
#[derive(Debug, Serialize)]
pub struct InitReport {
    pub path: PathBuf,
    pub project: String,
    pub port: u16,
    pub image: String,
    pub store: String,
}

/// Options of `argon init`.
pub struct InitOptions {
    pub name: Option<String>,
    pub image: Option<String>,
    pub store: Option<String>,
    pub port: Option<u16>,
    pub command: Option<Vec<String>>,
    pub force: bool,
}

/// Writes `argon.toml` in `dir`, choosing a free stable port when none is given.
pub fn init(dir: &Path, opts: InitOptions) -> Result<InitReport> {
    let path = dir.join(config::CONFIG_FILE);
    if path.exists() && !opts.force {
        return Err(Error::AlreadyInitialized(path));
    }
    let port = match opts.port {
        Some(p) => p,
        None => (config::DEFAULT_SERVE_PORT..config::DEFAULT_SERVE_PORT + 100)
            .find(|p| runtime::port_is_free(*p))
            .unwrap_or(config::DEFAULT_SERVE_PORT),
    };
    let file = FileConfig {
        project: opts
            .name
            .clone()
            .map(|name| config::ProjectSection { name: Some(name) }),
        engine: Some(config::EngineSection {
            image: Some(
                opts.image
                    .clone()
                    .unwrap_or_else(|| config::DEFAULT_IMAGE.to_string()),
            ),
            command: opts.command.clone(),
            data_dir: None,
            port: None,
            restore_indexes: None,
        }),
        serve: Some(config::ServeSection { port: Some(port) }),
        store: opts.store.clone().map(|url| config::StoreSection {
            url: Some(url),
            ..Default::default()
        }),
        git: None,
    };
    // Validate everything before writing anything.
    let text = toml::to_string_pretty(&file).map_err(|e| Error::Io {
        op: "writing argon.toml".into(),
        source: std::io::Error::other(e),
    })?;
    let resolved = Config::resolve(
        dir,
        toml::from_str(&text).unwrap_or_default(),
        &Overrides::default(),
    )?;
    let header = "# argon project settings: commit this file with your application.\n# Reference: see README.md (Configuration).\n\n";
    std::fs::write(&path, format!("{header}{text}")).map_err(Error::io("writing argon.toml"))?;
    // The user wrote this file: the git hooks may act on it.
    trust::allow(dir)?;
    Ok(InitReport {
        path,
        project: resolved.name.to_string(),
        port,
        image: resolved.engine.image,
        store: resolved.store.url.to_string(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BranchState {
    /// Its container is up.
    Running,
    /// Stopped; its data is kept in a local volume, so resuming is a container start.
    Stashed,
    /// Only in the store; checking it out restores its latest version.
    Archived,
}

impl BranchState {
    pub fn as_str(&self) -> &'static str {
        match self {
            BranchState::Running => "running",
            BranchState::Stashed => "stashed",
            BranchState::Archived => "archived",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub id: String,
    pub short_id: String,
    pub branch: String,
    pub parent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub message: String,
    pub capture: String,
    pub bytes: u64,
    pub collections: u64,
}

impl From<&VersionRow> for VersionInfo {
    fn from(v: &VersionRow) -> Self {
        VersionInfo {
            id: v.id.to_string(),
            short_id: v.id.short(),
            branch: v.branch.clone(),
            parent: v.parent.map(|p| p.to_string()),
            created_at: v.created_at,
            message: v.message.clone(),
            capture: v.capture.clone(),
            bytes: v.bytes,
            collections: v.collections,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BranchInfo {
    pub name: String,
    pub head: bool,
    pub state: BranchState,
    pub versions: u32,
    pub bytes: u64,
    pub latest: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub project: String,
    pub head: Option<String>,
    pub state: Option<BranchState>,
    pub uri: String,
    pub port: u16,
    pub latest_version: Option<VersionInfo>,
    /// Whether HEAD's data changed since its latest version; null when argon
    /// cannot tell without reading it all (`argon commit` then compares).
    pub changed: Option<bool>,
    pub image: String,
    pub store: String,
}

/// What a checkout did.
#[derive(Debug, Serialize)]
pub struct CheckoutReport {
    pub branch: String,
    pub previous: Option<String>,
    /// The version saved of the branch that was left, if it had changed.
    pub saved: Option<VersionInfo>,
    /// How argon decided whether the branch left had changed (null: it was not running).
    pub checked_by: Option<ChangeCheck>,
    pub created: bool,
    /// The version the branch started from, when its data was restored from the store.
    pub restored: Option<String>,
    /// The branch whose local data was copied, when it was (faster than a restore).
    pub copied_from: Option<String>,
    pub uri: String,
}

#[derive(Debug, Serialize)]
pub struct SaveReport {
    pub branch: String,
    /// None when nothing changed since the branch's latest version.
    pub version: Option<VersionInfo>,
    pub latest: Option<String>,
    /// How argon decided whether anything changed.
    pub checked_by: ChangeCheck,
}

#[derive(Debug, Serialize)]
pub struct ResetReport {
    pub branch: String,
    pub target: String,
    /// The version holding the state the reset left (saved first).
    pub saved: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeleteReport {
    pub branch: String,
    pub latest: Option<String>,
}

/// An opened project: configuration, metadata, and (lazily) Docker and the store.
pub struct Project {
    pub config: Config,
    meta: Meta,
    row: ProjectRow,
    state_dir: PathBuf,
    runtime: tokio::sync::OnceCell<Runtime>,
    store: Option<Arc<Store>>,
    progress: Progress,
    /// This machine's name in a shared store (its refs, leases, locks).
    machine: String,
    /// Nesting of journalled steps: the journal row stays while any is open.
    journal_depth: u32,
    /// Set when opening found and repaired an operation a killed argon left behind.
    pub recovered: Option<String>,
    _lock: Option<ProjectLock>,
}

/// The metadata row describing the version `id` with this manifest.
fn version_row_of(id: VersionId, m: &Manifest) -> VersionRow {
    VersionRow {
        id,
        branch: m.branch.clone(),
        parent: m.parent,
        created_at: m.created_at,
        message: m.message.clone(),
        capture: m.capture.as_str().to_string(),
        bytes: m.total_bytes(),
        collections: m.collection_count(),
    }
}

/// What leaving HEAD for another branch did.
struct LeftHead {
    name: Option<String>,
    branch: Option<BranchRow>,
    was_running: bool,
    saved: Option<VersionRow>,
    checked_by: Option<ChangeCheck>,
}

/// What a capture proves about a branch's data (see `CleanState`): its
/// catalog digest, the engine's counters while that engine runs, and whether
/// no engine can write to the volume any more.
#[derive(Clone)]
struct Reference {
    catalog: String,
    engine: Option<snapshot::ChangeToken>,
    verified: bool,
}

/// What a save did: the new version, if the data had changed.
struct Saved {
    row: Option<VersionRow>,
    checked_by: ChangeCheck,
}

/// The connection string of a port on 127.0.0.1.
pub fn uri_for(port: u16) -> String {
    format!("mongodb://127.0.0.1:{port}/?directConnection=true")
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

impl Project {
    /// Opens the project containing `start`. `write` takes the project lock and
    /// repairs what an interrupted argon left behind.
    pub async fn open(
        start: &Path,
        overrides: &Overrides,
        write: bool,
        progress: Progress,
    ) -> Result<Project> {
        let root = config::find_root(start)?;
        let config = Config::load(&root, overrides)?;
        let state_dir = config::state_dir();
        crate::private::create_dir_all(&state_dir)
            .and_then(|()| crate::private::restrict(&state_dir))
            .map_err(Error::io(format!(
                "creating argon's state folder {}",
                state_dir.display()
            )))?;
        let root_text = root.display().to_string();
        let key = format!(
            "{}-{}",
            config.name,
            &Hash::of(root_text.as_bytes()).to_hex()[..8]
        );
        let lock = if write {
            Some(ProjectLock::acquire(
                &state_dir.join("locks").join(format!("{key}.lock")),
                config.name.as_str(),
            )?)
        } else {
            None
        };
        let meta = Meta::open(&state_dir.join("argon.db"))?;
        let machine = machine_id(&state_dir)?;
        let row = meta.project(&root_text, config.name.as_str(), &key)?;
        let mut project = Project {
            config,
            meta,
            row,
            state_dir,
            runtime: tokio::sync::OnceCell::new(),
            store: None,
            progress,
            machine,
            journal_depth: 0,
            recovered: None,
            _lock: lock,
        };
        if write {
            project.recover().await?;
        }
        Ok(project)
    }

    async fn runtime(&self) -> Result<&Runtime> {
        Ok(self.runtime.get_or_try_init(Runtime::connect).await?)
    }

    async fn store(&mut self) -> Result<Arc<Store>> {
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
    fn tmp_dir(&self) -> Result<PathBuf> {
        let dir = self.state_dir.join("tmp").join(&self.row.key);
        crate::private::create_dir_all(&dir)
            .map_err(Error::io("creating argon's temporary folder"))?;
        Ok(dir)
    }

    fn container_name(&self, b: &BranchRow) -> String {
        format!("argon-{}-{}", self.row.key, b.uid)
    }

    /// The project's own Docker network, with its labels.
    fn network(&self) -> (String, HashMap<String, String>) {
        (
            format!("argon-{}", self.row.key),
            HashMap::from([(runtime::LABEL_PROJECT.to_string(), self.row.key.clone())]),
        )
    }

    fn capture_name(&self) -> String {
        format!("argon-{}-capture", self.row.key)
    }

    fn copy_name(&self) -> String {
        format!("argon-{}-copy", self.row.key)
    }

    fn labels(&self, branch: &str, role: &str) -> HashMap<String, String> {
        HashMap::from([
            (runtime::LABEL_PROJECT.to_string(), self.row.key.clone()),
            (runtime::LABEL_BRANCH.to_string(), branch.to_string()),
            (runtime::LABEL_ROLE.to_string(), role.to_string()),
        ])
    }

    pub fn uri(&self) -> String {
        uri_for(self.config.serve_port)
    }

    /// Who owns this clone's refs in a shared store: the machine, and which of
    /// its clones of the project (two clones may both have a `main`).
    fn ref_owner(&self) -> String {
        let clone = self.row.key.rsplit('-').next().unwrap_or_default();
        format!("{}.{clone}", self.machine)
    }

    /// Publishes (or withdraws) a branch head in the store, so a gc on any
    /// machine sharing it keeps the versions this branch needs.
    async fn publish_head(&mut self, branch: &str, version: Option<VersionId>) -> Result<()> {
        let owner = self.ref_owner();
        let store = self.store().await?;
        match version {
            Some(v) => store.publish_ref(&owner, branch, v).await?,
            None => store.delete_ref(&owner, branch).await?,
        }
        Ok(())
    }

    /// A lease on the store for the length of a save (see `store::shared`).
    async fn lease(&mut self, op: &str) -> Result<crate::store::shared::Lease> {
        let store = self.store().await?;
        Ok(store.begin_lease(&self.machine, op).await?)
    }

    pub fn head(&self) -> Option<&str> {
        self.row.head.as_deref()
    }

    fn head_branch(&self) -> Result<BranchRow> {
        let head = self.row.head.clone().ok_or(Error::NoHead)?;
        self.meta.branch(self.row.id, &head)?.ok_or(Error::NoHead)
    }

    fn branch(&self, name: &str) -> Result<BranchRow> {
        self.meta
            .branch(self.row.id, name)?
            .ok_or_else(|| Error::NoBranch(name.to_string()))
    }

    fn set_head(&mut self, name: &str) -> Result<()> {
        self.meta.set_head(self.row.id, Some(name))?;
        self.row.head = Some(name.to_string());
        Ok(())
    }

    /// Repairs what a killed or interrupted argon left: a paused or
    /// fsync-locked HEAD, every other container of the project (private
    /// capture, restore and copy engines, a branch started but never made
    /// HEAD, which would hold the stable port), volumes no branch records (a
    /// half-filled one, a capture copy), and temporary files.
    async fn recover(&mut self) -> Result<()> {
        let Some(entry) = self.meta.journal_pending(self.row.id)? else {
            return Ok(());
        };
        let head = self
            .row
            .head
            .clone()
            .and_then(|h| self.meta.branch(self.row.id, &h).ok().flatten());
        let head_container = head.as_ref().map(|b| self.container_name(b));
        let recorded: std::collections::HashSet<String> = self
            .meta
            .branches(self.row.id)?
            .into_iter()
            .filter_map(|b| b.volume)
            .collect();
        let port = self.config.serve_port;
        let key = self.row.key.clone();
        let rt = self.runtime().await?;
        for c in rt
            .containers_labelled(runtime::LABEL_PROJECT, &key, false)
            .await?
        {
            if Some(&c.name) != head_container.as_ref() {
                rt.remove_container(&c.name).await?;
            }
        }
        for v in rt.volumes_labelled(runtime::LABEL_PROJECT, &key).await? {
            if !recorded.contains(&v.name) {
                rt.remove_volume(&v.name).await?;
            }
        }
        let mut head_running = false;
        if let Some(name) = &head_container {
            if rt.state(name).await? == Some(ContainerState::Paused) {
                rt.unpause(name).await?;
            }
            if rt.state(name).await? == Some(ContainerState::Running) {
                head_running = true;
                if let Ok(client) = snapshot::connect(port).await {
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
        self.meta.journal_end(self.row.id)?;
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
    fn journal_begin(&mut self, kind: &str, branch: &str) -> Result<()> {
        if self.journal_depth == 0 {
            self.meta.journal_begin(self.row.id, kind, branch)?;
            OPERATION_IN_PROGRESS.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.journal_depth += 1;
        Ok(())
    }

    fn journal_end(&mut self) -> Result<()> {
        self.journal_depth = self.journal_depth.saturating_sub(1);
        if self.journal_depth == 0 {
            self.meta.journal_end(self.row.id)?;
            OPERATION_IN_PROGRESS.store(false, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }

    async fn branch_state(&mut self, b: &BranchRow) -> Result<BranchState> {
        let name = self.container_name(b);
        let has_volume = b.volume.is_some();
        Ok(match self.runtime().await?.state(&name).await? {
            Some(ContainerState::Running) | Some(ContainerState::Paused) => BranchState::Running,
            _ if has_volume => BranchState::Stashed,
            _ => BranchState::Archived,
        })
    }

    // ----- revisions -----------------------------------------------------------

    /// Resolves a revision to a version id.
    pub fn resolve(&self, text: &str) -> Result<VersionId> {
        resolve::resolve(
            &self.meta,
            self.row.id,
            self.row.head.as_deref(),
            text,
            Utc::now(),
        )
    }

    /// Ids of every version the metadata lists.
    fn known_version_ids(&self) -> Result<std::collections::HashSet<VersionId>> {
        Ok(self
            .meta
            .versions(self.row.id)?
            .iter()
            .map(|v| v.id)
            .collect())
    }

    fn version_row(&self, id: VersionId) -> Result<VersionRow> {
        resolve::version_row(&self.meta, self.row.id, id)
    }

    async fn manifest(&mut self, id: VersionId) -> Result<Manifest> {
        let store = self.store().await?;
        let bytes = store.get_version_bytes(id).await?;
        Manifest::from_bytes(&bytes).map_err(|message| Error::BadManifest {
            id: id.short(),
            message,
        })
    }

    // ----- queries -------------------------------------------------------------

    /// Versions reachable from `rev` (default HEAD), newest first.
    pub fn log(&self, rev: Option<&str>, limit: Option<usize>) -> Result<Vec<VersionInfo>> {
        let start = match rev {
            Some(r) => Some(self.resolve(r)?),
            None => self.head_branch()?.head_version,
        };
        let mut out = Vec::new();
        let mut next = start;
        while let Some(id) = next {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let v = self.version_row(id)?;
            next = v.parent;
            out.push(VersionInfo::from(&v));
        }
        Ok(out)
    }

    /// Every version of the project, newest first (including ones no branch reaches).
    pub fn log_all(&self) -> Result<Vec<VersionInfo>> {
        Ok(self
            .meta
            .versions(self.row.id)?
            .iter()
            .map(VersionInfo::from)
            .collect())
    }

    fn history_len(&self, mut next: Option<VersionId>) -> Result<u32> {
        let mut n = 0;
        while let Some(id) = next {
            n += 1;
            next = self.meta.version(self.row.id, id)?.and_then(|v| v.parent);
        }
        Ok(n)
    }

    pub fn branch_names(&self) -> Result<Vec<String>> {
        Ok(self
            .meta
            .branches(self.row.id)?
            .into_iter()
            .map(|b| b.name)
            .collect())
    }

    pub async fn branches(&mut self) -> Result<Vec<BranchInfo>> {
        let rows = self.meta.branches(self.row.id)?;
        let mut out = Vec::with_capacity(rows.len());
        for b in rows {
            let state = self.branch_state(&b).await?;
            let latest = b.head_version.map(|v| self.version_row(v)).transpose()?;
            out.push(BranchInfo {
                head: self.row.head.as_deref() == Some(b.name.as_str()),
                state,
                versions: self.history_len(b.head_version)?,
                bytes: latest.as_ref().map(|v| v.bytes).unwrap_or(0),
                latest: latest.map(|v| v.id.to_string()),
                name: b.name,
            });
        }
        Ok(out)
    }

    pub async fn status(&mut self) -> Result<StatusReport> {
        let head = match &self.row.head {
            Some(h) => self.meta.branch(self.row.id, h)?,
            None => None,
        };
        let (state, latest, changed) = match &head {
            Some(b) => {
                let state = self.branch_state(b).await?;
                let latest = b
                    .head_version
                    .map(|v| self.version_row(v))
                    .transpose()?
                    .as_ref()
                    .map(VersionInfo::from);
                let changed = self.head_changed(b, state == BranchState::Running).await;
                (Some(state), latest, changed)
            }
            None => (None, None, None),
        };
        Ok(StatusReport {
            project: self.config.name.to_string(),
            head: head.map(|b| b.name),
            state,
            uri: self.uri(),
            port: self.config.serve_port,
            latest_version: latest,
            changed,
            image: self.config.engine.image.clone(),
            store: self.config.store.url.to_string(),
        })
    }

    pub async fn stash_list(&mut self) -> Result<Vec<BranchInfo>> {
        Ok(self
            .branches()
            .await?
            .into_iter()
            .filter(|b| b.state == BranchState::Stashed)
            .collect())
    }

    // ----- branch pointers -----------------------------------------------------

    fn new_branch_row(&self, name: &BranchName, from: Option<VersionId>) -> Result<BranchRow> {
        if self.meta.branch(self.row.id, name.as_str())?.is_some() {
            return Err(Error::BranchExists(name.to_string()));
        }
        Ok(BranchRow {
            name: name.to_string(),
            uid: random_uid(),
            head_version: from,
            volume: None,
            created_at: Utc::now(),
            clean: None,
        })
    }

    /// `argon branch NAME [REV]`: a pointer to a version; no container until checkout.
    pub async fn create_branch(&mut self, name: &str, rev: Option<&str>) -> Result<BranchInfo> {
        let name = BranchName::parse(name).map_err(Error::InvalidName)?;
        let from = match rev {
            Some(r) => Some(self.resolve(r)?),
            None => Some(self.resolve("HEAD")?),
        };
        let row = self.new_branch_row(&name, from)?;
        self.meta.insert_branch(self.row.id, &row)?;
        if from.is_some() {
            self.publish_head(&row.name, from).await?;
        }
        Ok(BranchInfo {
            name: row.name,
            head: false,
            state: BranchState::Archived,
            versions: self.history_len(from)?,
            bytes: from
                .map(|v| self.version_row(v))
                .transpose()?
                .map(|v| v.bytes)
                .unwrap_or(0),
            latest: from.map(|v| v.to_string()),
        })
    }

    pub async fn rename_branch(&mut self, old: &str, new: &str) -> Result<()> {
        let new = BranchName::parse(new).map_err(Error::InvalidName)?;
        let head = self.branch(old)?.head_version;
        if head.is_some() {
            self.publish_head(new.as_str(), head).await?;
        }
        if self.meta.branch(self.row.id, new.as_str())?.is_some() {
            return Err(Error::BranchExists(new.to_string()));
        }
        self.meta.rename_branch(self.row.id, old, new.as_str())?;
        self.publish_head(old, None).await?;
        if self.row.head.as_deref() == Some(old) {
            self.row.head = Some(new.to_string());
        }
        Ok(())
    }

    /// Deletes a branch that is not HEAD. Its versions stay in the store: a
    /// branch is always saved before it stops, so its latest version holds its data.
    pub async fn delete_branch(&mut self, name: &str) -> Result<DeleteReport> {
        self.journal_begin("branch -d", name)?;
        let done = self.delete_branch_journalled(name).await;
        self.journal_end()?;
        done
    }

    async fn delete_branch_journalled(&mut self, name: &str) -> Result<DeleteReport> {
        let b = self.branch(name)?;
        if self.row.head.as_deref() == Some(name) {
            return Err(Error::DeleteHead(name.to_string()));
        }
        let container = self.container_name(&b);
        self.runtime().await?.remove_container(&container).await?;
        let saved = self
            .ensure_saved(&b, &format!("branch -d: last state of {name}"))
            .await?;
        let rt = self.runtime().await?;
        if let Some(volume) = &b.volume {
            rt.remove_volume(volume).await?;
        }
        self.meta.delete_branch(self.row.id, name)?;
        self.publish_head(name, None).await?;
        Ok(DeleteReport {
            branch: b.name,
            latest: saved
                .map(|v| v.id)
                .or(b.head_version)
                .map(|v| v.to_string()),
        })
    }

    // ----- running and saving --------------------------------------------------

    /// Saves a version of the running branch `b` while it keeps serving; no
    /// version when its content equals its latest version. The engine keeps
    /// taking writes, so this is never evidence that its volume equals the
    /// version (see `stop_and_save`).
    async fn save(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let lease = self.lease("save").await?;
        let saved = self.save_leased(b, message).await;
        lease.release().await;
        saved
    }

    async fn save_leased(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        // Taken before the capture: writes during it make the next check capture again.
        let client = snapshot::connect(self.config.serve_port).await?;
        let now = snapshot::change_token(&client).await;
        let store = self.store().await?;
        let tmp = self.tmp_dir()?;
        let previous = self.parent_manifest(b).await?;
        let known = snapshot::KnownChunks::new(previous.iter().flat_map(|m| m.chunk_ids()));
        self.journal_begin("save", &b.name)?;
        let bar = self.progress.bar(&format!("saving {}", b.name));
        let result = self
            .capture_laddered(b, &client, &store, &tmp, &known, &bar)
            .await;
        bar.finish_and_clear();
        let saved = match result {
            Ok((captured, method)) => {
                // The engine keeps running: its counters stay meaningful, but it can be written.
                let reference = now.map(|t| Reference {
                    catalog: t.catalog.clone(),
                    engine: Some(t),
                    verified: false,
                });
                self.record_capture(b, previous, captured, method, message, reference)
                    .await
            }
            Err(e) => Err(e),
        };
        self.journal_end()?;
        saved
    }

    /// Stops the running branch `b` and records its final state, on evidence
    /// taken only once its writes have stopped: with writes fenced by
    /// `fsyncLock`, the engine's counters may vouch for "unchanged", else the
    /// data is read under the fence; an engine that cannot fence is stopped
    /// first and read from its volume by a private engine. Either way the
    /// branch ends stopped and verified: its volume equals its latest version.
    /// When the save fails the branch is running again, untouched.
    async fn stop_and_save(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let client = snapshot::connect(self.config.serve_port).await?;
        // Recovery unlocks the engine if argon dies while it is fenced.
        self.journal_begin("save", &b.name)?;
        if snapshot::fsync_lock(&client).await {
            crate::fault::point("save:fenced").await;
            let saved = match self.save_fenced(b, &client, message).await {
                Ok(saved) => saved,
                Err(e) => {
                    snapshot::fsync_unlock(&client).await;
                    self.journal_end()?;
                    return Err(e);
                }
            };
            // Writes held by the fence fail with the engine: none was acknowledged.
            snapshot::close(client).await;
            let stopped = self.stop_branch(b).await;
            self.journal_end()?;
            stopped?;
            self.mark_verified(&b.name)?;
            return Ok(saved);
        }
        snapshot::close(client).await;
        self.journal_end()?;
        self.stop_branch(b).await?;
        crate::fault::point("leave:stopped").await;
        let stopped = self.branch(&b.name)?;
        match self.save_offline(&stopped, message).await {
            Ok(saved) => Ok(saved),
            Err(e) => {
                // Nothing was dropped: the volume holds every write. Serve it again.
                let _ = self.start_branch(&stopped, None).await;
                Err(e)
            }
        }
    }

    /// The fenced part of `stop_and_save`: unchanged by the counters read
    /// under the fence, else a capture while writes wait.
    async fn save_fenced(
        &mut self,
        b: &BranchRow,
        client: &mongodb::Client,
        message: &str,
    ) -> Result<Saved> {
        let lease = self.lease("save").await?;
        let saved = self.save_fenced_leased(b, client, message).await;
        lease.release().await;
        saved
    }

    async fn save_fenced_leased(
        &mut self,
        b: &BranchRow,
        client: &mongodb::Client,
        message: &str,
    ) -> Result<Saved> {
        let now = snapshot::change_token(client).await;
        if let (Some(state), Some(now)) = (CleanState::of(b), &now) {
            if state.holds_at(now) {
                return Ok(Saved {
                    row: None,
                    checked_by: ChangeCheck::Counters,
                });
            }
        }
        let store = self.store().await?;
        let previous = self.parent_manifest(b).await?;
        let known = snapshot::KnownChunks::new(previous.iter().flat_map(|m| m.chunk_ids()));
        let bar = self.progress.bar(&format!("saving {}", b.name));
        let captured = snapshot::capture(client, &store, ReadMode::Plain, &known, &bar).await;
        bar.finish_and_clear();
        // Verified only once the engine is stopped (`mark_verified`).
        let reference = now.map(|t| Reference {
            catalog: t.catalog,
            engine: None,
            verified: false,
        });
        self.record_capture(
            b,
            previous,
            captured?,
            CaptureMethod::FsyncLock,
            message,
            reference,
        )
        .await
    }

    /// The manifest of `b`'s latest version, whose chunks a save need not send.
    async fn parent_manifest(&mut self, b: &BranchRow) -> Result<Option<Manifest>> {
        match b.head_version {
            Some(parent) => Ok(Some(self.manifest(parent).await?)),
            None => Ok(None),
        }
    }

    /// Ends a save whose capture succeeded: a new version when the content
    /// differs from `previous`, and the branch recorded as clean against
    /// `reference` (the catalog digest, and the engine's token when that
    /// engine keeps running so its counters stay meaningful). `verified` only
    /// when no engine can write to the branch's volume any more.
    async fn record_capture(
        &mut self,
        b: &BranchRow,
        previous: Option<Manifest>,
        captured: snapshot::Captured,
        method: CaptureMethod,
        message: &str,
        reference: Option<Reference>,
    ) -> Result<Saved> {
        let clean_at = |version: VersionId| {
            reference.clone().map(|r| CleanState {
                version,
                catalog: r.catalog,
                engine: r.engine,
                verified: r.verified,
            })
        };
        if let (Some(p), Some(head)) = (&previous, b.head_version) {
            if p.databases == captured.databases {
                self.record_clean(&b.name, clean_at(head).as_ref())?;
                return Ok(Saved {
                    row: None,
                    checked_by: ChangeCheck::Capture,
                });
            }
        }
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            project: self.config.name.to_string(),
            branch: b.name.clone(),
            parent: b.head_version,
            created_at: Utc::now(),
            message: message.to_string(),
            capture: method,
            engine_version: captured.engine_version,
            databases: captured.databases,
            written_bytes: captured.written_bytes,
        };
        let bytes = manifest.to_bytes();
        let id = VersionId(Hash::of(&bytes));
        // The manifest is written last: a version exists iff its manifest does.
        let store = self.store().await?;
        crate::fault::point("save:captured").await;
        store.put_bytes(ObjectKey::Version(id), bytes).await?;
        let row = version_row_of(id, &manifest);
        self.meta.record_version(self.row.id, &row, &b.name)?;
        self.publish_head(&b.name, Some(id)).await?;
        self.record_clean(&b.name, clean_at(id).as_ref())?;
        Ok(Saved {
            row: Some(row),
            checked_by: ChangeCheck::Capture,
        })
    }

    /// Saves a stopped branch from its own volume, through an engine on a
    /// private port (no client can write meanwhile). Used before a volume is
    /// discarded when the branch was last left on the counters' word.
    async fn save_offline(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let lease = self.lease("save").await?;
        let saved = self.save_offline_leased(b, message).await;
        lease.release().await;
        saved
    }

    async fn save_offline_leased(&mut self, b: &BranchRow, message: &str) -> Result<Saved> {
        let Some(volume) = b.volume.clone() else {
            return Ok(Saved {
                row: None,
                checked_by: ChangeCheck::Capture,
            });
        };
        // Docker would create a missing volume empty, and the save would make
        // "nothing" the branch's latest version.
        if !self.runtime().await?.volume_exists(&volume).await? {
            self.forget_lost_volume(b)?;
            return Ok(Saved {
                row: None,
                checked_by: ChangeCheck::Capture,
            });
        }
        let store = self.store().await?;
        let previous = self.parent_manifest(b).await?;
        let known = snapshot::KnownChunks::new(previous.iter().flat_map(|m| m.chunk_ids()));
        let capture = self.capture_name();
        let labels = self.labels(&b.name, "capture");
        self.journal_begin("save", &b.name)?;
        let bar = self.progress.bar(&format!("saving {}", b.name));
        let result = async {
            let client = self.start_private_engine(&capture, &volume, labels).await?;
            let token = snapshot::change_token(&client).await;
            let captured = snapshot::capture(&client, &store, ReadMode::Plain, &known, &bar).await;
            snapshot::close(client).await;
            Ok::<_, Error>((captured?, token))
        }
        .await;
        bar.finish_and_clear();
        let removed = self.runtime().await?.remove_container(&capture).await;
        let (captured, token) = match result.and_then(|r| Ok(removed.map(|()| r)?)) {
            Ok(r) => r,
            Err(e) => {
                self.journal_end()?;
                return Err(e);
            }
        };
        // The private engine is gone: its catalog is kept, not its counters.
        let reference = token.map(|t| Reference {
            catalog: t.catalog,
            engine: None,
            verified: true,
        });
        let saved = self
            .record_capture(
                b,
                previous,
                captured,
                CaptureMethod::Offline,
                message,
                reference,
            )
            .await;
        self.journal_end()?;
        saved
    }

    /// Makes sure a stopped branch's latest version holds its data before its
    /// volume goes away: a full offline capture unless that is already known.
    pub(super) async fn ensure_saved(
        &mut self,
        b: &BranchRow,
        why: &str,
    ) -> Result<Option<VersionRow>> {
        if b.volume.is_none() || CleanState::of(b).is_some_and(|s| s.verified) {
            return Ok(None);
        }
        Ok(self.save_offline(b, why).await?.row)
    }

    /// A branch's volume was removed outside argon (`docker volume rm`, a
    /// prune): the branch keeps its latest version and becomes archived.
    fn forget_lost_volume(&mut self, b: &BranchRow) -> Result<()> {
        self.meta.set_branch_volume(self.row.id, &b.name, None)?;
        self.record_clean(&b.name, None)?;
        let latest = b
            .head_version
            .map(|v| format!("its latest version {}", v.short()))
            .unwrap_or_else(|| "no version (it had never been saved)".into());
        (self.progress.notice)(&format!(
            "the local data of branch '{}' was removed outside argon; the branch keeps {latest}",
            b.name
        ));
        Ok(())
    }

    /// Captures a consistent state with the best method the engine supports,
    /// probing each rung: snapshot reads, fsyncLock, then a paused private copy.
    async fn capture_laddered(
        &mut self,
        b: &BranchRow,
        client: &mongodb::Client,
        store: &Arc<Store>,
        tmp: &Path,
        known: &snapshot::KnownChunks,
        bar: &ProgressBar,
    ) -> Result<(snapshot::Captured, CaptureMethod)> {
        if snapshot::supports_snapshot_reads(client).await {
            let mut session = client
                .start_session()
                .snapshot(true)
                .await
                .map_err(|source| snapshot::SnapshotError::Engine {
                    op: "starting",
                    object: "a snapshot session".into(),
                    source,
                })?;
            let captured =
                snapshot::capture(client, store, ReadMode::Session(&mut session), known, bar)
                    .await?;
            return Ok((captured, CaptureMethod::SnapshotRead));
        }
        if snapshot::fsync_lock(client).await {
            crate::fault::point("save:fenced").await;
            let captured = snapshot::capture(client, store, ReadMode::Plain, known, bar).await;
            snapshot::fsync_unlock(client).await;
            return Ok((captured?, CaptureMethod::FsyncLock));
        }
        let captured = self.capture_paused_copy(b, store, tmp, known, bar).await?;
        Ok((captured, CaptureMethod::PausedCopy))
    }

    /// Pauses the branch's container, copies its data directory at that instant,
    /// resumes it, and captures from a private engine on the copy.
    async fn capture_paused_copy(
        &mut self,
        b: &BranchRow,
        store: &Arc<Store>,
        tmp: &Path,
        known: &snapshot::KnownChunks,
        bar: &ProgressBar,
    ) -> Result<snapshot::Captured> {
        let container = self.container_name(b);
        let capture = self.capture_name();
        let labels = self.labels(&b.name, "capture");
        let data_dir = self.config.engine.data_dir.clone();
        let engine = self.config.engine.clone();
        let (network, network_labels) = self.network();
        let archive =
            tempfile::NamedTempFile::new_in(tmp).map_err(Error::io("creating a temporary file"))?;
        // Flush what the engine holds in memory, so the files copied below hold
        // every write acknowledged before the pause (an engine may refuse: the
        // copy is then as of its last flush, still crash-consistent).
        if let Ok(client) = snapshot::connect(self.config.serve_port).await {
            snapshot::fsync(&client).await;
            snapshot::close(client).await;
        }
        let rt = self.runtime().await?;
        rt.pause(&container).await?;
        crate::fault::point("save:paused").await;
        let copied = rt.download(&container, &data_dir, archive.path()).await;
        rt.unpause(&container).await?;
        copied?;

        let port = runtime::free_port()?;
        let result = async {
            rt.create_volume(&capture, labels.clone()).await?;
            let spec = EngineSpec {
                container: &capture,
                image: &engine.image,
                command: &engine.command,
                volume: &capture,
                data_dir: &engine.data_dir,
                engine_port: engine.port,
                host_port: port,
                labels,
                restart: false,
                network: &network,
            };
            rt.ensure_network(&network, network_labels.clone()).await?;
            rt.create_engine(&spec).await?;
            let parent = Path::new(&data_dir)
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or("/".into());
            rt.upload(&capture, &parent, archive.path()).await?;
            rt.start(&capture, port).await?;
            rt.wait_ready(&capture, port, runtime::READY_DEADLINE)
                .await?;
            let client = snapshot::connect(port).await?;
            let captured = snapshot::capture(&client, store, ReadMode::Plain, known, bar).await?;
            snapshot::close(client).await;
            Ok::<_, Error>(captured)
        }
        .await;
        rt.remove_container(&capture).await?;
        rt.remove_volume(&capture).await?;
        result
    }

    /// Starts branch `b` on the stable port, restoring its latest version into a
    /// new volume when it has no local data.
    async fn start_branch(
        &mut self,
        b: &BranchRow,
        copy_from: Option<&str>,
    ) -> Result<Option<VersionId>> {
        let port = self.config.serve_port;
        if !runtime::port_is_free(port) {
            return Err(runtime::RuntimeError::PortInUse { port }.into());
        }
        let container = self.container_name(b);
        let engine = self.config.engine.clone();
        let (network, network_labels) = self.network();
        let image = engine.image.clone();
        let progress = self.progress;
        {
            let rt = self.runtime().await?;
            let pull = progress.spinner(&format!("pulling {image}"));
            let pulled = rt
                .ensure_image(&image, |s| {
                    pull.set_message(format!("pulling {image}: {s}"))
                })
                .await;
            pull.finish_and_clear();
            pulled?;
        }
        let existing = match &b.volume {
            Some(v) if self.runtime().await?.volume_exists(v).await? => Some(v.clone()),
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
                let volume = format!("argon-{}-{}", self.row.key, b.uid);
                let labels = self.labels(&b.name, "data");
                let copier = self.copy_name();
                let rt = self.runtime().await?;
                // What a killed earlier attempt half filled is not this branch's
                // data: its containers and volume go first.
                rt.remove_container(&container).await?;
                rt.remove_container(&copier).await?;
                rt.remove_volume(&volume).await?;
                rt.create_volume(&volume, labels).await?;
                // A local copy of a quiescent volume is much faster than a restore.
                let filled = match (copy_from, b.head_version) {
                    (Some(source), _) => self.copy_volume(b, source, &volume).await,
                    (None, Some(version)) => {
                        restored = Some(version);
                        self.restore_privately(b, &volume, version).await
                    }
                    (None, None) => Ok(()),
                };
                if let Err(e) = filled {
                    let rt = self.runtime().await?;
                    let _ = rt.remove_container(&container).await;
                    let _ = rt.remove_volume(&volume).await;
                    return Err(e);
                }
                // Recorded only once whole: a branch never points at a half-filled volume.
                self.meta
                    .set_branch_volume(self.row.id, &b.name, Some(&volume))?;
                volume
            }
        };
        let spec = EngineSpec {
            container: &container,
            image: &engine.image,
            command: &engine.command,
            volume: &volume,
            data_dir: &engine.data_dir,
            engine_port: engine.port,
            host_port: port,
            labels: self.labels(&b.name, "engine"),
            restart: true,
            network: &network,
        };
        let rt = self.runtime().await?;
        rt.ensure_network(&network, network_labels).await?;
        rt.create_engine(&spec).await?;
        rt.start(&container, port).await?;
        if let Err(e) = rt
            .wait_ready(&container, port, runtime::READY_DEADLINE)
            .await
        {
            let _ = rt.remove_container(&container).await;
            return Err(e.into());
        }
        let started = self.branch(&b.name)?;
        self.rebaseline(&started).await?;
        Ok(restored)
    }

    /// Copies the data directory of the (stopped) branch's volume `source` into
    /// the new branch's `volume`, through Docker's archive API (no tool needed
    /// in the image, works with a remote engine).
    async fn copy_volume(&mut self, b: &BranchRow, source: &str, volume: &str) -> Result<()> {
        let copier = self.copy_name();
        let target = self.container_name(b);
        let engine = self.config.engine.clone();
        let (src_labels, dst_labels) =
            (self.labels(&b.name, "copy"), self.labels(&b.name, "engine"));
        let rt = self.runtime().await?;
        // Fastest: `cp` inside the engine's image, volume to volume.
        if rt
            .copy_volume_files(&copier, &engine.image, source, volume, src_labels.clone())
            .await?
        {
            return Ok(());
        }
        // Any image: a tar stream through Docker's archive API.
        let parent = Path::new(&engine.data_dir)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or("/".into());
        rt.create_idle(&copier, &engine.image, source, &engine.data_dir, src_labels)
            .await?;
        let copied = match rt
            .create_idle(&target, &engine.image, volume, &engine.data_dir, dst_labels)
            .await
        {
            Ok(()) => {
                let copied = rt
                    .copy_between(&copier, &engine.data_dir, &target, &parent)
                    .await;
                rt.remove_container(&target).await?;
                copied
            }
            Err(e) => Err(e),
        };
        rt.remove_container(&copier).await?;
        Ok(copied?)
    }

    /// Runs the engine as `container` on `volume`, published on a free private
    /// port no client knows, and connects to it once it answers.
    async fn start_private_engine(
        &mut self,
        container: &str,
        volume: &str,
        labels: HashMap<String, String>,
    ) -> Result<mongodb::Client> {
        let engine = self.config.engine.clone();
        let (network, network_labels) = self.network();
        let port = runtime::free_port()?;
        let spec = EngineSpec {
            container,
            image: &engine.image,
            command: &engine.command,
            volume,
            data_dir: &engine.data_dir,
            engine_port: engine.port,
            host_port: port,
            labels,
            restart: false,
            network: &network,
        };
        let rt = self.runtime().await?;
        rt.ensure_network(&network, network_labels).await?;
        rt.create_engine(&spec).await?;
        rt.start(container, port).await?;
        rt.wait_ready(container, port, runtime::READY_DEADLINE)
            .await?;
        Ok(snapshot::connect(port).await?)
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
        let container = self.container_name(b);
        let labels = self.labels(&b.name, "restore");
        let client = self
            .start_private_engine(&container, volume, labels)
            .await?;
        let bar = self
            .progress
            .bar(&format!("restoring {} at {}", b.name, version.short()));
        let result = snapshot::restore(
            &client,
            &store,
            &manifest,
            self.config.engine.restore_indexes,
            &bar,
        )
        .await;
        bar.finish_and_clear();
        // What the restored data looks like, to know it unchanged once served.
        let token = match &result {
            Ok(()) => snapshot::change_token(&client).await,
            Err(_) => None,
        };
        snapshot::close(client).await;
        result?;
        self.runtime().await?.remove_container(&container).await?;
        let state = token.map(|t| CleanState {
            version,
            catalog: t.catalog,
            engine: None,
            verified: true,
        });
        self.record_clean(&b.name, state.as_ref())?;
        Ok(())
    }

    async fn stop_branch(&mut self, b: &BranchRow) -> Result<()> {
        let name = self.container_name(b);
        self.runtime().await?.remove_container(&name).await?;
        Ok(())
    }

    async fn is_running(&mut self, b: &BranchRow) -> Result<bool> {
        Ok(self.branch_state(b).await? == BranchState::Running)
    }

    /// Saves and stops HEAD before switching to `target`. A HEAD found not
    /// running (stashed, or stopped outside argon: `docker stop`, a crash) is
    /// read from its volume unless argon stopped it after a save.
    async fn leave_head(&mut self, target: &str) -> Result<LeftHead> {
        let none = LeftHead {
            name: self.row.head.clone(),
            branch: None,
            was_running: false,
            saved: None,
            checked_by: None,
        };
        let Some(head) = self.row.head.clone() else {
            return Ok(none);
        };
        let Some(b) = self.meta.branch(self.row.id, &head)? else {
            return Ok(none);
        };
        let message = format!("checkout: moving from {head} to {target}");
        if !self.is_running(&b).await? {
            // An exited container (stopped outside argon) goes; its volume stays.
            self.stop_branch(&b).await?;
            let saved = self.ensure_saved(&b, &message).await?;
            return Ok(LeftHead {
                branch: Some(self.branch(&b.name)?),
                saved,
                ..none
            });
        }
        let saved = self.stop_and_save(&b, &message).await?;
        let b = self.branch(&b.name)?;
        Ok(LeftHead {
            branch: Some(b),
            was_running: true,
            saved: saved.row,
            checked_by: Some(saved.checked_by),
            ..none
        })
    }

    /// Brings the branch that was left back up after a failed switch.
    async fn return_to(&mut self, left: LeftHead) {
        if let (Some(prev), true) = (left.branch, left.was_running) {
            let _ = self.start_branch(&prev, None).await;
        }
    }

    /// `argon checkout NAME`: saves and stops HEAD, then runs NAME on the stable port.
    pub async fn checkout(&mut self, name: &str) -> Result<CheckoutReport> {
        self.journal_begin("checkout", name)?;
        let done = self.checkout_journalled(name).await;
        self.journal_end()?;
        done
    }

    async fn checkout_journalled(&mut self, name: &str) -> Result<CheckoutReport> {
        let target = self.branch(name)?;
        if self.row.head.as_deref() == Some(name) {
            let restored = if self.is_running(&target).await? {
                None
            } else {
                self.start_branch(&target, None).await?
            };
            return Ok(CheckoutReport {
                branch: name.to_string(),
                previous: Some(name.to_string()),
                saved: None,
                checked_by: None,
                created: false,
                restored: restored.map(|v| v.to_string()),
                copied_from: None,
                uri: self.uri(),
            });
        }
        let left = self.leave_head(name).await?;
        match self.start_branch(&target, None).await {
            Ok(restored) => {
                crate::fault::point("switch:started").await;
                self.set_head(name)?;
                Ok(CheckoutReport {
                    branch: name.to_string(),
                    previous: left.name,
                    saved: left.saved.as_ref().map(VersionInfo::from),
                    checked_by: left.checked_by,
                    created: false,
                    restored: restored.map(|v| v.to_string()),
                    copied_from: None,
                    uri: self.uri(),
                })
            }
            Err(e) => {
                self.return_to(left).await;
                Err(e)
            }
        }
    }

    /// `argon checkout -b NAME [REV]`: a new branch from REV (default: HEAD's
    /// current state, saved first), switched to.
    pub async fn checkout_new(&mut self, name: &str, rev: Option<&str>) -> Result<CheckoutReport> {
        self.journal_begin("checkout", name)?;
        let done = self.checkout_new_journalled(name, rev).await;
        self.journal_end()?;
        done
    }

    async fn checkout_new_journalled(
        &mut self,
        name: &str,
        rev: Option<&str>,
    ) -> Result<CheckoutReport> {
        let name = BranchName::parse(name).map_err(Error::InvalidName)?;
        if self.meta.branch(self.row.id, name.as_str())?.is_some() {
            return Err(Error::BranchExists(name.to_string()));
        }
        // Resolve before saving: `main~1` means what `argon log main` shows now.
        let from_rev = rev.map(|r| self.resolve(r)).transpose()?;
        let left = self.leave_head(name.as_str()).await?;
        let from = from_rev.or_else(|| left.branch.as_ref().and_then(|p| p.head_version));
        // From HEAD's current state, its stopped volume is copied locally instead of restored.
        let copy_from = match (
            from_rev,
            left.branch.as_ref().and_then(|p| p.volume.clone()),
        ) {
            (None, Some(v)) if self.runtime().await?.volume_exists(&v).await? => Some(v),
            _ => None,
        };
        let mut row = self.new_branch_row(&name, from)?;
        if copy_from.is_some() {
            // A copy of HEAD's stopped volume holds what HEAD's clean state says.
            let copied = left.branch.as_ref().and_then(CleanState::of);
            row.clean = copied
                .map(|c| CleanState { engine: None, ..c })
                .as_ref()
                .map(CleanState::to_json);
        }
        self.meta.insert_branch(self.row.id, &row)?;
        let published = match from {
            Some(_) => self.publish_head(&row.name, from).await,
            None => Ok(()),
        };
        if let Err(e) = published {
            let _ = self.meta.delete_branch(self.row.id, name.as_str());
            self.return_to(left).await;
            return Err(e);
        }
        match self.start_branch(&row, copy_from.as_deref()).await {
            Ok(restored) => {
                crate::fault::point("switch:started").await;
                self.set_head(name.as_str())?;
                Ok(CheckoutReport {
                    branch: name.to_string(),
                    copied_from: copy_from.and(left.name.clone()),
                    previous: left.name,
                    saved: left.saved.as_ref().map(VersionInfo::from),
                    checked_by: left.checked_by,
                    created: true,
                    restored: restored.map(|v| v.to_string()),
                    uri: self.uri(),
                })
            }
            Err(e) => {
                let _ = self.meta.delete_branch(self.row.id, name.as_str());
                let _ = self.publish_head(name.as_str(), None).await;
                self.return_to(left).await;
                Err(e)
            }
        }
    }

    async fn running_head(&mut self) -> Result<BranchRow> {
        let b = self.head_branch()?;
        if !self.is_running(&b).await? {
            return Err(Error::HeadStashed(b.name));
        }
        Ok(b)
    }

    /// `argon commit -m MSG`: a version of HEAD while it keeps running.
    pub async fn commit(&mut self, message: &str) -> Result<SaveReport> {
        let b = self.running_head().await?;
        let saved = self.save(&b, message).await?;
        Ok(SaveReport {
            branch: b.name,
            version: saved.row.as_ref().map(VersionInfo::from),
            latest: saved
                .row
                .map(|v| v.id.to_string())
                .or(b.head_version.map(|v| v.to_string())),
            checked_by: saved.checked_by,
        })
    }

    /// `argon stash`: saves HEAD and stops its container; its volume stays.
    pub async fn stash_push(&mut self, message: Option<&str>) -> Result<SaveReport> {
        let branch = self.row.head.clone().unwrap_or_default();
        self.journal_begin("stash", &branch)?;
        let done = self.stash_push_journalled(message).await;
        self.journal_end()?;
        done
    }

    async fn stash_push_journalled(&mut self, message: Option<&str>) -> Result<SaveReport> {
        let b = self.running_head().await?;
        let saved = self.stop_and_save(&b, message.unwrap_or("stash")).await?;
        Ok(SaveReport {
            branch: b.name,
            version: saved.row.as_ref().map(VersionInfo::from),
            latest: saved
                .row
                .map(|v| v.id.to_string())
                .or(b.head_version.map(|v| v.to_string())),
            checked_by: saved.checked_by,
        })
    }

    /// `argon stash pop`: resumes a stashed HEAD.
    pub async fn stash_pop(&mut self) -> Result<CheckoutReport> {
        let branch = self.row.head.clone().unwrap_or_default();
        self.journal_begin("stash pop", &branch)?;
        let done = self.stash_pop_journalled().await;
        self.journal_end()?;
        done
    }

    async fn stash_pop_journalled(&mut self) -> Result<CheckoutReport> {
        let b = self.head_branch()?;
        if self.is_running(&b).await? {
            return Err(Error::HeadRunning(b.name));
        }
        let restored = self.start_branch(&b, None).await?;
        Ok(CheckoutReport {
            branch: b.name.clone(),
            previous: Some(b.name),
            saved: None,
            checked_by: None,
            created: false,
            restored: restored.map(|v| v.to_string()),
            copied_from: None,
            uri: self.uri(),
        })
    }

    /// `argon reset --hard REV`: HEAD's data and pointer go back to REV; the
    /// state it leaves is saved first, with its writes stopped, so no write
    /// lands in neither. REV is restored privately into a new volume and only
    /// then served; the old volume goes last, and a failure puts it back.
    pub async fn reset_hard(&mut self, rev: &str) -> Result<ResetReport> {
        let branch = self.row.head.clone().unwrap_or_default();
        self.journal_begin("reset", &branch)?;
        let done = self.reset_hard_journalled(rev).await;
        self.journal_end()?;
        done
    }

    async fn reset_hard_journalled(&mut self, rev: &str) -> Result<ResetReport> {
        let target = self.resolve(rev)?;
        let b = self.head_branch()?;
        let message = format!("reset: moving to {rev}");
        let saved = if self.is_running(&b).await? {
            self.stop_and_save(&b, &message).await?.row
        } else {
            self.stop_branch(&b).await?;
            self.ensure_saved(&b, &message).await?
        };
        let left = self.branch(&b.name)?;
        let saved_id = saved.as_ref().map(|v| v.id).or(left.head_version);
        self.meta
            .set_branch_uid(self.row.id, &left.name, &random_uid())?;
        self.meta
            .set_branch_head(self.row.id, &left.name, Some(target))?;
        self.publish_head(&left.name, Some(target)).await?;
        let fresh = self.branch(&left.name)?;
        crate::fault::point("reset:swapped").await;
        match self.start_branch(&fresh, None).await {
            Ok(_) => {
                if let Some(old) = &left.volume {
                    // Verified by the save above: its data is in the store.
                    if let Err(e) = self.runtime().await?.remove_volume(old).await {
                        (self.progress.notice)(&format!(
                            "could not remove the volume {old} that reset left: {e}"
                        ));
                    }
                }
                Ok(ResetReport {
                    branch: left.name,
                    target: target.to_string(),
                    saved: saved_id.map(|v| v.to_string()),
                })
            }
            Err(e) => {
                // Back as it was: the old identity, volume and version, served again.
                self.meta
                    .set_branch_uid(self.row.id, &left.name, &left.uid)?;
                self.meta
                    .set_branch_volume(self.row.id, &left.name, left.volume.as_deref())?;
                self.meta
                    .set_branch_head(self.row.id, &left.name, left.head_version)?;
                self.meta
                    .set_branch_clean(self.row.id, &left.name, left.clean.as_deref())?;
                let _ = self.publish_head(&left.name, left.head_version).await;
                let _ = self.start_branch(&left, None).await;
                Err(match saved_id {
                    Some(s) => Error::ResetFailed {
                        target: target.short(),
                        saved: s.short(),
                        source: Box::new(e),
                    },
                    None => e,
                })
            }
        }
    }
}
