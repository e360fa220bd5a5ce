//! SLOWLOG and LATENCY: the table's handlers over the engines in [`crate::observe::Observe`] (replies and
//! texts are the `zedis-observe` crate's, byte-identical to Redis 7.0.15).

use crate::observe::now_s;
use crate::server::Core;
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_observe::{doctor, LatencyMonitor, SlowLog};
use zedis_resp::{reply, Protocol};

/// Writes a reply built by the engine: an error in it goes through `Core::reply_error` (counted).
fn reply_built<S: Strategy>(
    core: &mut Core<S>,
    ck: usize,
    build: impl FnOnce(&mut Core<S>, &mut Vec<u8>, Protocol),
) {
    let proto = core.clients.get(ck).map_or(Protocol::Resp2, |c| c.proto);
    let mut out = Vec::new();
    build(core, &mut out, proto);
    match crate::observe::error_text(&out) {
        Some(text) if out.len() == text.len() + 3 => core.reply_error(ck, text),
        _ => core.reply(ck, |buf, _| buf.extend_from_slice(&out)),
    }
}

/// # Format
/// `SLOWLOG GET [count]`
pub fn slowlog_get<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if argv.len() > 3 {
        return slowlog_syntax(core, ck, argv);
    }
    reply_built(core, ck, |core, out, _| {
        if let Err(e) = core
            .engine
            .observe
            .slowlog
            .reply_get(out, argv.get(2).copied())
        {
            out.clear();
            reply::error(out, &e.reply_text());
        }
    });
}

/// Redis's error for a SLOWLOG subcommand with the wrong number of arguments.
fn slowlog_syntax<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    reply_built(core, ck, |core, out, proto| {
        core.engine.observe.slowlog.command(out, proto, &argv[1..]);
    });
}

/// # Format
/// `SLOWLOG LEN`
pub fn slowlog_len<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    reply_built(core, ck, |core, out, _| {
        core.engine.observe.slowlog.reply_len(out)
    });
}

/// # Format
/// `SLOWLOG RESET`
pub fn slowlog_reset<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    core.engine.observe.slowlog.reset();
    core.observe_recharge();
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `SLOWLOG HELP`
pub fn slowlog_help<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    reply_built(core, ck, |_, out, _| SlowLog::reply_help(out));
}

/// # Format
/// `LATENCY LATEST`
pub fn latency_latest<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    reply_built(core, ck, |core, out, _| {
        core.engine.observe.latency.reply_latest(out)
    });
}

/// # Format
/// `LATENCY HISTORY event`
pub fn latency_history<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    reply_built(core, ck, |core, out, _| {
        core.engine.observe.latency.reply_history(out, argv[2]);
    });
}

/// # Format
/// `LATENCY RESET [event ...]`
pub fn latency_reset<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    reply_built(core, ck, |core, out, _| {
        core.engine.observe.latency.reply_reset(out, &argv[2..]);
    });
    core.observe_recharge();
}

/// # Format
/// `LATENCY GRAPH event`
pub fn latency_graph<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    reply_built(core, ck, |core, out, proto| {
        core.engine
            .observe
            .latency
            .reply_graph(out, proto, argv[2], now_s());
    });
}

/// # Format
/// `LATENCY DOCTOR`
pub fn latency_doctor<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let inputs = doctor::DoctorInputs {
        slowlog_log_slower_than_us: core.engine.observe.slowlog.log_slower_than_us(),
        fork_rate_gb_per_s: 0.0,
        aof_fsync_always: core.config.get("appendfsync") == "always",
        hz: core.settings.hz as u32,
        anon_huge_pages_bytes: doctor::anon_huge_pages_bytes(Some(std::process::id())),
    };
    let text = doctor::report(&core.engine.observe.latency, &inputs, now_s());
    core.reply(ck, |out, proto| {
        reply::verbatim(out, proto, b"txt", text.as_bytes())
    });
}

/// # Format
/// `LATENCY HISTOGRAM [command ...]`
pub fn latency_histogram<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    reply_built(core, ck, |core, out, proto| {
        core.engine
            .observe
            .commands
            .reply_histogram(out, proto, &argv[2..]);
    });
}

/// # Format
/// `LATENCY HELP`
pub fn latency_help<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    reply_built(core, ck, |_, out, _| LatencyMonitor::reply_help(out));
}
