//! `import` from a live server: every user collection read through the
//! driver at one point in time where the server allows it (a snapshot
//! session), as a save reads HEAD. Only reads reach the source.

use mongodb::bson::doc;
use mongodb::options::ClientOptions;

use super::import::ImportReport;
use super::{Error, Project, Result};
use crate::names::{namespace_kept, unmatched_pattern, BranchName};
use crate::snapshot::{self, KnownChunks, ReadMode};

/// Times one collection's read is resumed after a network fault before the
/// import gives up (waits of 0.5 s, 1 s, 2 s, 4 s, 8 s between them).
const RESUME_ATTEMPTS: u32 = 5;

/// `uri` with the password of its user info replaced by `****`: what
/// reports and errors show.
pub fn masked_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_string();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            let shown = match user_info.contains(':') {
                true => format!("{user}:****"),
                false => user.to_string(),
            };
            format!("{scheme}://{shown}@{host}{tail}")
        }
        None => uri.to_string(),
    }
}

/// Is `source` a connection string rather than a folder?
pub fn is_uri(source: &str) -> bool {
    source.starts_with("mongodb://") || source.starts_with("mongodb+srv://")
}

impl Project {
    /// `import` from the server at `uri` (under the journal and a lease).
    pub(super) async fn import_server(
        &mut self,
        uri: &str,
        name: &BranchName,
        only: &[String],
        exclude: &[String],
    ) -> Result<ImportReport> {
        let row = self.new_branch_row(name, None)?;
        let shown = masked_uri(uri);
        let source = |message: String| Error::ImportSource {
            uri: shown.clone(),
            message: message.lines().next().unwrap_or_default().to_string(),
        };
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| source(e.to_string()))?;
        if options.server_selection_timeout.is_none() {
            options.server_selection_timeout = Some(std::time::Duration::from_secs(10));
        }
        let client = mongodb::Client::with_options(options).map_err(|e| source(e.to_string()))?;
        let answered = client
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await;
        if let Err(e) = answered {
            snapshot::close(client).await;
            return Err(source(e.to_string()));
        }
        let store = self.store().await?;
        let known = KnownChunks::new([]);
        let bar = self.progress.task(&format!("importing {shown}"));
        let (captured, consistency) = if snapshot::supports_snapshot_reads(&client).await {
            let captured = match client.start_session().snapshot(true).await {
                Ok(mut session) => {
                    snapshot::capture_resuming(
                        &client,
                        &store,
                        ReadMode::Session(&mut session),
                        &known,
                        &bar,
                        RESUME_ATTEMPTS,
                    )
                    .await
                }
                Err(e) => Err(snapshot::SnapshotError::Engine {
                    op: "starting a snapshot session on",
                    object: shown.clone(),
                    source: e,
                }),
            };
            (captured, "snapshot-read")
        } else {
            let captured = snapshot::capture_resuming(
                &client,
                &store,
                ReadMode::Plain,
                &known,
                &bar,
                RESUME_ATTEMPTS,
            )
            .await;
            (captured, "plain")
        };
        bar.finish();
        snapshot::close(client).await;
        let mut captured = captured?;
        let there: Vec<String> = captured
            .databases
            .iter()
            .flat_map(|d| {
                d.collections
                    .iter()
                    .map(move |c| format!("{}.{}", d.name, c.name))
            })
            .collect();
        if let Some(o) = unmatched_pattern(only, &there) {
            return Err(Error::NoNamespace {
                ns: o.clone(),
                version: shown.clone(),
            });
        }
        for d in &mut captured.databases {
            let db = d.name.clone();
            d.collections
                .retain(|c| namespace_kept(only, exclude, &format!("{db}.{}", c.name)));
        }
        captured.databases.retain(|d| !d.collections.is_empty());
        let mut report = ImportReport::of(
            name.as_str(),
            shown.clone().into(),
            &captured.databases,
            consistency,
            captured.resumed,
        );
        let id = self
            .record_import(
                row,
                captured.databases,
                captured.written_bytes,
                format!("imported from {shown} ({consistency})"),
                captured.engine_version,
            )
            .await?;
        report.version = id.to_string();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            masked_uri("mongodb://app:s3cret@db.example:27017/shop?authSource=admin"),
            "mongodb://app:****@db.example:27017/shop?authSource=admin"
        );
        assert_eq!(masked_uri("mongodb://host:1/?x=1"), "mongodb://host:1/?x=1");
        assert_eq!(
            masked_uri("mongodb+srv://u:p@cluster"),
            "mongodb+srv://u:****@cluster"
        );
        assert_eq!(masked_uri("mongodb://u@h"), "mongodb://u@h");
    }
}
