//! Clients blocked by BLPOP and friends.
//!
//! A blocking command that finds nothing leaves [`BlockOn`] in the effects; the client is parked (no reply,
//! its further input waits) and queued, first come first served, on each key in its db. Whenever a command
//! touches such a key, the key is marked ready (`Core::drain_effects`); after the top-level command (a whole
//! EXEC, as Redis's `handleClientsBlockedOnKeys`), ready keys are served by re-running each waiting client's own
//! command through the dispatch path until one finds nothing again. A client whose deadline passes gets Redis's
//! null reply. A disconnect leaves every queue.

use crate::server::{cached_ms, Core};
use crate::table::CommandId;
use crate::Strategy;
use std::collections::VecDeque;
use zedis_client_pool::ClientSlots;
use zedis_keyspace::commands::BlockOn;
use zedis_resp::reply;

pub mod unblock;

/// A parked client's state.
#[derive(Debug, Clone)]
pub struct Blocked {
    /// Its db when it blocked.
    pub db: usize,
    /// The keys it waits on.
    pub keys: Vec<Vec<u8>>,
    /// When it times out (unix ms); `None` never.
    pub deadline_ms: Option<i64>,
    /// The command to run again when a key is ready, as resolved when it blocked.
    pub cmd: CommandId,
    /// Its arguments.
    pub argv: Vec<Vec<u8>>,
}

/// Waiting clients per (db, key), and keys made ready by the last command.
#[derive(Debug, Default)]
pub struct BlockedClients {
    /// FIFO queues of client slot keys.
    queues: hashbrown::HashMap<(usize, Vec<u8>), VecDeque<usize>>,
    /// Keys with waiters that a command touched.
    ready: Vec<(usize, Vec<u8>)>,
    /// Number of blocked clients.
    count: usize,
    /// Clients unblocked since the event loop last looked (their pending input can run again).
    pub resumed: Vec<usize>,
    /// Serving is in progress (served commands touch keys too; the outer loop picks those up).
    pub(crate) serving: bool,
}

impl BlockedClients {
    /// How many clients are blocked.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no client is blocked.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl<S: Strategy> Core<S> {
    /// Whether commands must report the keys they modify.
    pub fn track_touched_needed(&self) -> bool {
        !self.engine.blocked.is_empty()
            || self.engine.tx.watching()
            || self.engine.observe.tracking.active()
    }

    /// Parks client `ck` on the keys of `block`, to run `retry_argv` (the handler's choice: XREAD with `$`
    /// resolved at block time) or else `argv` again when one is ready.
    pub fn block_client(
        &mut self,
        ck: usize,
        block: BlockOn,
        cmd: CommandId,
        retry_argv: Option<Vec<Vec<u8>>>,
        argv: &[&[u8]],
    ) {
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        let db = client.db;
        for key in &block.keys {
            let queue = self
                .engine
                .blocked
                .queues
                .entry((db, key.clone()))
                .or_default();
            if !queue.contains(&ck) {
                queue.push_back(ck);
            }
        }
        if client.blocked.is_none() {
            self.engine.blocked.count += 1;
        }
        client.blocked = Some(Blocked {
            db,
            keys: block.keys,
            deadline_ms: block.deadline_ms,
            cmd,
            argv: retry_argv.unwrap_or_else(|| argv.iter().map(|a| a.to_vec()).collect()),
        });
    }

    /// Removes client `ck` from every queue it waits in.
    pub fn unblock_client(&mut self, ck: usize) {
        let Some(blocked) = self.clients.get_mut(ck).and_then(|c| c.blocked.take()) else {
            return;
        };
        self.engine.blocked.count -= 1;
        for key in blocked.keys {
            let slot = (blocked.db, key);
            if let Some(queue) = self.engine.blocked.queues.get_mut(&slot) {
                queue.retain(|&waiting| waiting != ck);
                if queue.is_empty() {
                    self.engine.blocked.queues.remove(&slot);
                }
            }
        }
        self.engine.blocked.resumed.push(ck);
    }

    /// Marks the keys the last command touched that someone waits on.
    pub fn note_ready_keys(&mut self) {
        if self.engine.blocked.is_empty() {
            return;
        }
        let touched = std::mem::take(&mut self.engine.fx.touched);
        for slot in &touched {
            if self.engine.blocked.queues.contains_key(slot)
                && !self.engine.blocked.ready.contains(slot)
            {
                self.engine.blocked.ready.push(slot.clone());
            }
        }
        self.engine.fx.touched = touched;
        if self.engine.fx.flushed || !self.engine.fx.flushed_dbs.is_empty() {
            // SWAPDB can make a waited-on key appear in any db: look at all of them.
            for slot in self.engine.blocked.queues.keys() {
                if !self.engine.blocked.ready.contains(slot) {
                    self.engine.blocked.ready.push(slot.clone());
                }
            }
        }
    }

    /// Serves clients waiting on ready keys, oldest first, until none can be served.
    pub fn serve_ready_keys(&mut self) {
        if self.engine.blocked.serving {
            return;
        }
        self.engine.blocked.serving = true;
        while let Some(slot) = self.engine.blocked.ready.pop() {
            while let Some(&ck) = self
                .engine
                .blocked
                .queues
                .get(&slot)
                .and_then(|q| q.front())
            {
                if !self.retry_blocked(ck, &slot) {
                    break;
                }
            }
        }
        self.engine.blocked.serving = false;
    }

    /// Runs a blocked client's command again for the ready key `slot`; true if it was served (and unblocked).
    /// As Redis's `serveClientsBlockedOnKeys`, a ready key holding another type than the command waits for
    /// (a list for the list commands) serves no one: its waiters keep waiting, with no WRONGTYPE reply.
    fn retry_blocked(&mut self, ck: usize, slot: &(usize, Vec<u8>)) -> bool {
        let Some(blocked) = self.clients.get(ck).and_then(|c| c.blocked.clone()) else {
            return false;
        };
        let argv: Vec<&[u8]> = blocked.argv.iter().map(Vec::as_slice).collect();
        let table = self.table;
        let Some(cmd) = table.by_id(blocked.cmd) else {
            self.unblock_client(ck);
            return false;
        };
        if !self.holds_waited_type(slot, cmd.group) {
            return false;
        }
        if let Some(client) = self.clients.get_mut(ck) {
            client.db = blocked.db;
        }
        if self
            .run_command(ck, cmd, &argv, cached_ms(), true)
            .is_some()
        {
            return false;
        }
        self.unblock_client(ck);
        self.queue_write(ck);
        true
    }

    /// Whether the key at `slot` is absent or holds the type that commands of `group` wait for (COMMAND DOCS
    /// groups: `list`, `sorted-set`, `stream`).
    fn holds_waited_type(&self, slot: &(usize, Vec<u8>), group: &str) -> bool {
        // Stream readers decide for themselves (XREAD keeps waiting, XREADGROUP fails with Redis's
        // "no longer exists" error), so their retry always runs.
        if group == "stream" {
            return true;
        }
        let (db, key) = slot;
        if *db >= self.engine.ks.db_count() {
            return true;
        }
        let Some(entry) = self.engine.ks.db(*db).find(key) else {
            return true;
        };
        let waited = match group {
            "sorted-set" => "zset",
            other => other,
        };
        zedis_keyspace::value::type_name(entry.kind()) == waited
    }

    /// Replies the timed-out null to blocked clients whose deadline passed; returns the nearest deadline left.
    pub fn expire_blocked(&mut self, now_ms: i64) -> Option<i64> {
        if self.engine.blocked.is_empty() {
            return None;
        }
        let mut nearest: Option<i64> = None;
        for ck in self.clients.keys() {
            let Some(deadline) = self
                .clients
                .get(ck)
                .and_then(|c| c.blocked.as_ref())
                .and_then(|b| b.deadline_ms)
            else {
                continue;
            };
            if deadline <= now_ms {
                self.unblock_client(ck);
                self.reply(ck, reply::null_array);
                self.queue_write(ck);
            } else {
                nearest = Some(nearest.map_or(deadline, |n| n.min(deadline)));
            }
        }
        nearest
    }
}
