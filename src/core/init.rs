//! `argon init`: writes `argon.toml`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{trust, Error, Result};
use crate::config::{self, Config, FileConfig};
use crate::endpoint::Endpoint;

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
    /// Engines require argon's generated login.
    pub auth: bool,
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
            .find(|p| Endpoint::local(*p).is_free())
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
            auth: opts.auth.then_some(true),
            durable_writes: None,
        }),
        serve: Some(config::ServeSection {
            port: Some(port),
            ..Default::default()
        }),
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
    let resolved = Config::resolve(dir, toml::from_str(&text).unwrap_or_default())?;
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
