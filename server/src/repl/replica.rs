//! The replica's side: the link to our master ([`MasterLink`]), driven by the event loop through the
//! sans-IO [`Handshake`] and [`RdbReceiver`] (REPLICAOF and ROLE are in `commands.rs`).
//!
//! The link's I/O before the stream flows is in `link.rs`, loading the RDB in `load.rs` and
//! `diskless_load.rs`.
//!
//! Link states follow Redis's `repl_state`: connect (waiting to retry, with a growing backoff), connecting
//! (TCP), handshake, sync (receiving the RDB), connected. Once the RDB is loaded the socket becomes an
//! ordinary client slot flagged `is_master`: its commands run through `Core::call` like anyone's, their
//! replies are dropped (except `REPLCONF ACK`), and each command's bytes advance our offset and are passed on
//! verbatim to our backlog and sub-replicas (`Core::repl_master_applied`).

use super::handshake::{Handshake, RdbReceiver};
use crate::client::Frame;
use crate::server::{cached_ms, Core};
use crate::Strategy;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_deploy::stream::ClientStream;
use zedis_tls::Transport;

/// First retry delay after a failed attempt; doubled per failure up to [`RETRY_MS_MAX`].
const RETRY_MS_MIN: i64 = 1000;
/// Longest delay between attempts.
const RETRY_MS_MAX: i64 = 8000;
/// Bytes read from the master per read call during the handshake and transfer.
pub(super) const READ_CHUNK_BYTES: usize = 64 * 1024;

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
        /// Parse the payload from the socket as it arrives (`repl-diskless-load`, `diskless_load.rs`).
        diskless: bool,
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
    pub(super) stream: Option<Transport<ClientStream>>,
    /// Bytes read and not yet used (handshake lines, payload, the stream's start).
    pub(super) inbuf: Vec<u8>,
    pub(super) retry_at_ms: i64,
    pub(super) failures: u32,
    /// When the link went down (unix ms; 0: never up).
    pub down_since_ms: i64,
    /// Last read from the master during handshake or transfer (unix ms).
    pub last_io_ms: i64,
    /// Bytes of `inbuf` and the payload charged to the budget (`Component::Persistence`).
    pub(super) charged_bytes: usize,
    /// The database the master client starts in: the RDB's `repl-stream-db`, or after a break the one the
    /// stream had selected (a partial resync sends no new SELECT).
    pub(super) stream_db: usize,
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
    pub(super) fn recharge(&mut self, budget: &zedis_budget::Budget) {
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

    pub(super) fn repl_disconnect_replicas(&mut self) {
        for ck in self.engine.repl.replicas.clone() {
            self.net.closing.push(ck);
        }
    }

    /// Closes the master link (socket or master client) without forgetting who the master is.
    pub(super) fn repl_drop_link(&mut self) {
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
    pub(super) fn repl_link_failed(&mut self, why: &str) {
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
