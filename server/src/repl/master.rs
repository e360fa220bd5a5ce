//! The master's side: REPLCONF, PSYNC and SYNC from replicas (full resync, or `+CONTINUE` from the backlog),
//! WAIT, and the per-turn and cron work (GETACK, PING, `min-replicas-to-write`).
//!
//! A full resync flushes this turn's stream first, so the RDB (written by a forked child, `bgsave.rs`, or
//! in memory when fork fails) is exactly the dataset at the offset `+FULLRESYNC` names.

use super::{new_replid, Backlog, ReplicaLink, Waiter};
use crate::server::{cached_ms, Core};
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;

const NOT_INTEGER: &[u8] = b"ERR value is not an integer or out of range";

/// Parses a signed integer argument.
fn int(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

/// # Format
/// `REPLCONF <option> <value> [<option> <value> ...]`
pub fn replconf<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if argv.len() % 2 == 0 {
        let msg = crate::dispatch::wrong_arity("replconf");
        return core.reply_error(ck, msg.as_bytes());
    }
    for pair in argv[1..].chunks(2) {
        let (option, value) = (pair[0].to_ascii_lowercase(), pair[1]);
        match option.as_slice() {
            b"listening-port" => {
                let Some(port) = int(value) else {
                    return core.reply_error(ck, NOT_INTEGER);
                };
                if let Some(client) = core.clients.get_mut(ck) {
                    client
                        .replica
                        .get_or_insert_with(Default::default)
                        .listening_port = port.clamp(0, 65535) as u16;
                }
            }
            b"capa" => {
                if let Some(client) = core.clients.get_mut(ck) {
                    let link = client.replica.get_or_insert_with(Default::default);
                    link.capa_eof |= value.eq_ignore_ascii_case(b"eof");
                    link.capa_psync2 |= value.eq_ignore_ascii_case(b"psync2");
                }
            }
            b"ack" => {
                // Never answered (the replica does not read replies once online).
                if let Some(offset) = int(value) {
                    core.repl_ack(ck, offset.max(0) as u64);
                }
                return;
            }
            b"getack" => {
                // Only our master may ask; the answer is REPLCONF ACK on the same link.
                if core.clients.get(ck).is_some_and(|c| c.is_master) {
                    core.repl_send_ack(ck);
                }
                return;
            }
            b"ip-address" => {
                if let Some(client) = core.clients.get_mut(ck) {
                    let ip = String::from_utf8_lossy(value).into_owned();
                    client
                        .replica
                        .get_or_insert_with(Default::default)
                        .announced_ip = Some(ip);
                }
            }
            b"rdb-only" | b"rdb-filter-only" => {}
            _ => {
                let msg = format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(pair[0])
                );
                return core.reply_error(ck, msg.as_bytes());
            }
        }
    }
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `PSYNC <replicationid> <offset>`
pub fn psync<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let Some(client) = core.clients.get(ck) else {
        return;
    };
    if client.replica.as_ref().is_some_and(|r| r.online) {
        return;
    }
    // `PSYNC <replid> <offset> FAILOVER`: our master hands its role over to us (FAILOVER).
    if argv.len() > 3 && argv[3].eq_ignore_ascii_case(b"failover") {
        if let Err(refusal) = core.repl_failover_request(argv[1]) {
            return core.reply_error(ck, refusal);
        }
    }
    start_sync(core, ck, Some((argv[1], argv[2])));
}

/// # Format
/// `SYNC`
pub fn sync<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    start_sync(core, ck, None);
}

fn start_sync<S: Strategy>(core: &mut Core<S>, ck: usize, psync: Option<(&[u8], &[u8])>) {
    let Some(client) = core.clients.get(ck) else {
        return;
    };
    if client.replica.as_ref().is_some_and(|r| r.online) || client.is_master {
        return;
    }
    if core.engine.repl.failover.is_some() {
        return core.reply_error(ck, b"NOMASTERLINK Can't SYNC while failing over");
    }
    if core.engine.repl.is_replica() && !core.repl_link_up() {
        return core.reply_error(
            ck,
            b"NOMASTERLINK Can't SYNC while not connected with my master",
        );
    }
    let offset = match psync.map(|(_, offset)| int(offset)) {
        Some(None) => return core.reply_error(ck, NOT_INTEGER),
        Some(Some(offset)) => offset,
        None => -1,
    };
    core.repl_flush();
    if let Some((replid, _)) = psync {
        if core.repl_try_partial(ck, replid, offset) {
            return;
        }
    }
    core.repl_full_sync(ck, psync.is_some());
}

/// # Format
/// `WAIT numreplicas timeout`
pub fn wait<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if core.engine.repl.is_replica() {
        return core.reply_error(ck, b"ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let Some(wanted) = int(argv[1]) else {
        return core.reply_error(ck, NOT_INTEGER);
    };
    let timeout_ms = match int(argv[2]) {
        None => return core.reply_error(ck, b"ERR timeout is not an integer or out of range"),
        Some(t) if t < 0 => return core.reply_error(ck, b"ERR timeout is negative"),
        Some(t) => t,
    };
    if core.engine.tx.executing {
        let n = core.engine.repl.replicas.len() as i64;
        return core.reply(ck, |out, _| reply::integer(out, n));
    }
    let offset = core.engine.repl.master_repl_offset + core.engine.repl.pending.len() as u64;
    let acked = core.repl_acked(offset);
    if acked as i64 >= wanted {
        return core.reply(ck, |out, _| reply::integer(out, acked as i64));
    }
    let deadline_ms = (timeout_ms > 0).then(|| cached_ms() + timeout_ms);
    core.engine.repl.waiters.push(Waiter {
        ck,
        offset,
        replicas: wanted.max(0) as usize,
        deadline_ms,
    });
    core.engine.repl.get_ack = true;
    if let Some(client) = core.clients.get_mut(ck) {
        client.waiting_acks = true;
    }
}

impl<S: Strategy> Core<S> {
    /// The stream from `offset` on, if the backlog still holds it.
    fn repl_since(&self, offset: u64) -> Option<Vec<u8>> {
        self.engine.repl.backlog.as_ref()?.since(offset)
    }

    /// Replicas whose acknowledged offset reached `offset`.
    pub fn repl_acked(&self, offset: u64) -> usize {
        self.engine
            .repl
            .replicas
            .iter()
            .filter(|&&r| {
                self.clients
                    .get(r)
                    .and_then(|c| c.replica.as_ref())
                    .is_some_and(|l| l.online && l.ack_offset >= offset)
            })
            .count()
    }

    /// `REPLCONF ACK <offset>` from replica `ck`.
    fn repl_ack(&mut self, ck: usize, offset: u64) {
        self.repl_start_stream_on_ack(ck);
        let now = cached_ms();
        let Some(link) = self.clients.get_mut(ck).and_then(|c| c.replica.as_mut()) else {
            return;
        };
        if !link.online {
            return;
        }
        link.ack_offset = link.ack_offset.max(offset);
        link.ack_ms = now;
        self.repl_serve_waiters(now);
    }

    /// Answers the WAIT clients whose replicas caught up or whose time ran out.
    pub fn repl_serve_waiters(&mut self, now_ms: i64) {
        if self.engine.repl.waiters.is_empty() {
            return;
        }
        let waiters = std::mem::take(&mut self.engine.repl.waiters);
        for w in waiters {
            let acked = self.repl_acked(w.offset);
            let timed_out = w.deadline_ms.is_some_and(|d| now_ms >= d);
            if acked < w.replicas && !timed_out {
                self.engine.repl.waiters.push(w);
                continue;
            }
            self.reply(w.ck, |out, _| reply::integer(out, acked as i64));
            if let Some(client) = self.clients.get_mut(w.ck) {
                client.waiting_acks = false;
            }
            self.engine.blocked.resumed.push(w.ck);
            self.queue_write(w.ck);
        }
    }

    /// `PSYNC <replid> <offset>`: continues from the backlog when it can (Redis's
    /// `masterTryPartialResynchronization`). False: a full resync is needed.
    fn repl_try_partial(&mut self, ck: usize, replid: &[u8], offset: i64) -> bool {
        let repl = &mut self.engine.repl;
        let asked = String::from_utf8_lossy(replid);
        let same_history = asked.eq_ignore_ascii_case(&repl.replid)
            || (asked.eq_ignore_ascii_case(&repl.replid2) && offset <= repl.second_replid_offset);
        let tail = if same_history && offset >= 1 {
            repl.backlog
                .as_ref()
                .and_then(|b| b.since(offset as u64 - 1))
        } else {
            None
        };
        let Some(tail) = tail else {
            if asked != "?" {
                repl.sync_partial_err += 1;
                zedis_deploy::notice!("Partial resynchronization not accepted: replid or offset not in the backlog (asked {asked}:{offset})");
            }
            return false;
        };
        repl.sync_partial_ok += 1;
        let replid = repl.replid.clone();
        let Some(link) = self
            .clients
            .get_mut(ck)
            .map(|c| c.replica.get_or_insert_with(Default::default))
        else {
            return true;
        };
        link.online = true;
        link.ack_ms = cached_ms();
        let line = if link.capa_psync2 {
            format!("+CONTINUE {replid}\r\n")
        } else {
            "+CONTINUE\r\n".to_string()
        };
        self.reply(ck, |out, _| {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(&tail);
        });
        self.engine.repl.replicas.push(ck);
        zedis_deploy::notice!(
            "Partial resynchronization request accepted. Sending {} bytes of backlog starting from offset {offset}.",
            tail.len()
        );
        true
    }

    /// Full resync (Redis's `syncCommand` after a refused PSYNC): the replica joins a running disk child
    /// forked for replication, or waits for the next fork (`diskless.rs`), started at once unless a
    /// diskless sync's delay applies; `+FULLRESYNC <replid> <offset>` (PSYNC only) names the fork's offset.
    fn repl_full_sync(&mut self, ck: usize, psync: bool) {
        let size = self.settings.repl_backlog_bytes;
        let repl = &mut self.engine.repl;
        if repl.backlog.is_none() {
            if !repl.is_replica() {
                // As Redis's syncCommand for the first replica: a new history.
                repl.replid = new_replid();
                repl.replid2 = "0".repeat(40);
                repl.second_replid_offset = -1;
            }
            repl.backlog = Some(Backlog::new(size, repl.master_repl_offset));
        }
        let now = cached_ms();
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        let addr = client.addr.clone();
        let link = client.replica.get_or_insert_with(ReplicaLink::default);
        link.pre_psync = !psync;
        link.wait_bgsave_start = true;
        link.wait_start_ms = now;
        let capa_eof = link.capa_eof;
        self.engine.repl.sync_full += 1;
        self.engine.repl.replicas.push(ck);
        zedis_deploy::notice!("Replica {addr} asks for synchronization");
        zedis_deploy::notice!("Full resync requested by replica {addr}");
        let diskless = self.config.flag("repl-diskless-sync") && capa_eof;
        match self.engine.persist.child.as_ref() {
            Some(child)
                if child.socket.is_none()
                    && child.joinable
                    && self.repl_since(child.offset).is_some() =>
            {
                let offset = child.offset;
                // The stream since the fork, held for it from now on as for the replicas that came first.
                let held = self.repl_since(offset).unwrap_or_default();
                zedis_budget::GlobalBudget::reserve(
                    self.budget,
                    zedis_budget::Component::Clients,
                    held.len(),
                );
                if let Some(link) = self.clients.get_mut(ck).and_then(|c| c.replica.as_mut()) {
                    link.held = held;
                }
                zedis_deploy::notice!("Waiting for end of BGSAVE for SYNC");
                self.repl_setup_full_resync(ck, offset, false);
            }
            Some(child) if child.socket.is_some() => {
                zedis_deploy::notice!(
                    "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC"
                );
            }
            Some(_) => {
                zedis_deploy::notice!(
                    "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC"
                );
            }
            None if diskless && self.config.int("repl-diskless-sync-delay") > 0 => {
                zedis_deploy::notice!("Delay next BGSAVE for diskless SYNC");
            }
            None => self.repl_start_fork(now, true),
        }
        self.engine.repl.recharge(self.budget);
    }

    /// Before replies are written: GETACK for new WAITs, this turn's stream to the backlog and replicas,
    /// WAIT timeouts.
    pub fn repl_before_sleep(&mut self) {
        // As Redis: no GETACK while a manual failover pauses writes (it would move the offset the replica
        // must reach exactly); it is sent once the pause ends.
        let hold = self.cluster_failover_pausing();
        let repl = &mut self.engine.repl;
        if repl.get_ack && repl.feeding() && !hold {
            zedis_resp::encode_command(&mut repl.pending, &[b"REPLCONF", b"GETACK", b"*"]);
        }
        repl.get_ack &= hold;
        self.repl_flush();
        self.repl_pipe_pump();
        self.rdb_child_check();
        self.repl_failover_tick();
        self.repl_serve_waiters(cached_ms());
    }

    /// Once a second: PING to replicas every `repl-ping-replica-period` seconds (into the stream, as Redis),
    /// replicas that stopped acknowledging for `repl-timeout` are dropped, and the replica side's cron.
    pub fn repl_cron_second(&mut self) {
        self.engine.repl.cron_ticks += 1;
        let period = self.settings.repl_ping_period_s.max(1);
        // As Redis's replicationCron: no PING into the stream during a manual failover's pause.
        let hold = self.cluster_failover_pausing();
        let repl = &mut self.engine.repl;
        if repl.feeding() && !repl.replicas.is_empty() && repl.cron_ticks % period == 0 && !hold {
            zedis_resp::encode_command(&mut repl.pending, &[b"PING"]);
        }
        self.repl_bgsave_keepalive();
        let now = cached_ms();
        self.repl_start_pending_fork(now);
        let timeout_ms = self.settings.repl_timeout_s as i64 * 1000;
        for ck in self.engine.repl.replicas.clone() {
            let stale = self
                .clients
                .get(ck)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|l| l.is_online() && !l.pre_psync && now - l.ack_ms > timeout_ms);
            if stale {
                zedis_deploy::warning!("Disconnecting timedout replica (streaming sync)");
                self.net.closing.push(ck);
            }
        }
        self.repl_replica_cron(now);
    }

    /// `min-replicas-to-write`: the `-NOREPLICAS` refusal for a write when too few replicas acknowledged
    /// within `min-replicas-max-lag` seconds.
    pub fn repl_denies_write(&self) -> bool {
        let wanted = self.settings.min_replicas_to_write;
        let lag_s = self.settings.min_replicas_max_lag_s;
        if wanted == 0 || lag_s == 0 || self.engine.repl.is_replica() {
            return false;
        }
        self.repl_good_replicas() < wanted
    }

    /// Replicas whose last ACK is at most `min-replicas-max-lag` seconds old.
    pub fn repl_good_replicas(&self) -> usize {
        let now = cached_ms();
        let lag_ms = self.settings.min_replicas_max_lag_s as i64 * 1000;
        self.engine
            .repl
            .replicas
            .iter()
            .filter(|&&ck| {
                self.clients
                    .get(ck)
                    .and_then(|c| c.replica.as_ref())
                    .is_some_and(|l| l.is_online() && now - l.ack_ms <= lag_ms)
            })
            .count()
    }
}
