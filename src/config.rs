//! Project configuration: `argon.toml` merged with `ARGON_*` environment and
//! command-line flags (flags > environment > file > defaults), in this one place.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

use crate::names::{BranchName, ProjectName};

pub const CONFIG_FILE: &str = "argon.toml";
/// The official image, pinned to a major.minor so a pull never changes the engine under a user.
pub const DEFAULT_IMAGE: &str = "mongo:7.0";
pub const DEFAULT_DATA_DIR: &str = "/data/db";
pub const DEFAULT_ENGINE_PORT: u16 = 27017;
pub const DEFAULT_SERVE_PORT: u16 = 27018;
pub const DEFAULT_PROXY: bool = true;
pub const DEFAULT_WARM: u32 = 2;
pub const DEFAULT_BACKGROUND_SAVE: bool = true;
/// Each warm branch holds an engine's memory.
pub const MAX_WARM: u32 = 16;

/// `argon.toml` as written on disk. Every field is optional; unknown keys are errors.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve: Option<ServeSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSection>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    pub name: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_indexes: Option<IndexTiming>,
    /// Engines require a login (argon's generated one, see `credentials`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<bool>,
    /// The engine puts every write in its files before acknowledging it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durable_writes: Option<bool>,
}

/// When a restore builds secondary indexes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexTiming {
    /// After all documents are in: fastest on MongoDB (what mongorestore does).
    #[default]
    AfterData,
    /// Before documents go in, maintained while inserting: for engines whose
    /// index builds over existing data are slow.
    BeforeData,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    pub port: Option<u16>,
    /// HEAD is served through argon's proxy on the stable port (see src/proxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<bool>,
    /// How many branches besides HEAD stay warm (paused) after a switch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm: Option<u32>,
    /// The memory warm branches' engines may hold together ("2G"; "off").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm_memory: Option<String>,
    /// HEAD with no client for this long is stashed; the next client wakes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_suspend: Option<String>,
    /// A branch left by `checkout` or `stash` is saved after the command
    /// returns, by a background argon, rather than before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_save: Option<bool>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// How long an S3 request may go without progress ("30s", "2m").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitSection {
    pub follow: Option<bool>,
    pub base: Option<String>,
    pub auto_create: Option<bool>,
}

/// The engine a branch runs: image, optional command, where its data lives.
#[derive(Debug, Clone, Serialize)]
pub struct EngineConfig {
    pub image: String,
    pub command: Vec<String>,
    pub data_dir: String,
    pub port: u16,
    pub restore_indexes: IndexTiming,
    /// Engines run with `--auth` and argon's generated login is the only user.
    pub auth: bool,
    /// The engine puts every write in its files before acknowledging it
    /// (secantusd-rs `--sync-on-commit`): a copy of its files taken while it
    /// is paused holds every acknowledged write, even where it cannot fence
    /// its writes with `fsyncLock`.
    pub durable_writes: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreConfig {
    pub url: StoreUrl,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// An S3 request that reads or writes nothing for this long is retried;
    /// one attempt may last four times as long (see `store::s3`).
    pub timeout: std::time::Duration,
}

/// Default of `[store] timeout`.
pub const DEFAULT_STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// "30s", "2m", "1h" or plain seconds, between `min` and `max` seconds, for
/// the setting `key`.
fn parse_duration(
    key: &str,
    text: &str,
    min: u64,
    max: u64,
) -> Result<std::time::Duration, String> {
    let (n, unit) = number_and_unit(text)
        .ok_or_else(|| format!("{key} '{text}' is not a duration like '30s' or '2m'"))?;
    let secs = match unit {
        "" | "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .filter(|s| (min..=max).contains(s))
    .ok_or_else(|| {
        format!(
            "{key} '{text}' must be between {} and {}, like '30s' or '2m'",
            human_secs(min),
            human_secs(max)
        )
    })?;
    Ok(std::time::Duration::from_secs(secs))
}

/// "30s" as (30, "s"); None without a leading number.
pub(crate) fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    Some((n.parse().ok()?, unit))
}

/// `512K`, `64M`, `1G` (`MiB`, `GB` too: binary units), or bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (n, unit) =
        number_and_unit(text).ok_or_else(|| format!("'{text}' is not a size like 64M or 1G"))?;
    let scale: u64 = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(format!("'{text}': use a unit K, M, G or T (e.g. 64M)")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("'{text}' is too large"))
}

fn human_secs(s: u64) -> String {
    match s {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GitConfig {
    pub follow: bool,
    pub base: BranchName,
    pub auto_create: bool,
}

/// The effective configuration of one project.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub root: PathBuf,
    pub name: ProjectName,
    pub engine: EngineConfig,
    pub serve_port: u16,
    /// HEAD's engine sits on a private port behind argon's proxy on the
    /// stable port, rather than on the stable port itself.
    pub serve_proxy: bool,
    /// Branches kept warm (engine paused on its private port) besides HEAD:
    /// a switch to one is an unpause and a retarget. Only with the proxy.
    pub serve_warm: u32,
    /// The memory the warm branches' engines may hold together, in bytes:
    /// the least recently left are stopped until they fit. `None`: no limit
    /// but the count.
    pub warm_memory: Option<u64>,
    /// With the proxy: HEAD with no client connection for this long is
    /// stashed, and the first connection wakes it. `None`: never.
    pub idle_suspend: Option<std::time::Duration>,
    /// The branch a switch or `stash` leaves is stopped and recorded
    /// afterwards from its volume by a background argon (a pending save).
    pub background_save: bool,
    pub store: StoreConfig,
    pub git: GitConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no argon.toml in {0} or any parent folder")]
    NotAProject(PathBuf),
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{var}={value} is not valid: {message}")]
    InvalidEnv {
        var: &'static str,
        value: String,
        message: String,
    },
}

impl ConfigError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::NotAProject(_) => {
                Some("run 'argon init' in your application's folder, or pass -C DIR".into())
            }
            ConfigError::Invalid { .. } => {
                Some("see the configuration reference in README.md".into())
            }
            _ => None,
        }
    }
}

/// argon's own state folder: `$ARGON_HOME`, else `$XDG_DATA_HOME/argon`, else `~/.local/share/argon`.
pub fn state_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("ARGON_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("argon");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/argon")
}

/// The folder holding `argon.toml`, searched from `start` upwards.
pub fn find_root(start: &Path) -> Result<PathBuf, ConfigError> {
    let start = start.canonicalize().map_err(|source| ConfigError::Read {
        path: start.to_path_buf(),
        source,
    })?;
    start
        .ancestors()
        .find(|dir| dir.join(CONFIG_FILE).is_file())
        .map(Path::to_path_buf)
        .ok_or(ConfigError::NotAProject(start))
}

fn env(var: &'static str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// A yes/no environment setting, when set.
fn env_bool(var: &'static str) -> Result<Option<bool>, ConfigError> {
    match env(var).as_deref() {
        None => Ok(None),
        Some("1" | "true" | "yes") => Ok(Some(true)),
        Some("0" | "false" | "no") => Ok(Some(false)),
        Some(v) => Err(ConfigError::InvalidEnv {
            var,
            value: v.to_string(),
            message: "not true or false".into(),
        }),
    }
}

impl Config {
    /// Loads the project at `root` (which holds `argon.toml`) and applies environment and flags.
    pub fn load(root: &Path) -> Result<Config, ConfigError> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            message: e.message().to_string(),
        })?;
        Self::resolve(root, file)
    }

    /// The settings of the project at `root`: `ARGON_*` environment over
    /// `argon.toml` (`file`) over defaults. (Command-line flags only exist
    /// for `argon init`, which writes them into the file.)
    pub fn resolve(root: &Path, file: FileConfig) -> Result<Config, ConfigError> {
        let path = root.join(CONFIG_FILE);
        let invalid = |message: String| ConfigError::Invalid {
            path: path.clone(),
            message,
        };
        let project = file.project.unwrap_or_default();
        let engine = file.engine.unwrap_or_default();
        let serve = file.serve.unwrap_or_default();
        let store = file.store.unwrap_or_default();
        let git = file.git.unwrap_or_default();

        let name = match project.name {
            Some(n) => ProjectName::parse(&n).map_err(invalid)?,
            None => ProjectName::from_folder(
                &root
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        };

        let image = env("ARGON_IMAGE")
            .or(engine.image)
            .unwrap_or_else(|| DEFAULT_IMAGE.to_string());
        if image.trim().is_empty() || image.contains(char::is_whitespace) {
            return Err(invalid(format!(
                "engine.image '{image}' is not an image reference"
            )));
        }
        let command = match env("ARGON_ENGINE_COMMAND") {
            Some(cmd) => cmd.split_whitespace().map(str::to_string).collect(),
            None => engine.command.unwrap_or_default(),
        };
        let data_dir = engine
            .data_dir
            .unwrap_or_else(|| DEFAULT_DATA_DIR.to_string());
        if !data_dir.starts_with('/') || data_dir == "/" {
            return Err(invalid(format!(
                "engine.data_dir '{data_dir}' must be an absolute path inside the container, not '/'"
            )));
        }
        let engine_port = engine.port.unwrap_or(DEFAULT_ENGINE_PORT);
        if engine_port == 0 {
            return Err(invalid("engine.port must be between 1 and 65535".into()));
        }

        let auth = env_bool("ARGON_ENGINE_AUTH")?
            .or(engine.auth)
            .unwrap_or(false);
        let durable_writes = env_bool("ARGON_ENGINE_DURABLE_WRITES")?
            .or(engine.durable_writes)
            .unwrap_or(false);
        let serve_proxy = env_bool("ARGON_PROXY")?
            .or(serve.proxy)
            .unwrap_or(DEFAULT_PROXY);
        let serve_warm = match env("ARGON_WARM") {
            Some(v) => v.parse().map_err(|_| ConfigError::InvalidEnv {
                var: "ARGON_WARM",
                value: v.clone(),
                message: "not a count of branches".into(),
            })?,
            None => serve.warm.unwrap_or(DEFAULT_WARM),
        };
        if serve_warm > MAX_WARM {
            return Err(invalid(format!(
                "serve.warm {serve_warm} is more than {MAX_WARM}: each warm branch keeps an engine in memory"
            )));
        }
        let serve_warm = if serve_proxy { serve_warm } else { 0 };
        let warm_memory = match env("ARGON_WARM_MEMORY").or(serve.warm_memory) {
            Some(text) if text.trim() == "off" => None,
            Some(text) => {
                Some(parse_size(&text).map_err(|e| invalid(format!("serve.warm_memory: {e}")))?)
            }
            None => None,
        };
        let idle_suspend = match env("ARGON_IDLE_SUSPEND").or(serve.idle_suspend) {
            Some(text) if text.trim() == "off" || text.trim() == "0" => None,
            Some(text) => Some(
                parse_duration("serve.idle_suspend", &text, 2, 7 * 24 * 3600).map_err(invalid)?,
            ),
            None => None,
        };
        if idle_suspend.is_some() && !serve_proxy {
            return Err(invalid(
                "serve.idle_suspend needs the proxy (serve.proxy = true): it wakes HEAD on a connection".into(),
            ));
        }

        let background_save = env_bool("ARGON_BACKGROUND_SAVE")?
            .or(serve.background_save)
            .unwrap_or(DEFAULT_BACKGROUND_SAVE);

        let serve_port = match env("ARGON_PORT") {
            Some(v) => v.parse().map_err(|_| ConfigError::InvalidEnv {
                var: "ARGON_PORT",
                value: v.clone(),
                message: "not a port number".into(),
            })?,
            None => serve.port.unwrap_or(DEFAULT_SERVE_PORT),
        };
        if serve_port < 1024 {
            return Err(invalid(format!(
                "serve.port {serve_port} is privileged or zero; use a port from 1024 to 65535"
            )));
        }

        let url_text = env("ARGON_STORE")
            .or(store.url)
            .unwrap_or_else(|| default_store_url(&state_dir()));
        let url = StoreUrl::parse(&url_text).map_err(invalid)?;
        let endpoint = env("ARGON_STORE_ENDPOINT").or(store.endpoint);
        if let Some(ep) = &endpoint {
            if !(ep.starts_with("http://") || ep.starts_with("https://")) {
                return Err(invalid(format!(
                    "store.endpoint '{ep}' must start with http:// or https://"
                )));
            }
        }

        let timeout = match env("ARGON_STORE_TIMEOUT").or(store.timeout) {
            Some(text) => parse_duration("store.timeout", &text, 1, 3600).map_err(invalid)?,
            None => DEFAULT_STORE_TIMEOUT,
        };

        let base = BranchName::parse(git.base.as_deref().unwrap_or("main")).map_err(invalid)?;
        Ok(Config {
            root: root.to_path_buf(),
            name,
            engine: EngineConfig {
                image,
                command,
                data_dir,
                port: engine_port,
                restore_indexes: engine.restore_indexes.unwrap_or_default(),
                auth,
                durable_writes,
            },
            serve_port,
            serve_proxy,
            serve_warm,
            warm_memory,
            idle_suspend,
            background_save,
            store: StoreConfig {
                url,
                endpoint,
                region: store.region,
                timeout,
            },
            git: GitConfig {
                follow: git.follow.unwrap_or(true),
                base,
                auto_create: git.auto_create.unwrap_or(true),
            },
        })
    }
}

pub fn default_store_url(state: &Path) -> String {
    format!("file://{}", state.join("store").display())
}

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    File(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl StoreUrl {
    pub fn parse(text: &str) -> Result<StoreUrl, String> {
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "store URL '{text}' needs an absolute path, e.g. file:///home/me/argon-store"
                ));
            }
            return Ok(StoreUrl::File(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                && !bucket.starts_with(['-', '.'])
                && !bucket.ends_with(['-', '.']);
            if !valid_bucket {
                return Err(format!(
                    "store URL '{text}': '{bucket}' is not a valid S3 bucket name (3-63 lowercase letters, digits, '-', '.')"
                ));
            }
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        Err(format!(
            "store URL '{text}' is not supported; use file:///path or s3://bucket/prefix"
        ))
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::File(p) => write!(f, "file://{}", p.display()),
            StoreUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Serialize for StoreUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: "argon.toml".into(),
            message: e.to_string(),
        })?;
        Config::resolve(Path::new("/tmp/My Shop"), file)
    }

    #[test]
    fn defaults_are_for_the_official_image() {
        let c = parse("").unwrap();
        assert_eq!(c.name.as_str(), "my-shop");
        assert_eq!(c.engine.image, DEFAULT_IMAGE);
        assert_eq!(c.engine.data_dir, "/data/db");
        assert_eq!(c.git.base.as_str(), "main");
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(parse("[engine]\nimgae = 'x'").is_err());
        assert!(parse("[serve]\nport = 80").is_err());
        assert!(parse("[store]\nurl = 'ftp://x'").is_err());
        assert!(parse("[engine]\ndata_dir = 'relative'").is_err());
        assert!(parse("[git]\nbase = 'a..b'").is_err());
        assert!(parse("[store]\nurl = 's3://bucket/p'\nendpoint = 'localhost:9000'").is_err());
    }

    #[test]
    fn store_urls() {
        assert_eq!(
            StoreUrl::parse("s3://my-bucket/team/x").unwrap(),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: "team/x".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("file:///a/b").unwrap(),
            StoreUrl::File("/a/b".into())
        );
        for bad in ["file://rel", "s3://A_B", "s3://ab", "http://x", "/tmp/x"] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            StoreUrl::parse("s3://abc/").unwrap().to_string(),
            "s3://abc"
        );
    }
}
