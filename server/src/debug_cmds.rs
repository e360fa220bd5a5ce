//! DEBUG and LOLWUT: `zedis_observe::debug` parses DEBUG into a typed request and decides who may run it
//! (`enable-debug-command`, Redis 7.0's default `no`); this module runs each request against the server
//! (digests through `zedis_rdb::digest`, RELOAD through SAVE and the RDB loader (`debug_cmds/reload.rs`), LOADAOF
//! through the AOF loader (`aof/debug_load.rs`), POPULATE through the
//! keyspace's RDB conversion), and LOLWUT draws from the process-wide `rand()` stream kept here.

mod reload;

pub use reload::empty_data;

use crate::server::{unix_ms, Core};
use crate::Strategy;
use std::net::IpAddr;
use zedis_arena::ArenaStats;
use zedis_client_pool::ClientSlots;
use zedis_keyspace::entry::EntryPtr;
use zedis_keyspace::persist::rdb::{entry_value, store_value};
use zedis_observe::debug::{self, ClientPeer, DebugRequest};
use zedis_observe::debug_reply::{self as dr, ObjectInfo, QuicklistInfo};
use zedis_observe::CRand;
use zedis_rdb::digest::{value_digest, DatasetDigest};
use zedis_rdb::RdbValue;
use zedis_resp::reply;

/// DEBUG's switches and LOLWUT's random stream.
#[derive(Debug)]
pub struct DebugState {
    /// `DEBUG SET-ACTIVE-EXPIRE`: whether the active expire cycle runs.
    pub active_expire: bool,
    /// `DEBUG PAUSE-CRON`: the server's cron does nothing while set (Redis's `server.pause_cron`).
    pub cron_paused: bool,
    /// The request arena's figures as of the last cron turn (DEBUG JMAP, MEMORY MALLOC-STATS).
    pub arena: ArenaStats,
    /// LOLWUT's `rand()`, seeded as redis-server seeds it at start.
    pub rand: CRand,
}

impl DebugState {
    /// Active expiry on, `rand()` seeded from the time and the pid.
    pub fn new() -> DebugState {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        DebugState {
            active_expire: true,
            cron_paused: false,
            arena: ArenaStats::default(),
            rand: CRand::seeded_at_start(now.as_secs(), std::process::id(), now.subsec_micros()),
        }
    }
}

/// The peer of client `ck` as the `local` rule sees it.
fn peer<S: Strategy>(core: &Core<S>, ck: usize) -> ClientPeer {
    let Some(c) = core.clients.get(ck) else {
        return ClientPeer::Unix;
    };
    if c.unix_socket {
        return ClientPeer::Unix;
    }
    let host = c.addr.rsplit_once(':').map_or(c.addr.as_str(), |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ClientPeer::Tcp(ip),
        // Unreadable: never local.
        Err(_) => ClientPeer::Tcp(IpAddr::from([0, 0, 0, 0])),
    }
}

fn client_db<S: Strategy>(core: &Core<S>, ck: usize) -> usize {
    core.clients.get(ck).map_or(0, |c| c.db)
}

fn error<S: Strategy>(core: &mut Core<S>, ck: usize, text: &str) {
    core.reply(ck, |out, _| reply::error(out, text.as_bytes()));
}

fn ok<S: Strategy>(core: &mut Core<S>, ck: usize) {
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `DEBUG subcommand [argument ...]`
pub fn debug<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    if let Err(e) = debug::check_debug_allowed(core.settings.debug_command, peer(core, ck)) {
        return error(core, ck, &e.to_string());
    }
    let request = match debug::parse(argv) {
        Ok(r) => r,
        Err(e) => return error(core, ck, &e.to_string()),
    };
    let db = client_db(core, ck);
    match request {
        DebugRequest::Help => core.reply(ck, |out, _| dr::reply_help(out)),
        DebugRequest::Sleep { duration } => {
            std::thread::sleep(duration);
            ok(core, ck);
        }
        DebugRequest::PauseCron { paused } => {
            core.engine.debug.cron_paused = paused;
            ok(core, ck);
        }
        DebugRequest::SetActiveExpire { enabled } => {
            core.engine.debug.active_expire = enabled;
            ok(core, ck);
        }
        DebugRequest::Digest => {
            // The digest hashes the tables: segment-store keys move there first.
            core.engine.ks.promote_all(crate::server::unix_ms());
            let digest = dataset_digest(core);
            core.reply(ck, |out, _| dr::reply_digest(out, &digest));
        }
        DebugRequest::DigestValue { keys } => {
            let digests: Vec<[u8; 20]> = keys
                .iter()
                .map(|k| {
                    find(core, db, k)
                        .and_then(|e| entry_value::<S::Kv>(e).map(|v| (v, e.expire().is_some())))
                        .map_or([0; 20], |(v, ttl)| value_digest(&v, ttl))
                })
                .collect();
            core.reply(ck, |out, _| {
                reply::array_len(out, digests.len());
                digests.iter().for_each(|d| dr::reply_digest(out, d));
            });
        }
        DebugRequest::Object { key } => match find(core, db, key) {
            None => error(core, ck, dr::NO_SUCH_KEY),
            Some(entry) => {
                let line = dr::object_line(&object_info(core, entry));
                core.reply(ck, |out, _| reply::simple(out, line.as_bytes()));
            }
        },
        DebugRequest::Reload { merge, flush, save } => reload::reload(core, ck, merge, flush, save),
        DebugRequest::AofFlushSleep { micros } => {
            core.engine.aof.flush_sleep_us = micros;
            ok(core, ck);
        }
        DebugRequest::LoadAof => {
            core.aof_debug_load();
            ok(core, ck);
        }
        DebugRequest::ChangeReplId => {
            let repl = &mut core.engine.repl;
            repl.replid = crate::repl::new_replid();
            repl.replid2 = "0".repeat(40);
            repl.second_replid_offset = -1;
            ok(core, ck);
        }
        DebugRequest::Jmap => {
            let allocator = format!("zedis-{}", core.strategy_names[0]);
            let text = crate::memory_cmds::allocator_report(core, &allocator).jmap_text();
            core.reply(ck, |out, p| {
                reply::verbatim(out, p, b"txt", text.as_bytes())
            });
        }
        DebugRequest::Listpack { key } => {
            let printed = (dr::LISTPACK_PRINTED, dr::NOT_LISTPACK);
            print_encoded(core, ck, find(core, db, key), key, "listpack", printed);
        }
        DebugRequest::Quicklist { key, .. } => {
            let printed = (dr::QUICKLIST_PRINTED, dr::NOT_QUICKLIST);
            print_encoded(core, ck, find(core, db, key), key, "quicklist", printed);
        }
        DebugRequest::StringmatchTest => {
            stringmatch_fuzz(&mut core.engine.debug.rand);
            core.reply(ck, |out, _| {
                reply::simple(out, dr::STRINGMATCH_TEST_REPLY.as_bytes())
            });
        }
        DebugRequest::Protocol(kind) => {
            let mut failed = None;
            core.reply(ck, |out, p| failed = dr::reply_protocol(out, p, kind).err());
            if let Some(e) = failed {
                error(core, ck, &e.to_string());
            }
        }
        DebugRequest::Log { message } => {
            zedis_deploy::warning!("DEBUG LOG: {}", String::from_utf8_lossy(message));
            ok(core, ck);
        }
        DebugRequest::Error { text } => core.reply(ck, |out, _| dr::reply_error_as_is(out, text)),
        DebugRequest::Populate {
            count,
            prefix,
            size,
        } => populate(core, ck, db, count, prefix, size),
        // Switches whose machinery Zedis does not have (its lists have no packed-node threshold, its
        // scripts, checksums, cron and reply buffers have no such knobs): refused rather than pretended.
        DebugRequest::QuicklistPackedThreshold { .. }
        | DebugRequest::SetDisableDenyScripts { .. }
        | DebugRequest::SetSkipChecksumValidation { .. }
        | DebugRequest::ReplyBufferPeakResetTime(_)
        | DebugRequest::ReplyBufferResizing { .. } => {
            let text = format!(
                "ERR DEBUG {} is not supported by Zedis",
                String::from_utf8_lossy(argv[1]).to_ascii_lowercase()
            );
            core.reply_error(ck, text.as_bytes());
        }
    }
}

/// DEBUG LISTPACK / QUICKLIST: the key's internals go to the log (Zedis notes the key's name) when it has
/// `encoding`; `(printed, refused)` are the reply and the error otherwise.
fn print_encoded<S: Strategy>(
    core: &mut Core<S>,
    ck: usize,
    entry: Option<EntryPtr>,
    key: &[u8],
    encoding: &str,
    (printed, refused): (&str, &str),
) {
    match entry {
        None => error(core, ck, dr::NO_SUCH_KEY),
        Some(e) if zedis_keyspace::value::encoding(e) == encoding => {
            let name = encoding.to_ascii_uppercase();
            zedis_deploy::notice!("DEBUG {name}: {}", String::from_utf8_lossy(key));
            core.reply(ck, |out, _| reply::simple(out, printed.as_bytes()));
        }
        Some(_) => error(core, ck, refused),
    }
}

/// The entry of `key` in `db`, logically expired or not, without touching it.
fn find<S: Strategy>(core: &Core<S>, db: usize, key: &[u8]) -> Option<EntryPtr> {
    core.engine.ks.db(db).dict().find(key)
}

/// DEBUG DIGEST over every database, logically expired keys included.
fn dataset_digest<S: Strategy>(core: &Core<S>) -> [u8; 20] {
    let ks = &core.engine.ks;
    let mut digest = DatasetDigest::new();
    for idx in 0..ks.db_count() {
        let db = ks.db(idx);
        if db.is_empty() {
            continue;
        }
        digest.database(idx as u32);
        db.dict().for_each(|e| {
            if let Some(value) = entry_value::<S::Kv>(e) {
                digest.key(e.key(), &value, e.expire().is_some());
            }
        });
    }
    digest.finish()
}

/// DEBUG OBJECT's figures for one entry. The serialized length is the DUMP payload's value part; a list's
/// quicklist fields describe Zedis's list as one node.
fn object_info<S: Strategy>(core: &Core<S>, entry: EntryPtr) -> ObjectInfo<'static> {
    let encoding = zedis_keyspace::value::encoding(entry);
    let value = entry_value::<S::Kv>(entry);
    let config = zedis_keyspace::persist::rdb::encoding_config(&core.engine.ks.config);
    // DUMP payload: type byte, value, 2-byte RDB version, 8-byte CRC.
    let serialized_len = value.as_ref().map_or(0, |v| {
        (zedis_rdb::create_dump_payload(v, &config).len() as u64).saturating_sub(11)
    });
    let now = unix_ms();
    let quicklist = match (&value, encoding) {
        (Some(RdbValue::List(items)), "quicklist") => Some(QuicklistInfo {
            nodes: u64::from(!items.is_empty()),
            elements: items.len() as u64,
            fill: i32::try_from(core.engine.ks.config.limits.list_max_listpack_size).unwrap_or(-2),
            compressed: zedis_keyspace::types::list::compress_depth() != 0,
            uncompressed_bytes: listpack_bytes(items),
        }),
        _ => None,
    };
    ObjectInfo {
        address: entry.key().as_ptr() as usize,
        refcount: if matches!(entry.payload(), zedis_keyspace::entry::Payload::Int(n) if (0..10_000).contains(&n))
        {
            dr::SHARED_REFCOUNT
        } else {
            1
        },
        encoding,
        serialized_len,
        lru: entry.lru(),
        lru_seconds_idle: (zedis_keyspace::commands::keys::idle_ms(entry, now) / 1000).max(0)
            as u64,
        quicklist,
    }
}

/// The bytes of a listpack holding `items` (Redis's `lpInsert` encodings): 6 header bytes, each entry's
/// encoding, data and back-length, the end byte.
fn listpack_bytes(items: &[Vec<u8>]) -> u64 {
    let entry = |item: &Vec<u8>| -> u64 {
        let as_int = std::str::from_utf8(item)
            .ok()
            .and_then(|t| t.parse::<i64>().ok().filter(|n| n.to_string() == t));
        let len = item.len() as u64;
        let body = match as_int {
            Some(n) if (0..=127).contains(&n) => 1,
            Some(n) if (-4096..=4095).contains(&n) => 2,
            Some(n) if i16::try_from(n).is_ok() => 3,
            Some(n) if (-(1 << 23)..(1 << 23)).contains(&n) => 4,
            Some(n) if i32::try_from(n).is_ok() => 5,
            Some(_) => 9,
            None if len < 64 => 1 + len,
            None if len < 4096 => 2 + len,
            None => 5 + len,
        };
        let back = match body {
            0..=127 => 1,
            128..=16_382 => 2,
            16_383..=2_097_150 => 3,
            2_097_151..=268_435_454 => 4,
            _ => 5,
        };
        body + back
    };
    7 + items.iter().map(entry).sum::<u64>()
}

/// DEBUG POPULATE: string keys `<prefix>:<n>` that do not exist yet.
fn populate<S: Strategy>(
    core: &mut Core<S>,
    ck: usize,
    db: usize,
    count: u64,
    prefix: &[u8],
    size: u64,
) {
    if size > core.settings.parser_limits.bulk_bytes_max as u64 {
        return error(
            core,
            ck,
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        );
    }
    let now = unix_ms();
    for n in 0..count {
        let key = dr::populate_key(prefix, n);
        if find(core, db, &key).is_some() {
            continue;
        }
        let value = RdbValue::String(dr::populate_value(n, size));
        if store_value(&mut core.engine.ks, db, &key, &value, None, now).is_err() {
            return error(
                core,
                ck,
                "OOM command not allowed when used memory > 'maxmemory'.",
            );
        }
    }
    ok(core, ck);
}

/// STRINGMATCH-TEST: Redis's fuzz of the glob matcher (random patterns and strings; it must not crash).
fn stringmatch_fuzz(rand: &mut CRand) {
    let mut pattern = [0u8; 50];
    let mut text = [0u8; 50];
    for _ in 0..100_000 {
        let plen = (rand.next_value() % 50) as usize;
        let tlen = (rand.next_value() % 50) as usize;
        pattern[..plen]
            .iter_mut()
            .for_each(|b| *b = rand.next_value() as u8);
        text[..tlen]
            .iter_mut()
            .for_each(|b| *b = rand.next_value() as u8);
        let _ = zedis_keyspace::glob::matches(&pattern[..plen], &text[..tlen]);
    }
}

/// # Format
/// `LOLWUT [VERSION version]`
pub fn lolwut<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let mut out = Vec::new();
    let proto = core
        .clients
        .get(ck)
        .map_or(zedis_resp::Protocol::Resp2, |c| c.proto);
    let result = zedis_observe::lolwut::reply_lolwut(
        &mut out,
        proto,
        argv,
        crate::REDIS_VERSION,
        &mut core.engine.debug.rand,
    );
    match result {
        Ok(()) => core.reply(ck, |o, _| o.extend_from_slice(&out)),
        Err(e) => error(core, ck, &e.to_string()),
    }
}
