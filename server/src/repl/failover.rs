//! FAILOVER: a coordinated switch of roles with one replica, as Redis 7.0's `failoverCommand` and
//! `updateFailoverStatus`.
//!
//! The master pauses writes, waits until the target (or any replica) acknowledged its whole stream, then
//! becomes a replica of it sending `PSYNC <replid> <offset> FAILOVER`; the target promotes itself on that
//! request (REPLICAOF NO ONE, keeping the old id as `replid2`) and answers `+CONTINUE`, which ends the
//! failover and the pause. A timeout aborts (or with FORCE, fails over anyway); FAILOVER ABORT undoes it.

use crate::server::{cached_ms, Core};
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;

/// Where a failover stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Writes are paused; waiting for a replica to reach our offset.
    WaitForSync,
    /// We are connecting to the target as its replica.
    InProgress,
}

/// A failover in progress.
#[derive(Debug, Clone)]
pub struct Failover {
    /// The chosen replica (host, listening port); None: the first that catches up.
    pub target: Option<(String, u16)>,
    /// When it gives up (unix ms).
    pub end_ms: Option<i64>,
    /// Fail over at the timeout even if the target did not catch up.
    pub force: bool,
    /// Where it stands.
    pub phase: Phase,
}

/// INFO's `master_failover_state`.
pub fn state_name(failover: Option<&Failover>) -> &'static str {
    match failover.map(|f| f.phase) {
        None => "no-failover",
        Some(Phase::WaitForSync) => "waiting-for-sync",
        Some(Phase::InProgress) => "failover-in-progress",
    }
}

/// # Format
/// `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]`
pub fn failover<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if core.cluster.enabled() {
        return core.reply_error(
            ck,
            b"ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.",
        );
    }
    if argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"abort") {
        if core.engine.repl.failover.is_none() {
            return core.reply_error(ck, b"ERR No failover in progress.");
        }
        core.repl_abort_failover("Failover manually aborted");
        return core.reply(ck, |out, _| reply::ok(out));
    }
    let (mut timeout_ms, mut force, mut target) = (0i64, false, None);
    let mut j = 1;
    while j < argv.len() {
        let arg = argv[j];
        if arg.eq_ignore_ascii_case(b"timeout") && j + 1 < argv.len() && timeout_ms == 0 {
            let Some(t) = parse_int(argv[j + 1]) else {
                return core.reply_error(ck, b"ERR value is not an integer or out of range");
            };
            if t <= 0 {
                return core.reply_error(ck, b"ERR FAILOVER timeout must be greater than 0");
            }
            timeout_ms = t;
            j += 2;
        } else if arg.eq_ignore_ascii_case(b"to") && j + 2 < argv.len() && target.is_none() {
            let Some(port) = parse_int(argv[j + 2]) else {
                return core.reply_error(ck, b"ERR value is not an integer or out of range");
            };
            target = Some((String::from_utf8_lossy(argv[j + 1]).into_owned(), port));
            j += 3;
        } else if arg.eq_ignore_ascii_case(b"force") && !force {
            force = true;
            j += 1;
        } else {
            return core.reply_error(ck, b"ERR syntax error");
        }
    }
    if core.engine.repl.failover.is_some() {
        return core.reply_error(ck, b"ERR FAILOVER already in progress.");
    }
    if core.engine.repl.is_replica() {
        return core.reply_error(ck, b"ERR FAILOVER is not valid when server is a replica.");
    }
    if core.engine.repl.replicas.is_empty() {
        return core.reply_error(ck, b"ERR FAILOVER requires connected replicas.");
    }
    if force && (timeout_ms == 0 || target.is_none()) {
        return core.reply_error(
            ck,
            b"ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        );
    }
    let target = match target {
        Some((host, port)) => {
            let Some(replica) = core.repl_find_replica(&host, port) else {
                return core
                    .reply_error(ck, b"ERR FAILOVER target HOST and PORT is not a replica.");
            };
            let online = core
                .clients
                .get(replica)
                .and_then(|c| c.replica.as_ref())
                .is_some_and(|l| l.is_online());
            if !online {
                return core.reply_error(ck, b"ERR FAILOVER target replica is not online.");
            }
            zedis_deploy::notice!("FAILOVER requested to {host}:{port}.");
            Some((host, port as u16))
        }
        None => {
            zedis_deploy::notice!("FAILOVER requested to any replica.");
            None
        }
    };
    core.engine.repl.failover = Some(Failover {
        target,
        end_ms: (timeout_ms > 0).then(|| cached_ms() + timeout_ms),
        force,
        phase: Phase::WaitForSync,
    });
    // Writes wait (as CLIENT PAUSE WRITE) until the failover ends.
    core.engine.paused_until_ms = i64::MAX;
    core.engine.pause_writes_only = true;
    core.reply(ck, |out, _| reply::ok(out));
}

fn parse_int(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

impl<S: Strategy> Core<S> {
    /// The replica client at `host` with listening port `port`.
    fn repl_find_replica(&self, host: &str, port: i64) -> Option<usize> {
        self.engine.repl.replicas.iter().copied().find(|&ck| {
            self.clients.get(ck).is_some_and(|c| {
                c.replica
                    .as_ref()
                    .is_some_and(|l| i64::from(l.listening_port) == port)
                    && super::replica_ip(c).eq_ignore_ascii_case(host)
            })
        })
    }

    /// Ends the failover state and the write pause.
    pub fn repl_clear_failover(&mut self) {
        if self.engine.repl.failover.take().is_some() {
            self.engine.paused_until_ms = 0;
            self.engine.pause_writes_only = false;
        }
    }

    /// Gives up: back to master if we already switched, then unpause.
    pub fn repl_abort_failover(&mut self, why: &str) {
        let Some(failover) = self.engine.repl.failover.clone() else {
            return;
        };
        match &failover.target {
            Some((host, port)) => zedis_deploy::notice!("FAILOVER to {host}:{port} aborted: {why}"),
            None => zedis_deploy::notice!("FAILOVER to any replica aborted: {why}"),
        }
        if failover.phase == Phase::InProgress {
            self.repl_unset_master();
        }
        self.repl_clear_failover();
    }

    /// Before each sleep: times the failover out, or starts it once a replica caught up.
    pub fn repl_failover_tick(&mut self) {
        let Some(failover) = self.engine.repl.failover.clone() else {
            return;
        };
        if failover.phase != Phase::WaitForSync {
            return;
        }
        if failover.end_ms.is_some_and(|end| end <= cached_ms()) {
            if let (true, Some((host, port))) = (failover.force, failover.target.clone()) {
                zedis_deploy::notice!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                return self.repl_start_failover(host, port);
            }
            return self.repl_abort_failover("Replica never caught up before timeout");
        }
        let offset = self.engine.repl.master_repl_offset;
        let caught_up = |core: &Self, ck: usize| {
            core.clients
                .get(ck)
                .and_then(|c| Some((super::replica_ip(c).to_string(), c.replica.as_ref()?)))
                .filter(|(_, l)| l.is_online() && l.ack_offset == offset)
                .map(|(ip, l)| (ip, l.listening_port))
        };
        let found = match &failover.target {
            Some((host, port)) => self
                .repl_find_replica(host, i64::from(*port))
                .and_then(|ck| caught_up(self, ck)),
            None => self
                .engine
                .repl
                .replicas
                .iter()
                .find_map(|&ck| caught_up(self, ck)),
        };
        if let Some((host, port)) = found {
            zedis_deploy::notice!("Failover target {host}:{port} is synced, failing over.");
            self.repl_start_failover(host, port);
        }
    }

    fn repl_start_failover(&mut self, host: String, port: u16) {
        if let Some(failover) = self.engine.repl.failover.as_mut() {
            failover.phase = Phase::InProgress;
            failover.target = Some((host.clone(), port));
        }
        self.repl_set_master(host, port);
    }

    /// `PSYNC <replid> <offset> FAILOVER` from our master: promote ourselves if it is our history. Err: the
    /// refusal to reply.
    pub fn repl_failover_request(&mut self, replid: &[u8]) -> Result<(), &'static [u8]> {
        zedis_deploy::notice!(
            "Failover request received for replid {}.",
            String::from_utf8_lossy(replid)
        );
        if !self.engine.repl.is_replica() {
            return Err(b"ERR PSYNC FAILOVER can't be sent to a master.");
        }
        if !replid.eq_ignore_ascii_case(self.engine.repl.replid.as_bytes()) {
            return Err(b"ERR PSYNC FAILOVER replid must match my replid.");
        }
        self.repl_unset_master();
        zedis_deploy::notice!("MASTER MODE enabled (failover request)");
        Ok(())
    }
}
