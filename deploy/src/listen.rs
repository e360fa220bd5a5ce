//! `bind`, `port`, `tcp-backlog` and `tcp-keepalive`, as Redis 7.0's `listenToPort` / `anetTcpServer` /
//! `anetKeepAlive` do them.
//!
//! - `bind` takes up to 16 addresses. One containing `:` is IPv6 (bound `IPV6_V6ONLY`), others IPv4; `*` is
//!   every IPv4 address and `::*` every IPv6 one; host names are resolved. A `-` prefix marks an address as
//!   optional: it is skipped when it does not exist here (`EADDRNOTAVAIL`). Whatever the prefix, an address
//!   family the system lacks (`EAFNOSUPPORT`, ...) is skipped. Every failure is logged as Redis logs it
//!   ("Warning: Could not create server TCP listening socket ..."); any other failure stops startup.
//! - `port 0` opens no TCP listener (socket-only with `unixsocket`); no listener at all stops startup with
//!   "Configured to not listen anywhere, exiting.".
//! - `tcp-keepalive N` (N > 0): SO_KEEPALIVE, first probe after N s, then every N/3 s (at least 1), 3 probes.

use crate::unix::UnixSocket;
use crate::DeployError;
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

/// Redis's `CONFIG_BINDADDR_MAX`.
pub const BIND_ADDRESSES_MAX: usize = 16;

/// One `bind` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddr {
    /// The address as written, without the `-` prefix.
    pub addr: String,
    /// Written with a `-` prefix: skipped when it does not exist on this host.
    pub optional: bool,
}

/// Splits a `bind` value into addresses (none: no TCP listener). More than 16 are refused.
pub fn parse_bind(value: &str) -> Result<Vec<BindAddr>, DeployError> {
    let addrs: Vec<BindAddr> = value
        .split_whitespace()
        .map(|word| match word.strip_prefix('-') {
            Some(rest) => BindAddr {
                addr: rest.to_string(),
                optional: true,
            },
            None => BindAddr {
                addr: word.to_string(),
                optional: false,
            },
        })
        .collect();
    if addrs.len() > BIND_ADDRESSES_MAX {
        return Err(DeployError::TooManyBindAddresses);
    }
    Ok(addrs)
}

/// The socket address to bind for `addr` (as written in `bind`) and `port`.
pub fn resolve(addr: &str, port: u16) -> io::Result<SocketAddr> {
    let v6 = addr.contains(':');
    match addr {
        "*" => return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)),
        "::*" => return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)),
        _ => {}
    }
    if v6 {
        if let Ok(ip) = addr.parse::<Ipv6Addr>() {
            return Ok(SocketAddr::new(IpAddr::V6(ip), port));
        }
    } else if let Ok(ip) = addr.parse::<Ipv4Addr>() {
        return Ok(SocketAddr::new(IpAddr::V4(ip), port));
    }
    (addr, port)
        .to_socket_addrs()?
        .find(|a| a.is_ipv6() == v6)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EADDRNOTAVAIL))
}

/// Binds one TCP listener as `anetTcpServer`: SO_REUSEADDR, IPV6_V6ONLY for IPv6, non-blocking, close-on-exec.
pub fn bind_tcp(addr: SocketAddr, backlog: i32) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

/// Whether Redis's `listenToPort` goes on after this failure (rather than stopping startup).
fn skippable(err: &io::Error, optional: bool) -> bool {
    match err.raw_os_error() {
        Some(libc::EADDRNOTAVAIL) => optional,
        Some(code) => [
            libc::ENOPROTOOPT,
            libc::EPROTONOSUPPORT,
            libc::ESOCKTNOSUPPORT,
            libc::EPFNOSUPPORT,
            libc::EAFNOSUPPORT,
        ]
        .contains(&code),
        None => false,
    }
}

/// Opens a TCP listener per `bind` address, skipping the ones Redis skips (each failure is logged as a
/// warning). An empty list opens none.
pub fn listen_tcp(
    binds: &[BindAddr],
    port: u16,
    backlog: i32,
) -> Result<Vec<mio::net::TcpListener>, DeployError> {
    let mut listeners = Vec::with_capacity(binds.len());
    for bind in binds {
        match resolve(&bind.addr, port).and_then(|addr| bind_tcp(addr, backlog)) {
            Ok(listener) => listeners.push(listener),
            Err(source) => {
                let skip = skippable(&source, bind.optional);
                let err = DeployError::TcpListen {
                    addr: bind.addr.clone(),
                    port,
                    source,
                };
                crate::warning!("Warning: {err}");
                if !skip {
                    return Err(err);
                }
            }
        }
    }
    Ok(listeners)
}

/// Everything the server listens on, from `bind`, `port`, `tcp-backlog`, `unixsocket`, `unixsocketperm`.
#[derive(Debug, Clone)]
pub struct ListenConfig {
    /// `bind`, parsed.
    pub bind: Vec<BindAddr>,
    /// `port`; 0 opens no TCP listener.
    pub port: u16,
    /// `tcp-backlog` (also the Unix socket's backlog, as in Redis).
    pub backlog: i32,
    /// `unixsocket`; `None` when empty.
    pub unixsocket: Option<PathBuf>,
    /// `unixsocketperm` (0: leave the mode the umask gives).
    pub unixsocketperm: u32,
}

/// The open listeners.
#[derive(Debug)]
pub struct Listeners {
    /// One per bound `bind` address (empty with `port 0`).
    pub tcp: Vec<mio::net::TcpListener>,
    /// The Unix socket, if configured.
    pub unix: Option<UnixSocket>,
}

/// Opens every listener as Redis's `initServer` does: TCP when `port` is not 0, then the Unix socket;
/// none at all is an error.
pub fn open(config: &ListenConfig) -> Result<Listeners, DeployError> {
    let tcp = if config.port == 0 {
        Vec::new()
    } else {
        listen_tcp(&config.bind, config.port, config.backlog)?
    };
    let unix = match &config.unixsocket {
        Some(path) => Some(UnixSocket::bind(
            path,
            config.unixsocketperm,
            config.backlog,
        )?),
        None => None,
    };
    if tcp.is_empty() && unix.is_none() {
        crate::warning!("{}", DeployError::NotListening);
        return Err(DeployError::NotListening);
    }
    Ok(Listeners { tcp, unix })
}

/// Applies `tcp-keepalive` to an accepted client socket, as `anetKeepAlive` (0 leaves it off).
pub fn set_keepalive(socket: &impl AsFd, interval_s: u32) -> Result<(), DeployError> {
    if interval_s == 0 {
        return Ok(());
    }
    let keepalive = TcpKeepalive::new()
        .with_time(Duration::from_secs(u64::from(interval_s)))
        .with_interval(Duration::from_secs(u64::from((interval_s / 3).max(1))))
        .with_retries(3);
    SockRef::from(socket)
        .set_tcp_keepalive(&keepalive)
        .map_err(|source| DeployError::SocketOption {
            what: "SO_KEEPALIVE",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_words() {
        let parsed = parse_bind("127.0.0.1 -::1  * -::*").unwrap();
        let words: Vec<(&str, bool)> = parsed
            .iter()
            .map(|b| (b.addr.as_str(), b.optional))
            .collect();
        assert_eq!(
            words,
            [
                ("127.0.0.1", false),
                ("::1", true),
                ("*", false),
                ("::*", true)
            ]
        );
        assert!(parse_bind("").unwrap().is_empty());
        let many = vec!["127.0.0.1"; 17].join(" ");
        assert_eq!(
            parse_bind(&many).unwrap_err().to_string(),
            "Too many bind addresses specified."
        );
    }

    #[test]
    fn addresses_resolve_by_family() {
        assert_eq!(resolve("*", 7).unwrap(), "0.0.0.0:7".parse().unwrap());
        assert_eq!(resolve("::*", 7).unwrap(), "[::]:7".parse().unwrap());
        assert_eq!(resolve("::1", 7).unwrap(), "[::1]:7".parse().unwrap());
        assert_eq!(
            resolve("10.1.2.3", 7).unwrap(),
            "10.1.2.3:7".parse().unwrap()
        );
        assert_eq!(resolve("localhost", 7).unwrap().port(), 7);
        assert!(resolve("localhost", 7).unwrap().is_ipv4());
        assert!(resolve("not an address", 7).is_err());
    }

    #[test]
    fn redis_skip_rules() {
        let not_here = io::Error::from_raw_os_error(libc::EADDRNOTAVAIL);
        assert!(skippable(&not_here, true));
        assert!(!skippable(&not_here, false));
        assert!(skippable(
            &io::Error::from_raw_os_error(libc::EAFNOSUPPORT),
            false
        ));
        assert!(!skippable(
            &io::Error::from_raw_os_error(libc::EADDRINUSE),
            true
        ));
    }
}
