//! Generic key commands: DEL, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, MOVE, COPY, OBJECT, DBSIZE, FLUSH*,
//! SWAPDB.

use super::{read, reply_oom, write, Ctx, DB_RANGE, NOT_INTEGER, NO_SUCH_KEY, SAME_OBJECT, SYNTAX};
use crate::entry::{EntryPtr, Kind, Payload, PayloadInit, FLAG_RAW};
use crate::value::{self, type_name};
use crate::{glob, notify, Keyspace, Oom};
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// # Format
/// `DEL key [key ...]` / `UNLINK key [key ...]`
pub fn del<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let mut deleted = 0;
    for &key in &ctx.argv[1..] {
        if ks.delete(ctx.db, key, ctx.now_ms, ctx.fx) {
            deleted += 1;
            ctx.fx.changed(notify::GENERIC, "del", ctx.db, key);
        }
    }
    reply::integer(ctx.out, deleted);
}

/// # Format
/// `EXISTS key [key ...]` (a key named twice counts twice)
pub fn exists<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let mut count = 0;
    for &key in &ctx.argv[1..] {
        let found = match super::seg_strings::exists(ks, ctx, key) {
            Some(found) => found,
            None => super::read_notouch(ks, ctx, key).is_some(),
        };
        count += i64::from(found);
    }
    reply::integer(ctx.out, count);
}

/// # Format
/// `TOUCH key [key ...]`
pub fn touch<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let mut count = 0;
    for &key in &ctx.argv[1..] {
        if read(ks, ctx, key).is_some() {
            count += 1;
        }
    }
    reply::integer(ctx.out, count);
}

/// # Format
/// `TYPE key`
pub fn type_<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if let Some(found) = super::seg_strings::exists(ks, ctx, ctx.argv[1]) {
        let name: &[u8] = if found { b"string" } else { b"none" };
        return reply::simple(ctx.out, name);
    }
    let name = match super::read_notouch(ks, ctx, ctx.argv[1]) {
        Some(e) => type_name(e.kind()),
        None => "none",
    };
    reply::simple(ctx.out, name.as_bytes());
}

/// # Format
/// `KEYS pattern`
pub fn keys<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let pattern = ctx.argv[1];
    let all = pattern == b"*";
    let now = ctx.now_ms;
    let mut found: Vec<&[u8]> = Vec::new();
    ks.db(ctx.db).dict().for_each(|e| {
        let live = e.expire().is_none_or(|when| when > now);
        if live && (all || glob::matches(pattern, e.key())) {
            found.push(e.key());
        }
    });
    let mut in_store = Vec::new();
    super::seg_scan::keys(ks, ctx.db, pattern, all, now, &mut in_store);
    reply::array_len(ctx.out, found.len() + in_store.len());
    for key in in_store.iter().map(Vec::as_slice).chain(found) {
        reply::bulk(ctx.out, key);
    }
}

/// Redis's `parseScanCursorOrReply` (strtoul rules: optional sign, decimal, no trailing bytes).
pub fn parse_cursor(bytes: &[u8]) -> Option<u64> {
    if bytes.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// SCAN's options, shared with the collection scans.
pub struct ScanOptions<'a> {
    /// MATCH pattern (None for none or `*`).
    pub pattern: Option<&'a [u8]>,
    /// COUNT.
    pub count: usize,
    /// TYPE filter.
    pub type_name: Option<&'a [u8]>,
}

/// Parses `[MATCH pattern] [COUNT count] [TYPE type]` from `argv[first..]`, replying the error on failure.
pub fn parse_scan_options<'a>(
    ctx: &mut Ctx<'_>,
    argv: &[&'a [u8]],
    first: usize,
    allow_type: bool,
) -> Option<ScanOptions<'a>> {
    let mut opts = ScanOptions {
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut i = first;
    while i < argv.len() {
        let remaining = argv.len() - i;
        let opt = argv[i];
        if opt.eq_ignore_ascii_case(b"count") && remaining >= 2 {
            let Some(count) = crate::num::parse_i64_exact(argv[i + 1]) else {
                ctx.error(NOT_INTEGER);
                return None;
            };
            if count < 1 {
                ctx.error(SYNTAX);
                return None;
            }
            opts.count = count as usize;
        } else if opt.eq_ignore_ascii_case(b"match") && remaining >= 2 {
            let pattern = argv[i + 1];
            opts.pattern = if pattern == b"*" { None } else { Some(pattern) };
        } else if opt.eq_ignore_ascii_case(b"type") && allow_type && remaining >= 2 {
            opts.type_name = Some(argv[i + 1]);
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(opts)
}

/// # Format
/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
pub fn scan<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(mut cursor) = parse_cursor(ctx.argv[1]) else {
        return ctx.error(b"ERR invalid cursor");
    };
    let argv = ctx.argv;
    let Some(opts) = parse_scan_options(ctx, argv, 2, true) else {
        return;
    };
    let mut keys: Vec<Vec<u8>> = Vec::new();
    // The segment store's phase first (its keys are live strings); then the tables from cursor 0.
    let mut kept = Vec::new();
    let mut tables = true;
    if let Some(next) =
        super::seg_scan::scan_step(ks, ctx.db, cursor, opts.count, ctx.now_ms, &mut kept)
    {
        cursor = next;
        tables = next == 0;
    }
    let string_ok = opts
        .type_name
        .is_none_or(|t| t.eq_ignore_ascii_case(b"string"));
    kept.retain(|key| string_ok && opts.pattern.is_none_or(|p| glob::matches(p, key)));
    let dict = ks.db(ctx.db).dict();
    let mut iterations = opts.count.saturating_mul(10);
    // The tables' phase (at least one step once it starts, so cursor 0 is never returned early).
    let mut more = tables;
    while more {
        cursor = dict.scan(cursor, |e| keys.push(e.key().to_vec()));
        more = cursor != 0 && iterations != 0 && kept.len() + keys.len() < opts.count;
        iterations = iterations.saturating_sub(1);
    }
    keys.retain(|key| opts.pattern.is_none_or(|p| glob::matches(p, key)));
    kept.reserve(keys.len());
    for key in keys {
        let Some(entry) = ks.lookup(ctx.db, &key, ctx.now_ms, ctx.fx) else {
            continue;
        };
        if opts
            .type_name
            .is_some_and(|t| !t.eq_ignore_ascii_case(type_name(entry.kind()).as_bytes()))
        {
            continue;
        }
        kept.push(key);
    }
    reply::array_len(ctx.out, 2);
    reply::bulk(ctx.out, itoa::Buffer::new().format(cursor).as_bytes());
    reply::array_len(ctx.out, kept.len());
    for key in kept {
        reply::bulk(ctx.out, &key);
    }
}

/// # Format
/// `RANDOMKEY`
pub fn randomkey<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if let Some(key) = super::seg_scan::random_key(ks, ctx.db, ctx.now_ms) {
        return reply::bulk(ctx.out, &key);
    }
    loop {
        let mut state = ks.random();
        let mut rng = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state ^ (state >> 29)
        };
        let Some(entry) = ks.db(ctx.db).dict().random_entry(&mut rng) else {
            return reply::null(ctx.out, ctx.proto);
        };
        let key = entry.key().to_vec();
        if ks.lookup(ctx.db, &key, ctx.now_ms, ctx.fx).is_some() {
            return reply::bulk(ctx.out, &key);
        }
    }
}

/// A copy of `entry`'s payload for a new entry. Collections are deep-copied when `deep`, else moved.
fn payload_of<A: KvAllocator>(entry: EntryPtr, deep: bool) -> Result<PayloadInit<'static>, Oom> {
    Ok(match entry.payload() {
        Payload::Str(bytes) => PayloadInit::Str(bytes),
        Payload::Int(n) => PayloadInit::Int(n),
        Payload::Object(kind, object) if deep => {
            // SAFETY: `object` is the live collection of `entry`.
            PayloadInit::Object(
                kind,
                unsafe { value::clone_object(A::default(), kind, object) }.map_err(|_| Oom)?,
            )
        }
        Payload::Object(kind, object) => PayloadInit::Object(kind, object),
    })
}

/// Creates `dst_key` in `dst_db` with `src`'s value and TTL (moving or copying a collection). `dst_key` must be
/// absent in `dst_db`.
fn place<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    src: EntryPtr,
    dst_db: usize,
    dst_key: &[u8],
    deep: bool,
) -> Result<(), Oom> {
    let payload = payload_of::<A>(src, deep)?;
    let copied_object = match payload {
        PayloadInit::Object(kind, object) if deep => Some((kind, object)),
        _ => None,
    };
    let fail = |object: Option<(Kind, *mut u8)>| {
        if let Some((kind, object)) = object {
            // SAFETY: the copy was never linked.
            unsafe { value::free_object(A::default(), kind, object) };
        }
        Oom
    };
    let entry = EntryPtr::new(A::default(), dst_key, src.expire(), payload, src.lru())
        .map_err(|_| fail(copied_object))?;
    if src.has_flag(FLAG_RAW) {
        entry.set_flag(FLAG_RAW);
    }
    if ks.db_mut(dst_db).insert(entry).is_err() {
        // SAFETY: never linked.
        unsafe { entry.free(A::default()) };
        return Err(fail(copied_object));
    }
    ks.note_new_key(dst_db, dst_key);
    Ok(())
}

/// # Format
/// `RENAME key newkey` / `RENAMENX key newkey`
pub fn rename<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let nx = ctx.argv[0].eq_ignore_ascii_case(b"renamenx");
    let (src_key, dst_key) = (ctx.argv[1], ctx.argv[2]);
    let Some(src) = write(ks, ctx, src_key) else {
        return ctx.error(NO_SUCH_KEY);
    };
    if src_key == dst_key {
        return if nx {
            reply::integer(ctx.out, 0)
        } else {
            reply::ok(ctx.out)
        };
    }
    if write(ks, ctx, dst_key).is_some() {
        if nx {
            return reply::integer(ctx.out, 0);
        }
        ks.db_mut(ctx.db).remove(dst_key);
    }
    if let Err(oom) = place(ks, src, ctx.db, dst_key, false) {
        return reply_oom(ctx, oom);
    }
    ks.db_mut(ctx.db).remove_keep_object(src_key);
    ctx.fx.dirty += 1;
    ctx.fx.touch(ctx.db, src_key);
    ctx.fx.touch(ctx.db, dst_key);
    ctx.fx
        .notify(notify::GENERIC, "rename_from", ctx.db, src_key);
    ctx.fx.notify(notify::GENERIC, "rename_to", ctx.db, dst_key);
    if nx {
        reply::integer(ctx.out, 1);
    } else {
        reply::ok(ctx.out);
    }
}

/// A db index argument as Redis's getIntFromObject + selectDb check it.
fn db_arg<A: KvAllocator>(ks: &Keyspace<A>, ctx: &mut Ctx<'_>, idx: usize) -> Option<usize> {
    let Some(n) = crate::num::parse_i64_exact(ctx.argv[idx]).filter(|n| i32::try_from(*n).is_ok())
    else {
        ctx.error(NOT_INTEGER);
        return None;
    };
    if n < 0 || n as usize >= ks.db_count() {
        ctx.error(DB_RANGE);
        return None;
    }
    Some(n as usize)
}

/// # Format
/// `MOVE key db`
pub fn move_<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(dst_db) = db_arg(ks, ctx, 2) else {
        return;
    };
    if dst_db == ctx.db {
        return ctx.error(SAME_OBJECT);
    }
    let key = ctx.argv[1];
    let Some(src) = write(ks, ctx, key) else {
        return reply::integer(ctx.out, 0);
    };
    if ks.lookup(dst_db, key, ctx.now_ms, ctx.fx).is_some() {
        return reply::integer(ctx.out, 0);
    }
    if let Err(oom) = place(ks, src, dst_db, key, false) {
        return reply_oom(ctx, oom);
    }
    ks.db_mut(ctx.db).remove_keep_object(key);
    ctx.fx.dirty += 1;
    ctx.fx.touch(ctx.db, key);
    ctx.fx.touch(dst_db, key);
    ctx.fx.notify(notify::GENERIC, "move_from", ctx.db, key);
    ctx.fx.notify(notify::GENERIC, "move_to", dst_db, key);
    reply::integer(ctx.out, 1);
}

/// # Format
/// `COPY source destination [DB destination-db] [REPLACE]`
pub fn copy<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let (src_key, dst_key) = (ctx.argv[1], ctx.argv[2]);
    let mut dst_db = ctx.db;
    let mut replace = false;
    let mut j = 3;
    while j < ctx.argv.len() {
        if ctx.argv[j].eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if ctx.argv[j].eq_ignore_ascii_case(b"db") && j + 1 < ctx.argv.len() {
            let Some(n) = crate::num::parse_i64_exact(ctx.argv[j + 1]) else {
                return ctx.error(NOT_INTEGER);
            };
            if n < 0 || n as u64 >= ks.db_count() as u64 {
                return ctx.error(DB_RANGE);
            }
            dst_db = n as usize;
            j += 1;
        } else {
            return ctx.error(SYNTAX);
        }
        j += 1;
    }
    if dst_db == ctx.db && src_key == dst_key {
        return ctx.error(SAME_OBJECT);
    }
    let Some(src) = read(ks, ctx, src_key) else {
        return reply::integer(ctx.out, 0);
    };
    if ks.lookup(dst_db, dst_key, ctx.now_ms, ctx.fx).is_some() {
        if !replace {
            return reply::integer(ctx.out, 0);
        }
        ks.db_mut(dst_db).remove(dst_key);
    }
    if let Err(oom) = place(ks, src, dst_db, dst_key, true) {
        return reply_oom(ctx, oom);
    }
    ctx.fx.changed(notify::GENERIC, "copy_to", dst_db, dst_key);
    reply::integer(ctx.out, 1);
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// # Format
/// `OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key` / `OBJECT HELP`
pub fn object<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let sub = ctx.argv[1];
    if sub.eq_ignore_ascii_case(b"help") {
        reply::array_len(ctx.out, OBJECT_HELP.len());
        for line in OBJECT_HELP {
            reply::simple(ctx.out, line.as_bytes());
        }
        return;
    }
    let flags = crate::ReadFlags {
        no_touch: true,
        no_notify: true,
    };
    let Some(entry) = ks.lookup_read_with(ctx.db, ctx.argv[2], ctx.now_ms, ctx.fx, flags) else {
        return reply::null(ctx.out, ctx.proto);
    };
    const POLICY_SWITCH: &str = "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
    if sub.eq_ignore_ascii_case(b"encoding") {
        reply::bulk(ctx.out, value::encoding(entry).as_bytes());
    } else if sub.eq_ignore_ascii_case(b"freq") {
        if !ks.config.policy.is_lfu() {
            let msg = format!("ERR An LFU maxmemory policy is not selected, access frequency not tracked. {POLICY_SWITCH}");
            return ctx.error(msg.as_bytes());
        }
        reply::integer(ctx.out, i64::from(ks.lfu_decayed(entry, ctx.now_ms)));
    } else if sub.eq_ignore_ascii_case(b"idletime") {
        if ks.config.policy.is_lfu() {
            let msg = format!(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. {POLICY_SWITCH}"
            );
            return ctx.error(msg.as_bytes());
        }
        reply::integer(ctx.out, idle_ms(entry, ctx.now_ms) / 1000);
    } else {
        // REFCOUNT: Redis shares the integers 0..9999 unless an LRU/LFU policy needs per-key clocks.
        let shared = matches!(entry.payload(), Payload::Int(n) if (0..10_000).contains(&n))
            && matches!(
                ks.config.policy,
                crate::EvictionPolicy::NoEviction | crate::EvictionPolicy::AllKeysFlush
            );
        reply::integer(ctx.out, if shared { i64::from(i32::MAX) } else { 1 });
    }
}

/// Milliseconds since the entry's last access (Redis's estimateObjectIdleTime, 24-bit seconds clock).
pub fn idle_ms(entry: EntryPtr, now_ms: i64) -> i64 {
    let now = Keyspace::<zedis_kv_pool::SystemAlloc>::lru_clock(now_ms);
    let then = entry.lru();
    let seconds = if now >= then {
        now - then
    } else {
        (0xff_ffff - then) + now
    };
    i64::from(seconds) * 1000
}

/// # Format
/// `DBSIZE`
pub fn dbsize<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    reply::integer(ctx.out, ks.db(ctx.db).len() as i64);
}

/// The optional ASYNC|SYNC argument of FLUSHDB/FLUSHALL; false after replying a syntax error.
fn flush_mode_ok(ctx: &mut Ctx<'_>) -> bool {
    match ctx.argv.get(1) {
        None => true,
        Some(arg) if arg.eq_ignore_ascii_case(b"async") || arg.eq_ignore_ascii_case(b"sync") => {
            if ctx.argv.len() > 2 {
                ctx.error(SYNTAX);
                return false;
            }
            true
        }
        Some(_) => {
            ctx.error(SYNTAX);
            false
        }
    }
}

/// # Format
/// `FLUSHDB [ASYNC | SYNC]`
pub fn flushdb<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if !flush_mode_ok(ctx) {
        return;
    }
    ctx.fx.dirty += ks.db(ctx.db).len() as u64 + 1;
    ks.flush_db(ctx.db);
    ctx.fx.flushed_dbs.push(ctx.db);
    reply::ok(ctx.out);
}

/// # Format
/// `FLUSHALL [ASYNC | SYNC]`
pub fn flushall<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if !flush_mode_ok(ctx) {
        return;
    }
    ctx.fx.dirty += ks.total_keys() as u64 + 1;
    ks.flush_all();
    ctx.fx.flushed = true;
    reply::ok(ctx.out);
}

/// # Format
/// `SWAPDB index1 index2`
pub fn swapdb<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let parse =
        |bytes: &[u8]| crate::num::parse_i64_exact(bytes).filter(|n| i32::try_from(*n).is_ok());
    let Some(a) = parse(ctx.argv[1]) else {
        return ctx.error(b"ERR invalid first DB index");
    };
    let Some(b) = parse(ctx.argv[2]) else {
        return ctx.error(b"ERR invalid second DB index");
    };
    let dbs = ks.db_count() as i64;
    if a < 0 || b < 0 || a >= dbs || b >= dbs {
        return ctx.error(DB_RANGE);
    }
    ctx.fx.dirty += 1;
    // Swapping a database with itself changes nothing: Redis leaves WATCHed keys and blocked clients alone.
    if a != b {
        ks.swap_dbs(a as usize, b as usize);
        ctx.fx.flushed_dbs.push(a as usize);
        ctx.fx.flushed_dbs.push(b as usize);
    }
    reply::ok(ctx.out);
}
