//! The shared-store protocol: how machines (and clones of one project) that
//! share a store keep each other's work. Modelled on restic's repository
//! locks and kopia's two-phase maintenance; docs/store-format.md is the
//! written form.
//!
//! - **Refs.** Every machine publishes each of its branch heads as
//!   `refs/<machine>~<branch>`. gc on any machine keeps every version a ref,
//!   a tag or its own metadata reaches.
//! - **Leases.** A save holds `leases/<machine>-<nonce>` (refreshed every
//!   minute) while chunks it uploaded or found present are named by no
//!   manifest yet.
//! - **Two-phase deletion.** gc *marks* unreferenced chunks older than the
//!   safety margin (`marks/<time>-<nonce>`), and *sweeps* a mark only once the
//!   mark itself is older than the margin, under an exclusive lock
//!   (`locks/<machine>-<nonce>`) that it takes only when no live lease exists.
//!   The sweep recomputes references under the lock, so a chunk a save
//!   reused meanwhile is kept. A save that meets a live gc lock waits.
//! - **Stale holders.** A lease or lock not refreshed for `STALE`, or held by a
//!   process of this machine that no longer exists, is ignored and removed.
//!
//! Both sides write their own object first and then look for the other's, so
//! with a store that reads its own writes (S3 has since 2020, a folder always
//! has) at least one of a racing save and sweep sees the other.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{escape_name, ChunkId, ObjectKey, Result, Store, StoreError, VersionId};

pub const REFS: &str = "refs";
pub const LEASES: &str = "leases";
pub const GC_LOCKS: &str = "locks";
pub const MARKS: &str = "marks";

/// How often a holder rewrites its lease or lock.
pub const REFRESH: Duration = Duration::from_secs(60);
/// A holder not refreshed for this long is dead (restic uses 30 minutes with
/// 5-minute refreshes; argon refreshes more often).
pub const STALE: Duration = Duration::from_secs(600);
/// How long a save waits for a running sweep before giving up.
const WAIT_FOR_GC: Duration = Duration::from_secs(120);

/// `refs/<machine>~<branch>`: one machine's head of one branch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefObject {
    pub machine: String,
    pub branch: String,
    pub version: VersionId,
    pub updated_at: DateTime<Utc>,
}

/// Who holds a lease or a gc lock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub machine: String,
    pub host: String,
    pub pid: u32,
    pub op: String,
    pub started_at: DateTime<Utc>,
    pub refreshed_at: DateTime<Utc>,
}

impl Holder {
    fn new(machine: &str, op: &str) -> Holder {
        let now = Utc::now();
        Holder {
            machine: machine.to_string(),
            host: hostname(),
            pid: std::process::id(),
            op: op.to_string(),
            started_at: now,
            refreshed_at: now,
        }
    }

    /// Dead: not refreshed for `STALE`, or a process of this machine that is gone.
    pub fn is_stale(&self, this_machine: &str, now: DateTime<Utc>) -> bool {
        let silent = (now - self.refreshed_at)
            .to_std()
            .is_ok_and(|age| age > STALE);
        silent || (self.machine == this_machine && !process_alive(self.pid))
    }

    /// "save by pid 42 on laptop since 10:15:00 UTC", for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} by pid {} on {} since {}",
            self.op,
            self.pid,
            self.host,
            self.started_at.format("%H:%M:%S UTC")
        )
    }
}

/// `marks/<time>-<nonce>`: chunks gc found unreferenced at `marked_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mark {
    pub marked_at: DateTime<Utc>,
    pub chunks: Vec<ChunkId>,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    // Without /proc (not Linux) nobody can tell: assume alive, wait for STALE.
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

fn nonce() -> String {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let h = super::Hash::of(format!("{nanos}-{}", std::process::id()).as_bytes());
    h.to_hex()[..12].to_string()
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings, numbers and times always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

/// The key of `machine`'s ref for `branch`.
pub fn ref_key(machine: &str, branch: &str) -> ObjectKey {
    ObjectKey::Ref(format!("{machine}~{}", escape_name(branch)))
}

/// A save's lease: kept fresh in the background until released.
pub struct Lease {
    store: Arc<Store>,
    key: ObjectKey,
    refresher: tokio::task::JoinHandle<()>,
    /// Tells the refresher to stop between writes (see `release`).
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Lease {
    /// Ends the lease (a lease that cannot be deleted goes stale on its own).
    pub async fn release(mut self) {
        // Stopped between writes, not in one: a refresh cut off part way
        // could land after the delete below and bring the lease back.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.refresher).await;
        let _ = self.store.delete(self.key.clone()).await;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.refresher.abort();
    }
}

/// gc's exclusive right to delete chunks.
pub struct GcLock(Lease);

impl GcLock {
    pub async fn release(self) {
        self.0.release().await
    }
}

impl Store {
    pub async fn publish_ref(&self, machine: &str, branch: &str, version: VersionId) -> Result<()> {
        let body = RefObject {
            machine: machine.to_string(),
            branch: branch.to_string(),
            version,
            updated_at: Utc::now(),
        };
        self.put_bytes(ref_key(machine, branch), to_json(&body))
            .await
    }

    pub async fn delete_ref(&self, machine: &str, branch: &str) -> Result<()> {
        self.delete(ref_key(machine, branch)).await
    }

    /// Every machine's published branch heads.
    pub async fn refs(&self) -> Result<Vec<RefObject>> {
        let mut out = Vec::new();
        for name in self.list_folder(REFS).await? {
            if let Some(r) = self.read_json(ObjectKey::Ref(name)).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// An object parsed as JSON; None when it went away after listing.
    async fn read_json<T: for<'de> Deserialize<'de>>(&self, key: ObjectKey) -> Result<Option<T>> {
        match self.get_bytes(key.clone()).await {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt {
                        key: key.to_string(),
                    })
            }
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The live holders in `folder`; stale ones are removed on the way.
    async fn live_holders(
        &self,
        folder: &'static str,
        machine: &str,
        except: Option<&ObjectKey>,
    ) -> Result<Vec<Holder>> {
        let now = Utc::now();
        let mut live = Vec::new();
        for name in self.list_folder(folder).await? {
            let key = match folder {
                LEASES => ObjectKey::Lease(name),
                _ => ObjectKey::GcLock(name),
            };
            if Some(&key) == except {
                continue;
            }
            let Some(holder) = self.read_json::<Holder>(key.clone()).await? else {
                continue;
            };
            if holder.is_stale(machine, now) {
                let _ = self.delete(key).await;
            } else {
                live.push(holder);
            }
        }
        Ok(live)
    }

    /// Writes a holder object under `key` and keeps it fresh until released.
    async fn hold(self: &Arc<Self>, key: ObjectKey, holder: Holder) -> Result<Lease> {
        self.put_bytes(key.clone(), to_json(&holder)).await?;
        let (store, refresh_key) = (self.clone(), key.clone());
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let refresher = tokio::spawn(async move {
            let mut holder = holder;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(REFRESH) => {}
                    _ = &mut stopped => return,
                }
                holder.refreshed_at = Utc::now();
                let _ = store.put_bytes(refresh_key.clone(), to_json(&holder)).await;
            }
        });
        Ok(Lease {
            store: self.clone(),
            key,
            refresher,
            stop: Some(stop),
        })
    }

    /// Takes a lease for a save, waiting while a gc sweeps chunks.
    pub async fn begin_lease(self: &Arc<Self>, machine: &str, op: &str) -> Result<Lease> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_GC;
        loop {
            let key = ObjectKey::Lease(format!("{machine}-{}", nonce()));
            let lease = self.hold(key, Holder::new(machine, op)).await?;
            let sweeping = self.live_holders(GC_LOCKS, machine, None).await?;
            let Some(gc) = sweeping.first() else {
                return Ok(lease);
            };
            lease.release().await;
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Busy {
                    what: gc.describe(),
                });
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// Takes gc's exclusive lock, or names the live leases and locks that stop it.
    pub async fn take_gc_lock(
        self: &Arc<Self>,
        machine: &str,
    ) -> Result<std::result::Result<GcLock, Vec<Holder>>> {
        let key = ObjectKey::GcLock(format!("{machine}-{}", nonce()));
        let lock = self.hold(key.clone(), Holder::new(machine, "gc")).await?;
        let mut others = self.live_holders(LEASES, machine, None).await?;
        others.extend(self.live_holders(GC_LOCKS, machine, Some(&key)).await?);
        if others.is_empty() {
            Ok(Ok(GcLock(lock)))
        } else {
            lock.release().await;
            Ok(Err(others))
        }
    }

    pub async fn put_mark(&self, chunks: Vec<ChunkId>) -> Result<()> {
        let marked_at = Utc::now();
        let name = format!("{}-{}", marked_at.format("%Y%m%dT%H%M%S%.3fZ"), nonce());
        self.put_bytes(ObjectKey::Mark(name), to_json(&Mark { marked_at, chunks }))
            .await
    }

    /// Every mark with its object name.
    pub async fn marks(&self) -> Result<Vec<(String, Mark)>> {
        let mut out = Vec::new();
        for name in self.list_folder(MARKS).await? {
            if let Some(m) = self.read_json(ObjectKey::Mark(name.clone())).await? {
                out.push((name, m));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(machine: &str, pid: u32, age_secs: i64) -> Holder {
        let at = Utc::now() - chrono::Duration::seconds(age_secs);
        Holder {
            machine: machine.into(),
            host: "h".into(),
            pid,
            op: "save".into(),
            started_at: at,
            refreshed_at: at,
        }
    }

    #[test]
    fn stale_rules() {
        let me = std::process::id();
        let now = Utc::now();
        assert!(
            !holder("m1", me, 5).is_stale("m1", now),
            "a live process here"
        );
        assert!(holder("m1", me, 3600).is_stale("m1", now), "not refreshed");
        // A pid far above any pid_max: that process is gone.
        assert!(holder("m1", u32::MAX - 1, 5).is_stale("m1", now));
        // Another machine's pids mean nothing here: only its age counts.
        assert!(!holder("m2", u32::MAX - 1, 5).is_stale("m1", now));
    }

    #[test]
    fn refs_of_branches_with_slashes_are_one_key() {
        let key = ref_key("abc", "feature/x");
        assert_eq!(key.path(), "refs/abc~feature%2Fx");
    }
}
