//! The link to our master before the stream flows: connecting (plain or TLS), the handshake's bytes, and the
//! RDB transfer, driving the sans-IO [`Handshake`] and [`RdbReceiver`] (`handshake.rs`). The transfer ends in
//! `load.rs` (the payload kept in memory, `repl-diskless-load disabled`) or `diskless_load.rs` (parsed from
//! the socket as it arrives).

use super::handshake::{Framing, Handshake, RdbReceiver, Step, LINE_BYTES_MAX};
use super::replica::{LinkState, READ_CHUNK_BYTES};
use super::Backlog;
use crate::server::{cached_ms, Core, MASTER_LINK};
use crate::Strategy;
use mio::net::TcpStream;
use mio::Interest;
use std::io::ErrorKind;
use zedis_budget::GlobalBudget;
use zedis_deploy::stream::ClientStream;
use zedis_tls::{StreamLimits, TlsStream, Transport};

impl<S: Strategy> Core<S> {
    /// Starts the TCP connection to the master.
    pub(super) fn repl_connect(&mut self) {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return;
        };
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(link.host.as_str(), link.port))
            .ok()
            .and_then(|mut addrs| addrs.next());
        let Some(addr) = addr else {
            let why = format!("can't resolve {}", link.host);
            return self.repl_link_failed(&why);
        };
        zedis_deploy::notice!("Connecting to MASTER {addr}");
        let mut stream = match TcpStream::connect(addr) {
            Ok(stream) => stream,
            Err(e) => return self.repl_link_failed(&format!("Unable to connect to MASTER: {e}")),
        };
        let registered = self.net.poll.registry().register(
            &mut stream,
            MASTER_LINK,
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = registered {
            return self.repl_link_failed(&format!("can't poll the master socket: {e}"));
        }
        link.stream = Some(Transport::Plain(ClientStream::Tcp(stream)));
        link.state = LinkState::Connecting;
        link.last_io_ms = cached_ms();
    }

    /// Event on the master socket before it became a client.
    pub fn repl_link_event(&mut self) {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return;
        };
        if matches!(link.state, LinkState::Connecting) {
            let Some(stream) = link.stream.as_mut() else {
                return;
            };
            let ClientStream::Tcp(tcp) = stream.socket() else {
                return self.repl_link_failed("no socket");
            };
            match (tcp.take_error(), tcp.peer_addr()) {
                (Ok(None), Ok(_)) => {}
                (_, Err(e)) if e.kind() == ErrorKind::NotConnected => return,
                (Ok(Some(e)) | Err(e), _) | (_, Err(e)) => {
                    return self
                        .repl_link_failed(&format!("Error condition on socket for SYNC: {e}"));
                }
            }
            let _ = tcp.set_nodelay(true);
            // `tls-replication yes`: TLS over the connected socket, the master's certificate checked against
            // our CA (not its host name, as Redis). Writable interest stays for the TLS records.
            let tls_client = self
                .config
                .flag("tls-replication")
                .then(|| self.net.tls.configs.as_ref().and_then(|c| c.client.clone()));
            let interest = match tls_client {
                None => Interest::READABLE,
                Some(None) => {
                    return self.repl_link_failed("tls-replication needs tls-ca-cert-file or -dir")
                }
                Some(Some(client)) => {
                    let Some(Transport::Plain(tcp)) = link.stream.take() else {
                        return self.repl_link_failed("no socket");
                    };
                    let ip = tcp
                        .tcp_peer()
                        .map(|a| a.ip())
                        .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
                    let name = zedis_tls::rustls::pki_types::ServerName::IpAddress(ip.into());
                    match TlsStream::connect(tcp, client, name, StreamLimits::default()) {
                        Ok(tls) => link.stream = Some(Transport::Tls(Box::new(tls))),
                        Err(e) => return self.repl_link_failed(&format!("TLS to MASTER: {e}")),
                    }
                    Interest::READABLE | Interest::WRITABLE
                }
            };
            let Some(stream) = link.stream.as_mut() else {
                return;
            };
            let _ = self
                .net
                .poll
                .registry()
                .reregister(stream, MASTER_LINK, interest);
            zedis_deploy::notice!("MASTER <-> REPLICA sync started");
            let port_directive = if self.config.flag("tls-replication") {
                "tls-port"
            } else {
                "port"
            };
            // `replica-announce-port` replaces the listening port in the announcement, as Redis's.
            let port = match self.config.int("replica-announce-port") {
                0 => self.config.int(port_directive) as u16,
                announced => announced as u16,
            };
            let auth = Some(self.config.get("masterauth"))
                .filter(|p| !p.is_empty())
                .map(|p| p.as_bytes().to_vec());
            let psync = Some((
                self.engine.repl.replid.clone(),
                self.engine.repl.master_repl_offset,
            ));
            let (mut hs, first) = Handshake::start(port, auth, psync);
            if self.engine.repl.failover.is_some() {
                hs = hs.with_failover();
            }
            let announce_ip = self.config.get("replica-announce-ip");
            if !announce_ip.is_empty() {
                hs = hs.with_announce_ip(announce_ip.as_bytes().to_vec());
            }
            link.state = LinkState::Handshake(hs);
            if let Err(e) = self.repl_link_write(&first) {
                return self.repl_link_failed(&e);
            }
        }
        // What arrived before a close is used first (a master may send the payload and hang up).
        let read = self.repl_link_read();
        if let Err(e) = self.repl_link_drive() {
            return self.repl_link_failed(&e);
        }
        if let Err(e) = read {
            // Streaming already: the master client sees the close itself.
            if !self.repl_link_up() {
                return self.repl_link_failed(&e);
            }
        }
        if let Some(link) = self.engine.repl.master.as_mut() {
            link.recharge(self.budget);
        }
    }

    fn repl_link_write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stream = self
            .engine
            .repl
            .master
            .as_mut()
            .and_then(|l| l.stream.as_mut())
            .ok_or("no socket")?;
        let mut written = 0;
        while written < bytes.len() {
            match stream.write_plain(&bytes[written..]) {
                Ok(0) => return Err("master closed the connection".into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // Handshake commands are tiny: a full socket buffer here means a dead peer.
                Err(e) => return Err(format!("write to master: {e}")),
            }
        }
        match stream.flush() {
            Err(e) if e.kind() != ErrorKind::WouldBlock => Err(format!("write to master: {e}")),
            _ => Ok(()),
        }
    }

    fn repl_link_read(&mut self) -> Result<(), String> {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return Ok(());
        };
        let Some(stream) = link.stream.as_mut() else {
            return Ok(());
        };
        let mut chunk = vec![0u8; READ_CHUNK_BYTES];
        // TLS: handshake records and replies rustls queued go out before reading more.
        if let Err(e) = stream.flush() {
            if e.kind() != ErrorKind::WouldBlock {
                return Err(format!("write to master: {e}"));
            }
        }
        loop {
            match stream.read_plain(&mut chunk) {
                Ok(0) => return Err("master closed the connection".into()),
                Ok(n) => {
                    link.inbuf.extend_from_slice(&chunk[..n]);
                    link.last_io_ms = cached_ms();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read from master: {e}")),
            }
        }
    }

    /// Runs the handshake and the transfer over the bytes read so far.
    fn repl_link_drive(&mut self) -> Result<(), String> {
        loop {
            let Some(link) = self.engine.repl.master.as_mut() else {
                return Ok(());
            };
            match &mut link.state {
                LinkState::Handshake(hs) => {
                    let Some(nl) = link.inbuf.iter().position(|&b| b == b'\n') else {
                        if link.inbuf.len() > LINE_BYTES_MAX {
                            return Err("garbage from master (line too long)".into());
                        }
                        return Ok(());
                    };
                    let line: Vec<u8> = link.inbuf.drain(..=nl).collect();
                    let line = line.strip_suffix(b"\n").unwrap_or(&line);
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    match hs.on_line(line) {
                        Step::Send(bytes) => self.repl_link_write(&bytes)?,
                        Step::Wait => {}
                        Step::Fail(why) => return Err(why),
                        Step::FullResync { replid, offset } => {
                            zedis_deploy::notice!("Full resync from master: {replid}:{offset}");
                            self.repl_clear_failover();
                            let bytes_max = match self.budget.limit() {
                                0 => u64::MAX / 2,
                                limit => limit as u64,
                            };
                            let diskless = match self.config.get("repl-diskless-load") {
                                "swapdb" => true,
                                "on-empty-db" => self.engine.ks.total_keys() == 0,
                                _ => false,
                            };
                            let Some(link) = self.engine.repl.master.as_mut() else {
                                return Ok(());
                            };
                            link.state = LinkState::Transfer {
                                rx: RdbReceiver::new(bytes_max),
                                replid,
                                offset,
                                diskless,
                            };
                        }
                        Step::Continue { new_replid } => {
                            zedis_deploy::notice!(
                                "Successful partial resynchronization with master."
                            );
                            self.repl_clear_failover();
                            self.repl_continued(new_replid);
                            return self.repl_become_connected();
                        }
                    }
                }
                LinkState::Transfer {
                    rx, diskless: true, ..
                } => {
                    let used = rx.feed_header(&link.inbuf).map_err(|e| e.to_string())?;
                    link.inbuf.drain(..used);
                    if *rx.framing() == Framing::Header {
                        return Ok(());
                    }
                    self.repl_diskless_load()?;
                    return self.repl_become_connected();
                }
                LinkState::Transfer { rx, .. } => {
                    let fed = rx.feed(&link.inbuf).map_err(|e| e.to_string())?;
                    link.inbuf.drain(..fed.consumed);
                    if !fed.complete {
                        return Ok(());
                    }
                    self.repl_load_transfer()?;
                    return self.repl_become_connected();
                }
                _ => return Ok(()),
            }
        }
    }

    /// `+CONTINUE`: the backlog and offset stay; a new id shifts the old one to `replid2`.
    pub(super) fn repl_continued(&mut self, new_replid: Option<String>) {
        let size = self.settings.repl_backlog_bytes;
        let repl = &mut self.engine.repl;
        if let Some(new) = new_replid.filter(|n| *n != repl.replid) {
            repl.replid2 = std::mem::replace(&mut repl.replid, new);
            repl.second_replid_offset = repl.master_repl_offset as i64 + 1;
            self.repl_disconnect_replicas();
        }
        let repl = &mut self.engine.repl;
        if repl.backlog.is_none() {
            repl.backlog = Some(Backlog::new(size, repl.master_repl_offset));
        }
    }
}
