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
/// the caller decides whether that is an error).
pub fn open(config: &Config, poll: &Poll, service: &mut Service) -> anyhow::Result<Vec<Listener>> {
    if config.int("port") == 0 && config.get("unixsocket").is_empty() {
        return Ok(Vec::new());
    }
    let mut listeners = service.listen()?;
    for (i, listener) in listeners.iter_mut().enumerate() {
        poll.registry()
            .register(listener, Token(LISTENER_BASE + i), Interest::READABLE)?;
    }
    Ok(listeners)
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

impl<S: Strategy> Core<S> {
    /// Accepts every pending connection on listener `i`.
    pub(super) fn accept_all(&mut self, i: usize) {
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
