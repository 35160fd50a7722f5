//! A cheap answer to "did this engine's data change since I last looked?",
//! so that leaving an unchanged branch does not read all of it again.
//!
//! Two signals, both required to stay equal:
//! - the engine's own write counters (`opcounters` insert/update/delete and
//!   `metrics.document` inserted/updated/deleted, plus TTL deletions) for one
//!   engine process; they only grow while it runs and start again at zero;
//! - a digest of the catalog: every user database, its collections with their
//!   options and UUIDs, and their indexes. It catches what the counters do not
//!   count (creating, dropping or renaming collections and indexes, collMod,
//!   `$out`) and survives restarts. Document counts are left out on purpose:
//!   engines without count metadata scan every collection to answer them
//!   (seconds per GB), and every document write is in the counters.
//!
//! An engine that does not report the counters gets no token: argon then
//! compares content with a full capture, as before.

use mongodb::bson::{doc, Bson, Document};
use mongodb::Client;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::user_databases;

/// One engine process: counters are only comparable within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineProcess {
    pub host: String,
    pub pid: i64,
    /// Wall-clock start of the process (localTime - uptime), in milliseconds.
    pub started_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeToken {
    pub process: EngineProcess,
    pub writes: Vec<i64>,
    pub catalog: String,
}

impl ChangeToken {
    /// Same process (a restart resets the counters), allowing for the clock
    /// arithmetic of `localTime - uptime`.
    pub fn same_process(&self, other: &ChangeToken) -> bool {
        self.process.host == other.process.host
            && self.process.pid == other.process.pid
            && (self.process.started_ms - other.process.started_ms).abs() < 5_000
    }

    /// Nothing at all was written since the process started.
    pub fn no_writes_yet(&self) -> bool {
        self.writes.iter().all(|&n| n == 0)
    }

    /// No write and no catalog change between `self` (earlier) and `now`.
    pub fn unchanged_at(&self, now: &ChangeToken) -> bool {
        self.same_process(now) && self.writes == now.writes && self.catalog == now.catalog
    }
}

fn number(d: &Document, path: &[&str]) -> Option<i64> {
    let mut current = d;
    for key in &path[..path.len() - 1] {
        current = current.get_document(key).ok()?;
    }
    match current.get(path[path.len() - 1])? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}

/// The engine's change token, or None when it does not report what is needed.
pub async fn change_token(client: &Client) -> Option<ChangeToken> {
    let admin = client.database("admin");
    let status = admin.run_command(doc! { "serverStatus": 1 }).await.ok()?;
    let counters = [
        ["opcounters", "insert", ""],
        ["opcounters", "update", ""],
        ["opcounters", "delete", ""],
        ["metrics", "document", "inserted"],
        ["metrics", "document", "updated"],
        ["metrics", "document", "deleted"],
    ];
    let mut writes = Vec::new();
    for path in counters {
        let path: Vec<&str> = path.into_iter().filter(|p| !p.is_empty()).collect();
        writes.push(number(&status, &path)?);
    }
    // Reported by MongoDB; an engine without TTL indexes may leave it out.
    writes.push(number(&status, &["metrics", "ttl", "deletedDocuments"]).unwrap_or(0));
    let local_ms = match status.get("localTime")? {
        Bson::DateTime(t) => t.timestamp_millis(),
        _ => return None,
    };
    let uptime_ms = number(&status, &["uptimeMillis"])?;
    let process = EngineProcess {
        host: status.get_str("host").unwrap_or_default().to_string(),
        pid: number(&status, &["pid"])?,
        started_ms: local_ms - uptime_ms,
    };
    let catalog = catalog_digest(client).await?;
    Some(ChangeToken {
        process,
        writes,
        catalog,
    })
}

async fn catalog_digest(client: &Client) -> Option<String> {
    let mut h = Sha256::new();
    let mut dbs = user_databases(client).await.ok()?;
    dbs.sort();
    for name in dbs {
        let db = client.database(&name);
        let reply = db.run_command(doc! { "listCollections": 1 }).await.ok()?;
        let mut colls: Vec<Document> = reply
            .get_document("cursor")
            .ok()?
            .get_array("firstBatch")
            .ok()?
            .iter()
            .filter_map(|b| b.as_document().cloned())
            .collect();
        colls.sort_by(|a, b| a.get_str("name").ok().cmp(&b.get_str("name").ok()));
        h.update(name.as_bytes());
        for c in colls {
            let cname = c.get_str("name").unwrap_or_default().to_string();
            h.update(
                Bson::Document(c.clone())
                    .into_canonical_extjson()
                    .to_string(),
            );
            if c.get_str("type").unwrap_or("collection") == "view" {
                continue;
            }
            let idx = db.run_command(doc! { "listIndexes": &cname }).await.ok()?;
            let mut indexes: Vec<String> = idx
                .get_document("cursor")
                .ok()?
                .get_array("firstBatch")
                .ok()?
                .iter()
                .map(|b| b.clone().into_canonical_extjson().to_string())
                .collect();
            indexes.sort();
            for i in indexes {
                h.update(i);
            }
        }
    }
    Some(hex::encode(h.finalize()))
}
