//! The replica's side: the link to our master ([`MasterLink`]), driven by the event loop through the
//! sans-IO [`Handshake`] and [`RdbReceiver`] (REPLICAOF and ROLE are in `commands.rs`).
//!
//! Link states follow Redis's `repl_state`: connect (waiting to retry, with a growing backoff), connecting
//! (TCP), handshake, sync (receiving the RDB), connected. Once the RDB is loaded the socket becomes an
//! ordinary client slot flagged `is_master`: its commands run through `Core::call` like anyone's, their
//! replies are dropped (except `REPLCONF ACK`), and each command's bytes advance our offset and are passed on
//! verbatim to our backlog and sub-replicas (`Core::repl_master_applied`).

use super::handshake::{Handshake, RdbReceiver, Step, LINE_BYTES_MAX};
use super::Backlog;
use crate::client::Frame;
use crate::server::{cached_ms, Core, CLIENT_TOKEN_BASE, MASTER_LINK};
use crate::Strategy;
use mio::net::TcpStream;
use mio::{Interest, Token};
use std::io::ErrorKind;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_deploy::stream::{redis_addr, ClientStream};
use zedis_tls::{StreamLimits, TlsStream, Transport};

/// First retry delay after a failed attempt; doubled per failure up to [`RETRY_MS_MAX`].
const RETRY_MS_MIN: i64 = 1000;
/// Longest delay between attempts.
const RETRY_MS_MAX: i64 = 8000;
/// Bytes read from the master per read call during the handshake and transfer.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Where the link stands.
#[derive(Debug)]
pub enum LinkState {
    /// Not connected; the next attempt is at `retry_at_ms`.
    Connect,
    /// TCP connection in progress.
    Connecting,
    /// PING .. PSYNC.
    Handshake(Handshake),
    /// Receiving the RDB of a full resync at `offset` of history `replid`.
    Transfer {
        /// The payload so far.
        rx: RdbReceiver,
        /// The master's replication id.
        replid: String,
        /// The offset the RDB corresponds to.
        offset: u64,
    },
    /// Streaming: the master is client `ck`.
    Connected(usize),
}

/// Our master and the link to it.
#[derive(Debug)]
pub struct MasterLink {
    /// REPLICAOF host.
    pub host: String,
    /// REPLICAOF port.
    pub port: u16,
    /// Link state.
    pub state: LinkState,
    /// The socket, TLS with `tls-replication yes` (`server/tls.rs`).
    stream: Option<Transport<ClientStream>>,
    /// Bytes read and not yet used (handshake lines, payload, the stream's start).
    inbuf: Vec<u8>,
    retry_at_ms: i64,
    failures: u32,
    /// When the link went down (unix ms; 0: never up).
    pub down_since_ms: i64,
    /// Last read from the master during handshake or transfer (unix ms).
    pub last_io_ms: i64,
    /// Bytes of `inbuf` and the payload charged to the budget (`Component::Persistence`).
    charged_bytes: usize,
    /// The database the master client starts in: the RDB's `repl-stream-db`, or after a break the one the
    /// stream had selected (a partial resync sends no new SELECT).
    stream_db: usize,
}

impl MasterLink {
    fn new(host: String, port: u16) -> MasterLink {
        MasterLink {
            host,
            port,
            state: LinkState::Connect,
            stream: None,
            inbuf: Vec::new(),
            retry_at_ms: 0,
            failures: 0,
            down_since_ms: cached_ms(),
            last_io_ms: 0,
            charged_bytes: 0,
            stream_db: 0,
        }
    }

    /// Charges the read buffer and the payload received so far to the budget.
    fn recharge(&mut self, budget: &zedis_budget::Budget) {
        let payload = match &self.state {
            LinkState::Transfer { rx, .. } => rx.data.capacity(),
            _ => 0,
        };
        let bytes = self.inbuf.capacity() + payload;
        if bytes > self.charged_bytes {
            budget.reserve(Component::Persistence, bytes - self.charged_bytes);
        } else {
            budget.release(Component::Persistence, self.charged_bytes - bytes);
        }
        self.charged_bytes = bytes;
    }

    /// ROLE's and INFO's name for the state.
    pub fn state_name(&self) -> &'static str {
        match &self.state {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake(hs) if hs.before_psync() => "handshake",
            LinkState::Handshake(_) => "handshake",
            LinkState::Transfer { .. } => "sync",
            LinkState::Connected(_) => "connected",
        }
    }

    /// (announced size, bytes received) of the RDB transfer in progress.
    pub fn transfer_progress(&self) -> Option<(i64, i64)> {
        match &self.state {
            LinkState::Transfer { rx, .. } => Some((rx.total_bytes(), rx.data.len() as i64)),
            _ => None,
        }
    }
}

impl<S: Strategy> Core<S> {
    /// Whether the link to our master is up (streaming).
    pub fn repl_link_up(&self) -> bool {
        matches!(
            self.engine.repl.master.as_ref().map(|l| &l.state),
            Some(LinkState::Connected(_))
        )
    }

    /// REPLICAOF host port: drops any current link and starts a new one. Our own id and offset are what we
    /// ask to continue from (a promoted replica's old master may still continue us).
    pub fn repl_set_master(&mut self, host: String, port: u16) {
        self.repl_flush();
        self.repl_drop_link();
        // CONFIG GET replicaof (and CONFIG REWRITE) show the master, as Redis's do.
        let _ = self
            .config
            .set("replicaof", &format!("{host} {port}"), false);
        self.engine.repl.master = Some(MasterLink::new(host, port));
        zedis_deploy::log::set_role(zedis_deploy::log::Role::Replica);
        // As Redis's expireIfNeeded with a master set: expired keys are hidden, never deleted here.
        self.engine.ks.expiry = zedis_keyspace::ExpiryRole::Replica;
        self.repl_connect();
    }

    /// REPLICAOF NO ONE: a new history (the old id stays valid as `replid2` up to our offset), replicas
    /// disconnected so they learn it (they continue partially).
    pub fn repl_unset_master(&mut self) {
        self.repl_drop_link();
        let _ = self.config.set("replicaof", "", false);
        self.engine.repl.master = None;
        zedis_deploy::log::set_role(zedis_deploy::log::Role::Master);
        self.engine.ks.expiry = zedis_keyspace::ExpiryRole::Master;
        let repl = &mut self.engine.repl;
        repl.replid2 = std::mem::replace(&mut repl.replid, super::new_replid());
        repl.second_replid_offset = repl.master_repl_offset as i64 + 1;
        repl.stream_db = None;
        self.repl_disconnect_replicas();
    }

    fn repl_disconnect_replicas(&mut self) {
        for ck in self.engine.repl.replicas.clone() {
            self.net.closing.push(ck);
        }
    }

    /// Closes the master link (socket or master client) without forgetting who the master is.
    fn repl_drop_link(&mut self) {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return;
        };
        if let Some(mut stream) = link.stream.take() {
            let _ = self.net.poll.registry().deregister(&mut stream);
        }
        link.inbuf = Vec::new();
        let state = std::mem::replace(&mut link.state, LinkState::Connect);
        link.recharge(self.budget);
        if let LinkState::Connected(ck) = state {
            if let Some(client) = self.clients.get_mut(ck) {
                client.is_master = false;
            }
            self.free_client(ck);
        }
    }

    /// The master client disconnected: retry soon, keeping our id and offset for a partial resync.
    pub fn repl_master_lost(&mut self) {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return;
        };
        if let LinkState::Connected(ck) = link.state {
            link.stream_db = self.clients.get(ck).map_or(0, |c| c.db);
            zedis_deploy::warning!("Connection with master lost.");
            link.state = LinkState::Connect;
            link.down_since_ms = cached_ms();
            link.retry_at_ms = cached_ms() + RETRY_MS_MIN;
        }
    }

    /// A failed attempt: log, close, retry after the backoff.
    fn repl_link_failed(&mut self, why: &str) {
        if self.engine.repl.failover.is_some() {
            return self
                .repl_abort_failover(&format!("Failover target rejected psync request: {why}"));
        }
        zedis_deploy::warning!("Master link: {why}; retrying");
        self.repl_drop_link();
        if let Some(link) = self.engine.repl.master.as_mut() {
            link.failures = (link.failures + 1).min(8);
            let delay = (RETRY_MS_MIN << (link.failures - 1)).min(RETRY_MS_MAX);
            link.retry_at_ms = cached_ms() + delay;
        }
    }

    /// Starts the TCP connection to the master.
    fn repl_connect(&mut self) {
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
        if let Err(e) = self.repl_link_read() {
            return self.repl_link_failed(&e);
        }
        if let Err(e) = self.repl_link_drive() {
            self.repl_link_failed(&e);
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
                            let Some(link) = self.engine.repl.master.as_mut() else {
                                return Ok(());
                            };
                            let bytes_max = match self.budget.limit() {
                                0 => u64::MAX / 2,
                                limit => limit as u64,
                            };
                            link.state = LinkState::Transfer {
                                rx: RdbReceiver::new(bytes_max),
                                replid,
                                offset,
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
    fn repl_continued(&mut self, new_replid: Option<String>) {
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

    /// The RDB is complete: replace the dataset with it and take the master's id and offset.
    fn repl_load_transfer(&mut self) -> Result<(), String> {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return Ok(());
        };
        let state = std::mem::replace(&mut link.state, LinkState::Connect);
        let LinkState::Transfer { rx, replid, offset } = state else {
            return Ok(());
        };
        zedis_deploy::notice!(
            "MASTER <-> REPLICA sync: Loading DB in memory ({} bytes)",
            rx.data.len()
        );
        link.stream_db = super::rdb::stream_db(&rx.data).min(self.engine.ks.db_count() - 1);
        self.engine.ks.flush_all();
        // The master's libraries replace ours (Redis clears the function context before loading).
        if let Some(scripting) = self.engine.scripting.as_mut() {
            let _ = scripting.function_flush();
        }
        if let Err(e) = self.rdb_load(&rx.data[..]) {
            self.engine.ks.flush_all();
            return Err(format!(
                "Failed trying to load the MASTER synchronization DB: {e}"
            ));
        }
        // Every database was replaced: WATCHers of keys that changed see it (Redis's signalFlushedDb).
        self.engine.fx.reset();
        self.engine.fx.flushed_dbs = (0..self.engine.ks.db_count()).collect();
        crate::multi::signal_touched(self);
        self.engine.fx.reset();
        let size = self.settings.repl_backlog_bytes;
        let repl = &mut self.engine.repl;
        repl.replid = replid;
        repl.replid2 = "0".repeat(40);
        repl.second_replid_offset = -1;
        repl.master_repl_offset = offset;
        repl.backlog = Some(Backlog::new(size, offset));
        repl.recharge(self.budget);
        // A new dataset: our replicas must resync from it, and an AOF must be rewritten from it (Redis's
        // restartAOFAfterSYNC).
        self.repl_disconnect_replicas();
        if self.engine.aof.enabled() {
            if let Err(e) = self.aof_start_rewrite() {
                zedis_deploy::warning!("Can't rewrite the AOF after the sync with the master: {e}");
                self.engine.aof.rewrite_scheduled = true;
            }
        }
        zedis_deploy::notice!("MASTER <-> REPLICA sync: Finished with success");
        Ok(())
    }

    /// The socket becomes the master client; what followed the payload is its first input.
    fn repl_become_connected(&mut self) -> Result<(), String> {
        let Some(link) = self.engine.repl.master.as_mut() else {
            return Ok(());
        };
        let Some(mut stream) = link.stream.take() else {
            return Err("no socket".into());
        };
        let rest = std::mem::take(&mut link.inbuf);
        let stream_db = link.stream_db;
        let id = self.net.next_client_id;
        let now = crate::server::unix_ms();
        let limits = self.settings.parser_limits;
        let (addr, laddr) = match stream.socket() {
            ClientStream::Tcp(tcp) => (
                tcp.peer_addr().map(redis_addr).unwrap_or_default(),
                tcp.local_addr().map(redis_addr).unwrap_or_default(),
            ),
            ClientStream::Unix(_) => Default::default(),
        };
        let inserted = self.clients.insert_with(|client| {
            let mut input = client.input.take().unwrap_or_default();
            input.parser.set_limits(limits);
            input.parser.set_authenticated(true);
            input.query.extend_from_slice(&rest);
            client.input = Some(input);
            client.id = id;
            client.addr = addr;
            client.laddr = laddr;
            client.created_ms = now;
            client.last_interaction_ms = now;
            client.authenticated = true;
            client.is_master = true;
            client.db = stream_db;
            client.last_cmd = "NULL";
        });
        let Ok(ck) = inserted else {
            let _ = self.net.poll.registry().deregister(&mut stream);
            return Err("no client slot for the master".into());
        };
        let token = Token(ck + CLIENT_TOKEN_BASE);
        if let Err(e) = self
            .net
            .poll
            .registry()
            .reregister(&mut stream, token, Interest::READABLE)
        {
            self.clients.remove(ck);
            return Err(format!("can't poll the master client: {e}"));
        }
        self.net.next_client_id += 1;
        if let Some(client) = self.clients.get_mut(ck) {
            client.fd = std::os::fd::AsRawFd::as_raw_fd(stream.socket());
            client.stream = Some(stream);
        }
        if let Some(link) = self.engine.repl.master.as_mut() {
            link.state = LinkState::Connected(ck);
            link.failures = 0;
        }
        // The first ACK puts us online at the master (a diskless master waits for it).
        self.repl_send_ack(ck);
        self.engine.blocked.resumed.push(ck);
        Ok(())
    }

    /// Writes `REPLCONF ACK <offset>` to the master client `ck`.
    pub fn repl_send_ack(&mut self, ck: usize) {
        let offset = self.engine.repl.master_repl_offset.to_string();
        let mut bytes = Vec::new();
        zedis_resp::encode_command(&mut bytes, &[b"REPLCONF", b"ACK", offset.as_bytes()]);
        if let Some(client) = self.clients.get_mut(ck) {
            // Queued as its own chunk: the master client's `out` (the replies it never gets) is cut back
            // after each command, the chunk is not.
            let frame = Frame::new(bytes, Component::Clients);
            client.push_shared(&std::rc::Rc::new(frame));
        }
        self.queue_write(ck);
    }

    /// After one command from our master ran (its reply started at `before` in the client's output): drop
    /// the reply (an ACK is queued apart), advance the offset by its `raw` bytes and pass them on.
    pub fn repl_master_applied(&mut self, ck: usize, before: usize, raw: &[u8]) {
        if let Some(client) = self.clients.get_mut(ck) {
            if client.out.len() > before {
                let out = client.out.vec_mut();
                out.truncate(before);
                client.out.recharge();
            }
        }
        if self.engine.repl.backlog.is_some() {
            self.repl_append_stream(raw);
        } else {
            self.engine.repl.master_repl_offset += raw.len() as u64;
        }
    }

    /// Once a second on a replica: connect when due, ACK the master, time out a silent link.
    pub fn repl_replica_cron(&mut self, now_ms: i64) {
        let timeout_ms = self.settings.repl_timeout_s as i64 * 1000;
        let Some(link) = self.engine.repl.master.as_ref() else {
            return;
        };
        match link.state {
            LinkState::Connect if now_ms >= link.retry_at_ms => self.repl_connect(),
            LinkState::Connect => {}
            LinkState::Connected(ck) => {
                let silent = self
                    .clients
                    .get(ck)
                    .is_some_and(|c| now_ms - c.last_interaction_ms > timeout_ms);
                if silent {
                    zedis_deploy::warning!("MASTER timeout: no data nor PING received...");
                    self.net.closing.push(ck);
                } else {
                    self.repl_send_ack(ck);
                }
            }
            _ if now_ms - link.last_io_ms > timeout_ms => {
                self.repl_link_failed("Timeout connecting to the MASTER")
            }
            _ => {}
        }
    }
}
