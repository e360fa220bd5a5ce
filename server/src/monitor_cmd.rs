//! MONITOR: clients that asked for it get one line per command the server runs (`zedis_observe::monitor`'s
//! format), as Redis's `replicationFeedMonitors`.
//!
//! Fed from `Core::run_command` after each command not flagged `admin` or `skip_monitor` (so the commands
//! inside EXEC and those a script runs appear one by one, a script's as `lua`, with the db at that point);
//! EVAL/EVALSHA/FCALL feed themselves before they run (`scripting_cmds.rs`), so their `lua` lines follow them.

use crate::server::Core;
use crate::table::{Command, ADMIN, SKIP_MONITOR};
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_observe::monitor::{push_monitor_line, MonitorOrigin};
use zedis_resp::reply;

/// Clients in monitor mode, by slot key and client id (a slot reused by a new connection is not a monitor).
#[derive(Debug, Default)]
pub struct Monitors {
    clients: Vec<(usize, u64)>,
    /// Set while a script's command runs: its lines say `lua`.
    pub in_script: bool,
}

impl Monitors {
    /// Whether any client monitors.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Whether `client` monitors.
    pub fn contains_client(&self, client: &crate::client::Client) -> bool {
        self.clients.iter().any(|&(_, id)| id == client.id)
    }

    /// Ends monitor mode for client `ck` with id `id` (RESET, as Redis's `clearClientConnectionState`).
    pub fn remove(&mut self, ck: usize, id: u64) {
        self.clients.retain(|&entry| entry != (ck, id));
    }

    /// Whether client `ck` with id `id` monitors.
    pub fn contains(&self, ck: usize, id: u64) -> bool {
        self.clients.contains(&(ck, id))
    }
}

/// # Format
/// `MONITOR`
pub fn monitor<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    if core.engine.tx.executing {
        return core.reply_error(ck, b"ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    let Some(client) = core.clients.get(ck) else {
        return;
    };
    let id = client.id;
    // Already monitoring (or a replica): ignored, as Redis.
    if core.engine.observe.monitors.contains(ck, id) || client.replica.is_some() {
        return;
    }
    core.engine.observe.monitors.clients.push((ck, id));
    core.reply(ck, |out, _| reply::ok(out));
}

impl<S: Strategy> Core<S> {
    /// Feeds `argv` of client `ck`'s command `cmd` to the monitors unless `cmd` is `admin`/`skip_monitor`.
    pub fn feed_monitors_after(&mut self, ck: usize, cmd: &Command<S>, argv: &[&[u8]]) {
        if self.engine.observe.monitors.is_empty() || cmd.has(ADMIN | SKIP_MONITOR) {
            return;
        }
        self.feed_monitors(ck, argv);
    }

    /// Feeds `argv` of client `ck` to every monitoring client (dropping monitors that are gone).
    pub fn feed_monitors(&mut self, ck: usize, argv: &[&[u8]]) {
        if self.engine.observe.monitors.is_empty() {
            return;
        }
        let Some(client) = self.clients.get(ck) else {
            return;
        };
        let origin = if self.engine.observe.monitors.in_script {
            MonitorOrigin::Script
        } else {
            MonitorOrigin::Peer(client.addr.as_bytes())
        };
        let mut line = Vec::new();
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        push_monitor_line(&mut line, now_us, client.db, origin, argv);
        let mut monitors = std::mem::take(&mut self.engine.observe.monitors.clients);
        monitors.retain(|&(mk, id)| {
            let Some(monitor) = self.clients.get_mut(mk) else {
                return false;
            };
            if monitor.id != id {
                return false;
            }
            monitor.out.extend_from_slice(&line);
            monitor.out.recharge();
            true
        });
        for &(mk, _) in &monitors {
            self.queue_write(mk);
        }
        self.engine.observe.monitors.clients = monitors;
    }
}
