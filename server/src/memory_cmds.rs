//! MEMORY STATS, DOCTOR, PURGE and HELP: Redis 7.0's replies over Zedis's figures (the budget's components,
//! the key index, the replication backlog, the scripting engine).
//!
//! MEMORY STATS has Redis's 27 + databases fields in Redis's order and types. Where Zedis has no
//! counterpart the figure is what is true for it: `startup.allocated` 0 (the budget counts client-held
//! bytes only), `overhead.hashtable.expires` 0 (TTLs live in the entries), the allocator fields from the
//! budget and RSS (Zedis's strategies neither over-commit nor cache freed pages the way jemalloc's arenas
//! do, so `allocator.active` is `allocator.allocated`).

use crate::server::Core;
use crate::Strategy;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_observe::allocator_report::{
    AllocatorReport, ArenaFigures, BudgetFigures, ClientPoolFigures, ComponentFigures, KvFigures,
};
use zedis_observe::memory_doctor::{self, MallocSample, MemoryDoctorInputs};
use zedis_resp::reply;

/// The figures MEMORY STATS and DOCTOR read.
struct Figures {
    used: u64,
    peak: u64,
    rss: u64,
    dataset: u64,
    backlog: u64,
    clients_normal: u64,
    clients_replicas: u64,
    replicas: u64,
    normal_clients: u64,
    aof: u64,
    lua: u64,
    cached_scripts: u64,
    keys: u64,
}

fn figures<S: Strategy>(core: &Core<S>) -> Figures {
    let b = core.budget;
    let mut replicas = 0;
    let mut clients_replicas = 0;
    let mut normal_clients = 0;
    for ck in core.clients.keys() {
        if let Some(c) = core.clients.get(ck) {
            if c.replica.is_some() {
                replicas += 1;
                clients_replicas += c.output_len() as u64;
            } else {
                normal_clients += 1;
            }
        }
    }
    Figures {
        used: b.used() as u64,
        peak: b.peak() as u64,
        rss: crate::info::rss_bytes() as u64,
        dataset: b.used_by(Component::Keyspace) as u64,
        backlog: core
            .engine
            .repl
            .backlog
            .as_ref()
            .map_or(0, |bl| bl.size_bytes() as u64),
        clients_normal: b.used_by(Component::Clients) as u64,
        clients_replicas,
        replicas,
        normal_clients,
        aof: b.used_by(Component::Persistence) as u64,
        lua: b.used_by(Component::Lua) as u64,
        cached_scripts: core
            .engine
            .scripting
            .as_ref()
            .map_or(0, |s| s.cached_scripts() as u64),
        keys: core.engine.ks.total_keys() as u64,
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// # Format
/// `MEMORY STATS`
pub fn memory_stats<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let f = figures(core);
    let ks = &core.engine.ks;
    let dbs: Vec<(usize, u64, u64)> = (0..ks.db_count())
        .filter(|&db| !ks.db(db).is_empty())
        .map(|db| {
            let d = ks.db(db);
            let slots = d.slot_index_bytes() as u64;
            (db, (d.index_bytes() as u64).saturating_sub(slots), slots)
        })
        .collect();
    let overhead = f.used.saturating_sub(f.dataset);
    let ints_head: [(&str, u64); 10] = [
        ("peak.allocated", f.peak),
        ("total.allocated", f.used),
        ("startup.allocated", 0),
        ("replication.backlog", f.backlog),
        ("clients.slaves", f.clients_replicas),
        ("clients.normal", f.clients_normal),
        ("cluster.links", 0),
        ("aof.buffer", f.aof),
        ("lua.caches", f.lua),
        ("functions.caches", 0),
    ];
    core.reply(ck, |out, p| {
        reply::map_len(out, p, 27 + dbs.len());
        for (name, v) in ints_head {
            reply::bulk(out, name.as_bytes());
            reply::integer(out, v as i64);
        }
        for &(db, main, slots) in &dbs {
            reply::bulk(out, format!("db.{db}").as_bytes());
            reply::map_len(out, p, 3);
            for (name, v) in [
                ("overhead.hashtable.main", main),
                ("overhead.hashtable.expires", 0),
                ("overhead.hashtable.slot-to-keys", slots),
            ] {
                reply::bulk(out, name.as_bytes());
                reply::integer(out, v as i64);
            }
        }
        let int = |out: &mut Vec<u8>, name: &str, v: u64| {
            reply::bulk(out, name.as_bytes());
            reply::integer(out, v as i64);
        };
        let dbl = |out: &mut Vec<u8>, name: &str, v: f64| {
            reply::bulk(out, name.as_bytes());
            reply::double(out, p, v);
        };
        int(out, "overhead.total", overhead);
        int(out, "keys.count", f.keys);
        int(
            out,
            "keys.bytes-per-key",
            f.used.checked_div(f.keys).unwrap_or(0),
        );
        int(out, "dataset.bytes", f.dataset);
        dbl(out, "dataset.percentage", ratio(f.dataset * 100, f.used));
        dbl(out, "peak.percentage", ratio(f.used * 100, f.peak));
        int(out, "allocator.allocated", f.used);
        int(out, "allocator.active", f.used);
        int(out, "allocator.resident", f.rss);
        dbl(out, "allocator-fragmentation.ratio", ratio(f.used, f.used));
        int(out, "allocator-fragmentation.bytes", 0);
        dbl(out, "allocator-rss.ratio", ratio(f.rss, f.used));
        int(out, "allocator-rss.bytes", f.rss.saturating_sub(f.used));
        dbl(out, "rss-overhead.ratio", ratio(f.rss, f.rss));
        int(out, "rss-overhead.bytes", 0);
        dbl(out, "fragmentation", ratio(f.rss, f.used));
        int(out, "fragmentation.bytes", f.rss.saturating_sub(f.used));
    });
}

/// # Format
/// `MEMORY DOCTOR`
pub fn memory_doctor<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let f = figures(core);
    let allocator = format!("zedis-{}", core.strategy_names[0]);
    let inputs = MemoryDoctorInputs {
        total_allocated_bytes: f.used,
        peak_allocated_bytes: f.peak,
        sample: MallocSample {
            process_rss_bytes: f.rss,
            used_bytes: f.used,
            allocator_allocated_bytes: f.used,
            allocator_active_bytes: f.used,
            allocator_resident_bytes: f.rss,
        },
        normal_clients: f.normal_clients,
        normal_clients_bytes: f.clients_normal,
        replicas: f.replicas,
        replicas_bytes: f.clients_replicas,
        cached_scripts: f.cached_scripts,
        allocator: &allocator,
    };
    core.reply(ck, |out, p| {
        memory_doctor::reply_memory_doctor(out, p, &inputs)
    });
}

/// # Format
/// `MEMORY PURGE`
pub fn memory_purge<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `MEMORY HELP`
pub fn memory_help<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    core.reply(ck, |out, _| memory_doctor::reply_memory_help(out));
}

/// The per-strategy allocator report (DEBUG JMAP, MEMORY MALLOC-STATS) from the budget and the strategies'
/// own figures (the request arena's as of the last cron turn).
pub fn allocator_report<'a, S: Strategy>(
    core: &'a Core<S>,
    allocator: &'a str,
) -> AllocatorReport<'a> {
    use zedis_kv_pool::KvAllocator;
    let b = core.budget;
    let kv = S::Kv::stats();
    let arena = core.engine.debug.arena;
    let clients = core.clients.stats();
    AllocatorReport {
        allocator,
        process_rss_bytes: crate::info::rss_bytes() as u64,
        budget: BudgetFigures {
            limit_bytes: b.limit() as u64,
            used_bytes: b.used() as u64,
            peak_bytes: b.peak() as u64,
        },
        components: Component::ALL
            .iter()
            .map(|&c| ComponentFigures {
                name: c.name(),
                used_bytes: b.used_by(c) as u64,
                peak_bytes: b.peak_by(c) as u64,
            })
            .collect(),
        kv: KvFigures {
            strategy: core.strategy_names[0],
            capacity_bytes: kv.capacity_bytes as u64,
            used_bytes: kv.used_bytes as u64,
            requested_bytes: kv.requested_bytes as u64,
            allocations: kv.allocations as u64,
            resets: kv.resets,
        },
        arena: ArenaFigures {
            strategy: core.strategy_names[1],
            current_bytes: arena.current_bytes as u64,
            high_water_bytes: arena.high_water_bytes as u64,
            retained_bytes: arena.retained_bytes as u64,
            resets: arena.resets,
            discards: arena.discards,
        },
        clients: ClientPoolFigures {
            strategy: core.strategy_names[2],
            used: clients.used as u64,
            free: clients.free as u64,
            capacity: clients.capacity as u64,
            recycled: clients.recycled,
            slot_bytes: clients.slot_bytes as u64,
        },
    }
}

/// # Format
/// `MEMORY MALLOC-STATS`
pub fn memory_malloc_stats<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let allocator = format!("zedis-{}", core.strategy_names[0]);
    let text = allocator_report(core, &allocator).malloc_stats_text();
    core.reply(ck, |out, p| {
        reply::verbatim(out, p, b"txt", text.as_bytes())
    });
}
