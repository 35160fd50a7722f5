//! Local metadata in SQLite: projects, branches, versions and an intent journal.
//! It is an index of the store and of local Docker state, kept consistent with
//! transactions; schema changes are numbered migrations.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::store::VersionId;

mod pending;
pub use pending::PendingSave;
mod schema;
mod versions;

use schema::MIGRATIONS;

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("cannot open the metadata database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot make the metadata database {path} private to its owner")]
    Private {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("metadata database error while {op}")]
    Sql {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the metadata database was written by a newer argon (schema {found}, this argon knows {known})")]
    TooNew { found: i64, known: i64 },
}

type Result<T> = std::result::Result<T, MetaError>;

fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> MetaError {
    move |source| MetaError::Sql { op, source }
}

#[derive(Debug, Clone)]
pub struct ProjectRow {
    /// Unique per project folder; names local Docker objects.
    pub key: String,
    pub head: Option<String>,
}

/// What the branch left by `Meta::hand_over` becomes.
#[derive(Debug, Clone)]
pub struct HandedOver {
    pub name: String,
    /// Its new identity.
    pub uid: String,
    /// The copy of its files.
    pub volume: String,
    pub clean: Option<String>,
    /// The message of its pending save, when it changed.
    pub pending: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BranchRow {
    pub name: String,
    /// Stable across renames; labels the branch's Docker objects.
    pub uid: String,
    pub head_version: Option<VersionId>,
    /// The local volume holding the branch's data, when there is one.
    pub volume: Option<String>,
    pub created_at: DateTime<Utc>,
    /// core's record of the state in which the data last matched a version.
    pub clean: Option<String>,
}

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub id: VersionId,
    pub branch: String,
    pub parent: Option<VersionId>,
    pub created_at: DateTime<Utc>,
    pub message: String,
    pub capture: String,
    pub bytes: u64,
    pub collections: u64,
}

/// An operation that was under way; if found after taking the project lock,
/// the process that started it died and its effects must be recovered.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub kind: String,
    pub branch: String,
}

pub struct Meta {
    conn: Connection,
    /// The project every call reads and writes (see `open`).
    project: i64,
}

fn parse_time(s: String) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

fn parse_id(s: Option<String>) -> Option<VersionId> {
    s.as_deref().and_then(VersionId::parse)
}

impl Meta {
    /// Opens the metadata at `path` for the project rooted at `root`
    /// (registered on first use): every call of the handle is about it.
    pub fn open(path: &Path, root: &str, name: &str, key: &str) -> Result<(Meta, ProjectRow)> {
        let open_err = |source| MetaError::Open {
            path: path.to_path_buf(),
            source,
        };
        // Private before SQLite creates it (its -wal and -shm files take its mode).
        let private = if path.exists() {
            crate::private::restrict(path)
        } else {
            crate::private::create_file(path).map(|_| ())
        };
        private.map_err(|source| MetaError::Private {
            path: path.to_path_buf(),
            source,
        })?;
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        // Each step re-reads the version under SQLite's write lock: two argon
        // processes opening a new database at once (a command and the
        // background save it started) migrate it once.
        let known = MIGRATIONS.len() as i64;
        loop {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql("migrating the schema"))?;
            let current: i64 = tx
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(open_err)?;
            if current > known {
                return Err(MetaError::TooNew {
                    found: current,
                    known,
                });
            }
            if current == known {
                break;
            }
            tx.execute_batch(MIGRATIONS[current as usize])
                .map_err(sql("migrating the schema"))?;
            tx.pragma_update(None, "user_version", current + 1)
                .map_err(sql("migrating the schema"))?;
            tx.commit().map_err(sql("migrating the schema"))?;
        }
        let mut meta = Meta { conn, project: 0 };
        let row = meta.register(root, name, key)?;
        Ok((meta, row))
    }

    /// Registers the project rooted at `root` (once) and binds the handle to it.
    fn register(&mut self, root: &str, name: &str, key: &str) -> Result<ProjectRow> {
        self.conn
            .execute(
                "INSERT INTO projects (root, name, key, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(root) DO UPDATE SET name = excluded.name",
                params![root, name, key, Utc::now().to_rfc3339()],
            )
            .map_err(sql("registering the project"))?;
        self.conn
            .query_row(
                "SELECT id FROM projects WHERE root = ?1",
                params![root],
                |r| r.get(0),
            )
            .map_err(sql("reading the project"))
            .map(|id| self.project = id)?;
        self.row()
    }

    /// The project's row as it is now (another process may have moved HEAD).
    pub fn row(&self) -> Result<ProjectRow> {
        self.conn
            .query_row(
                "SELECT key, head FROM projects WHERE id = ?1",
                params![self.project],
                |r| {
                    Ok(ProjectRow {
                        key: r.get(0)?,
                        head: r.get(1)?,
                    })
                },
            )
            .map_err(sql("reading the project"))
    }

    pub fn set_head(&self, head: Option<&str>) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "UPDATE projects SET head = ?2 WHERE id = ?1",
                params![project, head],
            )
            .map(|_| ())
            .map_err(sql("moving HEAD"))
    }

    pub fn branches(&self) -> Result<Vec<BranchRow>> {
        let project = self.project;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, uid, head_version, volume, created_at, clean FROM branches
                 WHERE project_id = ?1 ORDER BY name",
            )
            .map_err(sql("listing branches"))?;
        let rows = stmt
            .query_map(params![project], branch_from_row)
            .map_err(sql("listing branches"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("listing branches"))
    }

    pub fn branch(&self, name: &str) -> Result<Option<BranchRow>> {
        let project = self.project;
        self.conn
            .query_row(
                "SELECT name, uid, head_version, volume, created_at, clean FROM branches
                 WHERE project_id = ?1 AND name = ?2",
                params![project, name],
                branch_from_row,
            )
            .optional()
            .map_err(sql("reading a branch"))
    }

    pub fn insert_branch(&self, b: &BranchRow) -> Result<()> {
        let project = self.project;
        insert_branch(&self.conn, project, b, None).map_err(sql("creating a branch"))
    }

    pub fn set_branch_head(&self, name: &str, v: Option<VersionId>) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "UPDATE branches SET head_version = ?3 WHERE project_id = ?1 AND name = ?2",
                params![project, name, v.map(|v| v.to_string())],
            )
            .map(|_| ())
            .map_err(sql("moving a branch"))
    }

    /// Records that `name` was left warm now (`true`), or is not warm any more.
    pub fn set_branch_warm(&self, name: &str, warm: bool) -> Result<()> {
        let project = self.project;
        let at = warm.then(|| Utc::now().to_rfc3339());
        self.conn
            .execute(
                "UPDATE branches SET left_warm_at = ?3 WHERE project_id = ?1 AND name = ?2",
                params![project, name, at],
            )
            .map(|_| ())
            .map_err(sql("recording a warm branch"))
    }

    /// The branches recorded warm, the most recently left first.
    pub fn warm_branches(&self) -> Result<Vec<String>> {
        let project = self.project;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name FROM branches WHERE project_id = ?1 AND left_warm_at IS NOT NULL
                 ORDER BY left_warm_at DESC",
            )
            .map_err(sql("listing warm branches"))?;
        let rows = stmt
            .query_map(params![project], |row| row.get(0))
            .map_err(sql("listing warm branches"))?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
            .map_err(sql("listing warm branches"))
    }

    pub fn set_branch_clean(&self, name: &str, clean: Option<&str>) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "UPDATE branches SET clean = ?3 WHERE project_id = ?1 AND name = ?2",
                params![project, name, clean],
            )
            .map(|_| ())
            .map_err(sql("recording a branch's saved state"))
    }

    pub fn set_branch_volume(&self, name: &str, volume: Option<&str>) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "UPDATE branches SET volume = ?3 WHERE project_id = ?1 AND name = ?2",
                params![project, name, volume],
            )
            .map(|_| ())
            .map_err(sql("recording a branch's volume"))
    }

    /// Gives a branch a new identity (container and volume names derive from
    /// its uid), with no volume yet: `reset --hard` fills the new one while the
    /// old one still holds the state being left.
    pub fn set_branch_uid(&self, name: &str, uid: &str) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "UPDATE branches SET uid = ?3, volume = NULL, clean = NULL WHERE project_id = ?1 AND name = ?2",
                params![project, name, uid],
            )
            .map(|_| ())
            .map_err(sql("renewing a branch's identity"))
    }

    /// `checkout -b` from a running HEAD whose engine goes on as the new
    /// branch, in one transaction: the new branch `fork` takes over the
    /// identity of the branch left (its uid, which names the engine and the
    /// volume), the branch left takes `left.uid` with the copy of its files
    /// `left.volume`, its save pending (`left.pending`) when it changed, and
    /// HEAD moves to the new branch. A crash leaves either all of it or none.
    /// `fork_base`: the engine's change token (JSON) when it was handed
    /// over, for a fork whose version is still to be recorded.
    pub fn hand_over(
        &mut self,
        left: &HandedOver,
        fork: &BranchRow,
        fork_base: Option<&str>,
    ) -> Result<()> {
        let project = self.project;
        let op = "handing HEAD's engine to a new branch";
        let tx = self.conn.transaction().map_err(sql(op))?;
        tx.execute(
            "UPDATE branches SET uid = ?3, volume = ?4, clean = ?5, left_warm_at = NULL
             WHERE project_id = ?1 AND name = ?2",
            params![project, left.name, left.uid, left.volume, left.clean],
        )
        .map_err(sql(op))?;
        insert_branch(&tx, project, fork, fork_base).map_err(sql(op))?;
        if let Some(message) = &left.pending {
            pending::insert_pending_save(&tx, project, &left.name, message).map_err(sql(op))?;
            pending::insert_pending_fork(&tx, project, &left.name, &fork.name).map_err(sql(op))?;
        }
        tx.execute(
            "UPDATE projects SET head = ?2 WHERE id = ?1",
            params![project, fork.name],
        )
        .map_err(sql(op))?;
        tx.commit().map_err(sql(op))
    }

    /// The change token recorded by `hand_over` for fork `name`, cleared:
    /// it is read once, when the version the fork began at is recorded.
    pub fn take_fork_base(&self, name: &str) -> Result<Option<String>> {
        let project = self.project;
        let op = "reading a fork's engine state";
        let base: Option<String> = self
            .conn
            .query_row(
                "SELECT fork_base FROM branches WHERE project_id = ?1 AND name = ?2",
                params![project, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql(op))?
            .flatten();
        if base.is_some() {
            self.conn
                .execute(
                    "UPDATE branches SET fork_base = NULL WHERE project_id = ?1 AND name = ?2",
                    params![project, name],
                )
                .map_err(sql(op))?;
        }
        Ok(base)
    }

    /// Renames a branch, and HEAD with it when it points there, in one transaction.
    pub fn rename_branch(&mut self, old: &str, new: &str) -> Result<()> {
        let project = self.project;
        let tx = self.conn.transaction().map_err(sql("renaming a branch"))?;
        tx.execute(
            "UPDATE branches SET name = ?3 WHERE project_id = ?1 AND name = ?2",
            params![project, old, new],
        )
        .map_err(sql("renaming a branch"))?;
        tx.execute(
            "UPDATE projects SET head = ?3 WHERE id = ?1 AND head = ?2",
            params![project, old, new],
        )
        .map_err(sql("renaming a branch"))?;
        tx.commit().map_err(sql("renaming a branch"))
    }

    pub fn delete_branch(&self, name: &str) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "DELETE FROM branches WHERE project_id = ?1 AND name = ?2",
                params![project, name],
            )
            .map(|_| ())
            .map_err(sql("deleting a branch"))
    }

    pub fn journal_begin(&self, kind: &str, branch: &str) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO journal (project_id, kind, branch, started_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![project, kind, branch, Utc::now().to_rfc3339()],
            )
            .map(|_| ())
            .map_err(sql("writing the journal"))
    }

    pub fn journal_end(&self) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "DELETE FROM journal WHERE project_id = ?1",
                params![project],
            )
            .map(|_| ())
            .map_err(sql("writing the journal"))
    }

    pub fn journal_pending(&self) -> Result<Option<JournalEntry>> {
        let project = self.project;
        self.conn
            .query_row(
                "SELECT kind, branch FROM journal WHERE project_id = ?1",
                params![project],
                |r| {
                    Ok(JournalEntry {
                        kind: r.get(0)?,
                        branch: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(sql("reading the journal"))
    }
}

/// Inserts branch `b` (with the change token of the engine it took over,
/// for a fork made by `Meta::hand_over`).
fn insert_branch(
    conn: &Connection,
    project: i64,
    b: &BranchRow,
    fork_base: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO branches
             (project_id, name, uid, head_version, volume, created_at, clean, fork_base)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            project,
            b.name,
            b.uid,
            b.head_version.map(|v| v.to_string()),
            b.volume,
            b.created_at.to_rfc3339(),
            b.clean,
            fork_base
        ],
    )
    .map(|_| ())
}

fn branch_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BranchRow> {
    Ok(BranchRow {
        name: r.get(0)?,
        uid: r.get(1)?,
        head_version: parse_id(r.get(2)?),
        volume: r.get(3)?,
        created_at: parse_time(r.get(4)?),
        clean: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Hash;

    #[test]
    fn migrates_and_records_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let (mut m, _) = Meta::open(&path, "/x", "x", "x-1").unwrap();
        let b = BranchRow {
            name: "main".into(),
            uid: "u1".into(),
            head_version: None,
            volume: None,
            created_at: Utc::now(),
            clean: None,
        };
        m.insert_branch(&b).unwrap();
        let v = VersionRow {
            id: VersionId(Hash::of(b"v1")),
            branch: "main".into(),
            parent: None,
            created_at: Utc::now(),
            message: "m".into(),
            capture: "fsync-lock".into(),
            bytes: 1,
            collections: 1,
        };
        m.record_version(&v, "main").unwrap();
        assert_eq!(m.branch("main").unwrap().unwrap().head_version, Some(v.id));
        m.set_head(Some("main")).unwrap();
        m.rename_branch("main", "trunk").unwrap();
        drop(m);
        // Reopening runs no migration twice and keeps the data.
        let (m, p) = Meta::open(&path, "/x", "x", "x-1").unwrap();
        assert_eq!(p.head.as_deref(), Some("trunk"));
        let prefix = &v.id.to_string()[..6];
        assert_eq!(m.version_ids_with_prefix(prefix).unwrap(), vec![v.id]);
    }
}
