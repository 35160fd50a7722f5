//! Versions and tags in the metadata: the index of what the store holds.

use chrono::Utc;
use rusqlite::{params, Connection, OptionalExtension};

use super::{parse_id, parse_time, sql, Meta, Result, VersionRow};
use crate::store::VersionId;

impl Meta {
    /// Records a saved version and moves `branch` to it, atomically.
    pub fn record_version(&mut self, v: &VersionRow, branch: &str) -> Result<()> {
        let project = self.project;
        let tx = self
            .conn
            .transaction()
            .map_err(sql("recording a version"))?;
        insert_version(&tx, project, v)?;
        tx.execute(
            "UPDATE branches SET head_version = ?3 WHERE project_id = ?1 AND name = ?2",
            params![project, branch, v.id.to_string()],
        )
        .map_err(sql("recording a version"))?;
        tx.commit().map_err(sql("recording a version"))
    }

    /// Indexes a version found in the store (no branch moves).
    pub fn index_version(&self, v: &VersionRow) -> Result<()> {
        let project = self.project;
        insert_version(&self.conn, project, v)
    }

    pub fn version(&self, id: VersionId) -> Result<Option<VersionRow>> {
        let project = self.project;
        self.conn
            .query_row(
                &format!("{VERSION_COLUMNS} WHERE project_id = ?1 AND id = ?2"),
                params![project, id.to_string()],
                version_from_row,
            )
            .optional()
            .map_err(sql("reading a version"))
    }

    pub fn versions(&self) -> Result<Vec<VersionRow>> {
        let project = self.project;
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{VERSION_COLUMNS} WHERE project_id = ?1 ORDER BY created_at DESC"
            ))
            .map_err(sql("listing versions"))?;
        let rows = stmt
            .query_map(params![project], version_from_row)
            .map_err(sql("listing versions"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("listing versions"))
    }

    pub fn version_ids_with_prefix(&self, prefix: &str) -> Result<Vec<VersionId>> {
        let project = self.project;
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM versions WHERE project_id = ?1 AND substr(id, 1, ?3) = ?2")
            .map_err(sql("finding a version"))?;
        let rows = stmt
            .query_map(params![project, prefix, prefix.len() as i64], |r| {
                r.get::<_, String>(0)
            })
            .map_err(sql("finding a version"))?;
        let ids = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("finding a version"))?;
        Ok(ids.iter().filter_map(|s| VersionId::parse(s)).collect())
    }

    pub fn delete_version(&self, id: VersionId) -> Result<()> {
        let project = self.project;
        self.conn
            .execute(
                "DELETE FROM versions WHERE project_id = ?1 AND id = ?2",
                params![project, id.to_string()],
            )
            .map(|_| ())
            .map_err(sql("forgetting a version"))
    }

    /// Tags, by name: (name, version).
    pub fn tags(&self) -> Result<Vec<(String, VersionId)>> {
        let project = self.project;
        let mut stmt = self
            .conn
            .prepare("SELECT name, version FROM tags WHERE project_id = ?1 ORDER BY name")
            .map_err(sql("listing tags"))?;
        let rows = stmt
            .query_map(params![project], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(sql("listing tags"))?;
        let rows = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql("listing tags"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(n, v)| VersionId::parse(&v).map(|v| (n, v)))
            .collect())
    }

    /// Creates a tag; false when the name is taken.
    pub fn add_tag(&self, name: &str, version: VersionId) -> Result<bool> {
        let project = self.project;
        self.conn
            .execute(
                "INSERT OR IGNORE INTO tags (project_id, name, version, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![project, name, version.to_string(), Utc::now().to_rfc3339()],
            )
            .map(|n| n == 1)
            .map_err(sql("creating a tag"))
    }

    /// Deletes a tag; false when there was none.
    pub fn delete_tag(&self, name: &str) -> Result<bool> {
        let project = self.project;
        self.conn
            .execute(
                "DELETE FROM tags WHERE project_id = ?1 AND name = ?2",
                params![project, name],
            )
            .map(|n| n == 1)
            .map_err(sql("deleting a tag"))
    }
}

const VERSION_COLUMNS: &str =
    "SELECT id, branch, parent, created_at, message, capture, bytes, collections FROM versions";

fn insert_version(conn: &Connection, project: i64, v: &VersionRow) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO versions
         (project_id, id, branch, parent, created_at, message, capture, bytes, collections)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            project,
            v.id.to_string(),
            v.branch,
            v.parent.map(|p| p.to_string()),
            v.created_at.to_rfc3339(),
            v.message,
            v.capture,
            v.bytes as i64,
            v.collections as i64
        ],
    )
    .map(|_| ())
    .map_err(sql("recording a version"))
}

fn version_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        id: VersionId::parse(&r.get::<_, String>(0)?).ok_or_else(|| {
            rusqlite::Error::InvalidColumnType(0, "id".into(), rusqlite::types::Type::Text)
        })?,
        branch: r.get(1)?,
        parent: parse_id(r.get(2)?),
        created_at: parse_time(r.get(3)?),
        message: r.get(4)?,
        capture: r.get(5)?,
        bytes: r.get::<_, i64>(6)? as u64,
        collections: r.get::<_, i64>(7)? as u64,
    })
}
