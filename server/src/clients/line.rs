//! One CLIENT LIST / CLIENT INFO line, field for field as Redis 7.0's `catClientInfoString`.
//!
//! Zedis's buffers map onto Redis's fields so: `qbuf`/`qbuf-free` are the query buffer's unread bytes and spare
//! room (for the client running a command, the bytes from that command on, as Redis keeps them until it
//! returns); `argv-mem` the arguments a blocked client keeps for its retry; `multi-mem` the queued
//! transaction's bytes; `rbs`/`rbp` the reply buffer's size and recent peak; `obl` the bytes in it; `oll`
//! and `omem` the chunks queued before it (shared pub/sub frames) and their bytes, so a client with nothing
//! queued shows `oll=0 omem=0` as Redis's static reply buffer does; `tot-mem` all of these plus the client
//! structure.

use crate::client::Client;
use crate::server::Core;
use crate::Strategy;
use zedis_client_pool::ClientSlots;

/// Client `ck`'s CLIENT INFO line (with its newline), for CLIENT INFO and ACL LOG's `client-info`.
pub fn client_info_line<S: Strategy>(core: &Core<S>, ck: usize) -> String {
    client_line(core, ck, crate::server::unix_ms())
}

/// Redis's flag letters, in its order.
fn flags<S: Strategy>(core: &Core<S>, client: &Client) -> String {
    let observe = &core.engine.observe;
    let tracking = observe.tracking.table.client(client.id);
    let mut flags = String::new();
    if observe.monitors.contains_client(client) {
        flags.push('O');
    } else if client.replica.as_ref().is_some_and(|r| r.online) {
        flags.push('S');
    }
    if client.is_master {
        flags.push('M');
    }
    if client.subscriptions + client.shard_subscriptions > 0 {
        flags.push('P');
    }
    if client.tx.active {
        flags.push('x');
    }
    // Blocked: in a blocking command, in WAIT, or holding a command until CLIENT PAUSE ends.
    if client.blocked.is_some() || client.tx.is_postponed() || client.waiting_acks {
        flags.push('b');
    }
    if let Some(t) = tracking {
        flags.push('t');
        if t.broken_redirect {
            flags.push('R');
        }
        if t.bcast {
            flags.push('B');
        }
    }
    if client.tx.dirty {
        flags.push('d');
    }
    if client.close_after_reply {
        flags.push('c');
    }
    if client.output_limit_hit {
        flags.push('A');
    }
    if client.unix_socket {
        flags.push('U');
    }
    if client.cluster.readonly {
        flags.push('r');
    }
    if client.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    flags
}

/// One CLIENT LIST / CLIENT INFO line (with its newline) for client `ck`; empty if it is gone.
pub fn client_line<S: Strategy>(core: &Core<S>, ck: usize, now_ms: i64) -> String {
    let Some(client) = core.clients.get(ck) else {
        return String::new();
    };
    let pubsub_id = zedis_pubsub::ClientId(ck as u64);
    let patterns = core
        .engine
        .pubsub
        .subscriptions(zedis_pubsub::Kind::Pattern, pubsub_id)
        .len();
    let tracking = core.engine.observe.tracking.table.client(client.id);
    let (qbuf, qbuf_free) = match client.input.as_ref() {
        Some(i) => (i.query.len(), i.query.capacity() - i.query.len()),
        None => client.running_query,
    };
    let qcap = qbuf + qbuf_free;
    let argv_mem: usize = client
        .blocked
        .as_ref()
        .map_or(0, |b| b.argv.iter().map(Vec::len).sum());
    let (multi, multi_mem) = if client.tx.active {
        (client.tx.queued as i64, client.tx.queue.len())
    } else {
        (-1, 0)
    };
    let omem = client.pending_bytes;
    let tot_mem =
        std::mem::size_of::<Client>() + qcap + argv_mem + multi_mem + client.out.capacity() + omem;
    let events = if client.want_write { "rw" } else { "r" };
    let user = String::from_utf8_lossy(&core.user_name(client.user)).into_owned();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events={} cmd={} user={} redir={} resp={}\n",
        client.id,
        client.addr,
        client.laddr,
        client.fd,
        String::from_utf8_lossy(&client.name),
        now_ms / 1000 - client.created_ms / 1000,
        now_ms / 1000 - client.last_interaction_ms / 1000,
        flags(core, client),
        client.db,
        client.subscriptions.saturating_sub(patterns),
        patterns,
        client.shard_subscriptions,
        multi,
        qbuf,
        qbuf_free,
        argv_mem,
        multi_mem,
        client.out.capacity(),
        client.out_peak.max(client.out.len()),
        client.out.len(),
        client.pending.len(),
        omem,
        tot_mem,
        events,
        if client.last_cmd.is_empty() { "NULL" } else { client.last_cmd },
        user,
        tracking.map_or(-1, |t| t.redirect as i64),
        if client.proto == zedis_resp::Protocol::Resp3 { 3 } else { 2 },
    )
}
