//! Where a client reaches an engine, and its connection string: the one
//! place argon builds one (runtime, snapshot and the CLI all use it).

use std::net::{IpAddr, Ipv4Addr};

use crate::credentials::Login;

/// Where a client reaches an engine: the one place connection strings are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// `port` at `host`, the address engines are published on (see
    /// `runtime::published_address`).
    pub fn new(host: IpAddr, port: u16) -> Endpoint {
        Endpoint {
            host: host.to_string(),
            port,
        }
    }

    /// A port on this machine's loopback interface.
    pub fn local(port: u16) -> Endpoint {
        Endpoint::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    }

    /// A port at `host` that nothing holds, chosen by the kernel, for a
    /// private engine. For a host on another machine the kernel can only vouch
    /// for this one's ports; the engine host reports a clash (`PortInUse`).
    pub fn free_on(host: IpAddr) -> std::io::Result<Endpoint> {
        let listener = match std::net::TcpListener::bind((host, 0)) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            }
            other => other?,
        };
        Ok(Endpoint::new(host, listener.local_addr()?.port()))
    }

    /// Is this endpoint's port free? Only this machine's addresses can be
    /// checked; another machine's count as free (its engine host says otherwise).
    pub fn is_free(&self) -> bool {
        match std::net::TcpListener::bind((self.host.as_str(), self.port)) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::AddrNotAvailable,
        }
    }

    /// The connection string, with `login` when engines require one.
    pub fn uri(&self, login: Option<&Login>) -> String {
        let port = self.port;
        // An IPv6 address is bracketed in a URI, as in a socket address.
        let host = match self.host.contains(':') {
            true => format!("[{}]", self.host),
            false => self.host.clone(),
        };
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
        match self.host.contains(':') {
            true => write!(f, "[{}]:{}", self.host, self.port),
            false => write!(f, "{}:{}", self.host, self.port),
        }
    }
}
