//! Replication, as Redis 7.0 speaks it (PSYNC2): this server as a master of replicas, as a replica of a
//! master, or both (a chain).
//!
//! - The write stream is fed by `Core::drain_effects` through `Core::propagate` (the same records the AOF
//!   gets: DELs for expired/evicted keys, deterministic forms, MULTI/EXEC around transactions and scripts),
//!   with a `SELECT` whenever the database changes. A loop turn's records collect in [`Repl::pending`]; before
//!   the loop writes replies they go to the [`Backlog`] and, as one shared frame, to every online replica's
//!   output (`Core::repl_flush`). `master_repl_offset` counts the stream's bytes as Redis does.
//! - `master.rs`: the master's commands (REPLCONF, PSYNC, SYNC, WAIT) and its cron (PING to replicas,
//!   GETACK for WAIT, `min-replicas-to-write`).
//! - `bgsave.rs`: the RDB of a full resync written by a forked child, then sent with the stream since.
//! - `diskless.rs`: `repl-diskless-sync`: when to fork for the replicas waiting for an RDB, and the
//!   diskless child's pipe relayed to their sockets.
//! - `rdb.rs`: the RDB with Redis's replication AUX fields (`repl-stream-db` for chains).
//! - `handshake.rs`: the replica side of the handshake and the RDB transfer as sans-IO state machines.
//! - `replica.rs`: the link to our master (its state, REPLICAOF's effect, ACKs, the cron); `link.rs` connects
//!   and drives the handshake and transfer; `load.rs` loads the RDB, then the master becomes a client whose
//!   commands run through the one command path.
//! - `failover.rs`: FAILOVER.
//! - `commands.rs`: REPLICAOF/SLAVEOF and ROLE.
//! - `info.rs`: INFO replication.
//!
//! On a replica the stream received from the master is applied as the master client's commands and the
//! same bytes are passed on verbatim to our own backlog and sub-replicas (Redis's
//! `replicationFeedStreamFromMasterStream`), so a chain keeps one replication id and one offset space.

pub mod backlog;
pub mod bgsave;
pub mod commands;
pub mod diskless;
pub mod diskless_load;
pub mod failover;
pub mod handshake;
pub mod info;
pub mod link;
pub mod load;
pub mod master;
pub mod rdb;
pub mod replica;

pub use backlog::Backlog;

use crate::client::Frame;
use crate::server::Core;
use crate::Strategy;
use std::rc::Rc;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;

/// What the master side knows of one replica client (kept on its `Client`).
#[derive(Debug, Clone, Default)]
pub struct ReplicaLink {
    /// `REPLCONF listening-port`.
    pub listening_port: u16,
    /// `REPLCONF ip-address`: the address it announces instead of the connection's.
    pub announced_ip: Option<String>,
    /// Offset of the last `REPLCONF ACK`.
    pub ack_offset: u64,
    /// When that ACK came (unix ms).
    pub ack_ms: i64,
    /// Sent `capa eof` (can read a diskless `$EOF:` payload).
    pub capa_eof: bool,
    /// Sent `capa psync2` (understands `+CONTINUE <replid>`).
    pub capa_psync2: bool,
    /// Receives the write stream (after PSYNC/SYNC).
    pub online: bool,
    /// Waits for the background RDB of its full resync, forked already (`bgsave.rs`; Redis's
    /// `WAIT_BGSAVE_END`).
    pub waiting_bgsave: bool,
    /// Waits for the next RDB child to be forked (Redis's `WAIT_BGSAVE_START`): a diskless sync's delay,
    /// or a child running that it cannot join (`diskless.rs`).
    pub wait_bgsave_start: bool,
    /// When it started waiting for a fork (unix ms; `repl-diskless-sync-delay` counts from here).
    pub wait_start_ms: i64,
    /// Its RDB comes from the diskless child through the pipe (`$EOF:` framing), not from a file.
    pub diskless: bool,
    /// Its diskless payload was sent: the stream since this offset follows its first `REPLCONF ACK`
    /// (Redis's `repl_start_cmd_stream_on_ack`: a replica finds the EOF mark only at the end of what it
    /// read, so nothing may follow the mark before it loaded).
    pub stream_on_ack: Option<u64>,
    /// The stream written since its RDB's fork offset, held while it waits for the child or its first ACK
    /// (Redis accumulates it in the replica's output buffer): bounded by the `replica` output limit,
    /// charged to the budget (`Component::Clients`).
    pub held: Vec<u8>,
    /// Attached with SYNC (no PSYNC): it never acknowledges, so `repl-timeout` does not apply (Redis's
    /// `CLIENT_PRE_PSYNC`).
    pub pre_psync: bool,
    /// The queued frame holding its RDB payload, until written: exempt from the output limit (Redis sends
    /// the RDB from the file, outside the output buffer).
    pub rdb_frame: Option<std::rc::Weak<Frame>>,
}

/// The address a replica is known by (ROLE, INFO, FAILOVER TO): its announced one, else the peer's IP.
pub fn replica_ip(client: &crate::client::Client) -> &str {
    if let Some(ip) = client
        .replica
        .as_ref()
        .and_then(|l| l.announced_ip.as_deref())
    {
        return ip;
    }
    client
        .addr
        .rsplit_once(':')
        .map_or(client.addr.as_str(), |(ip, _)| ip)
}

impl ReplicaLink {
    /// Redis's `SLAVE_STATE_ONLINE`: streaming, or its diskless payload sent and the stream waiting for its
    /// first ACK (Redis puts such a replica online at once; only the stream waits).
    pub fn is_online(&self) -> bool {
        self.online || self.stream_on_ack.is_some()
    }
}

/// Whether `client` is a replica of ours past PSYNC/SYNC (streaming or waiting for its RDB).
pub fn is_online_replica(client: &crate::client::Client) -> bool {
    client.replica.as_ref().is_some_and(|r| {
        r.online || r.waiting_bgsave || r.wait_bgsave_start || r.stream_on_ack.is_some()
    })
}

/// Bytes of client `client`'s output that are its RDB payload (not counted by the output limit).
pub fn rdb_unsent_bytes(client: &crate::client::Client) -> usize {
    let Some(frame) = client
        .replica
        .as_ref()
        .and_then(|l| l.rdb_frame.as_ref())
        .and_then(std::rc::Weak::upgrade)
    else {
        return 0;
    };
    for (i, chunk) in client.pending.iter().enumerate() {
        if let crate::client::Chunk::Shared(shared) = chunk {
            if Rc::ptr_eq(shared, &frame) {
                let written = if i == 0 { client.pending_offset } else { 0 };
                return frame.bytes().len() - written;
            }
        }
    }
    0
}

/// A client waiting in WAIT.
#[derive(Debug, Clone, Copy)]
pub struct Waiter {
    /// Its slot.
    pub ck: usize,
    /// The offset its writes reached.
    pub offset: u64,
    /// Replicas it asked for.
    pub replicas: usize,
    /// When it gives up (unix ms); None: never.
    pub deadline_ms: Option<i64>,
}

/// Replication state (the engine half holds one).
#[derive(Debug)]
pub struct Repl {
    /// Our replication id (40 hex characters).
    pub replid: String,
    /// The id we had before the last promotion (zeros when none).
    pub replid2: String,
    /// The first offset that `replid2` is valid for (-1 when none).
    pub second_replid_offset: i64,
    /// Bytes of stream written so far (Redis's `master_repl_offset`).
    pub master_repl_offset: u64,
    /// The backlog; created when the first replica attaches, as Redis does.
    pub backlog: Option<Backlog>,
    /// This loop turn's stream records, not yet in the backlog.
    pub pending: Vec<u8>,
    /// Database of the last SELECT in the stream (None: the next record writes one).
    pub stream_db: Option<usize>,
    /// Slot keys of replica clients (online or not).
    pub replicas: Vec<usize>,
    /// Clients in WAIT.
    pub waiters: Vec<Waiter>,
    /// A WAIT started this turn: send `REPLCONF GETACK *` to the replicas.
    pub get_ack: bool,
    /// The link to our master, when we are a replica.
    pub master: Option<replica::MasterLink>,
    /// Full resyncs served (`sync_full`).
    pub sync_full: u64,
    /// Partial resyncs accepted (`sync_partial_ok`).
    pub sync_partial_ok: u64,
    /// Partial resyncs refused (`sync_partial_err`).
    pub sync_partial_err: u64,
    /// Bytes charged to the budget for the backlog and pending stream.
    charged_bytes: usize,
    /// Commands fed to the AOF or stream so far (MULTI/EXEC wrapping counts them).
    pub propagated_ops: u64,
    /// Cron ticks, for `repl-ping-replica-period`.
    pub cron_ticks: u64,
    /// A FAILOVER in progress.
    pub failover: Option<failover::Failover>,
}

impl Default for Repl {
    fn default() -> Self {
        Repl {
            replid: new_replid(),
            replid2: "0".repeat(40),
            second_replid_offset: -1,
            master_repl_offset: 0,
            backlog: None,
            pending: Vec::new(),
            stream_db: None,
            replicas: Vec::new(),
            waiters: Vec::new(),
            get_ack: false,
            master: None,
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            charged_bytes: 0,
            propagated_ops: 0,
            cron_ticks: 0,
            failover: None,
        }
    }
}

/// A fresh random replication id: 40 hex characters from the OS's random source.
pub fn new_replid() -> String {
    let mut bytes = [0u8; 20];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // No urandom: time and pid still make ids differ between runs.
        let seed = crate::server::unix_ms() as u64 ^ ((std::process::id() as u64) << 32);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed.rotate_left(i as u32 * 7) >> (i % 8)) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Repl {
    /// Whether we are a replica (REPLICAOF host port).
    pub fn is_replica(&self) -> bool {
        self.master.is_some()
    }

    /// Whether commands are fed to the stream: we keep a backlog and are not a replica (a replica passes on
    /// its master's stream instead).
    pub fn feeding(&self) -> bool {
        self.backlog.is_some() && self.master.is_none()
    }

    /// Appends one record executed in `db` to this turn's stream, with a SELECT first when `db` changed.
    pub fn feed(&mut self, db: usize, argv: &[&[u8]]) {
        if !self.feeding() {
            return;
        }
        if self.stream_db != Some(db) {
            let mut text = itoa::Buffer::new();
            zedis_resp::encode_command(&mut self.pending, &[b"SELECT", text.format(db).as_bytes()]);
            self.stream_db = Some(db);
        }
        zedis_resp::encode_command(&mut self.pending, argv);
    }

    /// The next record's position in `pending` (for MULTI/EXEC wrapping).
    pub fn mark(&self) -> usize {
        self.pending.len()
    }

    /// Drops the records fed since `mark` (a script cut short by SHUTDOWN NOSAVE, whose effects Redis never
    /// propagates).
    pub fn truncate(&mut self, mark: usize) {
        self.pending.truncate(mark);
    }

    /// Wraps the records after `mark` in MULTI/EXEC (keeping a leading SELECT outside, where Redis puts it).
    pub fn wrap_in_multi(&mut self, mark: usize) {
        if mark > self.pending.len() || mark == self.pending.len() {
            return;
        }
        let mut start = mark;
        // A SELECT that opens the block stays before MULTI, as Redis emits it.
        start += select_len(&self.pending[mark..]);
        let mut multi = Vec::new();
        zedis_resp::encode_command(&mut multi, &[b"MULTI"]);
        self.pending.splice(start..start, multi);
        zedis_resp::encode_command(&mut self.pending, &[b"EXEC"]);
    }

    /// Charges the backlog and pending stream to the budget (`Component::Other`: counted toward eviction,
    /// as Redis counts its backlog).
    pub fn recharge(&mut self, budget: &zedis_budget::Budget) {
        let bytes =
            self.pending.capacity() + self.backlog.as_ref().map_or(0, Backlog::memory_bytes);
        if bytes > self.charged_bytes {
            budget.reserve(Component::Other, bytes - self.charged_bytes);
        } else {
            budget.release(Component::Other, self.charged_bytes - bytes);
        }
        self.charged_bytes = bytes;
    }
}

/// Length of the `SELECT n` record `bytes` starts with (as [`Repl::feed`] encodes it), 0 if none.
fn select_len(bytes: &[u8]) -> usize {
    const PREFIX: &[u8] = b"*2\r\n$6\r\nSELECT\r\n$";
    let Some(rest) = bytes.strip_prefix(PREFIX) else {
        return 0;
    };
    let Some(crlf) = rest.windows(2).position(|w| w == b"\r\n") else {
        return 0;
    };
    let digits = std::str::from_utf8(&rest[..crlf])
        .ok()
        .and_then(|d| d.parse::<usize>().ok());
    digits.map_or(0, |n| PREFIX.len() + crlf + 2 + n + 2)
}

impl<S: Strategy> Core<S> {
    /// Feeds one record to everything downstream of the keyspace: the AOF and the replication stream. Called
    /// only from the AOF logging that `Core::drain_effects` does.
    pub fn propagate(&mut self, db: usize, argv: &[&[u8]]) {
        self.engine.aof.feed(db, argv);
        self.engine.repl.feed(db, argv);
        self.engine.repl.propagated_ops += 1;
    }

    /// Whether any record would be kept by `propagate`.
    pub fn propagating(&self) -> bool {
        self.engine.aof.enabled()
            || self.engine.aof.rewrite_in_progress()
            || self.engine.repl.feeding()
    }

    /// Moves this turn's stream into the backlog and to every online replica (one shared frame), and
    /// advances `master_repl_offset`. Called before replies are written and before a full resync snapshot.
    pub fn repl_flush(&mut self) {
        if self.engine.repl.pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.engine.repl.pending);
        self.repl_append_stream(&bytes);
        let mut bytes = bytes;
        bytes.clear();
        bytes.shrink_to(64 * 1024);
        self.engine.repl.pending = bytes;
        self.engine.repl.recharge(self.budget);
    }

    /// Appends stream bytes (our own records, or our master's stream passed on) to the backlog and the
    /// online replicas' outputs.
    pub fn repl_append_stream(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let repl = &mut self.engine.repl;
        let Some(backlog) = repl.backlog.as_mut() else {
            return;
        };
        backlog.append(bytes);
        repl.master_repl_offset += bytes.len() as u64;
        let targets: Vec<usize> = repl.replicas.clone();
        let mut frame = None;
        let now = crate::server::cached_ms();
        let limit = self.settings.output_limits.replica;
        for ck in targets {
            let Some(client) = self.clients.get_mut(ck) else {
                continue;
            };
            if let Some(link) = client
                .replica
                .as_mut()
                .filter(|l| l.waiting_bgsave || l.stream_on_ack.is_some())
            {
                link.held.extend_from_slice(bytes);
                self.budget.reserve(Component::Clients, bytes.len());
                let held = link.held.len() as u64;
                if limit.exceeded(held, &mut client.soft_limit_since_ms, now) {
                    zedis_deploy::warning!(
                        "Client id={} closed for overcoming of output buffer limits.",
                        client.id
                    );
                    self.net.closing.push(ck);
                }
                continue;
            }
            if !client.replica.as_ref().is_some_and(|r| r.online) {
                continue;
            }
            let frame = frame
                .get_or_insert_with(|| Rc::new(Frame::new(bytes.to_vec(), Component::Clients)));
            client.push_shared(frame);
            self.queue_write(ck);
        }
        self.engine.repl.recharge(self.budget);
    }

    /// After a command from replica `ck`: a replica never gets replies (its link carries the stream), so
    /// one that caused a reply is dropped, as Redis does.
    pub fn repl_replica_replied(&mut self, ck: usize, before: usize) {
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        if client.out.len() <= before {
            return;
        }
        client.out.vec_mut().truncate(before);
        client.out.recharge();
        zedis_deploy::warning!(
            "Replica generated a reply to command '{}', disconnecting it (id={})",
            client.last_cmd,
            client.id
        );
        self.net.closing.push(ck);
    }

    /// Forgets a disconnecting client's replication roles (a replica of ours, our master, a WAIT).
    pub fn repl_forget_client(&mut self, ck: usize) {
        let held = self
            .clients
            .get_mut(ck)
            .and_then(|c| c.replica.as_mut())
            .map(|l| std::mem::take(&mut l.held));
        if let Some(held) = held {
            self.budget.release(Component::Clients, held.len());
        }
        self.engine.repl.replicas.retain(|&r| r != ck);
        self.engine.repl.waiters.retain(|w| w.ck != ck);
        let is_master = self.clients.get(ck).is_some_and(|c| c.is_master);
        if is_master {
            self.repl_master_lost();
        }
    }
}

impl<S: Strategy> Core<S> {
    /// Takes the stream held for replica `ck` since its RDB's fork (see [`ReplicaLink::held`]).
    pub fn repl_take_held(&mut self, ck: usize) -> Vec<u8> {
        let held = self
            .clients
            .get_mut(ck)
            .and_then(|c| c.replica.as_mut())
            .map(|l| std::mem::take(&mut l.held))
            .unwrap_or_default();
        self.budget.release(Component::Clients, held.len());
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_selects_and_wraps_like_redis() {
        let mut repl = Repl {
            backlog: Some(Backlog::new(1024, 0)),
            ..Repl::default()
        };
        let mark = repl.mark();
        repl.feed(3, &[b"SET", b"a", b"1"]);
        repl.feed(3, &[b"INCR", b"b"]);
        repl.wrap_in_multi(mark);
        assert_eq!(
            String::from_utf8(repl.pending.clone()).unwrap(),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
        );
    }

    #[test]
    fn replids_are_forty_hex_and_differ() {
        let (a, b) = (new_replid(), new_replid());
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
