//! A temporary project driven through the real binary, plus a driver client to check data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use mongodb::bson::{doc, Document, RawDocumentBuf};

/// Which store a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    File,
    S3,
}

pub fn required_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the tests through the README's test command (scripts/test.sh), which starts the test services")
    })
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// PATH for argon and for what it runs (git hooks, plugins): the built
/// binaries (argon, argon-seed), the shipped script plugins, then the system's.
pub fn test_path() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_argon"))
        .parent()
        .unwrap()
        .to_path_buf();
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    format!(
        "{}:{}:{}",
        bin.display(),
        plugins.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

pub struct Project {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub home: PathBuf,
    pub name: String,
    pub port: u16,
    /// The Docker engine argon and the test's `docker` calls use: DOCKER_HOST's when None.
    pub docker_host: Option<DockerHost>,
}

/// A Docker engine reached over TCP, with TLS when `cert_path` is set.
#[derive(Clone)]
pub struct DockerHost {
    pub host: String,
    pub cert_path: Option<String>,
}

impl DockerHost {
    /// The second dockerd of scripts/second-dockerd.sh: TCP with TLS on 127.0.0.2.
    pub fn second() -> DockerHost {
        DockerHost {
            host: required_env("ARGON_TEST_REMOTE_DOCKER_HOST"),
            cert_path: Some(required_env("ARGON_TEST_REMOTE_DOCKER_CERT_PATH")),
        }
    }

    /// Points `cmd` (argon, docker, git with hooks) at this engine.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("DOCKER_HOST", &self.host);
        if let Some(certs) = &self.cert_path {
            cmd.env("DOCKER_TLS_VERIFY", "1")
                .env("DOCKER_CERT_PATH", certs);
        }
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// The engine command for the test image; `standalone` hides the replica-set
/// advertisement, so snapshot reads are refused and another capture rung is used.
pub fn engine_command(standalone: bool) -> Vec<String> {
    let mut cmd: Vec<String> = required_env("ARGON_TEST_ENGINE_COMMAND")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if standalone {
        cmd.push("--standalone".into());
        // The paused-copy rung needs data files that hold every acknowledged
        // write after `fsync`; this engine only guarantees that when it syncs
        // on commit (without it, a database created just before a save can be
        // missing from the copy).
        cmd.push("--sync-on-commit".into());
    }
    cmd
}

impl Project {
    pub fn new(test: &str, backend: Backend) -> Project {
        Self::with_engine(test, backend, false)
    }

    pub fn with_engine(test: &str, backend: Backend, standalone: bool) -> Project {
        Self::with_image(test, backend, standalone, &required_env("ARGON_TEST_IMAGE"))
    }

    /// A project whose engine runs `image` (a variant of the test image).
    pub fn with_image(test: &str, backend: Backend, standalone: bool, image: &str) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}-{n}-{}", std::process::id(), test.replace('_', "-"));
        let dir = tmp.path().join("app");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let store = match backend {
            Backend::File => format!("file://{}", tmp.path().join("store").display()),
            Backend::S3 => {
                // s3s-fs keeps each bucket as a folder of its data directory.
                let bucket = format!("argon-{}", name.to_lowercase());
                let bucket: String = bucket.chars().take(63).collect();
                let bucket = bucket.trim_end_matches('-').to_string();
                std::fs::create_dir_all(
                    Path::new(&required_env("ARGON_TEST_S3_DIR")).join(&bucket),
                )
                .unwrap();
                format!("s3://{bucket}/team")
            }
        };
        let p = Project {
            _tmp: tmp,
            dir,
            home,
            name: name.clone(),
            port,
            docker_host: None,
        };
        let mut init = vec![
            "init".to_string(),
            "--name".into(),
            name,
            "--image".into(),
            image.to_string(),
            "--port".into(),
            port.to_string(),
            "--store".into(),
            store,
            "--command".into(),
        ];
        init.extend(engine_command(standalone));
        let r = p.run(&init.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(r.code, 0, "init failed: {}", r.stderr);
        if matches!(backend, Backend::S3) {
            let toml = std::fs::read_to_string(p.dir.join("argon.toml")).unwrap();
            let toml = toml.replace(
                "[store]\n",
                &format!(
                    "[store]\nendpoint = \"{}\"\n",
                    required_env("ARGON_TEST_S3_ENDPOINT")
                ),
            );
            std::fs::write(p.dir.join("argon.toml"), toml).unwrap();
        }
        p
    }

    /// A project whose engine puts every write in its files before
    /// acknowledging it (`--sync-on-commit`), as `[engine] durable_writes`
    /// tells argon: the test engine cannot fence its writes, and only such
    /// an engine lets `checkout -b` hand HEAD's engine over.
    pub fn durable(test: &str, backend: Backend) -> Project {
        let p = Project::new(test, backend);
        let path = p.dir.join("argon.toml");
        let toml = std::fs::read_to_string(&path).unwrap();
        let command = toml
            .lines()
            .find(|l| l.starts_with("command = ["))
            .unwrap_or_else(|| panic!("no engine command in {toml}"));
        let synced = command.replace(']', ", \"--sync-on-commit\"]");
        let toml = toml
            .replace(command, &synced)
            .replace("[engine]\n", "[engine]\ndurable_writes = true\n");
        std::fs::write(&path, toml).unwrap();
        p
    }

    /// Sets `[serve] warm`: how many branches left stay warm.
    pub fn set_warm(&self, n: u32) {
        self.set_serve(&format!("warm = {n}"));
    }

    /// Adds `line` (e.g. `proxy = false`) to argon.toml's `[serve]` section.
    pub fn set_serve(&self, line: &str) {
        let path = self.dir.join("argon.toml");
        let toml = std::fs::read_to_string(&path).unwrap();
        assert!(toml.contains("[serve]\n"), "{toml}");
        std::fs::write(
            &path,
            toml.replace("[serve]\n", &format!("[serve]\n{line}\n")),
        )
        .unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_argon"));
        cmd.args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", test_path())
            .env("HOME", &self.home)
            .env("ARGON_HOME", self.home.join("argon"))
            .env(
                "AWS_ACCESS_KEY_ID",
                required_env("ARGON_TEST_S3_ACCESS_KEY"),
            )
            .env(
                "AWS_SECRET_ACCESS_KEY",
                required_env("ARGON_TEST_S3_SECRET_KEY"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(std::process::Stdio::null());
        self.docker_env(&mut cmd);
        cmd
    }

    /// The environment every run gets, as `KEY=value` words for a shell line.
    pub fn env_words(&self) -> Vec<String> {
        let cmd = self.command(&[]);
        cmd.get_envs()
            .filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, v?.to_str()?)))
            .collect()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("argon binary runs"))
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("argon binary runs"))
    }

    /// Runs and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "argon {args:?} failed\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let r = self.run(&all);
        assert_eq!(r.code, 0, "argon {args:?} failed: {}", r.stderr);
        r.json()
    }

    /// The same project (name, store) on another machine: its own folder,
    /// metadata, Docker objects and port.
    pub fn another_machine(&self) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("app");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let toml = std::fs::read_to_string(self.dir.join("argon.toml")).unwrap();
        let toml = toml.replace(&format!("port = {}", self.port), &format!("port = {port}"));
        std::fs::write(dir.join("argon.toml"), toml).unwrap();
        Project {
            _tmp: tmp,
            dir,
            home,
            name: self.name.clone(),
            port,
            docker_host: self.docker_host.clone(),
        }
    }

    /// The same project with `[engine] auth = true` in its argon.toml.
    pub fn with_auth(self) -> Project {
        let path = self.dir.join("argon.toml");
        let toml = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, toml.replace("[engine]\n", "[engine]\nauth = true\n")).unwrap();
        self
    }

    /// `argon commit -m message`, which must save a version: its id.
    pub fn commit(&self, message: &str) -> String {
        let saved = self.json(&["commit", "-m", message]);
        saved["version"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("commit saved no version: {saved}"))
            .to_string()
    }

    /// The same project, run against the Docker engine `host`.
    pub fn on_docker_host(mut self, host: DockerHost) -> Project {
        self.docker_host = Some(host);
        self
    }

    /// Points `cmd` at this project's Docker engine (DOCKER_HOST's when not set).
    fn docker_env(&self, cmd: &mut Command) {
        if let Some(host) = &self.docker_host {
            host.apply(cmd);
        }
    }

    /// `docker` against this project's Docker engine.
    pub fn docker_command(&self) -> Command {
        let mut cmd = Command::new("docker");
        self.docker_env(&mut cmd);
        cmd
    }

    /// Runs git in the project folder with a private configuration; returns the output.
    pub fn git(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", test_path())
            .env("HOME", &self.home)
            .env("ARGON_HOME", self.home.join("argon"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com");
        self.docker_env(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("git runs"))
    }

    pub fn git_ok(&self, args: &[&str]) -> Run {
        let r = self.git(args, &[]);
        assert_eq!(
            r.code, 0,
            "git {args:?} failed\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    /// Makes the project folder a git repository with argon.toml committed on `main`.
    pub fn git_init(&self) {
        self.git_ok(&["init", "-q", "-b", "main"]);
        self.git_ok(&["add", "argon.toml"]);
        self.git_ok(&["commit", "-q", "-m", "init"]);
    }

    pub fn mongo(&self) -> Mongo {
        Mongo::connect(self.port)
    }

    /// The full id of the latest version of `rev`.
    /// `argon branch`'s entry for `name` (its state, versions, `saving`...).
    pub fn branch_info(&self, name: &str) -> serde_json::Value {
        let branches = self.json(&["branch"]);
        branches
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .unwrap_or_else(|| panic!("no branch {name}: {branches}"))
            .clone()
    }

    pub fn version_of(&self, rev: &str) -> String {
        self.json(&["log", rev, "-n", "1"])[0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        // A background save still running would make containers after the sweep.
        for pid in processes_with(&["__background-save", &self.dir.display().to_string()]) {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
        // Remove every container and volume this test's project created.
        let filter = format!("name=argon-{}-", self.name);
        let remove = |list: &[&str], rm: &[&str]| {
            let Ok(out) = self.docker_command().args(list).arg(&filter).output() else {
                return;
            };
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect();
            if !ids.is_empty() {
                let _ = self.docker_command().args(rm).args(&ids).output();
            }
        };
        remove(&["ps", "-aq", "--filter"], &["rm", "-f", "-v"]);
        remove(&["volume", "ls", "-q", "--filter"], &["volume", "rm", "-f"]);
        remove(&["network", "ls", "-q", "--filter"], &["network", "rm"]);
    }
}

/// A blocking MongoDB driver client for checking data.
pub struct Mongo {
    rt: tokio::runtime::Runtime,
    client: mongodb::Client,
}

impl Mongo {
    pub fn connect(port: u16) -> Mongo {
        Mongo::connect_uri(&format!(
            "mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=5000"
        ))
    }

    /// A client of the connection string `uri` (as `argon uri` prints it).
    pub fn connect_uri(uri: &str) -> Mongo {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(mongodb::Client::with_uri_str(uri)).unwrap();
        Mongo { rt, client }
    }

    pub fn insert(&self, db: &str, coll: &str, docs: Vec<Document>) {
        self.rt
            .block_on(async {
                self.client
                    .database(db)
                    .collection::<Document>(coll)
                    .insert_many(docs)
                    .await
            })
            .unwrap();
    }

    pub fn command(&self, db: &str, cmd: Document) -> Document {
        self.try_command(db, cmd).unwrap()
    }

    pub fn try_command(&self, db: &str, cmd: Document) -> mongodb::error::Result<Document> {
        self.rt
            .block_on(async { self.client.database(db).run_command(cmd).await })
    }

    /// Documents as raw BSON bytes in natural order: equality is exactness.
    pub fn raw_docs(&self, db: &str, coll: &str) -> Vec<Vec<u8>> {
        self.rt.block_on(async {
            let c = self.client.database(db).collection::<RawDocumentBuf>(coll);
            let mut cursor = c.find(doc! {}).await.unwrap();
            let mut out = Vec::new();
            while cursor.advance().await.unwrap() {
                out.push(cursor.current().as_bytes().to_vec());
            }
            out
        })
    }

    pub fn count(&self, db: &str, coll: &str) -> u64 {
        self.rt
            .block_on(async {
                self.client
                    .database(db)
                    .collection::<Document>(coll)
                    .count_documents(doc! {})
                    .await
            })
            .unwrap()
    }

    /// listCollections entries of `db`, minus per-instance uuids, sorted by name.
    pub fn collections(&self, db: &str) -> Vec<Document> {
        let reply = self.command(db, doc! { "listCollections": 1 });
        let mut out: Vec<Document> = reply
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
            .iter()
            .map(|b| {
                let mut d = b.as_document().unwrap().clone();
                d.remove("info");
                d
            })
            .filter(|d| !d.get_str("name").unwrap_or_default().starts_with("system."))
            .collect();
        out.sort_by_key(|d| d.get_str("name").unwrap().to_string());
        out
    }

    /// listIndexes entries of a collection, sorted by name.
    pub fn indexes(&self, db: &str, coll: &str) -> Vec<Document> {
        let reply = self.command(db, doc! { "listIndexes": coll });
        let mut out: Vec<Document> = reply
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
            .iter()
            .map(|b| b.as_document().unwrap().clone())
            .collect();
        out.sort_by_key(|d| d.get_str("name").unwrap().to_string());
        out
    }

    pub fn databases(&self) -> Vec<String> {
        let mut names = self
            .rt
            .block_on(async { self.client.list_database_names().await })
            .unwrap();
        names.retain(|n| !["admin", "local", "config"].contains(&n.as_str()));
        names.sort();
        names
    }
}

/// Everything a user would compare: databases, collection options, indexes, exact documents.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub databases: Vec<String>,
    pub collections: Vec<(String, Vec<Document>)>,
    pub indexes: Vec<(String, Vec<Document>)>,
    pub documents: Vec<(String, Vec<Vec<u8>>)>,
}

pub fn snapshot(m: &Mongo) -> Snapshot {
    let databases = m.databases();
    let mut collections = Vec::new();
    let mut indexes = Vec::new();
    let mut documents = Vec::new();
    for db in &databases {
        let colls = m.collections(db);
        for c in &colls {
            let name = c.get_str("name").unwrap();
            if name.starts_with("system.") {
                continue;
            }
            if c.get_str("type").unwrap_or("collection") == "collection" {
                indexes.push((format!("{db}.{name}"), m.indexes(db, name)));
            }
            documents.push((format!("{db}.{name}"), m.raw_docs(db, name)));
        }
        collections.push((db.clone(), colls));
    }
    Snapshot {
        databases,
        collections,
        indexes,
        documents,
    }
}

/// A small dataset with the features a restore must keep: nested documents,
/// several BSON types, a unique and a compound index, a capped collection, a
/// validator, a view, and a second database.
pub fn seed(m: &Mongo, tag: &str) {
    let users: Vec<Document> = (0..500)
        .map(|i| {
            doc! {
                "_id": i,
                "name": format!("{tag}-user-{i}"),
                "email": format!("u{i}@example.com"),
                "age": (i % 80) as i64,
                "score": i as f64 / 3.0,
                "created": mongodb::bson::DateTime::from_millis(1_700_000_000_000 + i as i64),
                "address": { "city": format!("city{}", i % 17), "zip": format!("{:05}", i) },
                "tags": ["a", "b", tag],
                "blob": mongodb::bson::Binary { subtype: mongodb::bson::spec::BinarySubtype::Generic, bytes: vec![i as u8; 16] },
            }
        })
        .collect();
    m.insert("app", "users", users);
    m.command(
        "app",
        doc! { "createIndexes": "users", "indexes": [
            { "key": { "email": 1 }, "name": "email_1", "unique": true },
            { "key": { "address.city": 1, "age": -1 }, "name": "city_age" },
        ]},
    );
    m.command(
        "app",
        doc! { "create": "events", "capped": true, "size": 1_048_576 },
    );
    m.insert(
        "app",
        "events",
        (0..50).map(|i| doc! { "n": i, "kind": "click" }).collect(),
    );
    m.command(
        "app",
        doc! { "create": "orders", "validator": { "$jsonSchema": { "bsonType": "object", "required": ["total"] } } },
    );
    m.insert(
        "app",
        "orders",
        (0..100)
            .map(|i| doc! { "_id": i, "total": i as f64 * 1.5, "user": i % 500 })
            .collect(),
    );
    m.command("app", doc! { "create": "adults", "viewOn": "users", "pipeline": [ { "$match": { "age": { "$gte": 18 } } } ] });
    m.insert(
        "analytics",
        "daily",
        (0..30)
            .map(|i| doc! { "day": i, "visits": i * 10 })
            .collect(),
    );
}

/// A chunk as it lies in a store's folder: inside a pack file (a local
/// store, docs/store-format.md) or a file of its own (s3s-fs's folder for
/// S3, a local store written before packs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredChunk {
    pub id: String,
    pub file: PathBuf,
    pub offset: u64,
    pub len: u64,
}

impl StoredChunk {
    /// Flips one byte in the middle of the chunk's stored bytes.
    pub fn damage(&self) {
        self.rewrite(|bytes| {
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x55;
        });
    }

    /// Replaces all of the chunk's stored bytes with garbage.
    pub fn overwrite(&self) {
        self.rewrite(|bytes| bytes.fill(b'x'));
    }

    fn rewrite(&self, change: impl FnOnce(&mut [u8])) {
        let mut bytes = std::fs::read(&self.file).unwrap();
        let (from, to) = (self.offset as usize, (self.offset + self.len) as usize);
        change(&mut bytes[from..to]);
        std::fs::write(&self.file, bytes).unwrap();
    }
}

/// Every chunk of the stores under `root`, read from the pack files'
/// trailers and the chunk files themselves.
pub fn stored_chunks(root: &Path) -> Vec<StoredChunk> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            // A killed write's temporary file holds no chunk (recovery removes it).
            if name.ends_with(".tmp") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".pack") {
                out.extend(packed_chunks(&p));
            } else if p
                .parent()
                .and_then(|d| d.parent())
                .is_some_and(|d| d.ends_with("chunks"))
            {
                let len = std::fs::metadata(&p).unwrap().len();
                out.push(StoredChunk {
                    id: name,
                    file: p,
                    offset: 0,
                    len,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    out
}

/// A pack's chunks, from its trailer: per chunk a 32-byte id and u32 LE
/// offset and length, then the count (u32 LE) and `ARGPACK1`.
fn packed_chunks(pack: &Path) -> Vec<StoredChunk> {
    let bytes = std::fs::read(pack).unwrap();
    let n = bytes.len();
    assert_eq!(&bytes[n - 8..], b"ARGPACK1", "{}", pack.display());
    let count = u32::from_le_bytes(bytes[n - 12..n - 8].try_into().unwrap()) as usize;
    let table = &bytes[n - 12 - count * 40..n - 12];
    table
        .chunks_exact(40)
        .map(|e| StoredChunk {
            id: e[..32].iter().map(|b| format!("{b:02x}")).collect(),
            file: pack.to_path_buf(),
            offset: u32::from_le_bytes(e[32..36].try_into().unwrap()) as u64,
            len: u32::from_le_bytes(e[36..40].try_into().unwrap()) as u64,
        })
        .collect()
}

/// A running `argon mount`, unmounted and stopped when dropped.
pub struct Mount {
    pub dir: PathBuf,
    pub child: Option<std::process::Child>,
    pub log: PathBuf,
}

impl Project {
    /// Starts `argon mount DIR ARGS...` and waits until it says it is serving.
    pub fn mount(&self, dir: &Path, args: &[&str]) -> Mount {
        let _ = std::fs::create_dir(dir);
        let log = dir.with_extension("log");
        let ready = dir.with_extension("out");
        let mut all = vec!["mount", dir.to_str().unwrap()];
        all.extend(args);
        let child = self
            .command(&all)
            .stdout(std::fs::File::create(&ready).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let m = Mount {
            dir: dir.to_path_buf(),
            child: Some(child),
            log,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        // Not the tree itself: the kernel may still show a killed mount's
        // cached entries for a moment.
        while !std::fs::read_to_string(&ready)
            .unwrap_or_default()
            .contains("mounted")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "mount did not come up: {}",
                m.log_text()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        m
    }
}

impl Mount {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    /// Sends a signal and waits for the process; returns its exit code.
    pub fn signal(&mut self, sig: &str) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap().code()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("fusermount3")
            .args(["-u", "-z"])
            .arg(&self.dir)
            .output();
    }
}

/// Is something mounted exactly at `dir`?
pub fn is_mount_point(dir: &Path) -> bool {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let want = dir.to_str().unwrap();
    table.lines().any(|l| l.split(' ').nth(4) == Some(want))
}

impl Project {
    /// Names of this project's Docker objects of `kind` ("container" or
    /// "volume") for `branch` with `role` (engine, data, ...).
    pub fn docker_objects(&self, kind: &str, branch: &str, role: &str) -> Vec<String> {
        let mut cmd = self.docker_command();
        match kind {
            "container" => cmd.args(["ps", "-a", "--format", "{{.Names}}"]),
            _ => cmd.args(["volume", "ls", "--format", "{{.Name}}"]),
        };
        let out = cmd
            .args(["--filter", &format!("name=argon-{}-", self.name)])
            .args(["--filter", &format!("label=dev.argon.branch={branch}")])
            .args(["--filter", &format!("label=dev.argon.role={role}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    /// Returns once no background save of this project runs: pending saves
    /// recorded (`argon wait`), and the background saves earlier commands
    /// started (each begins a moment after its command) gone, so none takes
    /// a save the test leaves pending next.
    pub fn settle_background_saves(&self) {
        self.ok(&["wait"]);
        let dir = self.dir.display().to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !processes_with(&["__background-save", &dir]).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "a background save never ended"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn docker(&self, args: &[&str]) -> String {
        let out = self.docker_command().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// An application that keeps inserting into `app.w` on a port and records
/// every `_id` the engine acknowledged, and when; failed writes (during a
/// switch) are retried with the next id, as an application would.
pub struct Writer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<(i64, std::time::Instant)>>>,
}

impl Writer {
    pub fn start(port: u16, first_id: i64) -> Writer {
        Writer::start_uri(
            &format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            first_id,
        )
    }

    /// A writer on the connection string `uri` (which has a query part).
    pub fn start_uri(uri: &str, first_id: i64) -> Writer {
        let uri = format!("{uri}&serverSelectionTimeoutMS=1000&connectTimeoutMS=1000");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
                let coll = client.database("app").collection::<Document>("w");
                let mut acked = Vec::new();
                let mut id = first_id;
                while !flag.load(Ordering::SeqCst) {
                    if coll.insert_one(doc! { "_id": id, "v": "x" }).await.is_ok() {
                        acked.push((id, std::time::Instant::now()));
                    } else {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    id += 1;
                }
                acked
            })
        });
        Writer {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops writing; returns every acknowledged id.
    pub fn finish(self) -> Vec<i64> {
        self.finish_timed().into_iter().map(|(id, _)| id).collect()
    }

    /// Stops writing; returns every acknowledged id with when it was acknowledged.
    pub fn finish_timed(mut self) -> Vec<(i64, std::time::Instant)> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Mongo {
    /// The `_id`s (integers) of a collection.
    pub fn ids(&self, db: &str, coll: &str) -> std::collections::HashSet<i64> {
        self.rt.block_on(async {
            let c = self.client.database(db).collection::<Document>(coll);
            let mut cursor = c.find(doc! {}).await.unwrap();
            let mut out = std::collections::HashSet::new();
            while cursor.advance().await.unwrap() {
                let d = cursor.deserialize_current().unwrap();
                if let Ok(id) = d.get_i64("_id") {
                    out.insert(id);
                }
            }
            out
        })
    }
}

/// The ids of the versions an `argon gc --format json` report deleted.
pub fn deleted_version_ids(report: &serde_json::Value) -> Vec<String> {
    report["deleted_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

/// An argon run stopped at a named fault point (`ARGON_FAULT_ACTION=wait`),
/// so a test can act under it (send a signal, restart Docker) and then let it
/// go on by creating the resume file.
pub struct WaitingArgon {
    pub child: std::process::Child,
    reader: std::thread::JoinHandle<Vec<String>>,
    resume: PathBuf,
}

impl WaitingArgon {
    /// Starts `argon args` and returns once it waits at `point`.
    pub fn at(p: &Project, point: &str, args: &[&str]) -> WaitingArgon {
        let resume = p.home.join(format!("resume-{}", point.replace(':', "-")));
        let mut cmd = p.command(args);
        cmd.env("ARGON_FAULT_POINT", point)
            .env("ARGON_FAULT_ACTION", "wait")
            .env("ARGON_FAULT_RESUME", &resume)
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (at_point, reached) = std::sync::mpsc::channel();
        // Reads stderr to its end (a closed pipe would fail argon's own messages).
        let reader = std::thread::spawn(move || {
            use std::io::{BufRead, BufReader};
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("waiting at fault point") {
                    let _ = at_point.send(());
                }
                lines.push(line);
            }
            lines
        });
        reached
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("argon {args:?} reached the fault point {point}"));
        WaitingArgon {
            child,
            reader,
            resume,
        }
    }

    /// Lets it go on from the fault point.
    pub fn resume(&self) {
        std::fs::write(&self.resume, "").unwrap();
    }

    /// Waits for it to end: its exit status and what it printed on stderr.
    pub fn finish(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.child.wait().unwrap();
        (status, self.reader.join().unwrap())
    }
}

/// The pids of processes whose command line has every one of `words`.
pub fn processes_with(words: &[&str]) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            words
                .iter()
                .all(|w| args.contains(&w.as_bytes()))
                .then_some(pid)
        })
        .collect()
}
