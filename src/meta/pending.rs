//! Pending saves in the metadata: branches left by a switch whose version is
//! still to be recorded from their volume (see `core::pending`).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::{parse_time, sql, Meta, Result};

/// A branch whose version a background save still has to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSave {
    pub branch: String,
    /// The version's message ("checkout: moving from main to feat").
    pub message: String,
    pub created_at: DateTime<Utc>,
    /// Branches copied from the branch's volume before the save, whose
    /// parent is the version it records.
    pub forks: Vec<String>,
}

impl Meta {
    /// Records that `branch`'s version is to be saved from its volume.
    /// A save already pending for it keeps its message and forks.
    pub fn add_pending_save(&self, branch: &str, message: &str) -> Result<()> {
        insert_pending_save(&self.conn, self.project, branch, message)
            .map_err(sql("recording a pending save"))
    }

    /// Records that `fork` was copied from `branch`'s volume while its save is pending.
    pub fn add_pending_fork(&self, branch: &str, fork: &str) -> Result<()> {
        insert_pending_fork(&self.conn, self.project, branch, fork)
            .map_err(sql("recording a pending save"))
    }

    /// Every pending save, the oldest first.
    pub fn pending_saves(&self) -> Result<Vec<PendingSave>> {
        let project = self.project;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT branch, message, created_at, forks FROM pending_saves
                 WHERE project_id = ?1 ORDER BY created_at",
            )
            .map_err(sql("listing pending saves"))?;
        let rows = stmt
            .query_map(params![project], |r| {
                let forks: String = r.get(3)?;
                Ok(PendingSave {
                    branch: r.get(0)?,
                    message: r.get(1)?,
                    created_at: parse_time(r.get(2)?),
                    forks: forks.split_whitespace().map(str::to_string).collect(),
                })
            })
            .map_err(sql("listing pending saves"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("listing pending saves"))
    }

    /// The save of `branch` is done (or its branch is gone).
    pub fn delete_pending_save(&self, branch: &str) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "DELETE FROM pending_saves WHERE project_id = ?1 AND branch = ?2",
                params![project, branch],
            )
            .map(|_| ())
            .map_err(sql("clearing a pending save"))
    }
}

/// [`Meta::add_pending_save`] on `conn` (a transaction, say).
pub(super) fn insert_pending_save(
    conn: &Connection,
    project: i64,
    branch: &str,
    message: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO pending_saves (project_id, branch, message, created_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![project, branch, message, Utc::now().to_rfc3339()],
    )
    .map(|_| ())
}

/// [`Meta::add_pending_fork`] on `conn` (a transaction, say).
pub(super) fn insert_pending_fork(
    conn: &Connection,
    project: i64,
    branch: &str,
    fork: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE pending_saves SET forks = trim(forks || ' ' || ?3)
         WHERE project_id = ?1 AND branch = ?2",
        params![project, branch, fork],
    )
    .map(|_| ())
}
