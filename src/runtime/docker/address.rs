//! Where a Docker engine's published ports are reached from this machine.
//!
//! A local engine (a unix socket) publishes on 127.0.0.1 and nowhere else. An
//! engine on another host (`DOCKER_HOST=tcp://HOST:PORT`, TLS or not)
//! publishes on HOST's address: the interface argon already reaches that
//! machine on, so engines are exactly as reachable as its Docker API, and no
//! further (never 0.0.0.0).

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};

use super::super::RuntimeError;

/// The address engines of the Docker engine `docker_host` (DOCKER_HOST's
/// value; `None` or empty for the local socket) are published on.
pub fn published_address(docker_host: Option<&str>) -> Result<IpAddr, RuntimeError> {
    let Some(host) = docker_host.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    };
    let bad = |message: &str| RuntimeError::BadDockerHost {
        value: host.to_string(),
        message: message.to_string(),
    };
    let (scheme, rest) = host
        .split_once("://")
        .ok_or_else(|| bad("it has no scheme (unix://, tcp://)"))?;
    match scheme {
        "unix" | "npipe" => return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        "tcp" | "http" | "https" => {}
        "ssh" => {
            return Err(bad(
                "argon reaches a remote Docker engine over tcp:// (with TLS), not ssh://",
            ))
        }
        _ => return Err(bad("its scheme is not unix://, tcp:// or https://")),
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let (name, port) = split_host_port(authority).ok_or_else(|| bad("it names no host"))?;
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(ip);
    }
    let port = port.unwrap_or(2376);
    let resolved = (name, port)
        .to_socket_addrs()
        .map_err(|e| bad(&format!("its host does not resolve: {e}")))?
        .map(|a| a.ip())
        .min_by_key(|ip| ip.is_ipv6());
    resolved.ok_or_else(|| bad("its host does not resolve"))
}

/// `host:port`, `[v6]:port`, `host` or `[v6]`, into the host and its port.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((host, port.and_then(|p| p.parse().ok())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(host: &str) -> String {
        published_address(Some(host)).unwrap().to_string()
    }

    #[test]
    fn a_local_engine_publishes_on_loopback() {
        assert_eq!(published_address(None).unwrap().to_string(), "127.0.0.1");
        assert_eq!(address(""), "127.0.0.1");
        assert_eq!(address("unix:///var/run/docker.sock"), "127.0.0.1");
    }

    #[test]
    fn a_remote_engine_publishes_on_the_address_argon_reaches_it_at() {
        assert_eq!(address("tcp://10.1.2.3:2376"), "10.1.2.3");
        assert_eq!(address("tcp://127.0.0.2:40000"), "127.0.0.2");
        assert_eq!(address("https://192.168.0.9:2376/"), "192.168.0.9");
        assert_eq!(address("tcp://[::1]:2376"), "::1");
        assert_eq!(address("tcp://localhost:2376"), "127.0.0.1");
    }

    #[test]
    fn a_docker_host_argon_cannot_use_is_refused_with_its_reason() {
        for bad in ["localhost:2376", "ssh://me@box", "ftp://x", "tcp://:2376"] {
            let e = published_address(Some(bad)).unwrap_err();
            assert!(
                matches!(e, RuntimeError::BadDockerHost { .. }),
                "{bad}: {e}"
            );
        }
    }
}
