//! String commands: GET, SET and its variants, MGET/MSET, counters, APPEND, ranges.

use super::seg_strings::{self, SetMode};
use super::set_options::{expire_at_ms, parse_options_and_expire, parse_set_options};
use super::{
    is_string, read, reply_oom, reply_string, write, Ctx, NOT_FLOAT, NOT_INTEGER, STRING_TOO_LONG,
    WRONGTYPE,
};
use crate::entry::{EntryPtr, Payload, PayloadInit, FLAG_RAW};
use crate::longdouble::LongDouble;
use crate::notify;
use crate::num::parse_i64_exact;
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// The string value of an entry, formatting integers into `buf`.
fn string_bytes(entry: EntryPtr, buf: &mut itoa::Buffer) -> &[u8] {
    match entry.payload() {
        Payload::Str(bytes) => bytes,
        Payload::Int(n) => buf.format(n).as_bytes(),
        Payload::Object(..) => &[],
    }
}

/// # Format
/// `GET key`
pub fn get<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if seg_strings::get(ks, ctx, ctx.argv[1]) {
        return;
    }
    match read(ks, ctx, ctx.argv[1]) {
        None => reply::null(ctx.out, ctx.proto),
        Some(e) if is_string(e) => reply_string(ctx.out, e),
        Some(_) => ctx.error(WRONGTYPE),
    }
}

/// # Format
/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]`
pub fn set<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some((opts, expire)) = parse_options_and_expire(ctx, 3, true) else {
        return;
    };
    let key = ctx.argv[1];
    let mode = SetMode {
        get: opts.get,
        nx: opts.nx,
        xx: opts.xx,
        keep_ttl: opts.keep_ttl,
        integer_reply: false,
    };
    if seg_strings::set(ks, ctx, key, ctx.argv[2], expire, mode) {
        return;
    }
    let existing = if opts.get {
        read(ks, ctx, key)
    } else {
        write(ks, ctx, key)
    };
    if opts.get {
        match existing {
            Some(e) if !is_string(e) => return ctx.error(WRONGTYPE),
            Some(e) => reply_string(ctx.out, e),
            None => reply::null(ctx.out, ctx.proto),
        }
    }
    if (opts.nx && existing.is_some()) || (opts.xx && existing.is_none()) {
        if !opts.get {
            reply::null(ctx.out, ctx.proto);
        }
        return;
    }
    // The entry the write lookup above returned is still linked: the store reuses it instead of a second
    // lookup (GET's read lookup may leave an expired key linked, so that one is looked up again).
    let linked = if opts.get { None } else { existing };
    if let Err(oom) = ks.set_string_over(
        ctx.db,
        key,
        linked,
        ctx.argv[2],
        expire,
        opts.keep_ttl,
        ctx.now_ms,
    ) {
        return reply_oom(ctx, oom);
    }
    set_effects(ctx, key, ctx.argv[2], expire);
    if !opts.get {
        reply::ok(ctx.out);
    }
}

/// Stores, records effects, logs a relative expire as absolute, and replies +OK if `reply_ok`.
fn set_and_reply<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    expire: Option<i64>,
    keep_ttl: bool,
    reply_ok: bool,
) {
    if let Err(oom) = ks.set_string(ctx.db, key, value, expire, keep_ttl, ctx.now_ms) {
        return reply_oom(ctx, oom);
    }
    set_effects(ctx, key, value, expire);
    if reply_ok {
        reply::ok(ctx.out);
    }
}

/// A SET's effects: the `set` (and `expire`) events, and a relative expire logged as absolute.
pub(super) fn set_effects(ctx: &mut Ctx<'_>, key: &[u8], value: &[u8], expire: Option<i64>) {
    ctx.fx.changed(notify::STRING, "set", ctx.db, key);
    if let Some(when) = expire {
        ctx.fx.notify(notify::GENERIC, "expire", ctx.db, key);
        ctx.fx.rewrite(vec![
            b"SET".to_vec(),
            key.to_vec(),
            value.to_vec(),
            b"PXAT".to_vec(),
            when.to_string().into_bytes(),
        ]);
    }
}

/// # Format
/// `SETNX key value`
pub fn setnx<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let mode = SetMode {
        nx: true,
        integer_reply: true,
        ..SetMode::default()
    };
    if seg_strings::set(ks, ctx, key, ctx.argv[2], None, mode) {
        return;
    }
    if write(ks, ctx, key).is_some() {
        return reply::integer(ctx.out, 0);
    }
    let before = ctx.out.len();
    set_and_reply(ks, ctx, key, ctx.argv[2], None, false, false);
    if ctx.out.len() == before {
        reply::integer(ctx.out, 1);
    }
}

/// # Format
/// `SETEX key seconds value` / `PSETEX key milliseconds value`
pub fn setex<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let unit = if ctx.argv[0].eq_ignore_ascii_case(b"psetex") {
        1
    } else {
        0
    };
    let Some(when) = expire_at_ms(ctx, unit, 2) else {
        return;
    };
    let key = ctx.argv[1];
    if seg_strings::set(ks, ctx, key, ctx.argv[3], Some(when), SetMode::default()) {
        return;
    }
    write(ks, ctx, key);
    set_and_reply(ks, ctx, key, ctx.argv[3], Some(when), false, true);
}

/// # Format
/// `GETSET key value`
pub fn getset<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    match read(ks, ctx, key) {
        Some(e) if !is_string(e) => return ctx.error(WRONGTYPE),
        Some(e) => reply_string(ctx.out, e),
        None => reply::null(ctx.out, ctx.proto),
    }
    set_and_reply(ks, ctx, key, ctx.argv[2], None, false, false);
}

/// # Format
/// `GETDEL key`
pub fn getdel<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    match read(ks, ctx, key) {
        None => reply::null(ctx.out, ctx.proto),
        Some(e) if !is_string(e) => ctx.error(WRONGTYPE),
        Some(e) => {
            reply_string(ctx.out, e);
            ks.db_mut(ctx.db).remove(key);
            ctx.fx.changed(notify::GENERIC, "del", ctx.db, key);
            // As Redis: propagated (AOF, replicas) as a DEL.
            ctx.fx.rewrite(vec![b"DEL".to_vec(), key.to_vec()]);
        }
    }
}

/// # Format
/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]`
pub fn getex<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    // As Redis: options first, then the key's type, and only then the expire value.
    let Some(opts) = parse_set_options(ctx, 2, false) else {
        return;
    };
    let key = ctx.argv[1];
    let Some(entry) = read(ks, ctx, key) else {
        return reply::null(ctx.out, ctx.proto);
    };
    if !is_string(entry) {
        return ctx.error(WRONGTYPE);
    }
    let expire = match opts.expire {
        Some((unit, idx)) => match expire_at_ms(ctx, unit, idx) {
            Some(when) => Some(when),
            None => return,
        },
        None => None,
    };
    reply_string(ctx.out, entry);
    if let Some(when) = expire {
        if when <= ctx.now_ms {
            ks.db_mut(ctx.db).remove(key);
            ctx.fx.changed(notify::GENERIC, "del", ctx.db, key);
            ctx.fx.rewrite(vec![b"DEL".to_vec(), key.to_vec()]);
        } else if ks.set_expire(ctx.db, entry, Some(when)).is_ok() {
            ctx.fx.changed(notify::GENERIC, "expire", ctx.db, key);
            ctx.fx.rewrite(vec![
                b"PEXPIREAT".to_vec(),
                key.to_vec(),
                when.to_string().into_bytes(),
            ]);
        }
    } else if opts.persist && entry.has_expire() && ks.set_expire(ctx.db, entry, None).is_ok() {
        ctx.fx.changed(notify::GENERIC, "persist", ctx.db, key);
        ctx.fx.rewrite(vec![b"PERSIST".to_vec(), key.to_vec()]);
    }
}

/// # Format
/// `MGET key [key ...]`
pub fn mget<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    reply::array_len(ctx.out, ctx.argv.len() - 1);
    for i in 1..ctx.argv.len() {
        if seg_strings::get(ks, ctx, ctx.argv[i]) {
            continue;
        }
        match read(ks, ctx, ctx.argv[i]) {
            Some(e) if is_string(e) => reply_string(ctx.out, e),
            _ => reply::null(ctx.out, ctx.proto),
        }
    }
}

fn wrong_arity(ctx: &mut Ctx<'_>) {
    let name = String::from_utf8_lossy(ctx.argv[0]).to_ascii_lowercase();
    ctx.error(format!("ERR wrong number of arguments for '{name}' command").as_bytes());
}

/// # Format
/// `MSET key value [key value ...]` / `MSETNX key value [key value ...]`
pub fn mset<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if ctx.argv.len() % 2 == 0 {
        return wrong_arity(ctx);
    }
    let nx = ctx.argv[0].eq_ignore_ascii_case(b"msetnx");
    if nx {
        for i in (1..ctx.argv.len()).step_by(2) {
            if write(ks, ctx, ctx.argv[i]).is_some() {
                return reply::integer(ctx.out, 0);
            }
        }
    }
    for i in (1..ctx.argv.len()).step_by(2) {
        let (key, value) = (ctx.argv[i], ctx.argv[i + 1]);
        let stored = match seg_strings::store(ks, ctx, key, value) {
            Some(stored) => stored,
            None => {
                // As Redis's setKey: the write lookup expires (and announces) an expired key first.
                write(ks, ctx, key);
                ks.set_string(ctx.db, key, value, None, false, ctx.now_ms)
            }
        };
        if let Err(oom) = stored {
            return reply_oom(ctx, oom);
        }
        ctx.fx.changed(notify::STRING, "set", ctx.db, key);
    }
    if nx {
        reply::integer(ctx.out, 1);
    } else {
        reply::ok(ctx.out);
    }
}

/// Adds `delta` to the integer at `key`, creating it at 0; replies with the new value.
fn incr_by<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, delta: i64) {
    let key = ctx.argv[1];
    let entry = write(ks, ctx, key);
    let current = match entry.map(|e| e.payload()) {
        None => 0,
        Some(Payload::Int(n)) => n,
        Some(Payload::Str(bytes)) => match parse_i64_exact(bytes) {
            Some(n) => n,
            None => return ctx.error(NOT_INTEGER),
        },
        Some(Payload::Object(..)) => return ctx.error(WRONGTYPE),
    };
    let Some(value) = current.checked_add(delta) else {
        return ctx.error(b"ERR increment or decrement would overflow");
    };
    match entry {
        Some(e) if matches!(e.payload(), Payload::Int(_)) => e.set_int(value),
        _ => {
            if let Err(oom) =
                ks.set_payload(ctx.db, key, PayloadInit::Int(value), None, true, ctx.now_ms)
            {
                return reply_oom(ctx, oom);
            }
        }
    }
    ctx.fx.changed(notify::STRING, "incrby", ctx.db, key);
    reply::integer(ctx.out, value);
}

/// # Format
/// `INCR key` / `DECR key`
pub fn incr<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let delta = if ctx.argv[0].eq_ignore_ascii_case(b"decr") {
        -1
    } else {
        1
    };
    incr_by(ks, ctx, delta);
}

/// # Format
/// `INCRBY key increment` / `DECRBY key decrement`
pub fn incrby<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(delta) = ctx.int_arg(2) else { return };
    if ctx.argv[0].eq_ignore_ascii_case(b"decrby") {
        if delta == i64::MIN {
            return ctx.error(b"ERR decrement would overflow");
        }
        incr_by(ks, ctx, -delta);
    } else {
        incr_by(ks, ctx, delta);
    }
}

/// # Format
/// `INCRBYFLOAT key increment`
pub fn incrbyfloat<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let entry = write(ks, ctx, key);
    let current = match entry.map(|e| e.payload()) {
        None => LongDouble::ZERO,
        Some(Payload::Int(n)) => LongDouble::from_i64(n),
        Some(Payload::Str(bytes)) => match LongDouble::parse(bytes) {
            Some(v) => v,
            None => return ctx.error(NOT_FLOAT),
        },
        Some(Payload::Object(..)) => return ctx.error(WRONGTYPE),
    };
    let Some(delta) = LongDouble::parse(ctx.argv[2]) else {
        return ctx.error(NOT_FLOAT);
    };
    let value = current + delta;
    if !value.is_finite() {
        return ctx.error(b"ERR increment would produce NaN or Infinity");
    }
    let mut text = Vec::with_capacity(24);
    value.format_human(&mut text);
    if let Err(oom) = ks.set_payload(ctx.db, key, PayloadInit::Str(&text), None, true, ctx.now_ms) {
        return reply_oom(ctx, oom);
    }
    ctx.fx.changed(notify::STRING, "incrbyfloat", ctx.db, key);
    ctx.fx.rewrite(vec![
        b"SET".to_vec(),
        key.to_vec(),
        text.clone(),
        b"KEEPTTL".to_vec(),
    ]);
    reply::bulk(ctx.out, &text);
}

/// Rewrites the string at `key` to `len` bytes built by `fill` from the old bytes; keeps the TTL, marks raw.
fn rebuild<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    old: Option<EntryPtr>,
    len: usize,
    fill: &mut dyn FnMut(&mut [u8], &[u8]),
) -> bool {
    let mut buf = itoa::Buffer::new();
    let old_bytes: Vec<u8> = old
        .map(|e| string_bytes(e, &mut buf).to_vec())
        .unwrap_or_default();
    let mut write_new = |dst: &mut [u8]| fill(dst, &old_bytes);
    match ks.set_payload(
        ctx.db,
        key,
        PayloadInit::StrWith(len, &mut write_new),
        None,
        true,
        ctx.now_ms,
    ) {
        Ok(entry) => {
            entry.set_flag(FLAG_RAW);
            true
        }
        Err(oom) => {
            reply_oom(ctx, oom);
            false
        }
    }
}

/// # Format
/// `APPEND key value`
pub fn append<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let (key, value) = (ctx.argv[1], ctx.argv[2]);
    let old = write(ks, ctx, key);
    let old_len = match old {
        Some(e) if !is_string(e) => return ctx.error(WRONGTYPE),
        Some(e) => string_bytes(e, &mut itoa::Buffer::new()).len(),
        None => 0,
    };
    let len = old_len + value.len();
    if old.is_some() && len > ks.config.string_bytes_max {
        return ctx.error(STRING_TOO_LONG);
    }
    let built = if old.is_none() {
        ks.set_payload(
            ctx.db,
            key,
            PayloadInit::Str(value),
            None,
            false,
            ctx.now_ms,
        )
        .map_err(|oom| reply_oom(ctx, oom))
        .is_ok()
    } else {
        rebuild(ks, ctx, key, old, len, &mut |dst, old_bytes| {
            dst[..old_bytes.len()].copy_from_slice(old_bytes);
            dst[old_bytes.len()..].copy_from_slice(value);
        })
    };
    if built {
        ctx.fx.changed(notify::STRING, "append", ctx.db, key);
        reply::integer(ctx.out, len as i64);
    }
}

/// # Format
/// `STRLEN key`
pub fn strlen<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if seg_strings::strlen(ks, ctx) {
        return;
    }
    match read(ks, ctx, ctx.argv[1]) {
        None => reply::integer(ctx.out, 0),
        Some(e) if !is_string(e) => ctx.error(WRONGTYPE),
        Some(e) => reply::integer(
            ctx.out,
            string_bytes(e, &mut itoa::Buffer::new()).len() as i64,
        ),
    }
}

/// # Format
/// `GETRANGE key start end`
pub fn getrange<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(mut start) = ctx.int_arg(2) else {
        return;
    };
    let Some(mut end) = ctx.int_arg(3) else {
        return;
    };
    let entry = match read(ks, ctx, ctx.argv[1]) {
        None => return reply::bulk(ctx.out, b""),
        Some(e) if !is_string(e) => return ctx.error(WRONGTYPE),
        Some(e) => e,
    };
    let mut buf = itoa::Buffer::new();
    let bytes = string_bytes(entry, &mut buf);
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        return reply::bulk(ctx.out, b"");
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return reply::bulk(ctx.out, b"");
    }
    reply::bulk(ctx.out, &bytes[start as usize..=end as usize]);
}

/// # Format
/// `SETRANGE key offset value`
pub fn setrange<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(offset) = ctx.int_arg(2) else { return };
    let (key, value) = (ctx.argv[1], ctx.argv[3]);
    if offset < 0 {
        return ctx.error(b"ERR offset is out of range");
    }
    let old = write(ks, ctx, key);
    let old_len = match old {
        Some(e) if !is_string(e) => return ctx.error(WRONGTYPE),
        Some(e) => string_bytes(e, &mut itoa::Buffer::new()).len(),
        None => 0,
    };
    if value.is_empty() {
        return reply::integer(ctx.out, old_len as i64);
    }
    let offset = offset as usize;
    let Some(end) = offset
        .checked_add(value.len())
        .filter(|end| *end <= ks.config.string_bytes_max)
    else {
        return ctx.error(STRING_TOO_LONG);
    };
    let len = old_len.max(end);
    // Fast path: a raw string being overwritten within its length.
    if let Some(e) = old {
        if len == old_len {
            if let Some(dst) = e.str_mut() {
                dst[offset..end].copy_from_slice(value);
                e.set_flag(FLAG_RAW);
                ctx.fx.changed(notify::STRING, "setrange", ctx.db, key);
                return reply::integer(ctx.out, len as i64);
            }
        }
    }
    let built = rebuild(ks, ctx, key, old, len, &mut |dst, old_bytes| {
        dst[..old_bytes.len()].copy_from_slice(old_bytes);
        dst[old_bytes.len()..].fill(0);
        dst[offset..end].copy_from_slice(value);
    });
    if built {
        ctx.fx.changed(notify::STRING, "setrange", ctx.db, key);
        reply::integer(ctx.out, len as i64);
    }
}
