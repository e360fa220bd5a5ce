//! Free loopback ports.

use std::net::TcpListener;

/// A port nobody listens on right now (bound on 127.0.0.1 then released).
///
/// # Panics
/// When the system has no free port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Offset of a Redis Cluster node's bus port from its client port.
pub const BUS_PORT_OFFSET: u16 = 10000;

/// A free port P with P + [`BUS_PORT_OFFSET`] free too (a cluster node's client and bus ports); `None` after
/// 50 tries.
pub fn free_port_pair() -> Option<u16> {
    for _ in 0..50 {
        let l = TcpListener::bind("127.0.0.1:0").ok()?;
        let port = l.local_addr().ok()?.port();
        if !(1024..=55000).contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + BUS_PORT_OFFSET)).is_ok() {
            return Some(port);
        }
    }
    None
}
