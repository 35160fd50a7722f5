//! Where a client reaches an engine, and its connection string: the one
//! place argon builds one (runtime, snapshot and the CLI all use it).

use crate::credentials::Login;

/// Where a client reaches an engine: the one place connection strings are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// A port on this machine's loopback interface (where engines are published).
    pub fn local(port: u16) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".to_string(),
            port,
        }
    }

    /// A free port on 127.0.0.1 chosen by the kernel, for a private engine.
    pub fn free_local() -> std::io::Result<Endpoint> {
        std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| Endpoint::local(a.port()))
    }

    /// Is anything listening on (or holding) this endpoint's port?
    pub fn is_free(&self) -> bool {
        std::net::TcpListener::bind((self.host.as_str(), self.port)).is_ok()
    }

    /// The connection string, with `login` when engines require one.
    pub fn uri(&self, login: Option<&Login>) -> String {
        let Endpoint { host, port } = self;
        match login {
            Some(l) => format!(
                "mongodb://{}:{}@{host}:{port}/?directConnection=true&authSource=admin",
                l.user,
                l.password()
            ),
            None => format!("mongodb://{host}:{port}/?directConnection=true"),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}
