//! TLS for clients (`tls-port`), on the zedis-tls crate (rustls): the `tls-*` directives are read at startup
//! into `TlsSettings` and built into rustls configurations (a refusal names the directive and file: what
//! rustls cannot do, such as TLSv1/TLSv1.1 or an unknown cipher, stops startup rather than being ignored);
//! the listener accepts connections as `Transport::Tls`, which the event loop reads and writes like plain
//! sockets (`net.rs`: `read_plain`, `write_plain_vectored`, `flush`). Stalled handshakes are closed by the
//! cron after `StreamLimits::handshake_timeout`; the TLS streams' and session cache's bytes are charged to
//! the budget as client memory.

use super::{Core, Net};
use crate::config::Config;
use crate::Strategy;
use mio::net::TcpListener;
use mio::{Interest, Poll, Token};
use std::io::ErrorKind;
use std::time::Instant;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_deploy::stream::ClientStream;
use zedis_tls::{StreamLimits, TlsConfigs, TlsSettings, TlsStream, Transport};

/// The `tls-port` listener's token.
pub const TLS_LISTENER: Token = Token(usize::MAX - 2);

/// The TLS half of the network state.
#[derive(Default)]
pub struct Tls {
    /// Listening socket of `tls-port` (`None` when it is 0).
    pub listener: Option<TcpListener>,
    /// The rustls configurations (`None` when TLS is not configured).
    pub configs: Option<TlsConfigs>,
    /// Bytes charged to the budget for TLS streams and the session cache (`Component::Clients`).
    pub charged_bytes: usize,
}

/// The `tls-*` directives of `config` as zedis-tls settings.
pub fn settings(config: &Config) -> Result<TlsSettings, zedis_tls::TlsError> {
    let mut settings = TlsSettings::default();
    for name in zedis_tls::DIRECTIVES {
        settings.set(name, config.get(name))?;
    }
    Ok(settings)
}

/// Builds the TLS configuration and binds `tls-port` when TLS is asked for (`tls-port` or
/// `tls-replication`); `bind` is the address plain `port` uses.
pub fn startup(config: &Config, poll: &Poll, bind: &str) -> anyhow::Result<Tls> {
    let port = config.int("tls-port");
    if port == 0 && !config.flag("tls-replication") && !config.flag("tls-cluster") {
        return Ok(Tls::default());
    }
    let configs = settings(config)
        .and_then(|s| s.build())
        .map_err(|e| anyhow::anyhow!("Failed to configure TLS: {e}"))?;
    let listener = if port != 0 {
        let addr: std::net::SocketAddr = format!("{bind}:{port}")
            .parse()
            .or_else(|_| format!("[{bind}]:{port}").parse())?;
        let mut listener = TcpListener::bind(addr)?;
        poll.registry()
            .register(&mut listener, TLS_LISTENER, Interest::READABLE)?;
        Some(listener)
    } else {
        None
    };
    Ok(Tls {
        listener,
        configs: Some(configs),
        charged_bytes: 0,
    })
}

/// CONFIG SET of `tls-*` directives (`pairs` are the command's name/value pairs, `next` the configuration
/// they make): when TLS is on, builds the new rustls configuration and swaps it in (open connections keep
/// theirs); on failure logs why and returns the first TLS argument, and nothing changes.
pub fn reconfigure<S: Strategy>(
    core: &mut Core<S>,
    next: &Config,
    pairs: &[(&[u8], &[u8])],
) -> Result<(), String> {
    let Some(argument) = pairs
        .iter()
        .map(|(name, _)| String::from_utf8_lossy(name).to_ascii_lowercase())
        .find(|name| zedis_tls::is_directive(name))
    else {
        return Ok(());
    };
    let enabled =
        next.int("tls-port") != 0 || next.flag("tls-replication") || next.flag("tls-cluster");
    if !enabled {
        return Ok(());
    }
    match settings(next).and_then(|s| s.build()) {
        Ok(configs) => {
            core.net.tls.configs = Some(configs);
            Ok(())
        }
        Err(e) => {
            zedis_deploy::warning!("Failed to update TLS configuration: {e}");
            Err(argument)
        }
    }
}

impl Net {
    /// Wraps an accepted socket: TLS when it came from the `tls-port` listener.
    pub fn transport(&self, tcp: ClientStream, tls: bool) -> Option<Transport<ClientStream>> {
        if !tls {
            return Some(Transport::Plain(tcp));
        }
        let server = self.tls.configs.as_ref()?.server.clone();
        match TlsStream::accept(tcp, server, StreamLimits::default()) {
            Ok(stream) => Some(Transport::Tls(Box::new(stream))),
            Err(e) => {
                zedis_deploy::warning!("Error accepting a TLS connection: {e}");
                None
            }
        }
    }
}

impl<S: Strategy> Core<S> {
    /// Accepts every pending connection on the TLS listener.
    pub(crate) fn accept_all_tls(&mut self) {
        loop {
            let Some(listener) = self.net.tls.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    let laddr = stream
                        .local_addr()
                        .map(zedis_deploy::stream::redis_addr)
                        .unwrap_or_default();
                    let addr = zedis_deploy::stream::redis_addr(peer);
                    self.accept(ClientStream::Tcp(stream), addr, laddr, true)
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    zedis_deploy::warning!("Accepting TLS client connection: {e}");
                    return;
                }
            }
        }
    }

    /// Closes TLS clients whose handshake passed its deadline, and charges the TLS bytes to the budget.
    pub(super) fn cron_tls(&mut self) {
        if self.net.tls.configs.is_none() {
            return;
        }
        let now = Instant::now();
        let mut bytes = self.net.tls.configs.as_ref().map_or(0, TlsConfigs::bytes);
        for ck in self.clients.keys() {
            let Some(stream) = self.clients.get(ck).and_then(|c| c.stream.as_ref()) else {
                continue;
            };
            if stream.handshake_expired(now) {
                self.net.closing.push(ck);
            }
            bytes += stream.bytes();
        }
        let charged = self.net.tls.charged_bytes;
        if bytes > charged {
            self.budget.reserve(Component::Clients, bytes - charged);
        } else {
            self.budget.release(Component::Clients, charged - bytes);
        }
        self.net.tls.charged_bytes = bytes;
    }
}
