//! INFO replication, field for field as Redis 7.0's `genRedisInfoString` prints it.

use super::replica::LinkState;
use crate::server::{cached_ms, Core};
use crate::Strategy;
use std::fmt::Write as _;
use zedis_client_pool::ClientSlots;

/// Appends the `# Replication` section.
pub fn section<S: Strategy>(core: &Core<S>, out: &mut String) {
    let repl = &core.engine.repl;
    let now_s = cached_ms() / 1000;
    let _ = write!(
        out,
        "# Replication\r\nrole:{}\r\n",
        if repl.is_replica() { "slave" } else { "master" }
    );
    if let Some(link) = &repl.master {
        let (connected, master_ck) = match link.state {
            LinkState::Connected(ck) => (true, Some(ck)),
            _ => (false, None),
        };
        let last_io = master_ck
            .and_then(|ck| core.clients.get(ck))
            .map_or(-1, |c| now_s - c.last_interaction_ms / 1000);
        let offset = if connected {
            repl.master_repl_offset as i64
        } else {
            1
        };
        let transfer = link.transfer_progress();
        let _ = write!(
            out,
            "master_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
            link.host,
            link.port,
            if connected { "up" } else { "down" },
            last_io,
            u8::from(transfer.is_some()),
            offset,
            offset,
        );
        if let Some((total, read)) = transfer {
            let perc = if total > 0 {
                read as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            let _ = write!(
                out,
                "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{read}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                total - read,
                now_s - link.last_io_ms / 1000,
            );
        }
        if !connected {
            let down = if link.down_since_ms > 0 {
                now_s - link.down_since_ms / 1000
            } else {
                -1
            };
            let _ = write!(out, "master_link_down_since_seconds:{down}\r\n");
        }
        let _ = write!(
            out,
            "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
            core.config.get("replica-priority"),
            u8::from(core.settings.replica_read_only),
            u8::from(core.config.flag("replica-announced")),
        );
    }
    let _ = write!(out, "connected_slaves:{}\r\n", repl.replicas.len());
    if core.settings.min_replicas_to_write > 0 && core.settings.min_replicas_max_lag_s > 0 {
        let _ = write!(
            out,
            "min_slaves_good_slaves:{}\r\n",
            core.repl_good_replicas()
        );
    }
    let mut idx = 0;
    for &ck in &repl.replicas {
        let Some(client) = core.clients.get(ck) else {
            continue;
        };
        let Some(link) = &client.replica else {
            continue;
        };
        let ip = super::replica_ip(client);
        let (state, lag) = if link.is_online() {
            ("online", now_s - link.ack_ms / 1000)
        } else if link.waiting_bgsave || link.wait_bgsave_start {
            ("wait_bgsave", 0)
        } else {
            ("send_bulk", 0)
        };
        let _ = write!(
            out,
            "slave{idx}:ip={ip},port={},state={state},offset={},lag={lag}\r\n",
            link.listening_port, link.ack_offset,
        );
        idx += 1;
    }
    let backlog = repl.backlog.as_ref();
    let _ = write!(
        out,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
        super::failover::state_name(repl.failover.as_ref()),
        repl.replid,
        repl.replid2,
        repl.master_repl_offset,
        repl.second_replid_offset,
        u8::from(backlog.is_some()),
        core.settings.repl_backlog_bytes,
        backlog.map_or(0, |b| b.first_byte_offset()),
        backlog.map_or(0, |b| b.histlen()),
    );
}
