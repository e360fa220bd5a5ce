//! Sorted set pops: ZPOPMIN, ZPOPMAX, ZMPOP and the blocking BZPOPMIN, BZPOPMAX, BZMPOP (Redis's
//! `genericZpopCommand` / `blockingGenericZpopCommand`).
//!
//! The blocking forms use the keyspace blocking mechanism of the list commands
//! ([`super::blocking`]): with nothing to pop they set [`super::Effects::block`] (or reply a null
//! array when blocking is not allowed, as inside MULTI). For the AOF, pops are logged as Redis
//! propagates them: `ZPOPMIN|ZPOPMAX key [count]`.

use super::blocking::{block_or_null, parse_timeout};
use super::lists::bulk_elem;
use super::{Ctx, SYNTAX};
use crate::num::parse_i64_exact;
use crate::types::ZSet;
use crate::value::{delete_if_empty, write_obj, Found};
use crate::{notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_resp::{reply, Protocol};

/// How a pop replies.
#[derive(Clone, Copy)]
struct PopShape {
    /// Take from the top (ZPOPMAX).
    max: bool,
    /// Emit the key name first (blocking forms and ZMPOP).
    emit_key: bool,
    /// Members as `[member, score]` pairs.
    nested: bool,
    /// A null array instead of an empty array when no key has members.
    nil_when_empty: bool,
}

/// Pops up to `count` (None: a plain single pop) from the first existing key of `keys`; returns the
/// key and the number popped, or `None` after replying (empty, error).
fn pop_generic<'k, A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    keys: &[&'k [u8]],
    count: Option<usize>,
    shape: PopShape,
) -> Option<(&'k [u8], usize)> {
    let mut found = None;
    for &key in keys {
        match write_obj::<A, ZSet<A>>(ks, ctx, key) {
            Found::WrongType => return None,
            Found::Missing => continue,
            Found::Some(zset) => {
                found = Some((key, zset));
                break;
            }
        }
    }
    let Some((key, zset)) = found else {
        match shape.nil_when_empty {
            true => reply::null_array(ctx.out, ctx.proto),
            false => reply::array_len(ctx.out, 0),
        }
        return None;
    };
    if count == Some(0) {
        reply::array_len(ctx.out, 0);
        return None;
    }
    let len = zset.len();
    let n = count.unwrap_or(1).min(len);
    match (shape.nested, shape.emit_key) {
        (false, false) => reply::array_len(ctx.out, n * 2),
        (true, false) => reply::array_len(ctx.out, n),
        (false, true) => {
            reply::array_len(ctx.out, n * 2 + 1);
            reply::bulk(ctx.out, key);
        }
        (true, true) => {
            reply::array_len(ctx.out, 2);
            reply::bulk(ctx.out, key);
            reply::array_len(ctx.out, n);
        }
    }
    let (start, end) = if shape.max { (len - n, len) } else { (0, n) };
    for (member, score) in zset.range(start, end, shape.max) {
        if shape.nested {
            reply::array_len(ctx.out, 2);
        }
        bulk_elem(ctx.out, member);
        super::zsets::reply_score(ctx.out, ctx.proto, score);
    }
    zset.remove_range(start, end, |_, _| {});
    let event = if shape.max { "zpopmax" } else { "zpopmin" };
    ctx.fx.changed(notify::ZSET, event, ctx.db, key);
    ctx.fx.dirty += n as u64 - 1;
    delete_if_empty(ks, ctx, ctx.db, key, zset);
    Some((key, n))
}

/// Logs a pop as `ZPOPMIN|ZPOPMAX key [count]`.
fn rewrite_pop(ctx: &mut Ctx<'_>, max: bool, key: &[u8], count: Option<usize>) {
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut argv = vec![name.to_vec(), key.to_vec()];
    if let Some(count) = count {
        argv.push(count.to_string().into_bytes());
    }
    ctx.fx.rewrite(argv);
}

fn zpop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, max: bool) {
    if ctx.argv.len() > 3 {
        return ctx.error(SYNTAX);
    }
    let count = match ctx.argv.get(2) {
        None => None,
        Some(arg) => match parse_i64_exact(arg) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.error(b"ERR value is out of range, must be positive"),
        },
    };
    let shape = PopShape {
        max,
        emit_key: false,
        nested: ctx.proto == Protocol::Resp3 && count.is_some(),
        nil_when_empty: false,
    };
    let keys = [ctx.argv[1]];
    pop_generic(ks, ctx, &keys, count, shape);
}

/// # Format
/// `ZPOPMIN key [count]`
pub fn zpopmin<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zpop(ks, ctx, false);
}

/// # Format
/// `ZPOPMAX key [count]`
pub fn zpopmax<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zpop(ks, ctx, true);
}

/// ZMPOP's arguments from `argv[numkeys_idx..]`.
struct MpopArgs<'a> {
    keys: Vec<&'a [u8]>,
    max: bool,
    count: usize,
}

fn parse_mpop<'a>(
    ctx: &mut Ctx<'_>,
    argv: &[&'a [u8]],
    numkeys_idx: usize,
) -> Option<MpopArgs<'a>> {
    let numkeys = match parse_i64_exact(argv[numkeys_idx]) {
        Some(n) if n >= 1 => n as usize,
        _ => {
            ctx.error(b"ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_idx = match numkeys_idx.checked_add(numkeys).map(|i| i + 1) {
        Some(idx) if idx < argv.len() => idx,
        _ => {
            ctx.error(SYNTAX);
            return None;
        }
    };
    let max = if argv[where_idx].eq_ignore_ascii_case(b"min") {
        false
    } else if argv[where_idx].eq_ignore_ascii_case(b"max") {
        true
    } else {
        ctx.error(SYNTAX);
        return None;
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        if count.is_none() && argv[j].eq_ignore_ascii_case(b"count") && j + 1 < argv.len() {
            j += 1;
            match parse_i64_exact(argv[j]) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => {
                    ctx.error(b"ERR count should be greater than 0");
                    return None;
                }
            }
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(MpopArgs {
        keys: argv[numkeys_idx + 1..where_idx].to_vec(),
        max,
        count: count.unwrap_or(1),
    })
}

/// # Format
/// `ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]`
pub fn zmpop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argv = ctx.argv;
    let Some(args) = parse_mpop(ctx, argv, 1) else {
        return;
    };
    let shape = PopShape {
        max: args.max,
        emit_key: true,
        nested: true,
        nil_when_empty: true,
    };
    if let Some((key, n)) = pop_generic(ks, ctx, &args.keys, Some(args.count), shape) {
        rewrite_pop(ctx, args.max, key, Some(n));
    }
}

/// Serves a blocking pop from the first key with members, or blocks on `keys`.
fn blocking_pop<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    count: Option<usize>,
    shape: PopShape,
    deadline: Option<i64>,
) {
    for &key in keys {
        if ctx.fx.blocked_retry {
            let entry = super::write(ks, ctx, key);
            if entry.is_some_and(|e| e.kind() != crate::entry::Kind::ZSet) {
                continue;
            }
        }
        match write_obj::<A, ZSet<A>>(ks, ctx, key) {
            Found::WrongType => return,
            Found::Missing => continue,
            Found::Some(_) => {
                if let Some((key, n)) = pop_generic(ks, ctx, &[key], count, shape) {
                    rewrite_pop(ctx, shape.max, key, count.map(|_| n));
                }
                return;
            }
        }
    }
    block_or_null(ctx, keys, deadline, zedis_resp::reply::null_array);
}

fn bzpop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, max: bool) {
    let last = ctx.argv.len() - 1;
    let Ok(deadline) = parse_timeout(ctx, last) else {
        return;
    };
    let shape = PopShape {
        max,
        emit_key: true,
        nested: false,
        nil_when_empty: false,
    };
    let keys = &ctx.argv[1..last];
    blocking_pop(ks, ctx, keys, None, shape, deadline);
}

/// # Format
/// `BZPOPMIN key [key ...] timeout`
pub fn bzpopmin<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    bzpop(ks, ctx, false);
}

/// # Format
/// `BZPOPMAX key [key ...] timeout`
pub fn bzpopmax<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    bzpop(ks, ctx, true);
}

/// # Format
/// `BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]`
pub fn bzmpop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argv = ctx.argv;
    let Some(args) = parse_mpop(ctx, argv, 2) else {
        return;
    };
    let Ok(deadline) = parse_timeout(ctx, 1) else {
        return;
    };
    let shape = PopShape {
        max: args.max,
        emit_key: true,
        nested: true,
        nil_when_empty: true,
    };
    blocking_pop(ks, ctx, &args.keys, Some(args.count), shape, deadline);
}
