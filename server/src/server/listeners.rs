//! The plain listeners (every `bind` address, then `unixsocket`), opened by zedis-deploy's `Service`, and
//! the signals the loop reacts to: SIGHUP reopens the log file; SIGTERM / SIGINT start a shutdown with
//! `shutdown-on-sigterm` / `shutdown-on-sigint` (`crate::persist::shutdown`).

use super::Core;
use crate::config::Config;
use crate::Strategy;
use mio::{Interest, Poll, Token};
use std::io::ErrorKind;
use zedis_deploy::service::Service;
use zedis_deploy::stream::Listener;

/// The first listener's token; listener `i` is `LISTENER_BASE + i`.
pub const LISTENER_BASE: usize = 1;
/// At most 16 `bind` addresses plus the Unix socket.
pub const LISTENERS_MAX: usize = zedis_deploy::listen::BIND_ADDRESSES_MAX + 1;

/// Whether token `t` is one of the plain listeners.
pub fn is_listener(t: usize) -> bool {
    (LISTENER_BASE..LISTENER_BASE + LISTENERS_MAX).contains(&t)
}

/// Opens and registers the listeners. `port 0` without `unixsocket` opens none (TLS only, or nothing:
/// the caller decides whether that is an error). With `--io uring` the first TCP listener (the first `bind`
/// address) is returned apart, unregistered, for the io_uring driver (`server/uring.rs`).
pub fn open(
    config: &Config,
    poll: &Poll,
    service: &mut Service,
) -> anyhow::Result<(Vec<Listener>, Option<std::net::TcpListener>)> {
    if config.int("port") == 0 && config.get("unixsocket").is_empty() {
        return Ok((Vec::new(), None));
    }
    let mut listeners = service.listen()?;
    let mut main = None;
    if super::uring::wanted(config) {
        if let Some(i) = listeners.iter().position(|l| matches!(l, Listener::Tcp(_))) {
            if let Listener::Tcp(tcp) = listeners.remove(i) {
                use std::os::fd::{FromRawFd, IntoRawFd};
                // SAFETY: the descriptor moves from mio's listener (never registered) to std's.
                main = Some(unsafe { std::net::TcpListener::from_raw_fd(tcp.into_raw_fd()) });
            }
        }
    }
    for (i, listener) in listeners.iter_mut().enumerate() {
        poll.registry()
            .register(listener, Token(LISTENER_BASE + i), Interest::READABLE)?;
    }
    Ok((listeners, main))
}

/// The address `tls-port` binds (the first `bind` address, `-` prefix dropped; `*` is every IPv4 one).
pub fn first_bind(config: &Config) -> String {
    let first = config
        .get("bind")
        .split_whitespace()
        .next()
        .unwrap_or("127.0.0.1")
        .trim_start_matches('-');
    match first {
        "*" => "0.0.0.0".to_string(),
        other => other.to_string(),
    }
}

/// CONFIG SET `port` / `bind` (Redis's `changeListenPort` / `changeBindAddr`): when either changes, the TCP
/// listeners of the new address list and port are opened first; only if that works do they replace the old
/// ones (the Unix socket stays). Err: (the argument, Redis's error text); nothing changed.
pub fn reconfigure<S: Strategy>(
    core: &mut Core<S>,
    next: &Config,
) -> Result<(), (&'static str, &'static str)> {
    let port_changed = next.get("port") != core.config.get("port");
    let bind_changed = next.get("bind") != core.config.get("bind");
    if !port_changed && !bind_changed {
        return Ok(());
    }
    let failed = if port_changed {
        ("port", "Unable to listen on this port. Check server logs.")
    } else {
        ("bind", "Failed to bind to specified addresses.")
    };
    if core.net.uring.is_some() && next.int("port") == 0 {
        // The io_uring driver always has a listener: it cannot stop listening on TCP.
        zedis_deploy::warning!(
            "io uring: CONFIG SET port 0 is not supported (the driver needs a listener)"
        );
        return Err(failed);
    }
    let port = next.int("port") as u16;
    let tcp = if port == 0 {
        Vec::new()
    } else {
        let binds = zedis_deploy::listen::parse_bind(next.get("bind")).map_err(|_| failed)?;
        zedis_deploy::listen::listen_tcp(&binds, port, next.int("tcp-backlog") as i32)
            .map_err(|_| failed)?
    };
    let mut tcp = tcp;
    if let Some(uring) = core.net.uring.as_mut() {
        // The first new TCP listener goes to the io_uring driver (the old one is cancelled and closed).
        let Some(first) = (!tcp.is_empty()).then(|| tcp.remove(0)) else {
            return Err(failed);
        };
        use std::os::fd::{FromRawFd, IntoRawFd};
        // SAFETY: the descriptor moves from mio's listener (never registered) to std's.
        let first = unsafe { std::net::TcpListener::from_raw_fd(first.into_raw_fd()) };
        if uring.driver.replace_listener(first).is_err() {
            return Err(failed);
        }
    }
    let registry = core.net.poll.registry();
    let mut unix = Vec::new();
    for mut listener in std::mem::take(&mut core.net.listeners) {
        let _ = registry.deregister(&mut listener);
        if matches!(listener, Listener::Unix(_)) {
            unix.push(listener);
        }
    }
    let mut listeners: Vec<Listener> = tcp.into_iter().map(Listener::Tcp).collect();
    listeners.extend(unix);
    for (i, listener) in listeners.iter_mut().enumerate() {
        if let Err(e) = registry.register(listener, Token(LISTENER_BASE + i), Interest::READABLE) {
            zedis_deploy::warning!("Can't poll a listening socket: {e}");
        }
    }
    core.net.listeners = listeners;
    Ok(())
}

impl<S: Strategy> Core<S> {
    /// Accepts every pending connection on listener `i`.
    pub(crate) fn accept_all(&mut self, i: usize) {
        let keepalive_s = self.settings.tcp_keepalive_s;
        loop {
            let Some(listener) = self.net.listeners.get_mut(i) else {
                return;
            };
            match listener.accept(keepalive_s) {
                Ok(accepted) => self.accept(accepted.stream, accepted.addr, accepted.laddr, false),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    zedis_deploy::warning!("Accepting client connection: {e}");
                    return;
                }
            }
        }
    }

    /// A signal arrived: SIGHUP reopens the log; SIGTERM / SIGINT begin a shutdown.
    pub fn on_signal(&mut self, signal: i32) {
        match signal {
            signal_hook::consts::SIGHUP => {
                zedis_deploy::notice!("Received SIGHUP, reopening the log file");
                if let Err(e) = zedis_deploy::log::reopen() {
                    zedis_deploy::warning!("{e}");
                }
            }
            signal_hook::consts::SIGINT | signal_hook::consts::SIGTERM => {
                self.shutdown_on_signal(signal)
            }
            _ => {}
        }
    }
}
