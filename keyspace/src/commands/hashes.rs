//! Hash commands: HSET/HMSET/HSETNX, reads, HDEL, counters, HRANDFIELD and HSCAN.
//!
//! Errors and replies are Redis 7.0.15's; a hash that becomes empty deletes its key (with a `del` event).

use super::keys::parse_scan_options;
use super::lists::{bulk_elem, wrong_arity};
use super::sets::{reply_scan, reply_scan_page, scan_cursor};
use super::{Ctx, NOT_FLOAT, OOM, SYNTAX};
use crate::longdouble::LongDouble;
use crate::num::parse_i64_exact;
use crate::types::{Elem, Hash, Rng};
use crate::value::{delete_if_empty, read_obj, write_obj, write_or_create, Found};
use crate::{glob, notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// Sets the pairs in `argv[2..]`; the number of new fields, or None after replying.
fn set_pairs<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) -> Option<i64> {
    if ctx.argv.len() % 2 == 1 {
        wrong_arity(ctx);
        return None;
    }
    let key = ctx.argv[1];
    let hash = write_or_create::<A, Hash<A>>(ks, ctx, key)?;
    let limits = ks.config.limits;
    let mut created = 0;
    for pair in ctx.argv[2..].chunks_exact(2) {
        match hash.set(pair[0], pair[1], &limits) {
            Ok(new) => created += i64::from(new),
            Err(_) => {
                if !delete_if_empty(ks, ctx, ctx.db, key, hash) {
                    ctx.fx.changed(notify::HASH, "hset", ctx.db, key);
                }
                ctx.error(OOM);
                return None;
            }
        }
    }
    ctx.fx.changed(notify::HASH, "hset", ctx.db, key);
    Some(created)
}

/// # Format
/// `HSET key field value [field value ...]`
pub fn hset<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if let Some(created) = set_pairs(ks, ctx) {
        reply::integer(ctx.out, created);
    }
}

/// # Format
/// `HMSET key field value [field value ...]`
pub fn hmset<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if set_pairs(ks, ctx).is_some() {
        reply::ok(ctx.out);
    }
}

/// # Format
/// `HSETNX key field value`
pub fn hsetnx<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let hash = match write_obj::<A, Hash<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Some(hash) if hash.contains(ctx.argv[2]) => return reply::integer(ctx.out, 0),
        Found::Some(hash) => hash,
        Found::Missing => match write_or_create::<A, Hash<A>>(ks, ctx, key) {
            Some(hash) => hash,
            None => return,
        },
    };
    let limits = ks.config.limits;
    match hash.set(ctx.argv[2], ctx.argv[3], &limits) {
        Ok(_) => {
            ctx.fx.changed(notify::HASH, "hset", ctx.db, key);
            reply::integer(ctx.out, 1);
        }
        Err(_) => {
            delete_if_empty(ks, ctx, ctx.db, key, hash);
            ctx.error(OOM);
        }
    }
}

/// # Format
/// `HGET key field`
pub fn hget<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, Hash<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::null(ctx.out, ctx.proto),
        Found::Some(hash) => match hash.get(ctx.argv[2]) {
            Some(value) => bulk_elem(ctx.out, value),
            None => reply::null(ctx.out, ctx.proto),
        },
    }
}

/// # Format
/// `HMGET key field [field ...]`
pub fn hmget<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let hash = match read_obj::<A, Hash<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(hash) => Some(hash),
    };
    reply::array_len(ctx.out, ctx.argv.len() - 2);
    for &field in &ctx.argv[2..] {
        match hash.as_ref().and_then(|h| h.get(field)) {
            Some(value) => bulk_elem(ctx.out, value),
            None => reply::null(ctx.out, ctx.proto),
        }
    }
}

/// # Format
/// `HDEL key field [field ...]`
pub fn hdel<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let hash = match write_obj::<A, Hash<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(hash) => hash,
    };
    let mut deleted = 0;
    for &field in &ctx.argv[2..] {
        if hash.remove(field) {
            deleted += 1;
            if hash.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.fx.changed(notify::HASH, "hdel", ctx.db, key);
        delete_if_empty(ks, ctx, ctx.db, key, hash);
    }
    reply::integer(ctx.out, deleted);
}

/// # Format
/// `HEXISTS key field`
pub fn hexists<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, Hash<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(hash) => reply::integer(ctx.out, i64::from(hash.contains(ctx.argv[2]))),
    }
}

/// # Format
/// `HLEN key`
pub fn hlen<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, Hash<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(hash) => reply::integer(ctx.out, hash.len() as i64),
    }
}

/// # Format
/// `HSTRLEN key field`
pub fn hstrlen<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, Hash<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(hash) => {
            reply::integer(ctx.out, hash.value_len(ctx.argv[2]).unwrap_or(0) as i64)
        }
    }
}

/// # Format
/// `HGETALL key` (a map in RESP3) / `HKEYS key` / `HVALS key`
pub fn hgetall<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let name = ctx.argv[0];
    let (keys, values) = if name.eq_ignore_ascii_case(b"hkeys") {
        (true, false)
    } else if name.eq_ignore_ascii_case(b"hvals") {
        (false, true)
    } else {
        (true, true)
    };
    let hash = match read_obj::<A, Hash<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing if keys && values => return reply::map_len(ctx.out, ctx.proto, 0),
        Found::Missing => return reply::array_len(ctx.out, 0),
        Found::Some(hash) => hash,
    };
    if keys && values {
        reply::map_len(ctx.out, ctx.proto, hash.len());
    } else {
        reply::array_len(ctx.out, hash.len());
    }
    for (field, value) in hash.iter() {
        if keys {
            bulk_elem(ctx.out, field);
        }
        if values {
            bulk_elem(ctx.out, value);
        }
    }
}

/// # Format
/// `HINCRBY key field increment`
pub fn hincrby<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(delta) = ctx.int_arg(3) else { return };
    let (key, field) = (ctx.argv[1], ctx.argv[2]);
    let existing = match write_obj::<A, Hash<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(hash) => Some(hash),
    };
    let current = match existing.as_ref().and_then(|h| h.get(field)) {
        None => 0,
        Some(Elem::Int(n)) => n,
        Some(Elem::Bytes(bytes)) => match parse_i64_exact(bytes) {
            Some(n) => n,
            None => return ctx.error(b"ERR hash value is not an integer"),
        },
    };
    let Some(value) = current.checked_add(delta) else {
        return ctx.error(b"ERR increment or decrement would overflow");
    };
    let text = itoa::Buffer::new().format(value).as_bytes().to_vec();
    if store_field(ks, ctx, key, field, &text) {
        ctx.fx.changed(notify::HASH, "hincrby", ctx.db, key);
        reply::integer(ctx.out, value);
    }
}

/// Sets one field, creating the hash; false after replying an error.
fn store_field<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    field: &[u8],
    value: &[u8],
) -> bool {
    let Some(hash) = write_or_create::<A, Hash<A>>(ks, ctx, key) else {
        return false;
    };
    let limits = ks.config.limits;
    if hash.set(field, value, &limits).is_err() {
        delete_if_empty(ks, ctx, ctx.db, key, hash);
        ctx.error(OOM);
        return false;
    }
    true
}

/// # Format
/// `HINCRBYFLOAT key field increment`
pub fn hincrbyfloat<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(delta) = LongDouble::parse(ctx.argv[3]) else {
        return ctx.error(NOT_FLOAT);
    };
    if !delta.is_finite() {
        return ctx.error(b"ERR value is NaN or Infinity");
    }
    let (key, field) = (ctx.argv[1], ctx.argv[2]);
    let existing = match write_obj::<A, Hash<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(hash) => Some(hash),
    };
    let current = match existing.as_ref().and_then(|h| h.get(field)) {
        None => LongDouble::ZERO,
        Some(Elem::Int(n)) => LongDouble::from_i64(n),
        Some(Elem::Bytes(bytes)) => match LongDouble::parse(bytes) {
            Some(v) => v,
            None => return ctx.error(b"ERR hash value is not a float"),
        },
    };
    let value = current + delta;
    if !value.is_finite() {
        return ctx.error(b"ERR increment would produce NaN or Infinity");
    }
    let mut text = Vec::with_capacity(24);
    value.format_human(&mut text);
    if store_field(ks, ctx, key, field, &text) {
        ctx.fx.changed(notify::HASH, "hincrbyfloat", ctx.db, key);
        ctx.fx.rewrite(vec![
            b"HSET".to_vec(),
            key.to_vec(),
            field.to_vec(),
            text.clone(),
        ]);
        reply::bulk(ctx.out, &text);
    }
}

/// # Format
/// `HRANDFIELD key [count [WITHVALUES]]`
pub fn hrandfield<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let mut count = None;
    let mut with_values = false;
    if ctx.argv.len() >= 3 {
        let Some(n) = ctx.int_arg(2) else { return };
        if n == i64::MIN {
            return ctx.error(
                b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            );
        }
        if ctx.argv.len() > 4
            || (ctx.argv.len() == 4 && !ctx.argv[3].eq_ignore_ascii_case(b"withvalues"))
        {
            return ctx.error(SYNTAX);
        }
        if ctx.argv.len() == 4 {
            with_values = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                return ctx.error(b"ERR value is out of range");
            }
        }
        count = Some(n);
    }
    let hash = match read_obj::<A, Hash<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing if count.is_some() => return reply::array_len(ctx.out, 0),
        Found::Missing => return reply::null(ctx.out, ctx.proto),
        Found::Some(hash) => hash,
    };
    let mut rng = || ks.random();
    let Some(count) = count else {
        if let Some((field, _)) = hash.random_entry(&mut rng) {
            bulk_elem(ctx.out, field);
        }
        return;
    };
    let picks: Vec<(Elem<'_>, Elem<'_>)> = if count < 0 {
        (0..count.unsigned_abs())
            .filter_map(|_| hash.random_entry(&mut rng))
            .collect()
    } else {
        let mut all: Vec<_> = hash.iter().collect();
        let n = (count as usize).min(all.len());
        for i in 0..n {
            let j = i + rng.below(all.len() - i);
            all.swap(i, j);
        }
        all.truncate(n);
        all
    };
    reply_pairs(ctx, &picks, with_values);
}

fn reply_pairs(ctx: &mut Ctx<'_>, picks: &[(Elem<'_>, Elem<'_>)], with_values: bool) {
    let resp3 = ctx.proto == zedis_resp::Protocol::Resp3;
    if with_values && !resp3 {
        reply::array_len(ctx.out, picks.len() * 2);
    } else {
        reply::array_len(ctx.out, picks.len());
    }
    for &(field, value) in picks {
        if with_values && resp3 {
            reply::array_len(ctx.out, 2);
        }
        bulk_elem(ctx.out, field);
        if with_values {
            bulk_elem(ctx.out, value);
        }
    }
}

/// # Format
/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// `listpack` hashes whole with cursor 0; `hashtable` ones a page per call (see [`Hash::scan`]).
pub fn hscan<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(cursor) = scan_cursor(ctx) else {
        return;
    };
    let hash = match read_obj::<A, Hash<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => return reply_scan(ctx, &[]),
        Found::Some(hash) => hash,
    };
    let argv = ctx.argv;
    let Some(opts) = parse_scan_options(ctx, argv, 3, false) else {
        return;
    };
    let mut items = Vec::new();
    let next = hash.scan(cursor, opts.count, |field, value| {
        let field = field.to_vec();
        if opts.pattern.is_none_or(|p| glob::matches(p, &field)) {
            items.push(field);
            items.push(value.to_vec());
        }
    });
    reply_scan_page(ctx, next, &items);
}

#[cfg(test)]
#[path = "coll_tests.rs"]
mod tests;
