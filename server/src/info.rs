//! INFO: Redis's sections and field names, read from the budget, the keyspace and the server's counters,
//! plus Zedis's `allocator` section (the chosen strategies and their own figures).

use crate::server::Core;
use crate::Strategy;
use std::fmt::Write;
use zedis_arena::RequestAlloc;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_kv_pool::KvAllocator;

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
    "allocator",
];

/// Every section in Redis's order (`INFO all`/`everything`): the default ones plus the statistics sections
/// Redis leaves out of the default INFO.
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
    "allocator",
];

/// Resident set size of this process in bytes (from /proc/self/statm).
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Redis's `bytesToHuman`.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else if b < 1024.0 * 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.2}T", b / (1024.0 * 1024.0 * 1024.0 * 1024.0))
    }
}

/// User and system CPU seconds for `who` (`RUSAGE_SELF`, `RUSAGE_CHILDREN` or `RUSAGE_THREAD`).
fn cpu_times(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage only writes the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (secs(usage.ru_utime), secs(usage.ru_stime))
    }
}

/// The INFO text for the requested sections (`all`, `everything`, `default` or names).
pub fn render<S: Strategy>(core: &Core<S>, args: &[&[u8]]) -> String {
    let wanted: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = wanted.iter().any(|w| w == "all" || w == "everything");
    let default = wanted.is_empty() || wanted.iter().any(|w| w == "default");
    let sections: Vec<&str> = ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| {
            all || (default && DEFAULT_SECTIONS.contains(s)) || wanted.iter().any(|w| w == s)
        })
        .collect();
    let mut out = String::new();
    for section in sections {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match section {
            "server" => server(core, &mut out),
            "clients" => clients(core, &mut out),
            "memory" => memory(core, &mut out),
            "persistence" => persistence(core, &mut out),
            "stats" => stats(core, &mut out),
            "replication" => crate::repl::info::section(core, &mut out),
            "cpu" => {
                let (user, sys) = cpu_times(libc::RUSAGE_SELF);
                let (cuser, csys) = cpu_times(libc::RUSAGE_CHILDREN);
                // INFO runs on the event-loop thread: its own usage is the main thread's.
                let (muser, msys) = cpu_times(libc::RUSAGE_THREAD);
                let _ = write!(
                    out,
                    "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:{csys:.6}\r\nused_cpu_user_children:{cuser:.6}\r\nused_cpu_sys_main_thread:{msys:.6}\r\nused_cpu_user_main_thread:{muser:.6}\r\n"
                );
            }
            // No modules can be loaded: Redis prints the bare header then.
            "modules" => out.push_str("# Modules\r\n"),
            // Cluster-aware clients (and redis-py's test suite) read this to pick their mode.
            "cluster" => {
                let enabled = u8::from(core.cluster.enabled());
                let _ = write!(out, "# Cluster\r\ncluster_enabled:{enabled}\r\n");
            }
            "keyspace" => keyspace(core, &mut out),
            "commandstats" => core.engine.observe.commands.write_commandstats(&mut out),
            "errorstats" => core.engine.observe.errors.write_errorstats(&mut out),
            "latencystats" => core.engine.observe.commands.write_latencystats(&mut out),
            "allocator" => allocator(core, &mut out),
            _ => {}
        }
    }
    out
}

fn server<S: Strategy>(core: &Core<S>, out: &mut String) {
    let uptime = core.started.elapsed().as_secs();
    let port = core.config.int("port");
    // Redis shows the mode it runs under (`auto` resolved: systemd when $NOTIFY_SOCKET is set).
    let supervised = match core.config.get("supervised") {
        "auto" if std::env::var_os("NOTIFY_SOCKET").is_some() => "systemd",
        "systemd" | "upstart" => core.config.get("supervised"),
        _ => "no",
    };
    let _ = write!(
        out,
        "# Server\r\nredis_version:{}\r\nzedis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
        crate::REDIS_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::process::id(),
        supervised,
        core.run_id,
        port,
        crate::server::unix_ms() * 1000,
        uptime,
        uptime / 86400,
        core.settings.hz,
        core.config.get("hz"),
        zedis_keyspace::Keyspace::<S::Kv>::lru_clock(crate::server::unix_ms()),
        std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
        core.config.file.as_deref().unwrap_or(""),
    );
}

fn clients<S: Strategy>(core: &Core<S>, out: &mut String) {
    // The largest query and reply buffers now held (Redis samples them over its last seconds), and the
    // blocked clients with a deadline (Redis's timeout table; WAIT included).
    let (mut max_input, mut max_output, mut in_timeout_table) = (0, 0, 0);
    for k in core.clients.keys() {
        let Some(c) = core.clients.get(k) else {
            continue;
        };
        let input = c
            .input
            .as_ref()
            .map_or(c.running_query.0 + c.running_query.1, |i| {
                i.query.capacity()
            });
        max_input = max_input.max(input);
        max_output = max_output.max(c.out.capacity() + c.pending_bytes);
        if c.blocked.as_ref().is_some_and(|b| b.deadline_ms.is_some()) {
            in_timeout_table += 1;
        }
    }
    in_timeout_table += core
        .engine
        .repl
        .waiters
        .iter()
        .filter(|w| w.deadline_ms.is_some())
        .count();
    let _ = write!(
        out,
        "# Clients\r\nconnected_clients:{}\r\ncluster_connections:{}\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
        core.clients.len(),
        core.cluster_connections(),
        core.clients.clients_max(),
        max_input,
        max_output,
        // As Redis, a client whose command waits for CLIENT PAUSE to end counts as blocked.
        core.engine.blocked.len() + core.engine.tx.postponed.len() + core.engine.repl.waiters.len(),
        core.engine.observe.tracking.table.tracking_clients(),
        in_timeout_table,
    );
}

/// The Memory section, Redis's fields in its order, then the budget's per-component figures. Zedis frees
/// everything synchronously (UNLINK, FLUSHALL ASYNC included) and has no active defrag: `lazyfree_*` and
/// `active_defrag_running` are truly 0 (the test suite's `wait_lazyfree_done` polls the first).
fn memory<S: Strategy>(core: &Core<S>, out: &mut String) {
    let b = core.budget;
    let used = b.used() as u64;
    let rss = rss_bytes() as u64;
    let peak = b.peak() as u64;
    let dataset = b.used_by(Component::Keyspace) as u64;
    let overhead = used - dataset;
    let limit = b.limit() as u64;
    let frag = if used > 0 {
        rss as f64 / used as f64
    } else {
        0.0
    };
    let pct = |part: u64, whole: u64| {
        if whole > 0 {
            part as f64 * 100.0 / whole as f64
        } else {
            0.0
        }
    };
    let _ = write!(
        out,
        "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{overhead}\r\nused_memory_startup:0\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\nmaxmemory:{limit}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_fragmentation_ratio:{frag:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:{}\r\nmem_clients_normal:{}\r\nmem_aof_buffer:{}\r\nmem_allocator:zedis-{}\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
        human(used),
        human(rss),
        human(peak),
        pct(used, peak),
        pct(dataset, used),
        human(limit),
        core.engine.ks.config.policy.name(),
        rss as i64 - used as i64,
        b.used_by(Component::Persistence),
        b.used_by(Component::Clients),
        b.used_by(Component::Persistence),
        core.strategy_names[0],
    );
    for component in Component::ALL {
        if component == Component::Lua {
            // Redis's used_memory_lua is the EVAL Lua state alone (scripting_cmds::info_memory); the budget's
            // Lua charge (both states and the script cache) shows in MEMORY STATS.
            continue;
        }
        let _ = write!(
            out,
            "used_memory_{}:{}\r\nused_memory_peak_{}:{}\r\n",
            component.name(),
            b.used_by(component),
            component.name(),
            b.peak_by(component)
        );
    }
    crate::scripting_cmds::info_memory(core, out);
    // Zedis's own: the observability engines' share of `used_memory_other` (slow log, latency series,
    // command histograms, error counts).
    let _ = write!(
        out,
        "used_memory_observe:{}\r\n",
        core.engine.observe.charged_bytes()
    );
    // Zedis's own: the ACL's users, rules, command catalog and log (part of `used_memory_other`).
    let _ = write!(
        out,
        "used_memory_acl:{}\r\n",
        core.engine.access.charged_bytes()
    );
}

fn persistence<S: Strategy>(core: &Core<S>, out: &mut String) {
    let _ = write!(out, "# Persistence\r\nloading:0\r\nasync_loading:0\r\n");
    crate::persist::info(core, out);
    crate::aof::info(&core.engine.aof, out);
}

fn stats<S: Strategy>(core: &Core<S>, out: &mut String) {
    let s = &core.engine.stats;
    let k = &core.engine.ks.stats;
    let _ = write!(
        out,
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:{:.2}\r\nexpired_time_cap_reached_count:{}\r\nevicted_keys:{}\r\nevicted_clients:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:{}\r\ntotal_forks:{}\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\ntotal_error_replies:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nclient_output_buffer_limit_disconnections:{}\r\neviction_flushes:{}\r\n",
        s.connections_received,
        s.commands_processed,
        s.ops_per_sec,
        s.net_input_bytes,
        s.net_output_bytes,
        s.rejected_connections,
        k.expired_keys,
        s.expired_stale_perc,
        s.expire_time_cap_reached,
        k.evicted_keys,
        k.hits,
        k.misses,
        core.engine.pubsub.channels_len(),
        core.engine.pubsub.numpat(),
        core.engine.pubsub.shard_channels_len(),
        core.engine.observe.forks.latest_usec,
        core.engine.observe.forks.total,
        core.engine.observe.tracking.table.total_keys(),
        core.engine.observe.tracking.table.total_items(),
        core.engine.observe.tracking.table.total_prefixes(),
        s.error_replies,
        core.engine.repl.sync_full,
        core.engine.repl.sync_partial_ok,
        core.engine.repl.sync_partial_err,
        s.client_output_limit_disconnections,
        k.eviction_flushes,
    );
}

fn keyspace<S: Strategy>(core: &Core<S>, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    let now = crate::server::unix_ms();
    for i in 0..core.engine.ks.db_count() {
        let db = core.engine.ks.db(i);
        if db.is_empty() {
            continue;
        }
        let volatile = db.volatile_len();
        let mut ttl_sum: i64 = 0;
        let sampled = volatile.min(64);
        for j in 0..sampled {
            if let Some(when) = db
                .volatile_at(j * volatile / sampled.max(1))
                .and_then(|e| e.expire())
            {
                ttl_sum = ttl_sum.saturating_add(when.saturating_sub(now).max(0));
            }
        }
        let avg_ttl = if sampled > 0 {
            ttl_sum / sampled as i64
        } else {
            0
        };
        let _ = write!(
            out,
            "db{i}:keys={},expires={},avg_ttl={avg_ttl}\r\n",
            db.len(),
            core.engine.ks.expires_len(i)
        );
    }
}

fn allocator<S: Strategy>(core: &Core<S>, out: &mut String) {
    let _ = write!(
        out,
        "# Allocator\r\nkv_allocator:{}\r\nrequest_allocator:{}\r\nclient_allocator:{}\r\n",
        if core.engine.ks.segments_enabled() {
            "segment"
        } else {
            core.strategy_names[0]
        },
        core.strategy_names[1],
        core.strategy_names[2]
    );
    // With `segment`, the segment stores' figures, then the pool's (which holds everything else).
    core.engine.ks.write_seg_info(out);
    S::Kv::write_info(out);
    core.request_info(out);
    core.clients.write_info(out);
}

impl<S: Strategy> Core<S> {
    /// The request allocator's INFO lines (the allocator lives beside the core, so the server refreshes this
    /// text after each batch).
    pub fn request_info(&self, out: &mut String) {
        out.push_str(&self.request_info_text);
    }
}

/// Refreshes the cached request-allocator INFO text.
pub fn refresh_request_info<R: RequestAlloc>(arena: &R, text: &mut String) {
    text.clear();
    arena.write_info(text);
}
