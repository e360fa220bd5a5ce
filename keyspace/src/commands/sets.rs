//! Set commands: SADD/SREM, membership, SPOP/SRANDMEMBER, the algebra (SINTER/SUNION/SDIFF and their STORE
//! forms, SINTERCARD), SMOVE and SSCAN.
//!
//! Errors and replies are Redis 7.0.15's; a set that becomes empty deletes its key (with a `del` event).

use super::keys::{parse_cursor, parse_scan_options};
use super::lists::bulk_elem;
use super::{reply_oom, Ctx, OOM};
use crate::entry::{Kind, PayloadInit};
use crate::num::parse_i64_exact;
use crate::types::{Elem, Set};
use crate::value::{delete_if_empty, new_object, read_obj, write_obj, write_or_create, Found};
use crate::{glob, notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// # Format
/// `SADD key member [member ...]`
pub fn sadd<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let Some(set) = write_or_create::<A, Set<A>>(ks, ctx, key) else {
        return;
    };
    let limits = ks.config.limits;
    let mut added = 0;
    for &member in &ctx.argv[2..] {
        match set.add(member, &limits) {
            Ok(true) => added += 1,
            Ok(false) => {}
            Err(_) => {
                if added > 0 {
                    ctx.fx.changed(notify::SET, "sadd", ctx.db, key);
                }
                delete_if_empty(ks, ctx, ctx.db, key, set);
                return ctx.error(OOM);
            }
        }
    }
    if added > 0 {
        ctx.fx.changed(notify::SET, "sadd", ctx.db, key);
    }
    reply::integer(ctx.out, added);
}

/// # Format
/// `SREM key member [member ...]`
pub fn srem<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let set = match write_obj::<A, Set<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(set) => set,
    };
    let mut removed = 0;
    for &member in &ctx.argv[2..] {
        if set.remove(member) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        ctx.fx.changed(notify::SET, "srem", ctx.db, key);
        delete_if_empty(ks, ctx, ctx.db, key, set);
    }
    reply::integer(ctx.out, removed);
}

fn reply_members<A: KvAllocator>(ctx: &mut Ctx<'_>, set: &Set<A>) {
    reply::set_len(ctx.out, ctx.proto, set.len());
    for elem in set.iter() {
        bulk_elem(ctx.out, elem);
    }
}

/// # Format
/// `SMEMBERS key`
pub fn smembers<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, Set<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::set_len(ctx.out, ctx.proto, 0),
        Found::Some(set) => reply_members(ctx, set),
    }
}

/// # Format
/// `SISMEMBER key member`
pub fn sismember<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, Set<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(set) => reply::integer(ctx.out, i64::from(set.contains(ctx.argv[2]))),
    }
}

/// # Format
/// `SMISMEMBER key member [member ...]`
pub fn smismember<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let set = match read_obj::<A, Set<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(set) => Some(set),
    };
    reply::array_len(ctx.out, ctx.argv.len() - 2);
    for &member in &ctx.argv[2..] {
        reply::integer(
            ctx.out,
            i64::from(set.as_ref().is_some_and(|s| s.contains(member))),
        );
    }
}

/// # Format
/// `SCARD key`
pub fn scard<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, Set<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(set) => reply::integer(ctx.out, set.len() as i64),
    }
}

/// # Format
/// `SPOP key [count]`
pub fn spop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if ctx.argv.len() > 3 {
        return ctx.error(super::SYNTAX);
    }
    let count = match ctx.argv.get(2) {
        Some(arg) => match parse_i64_exact(arg) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.error(b"ERR value is out of range, must be positive"),
        },
        None => None,
    };
    let key = ctx.argv[1];
    let set = match write_obj::<A, Set<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing if count.is_some() => return reply::set_len(ctx.out, ctx.proto, 0),
        Found::Missing => return reply::null(ctx.out, ctx.proto),
        Found::Some(set) => set,
    };
    if count == Some(0) {
        return reply::set_len(ctx.out, ctx.proto, 0);
    }
    let n = count.unwrap_or(1).min(set.len());
    if count.is_some() {
        reply::set_len(ctx.out, ctx.proto, n);
    }
    let mut srem = vec![b"SREM".to_vec(), key.to_vec()];
    for _ in 0..n {
        let out = &mut *ctx.out;
        let mut rng = || ks.random();
        if let Some(member) = set.pop_random(&mut rng, |e| {
            bulk_elem(out, e);
            e.to_vec()
        }) {
            srem.push(member);
        }
    }
    ctx.fx.changed(notify::SET, "spop", ctx.db, key);
    if delete_if_empty(ks, ctx, ctx.db, key, set) && count.is_some() {
        ctx.fx.rewrite(vec![b"DEL".to_vec(), key.to_vec()]);
    } else {
        ctx.fx.rewrite(srem);
    }
}

/// # Format
/// `SRANDMEMBER key [count]`
pub fn srandmember<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if ctx.argv.len() > 3 {
        return ctx.error(super::SYNTAX);
    }
    let count = match ctx.argv.get(2) {
        Some(_) => match ctx.int_arg(2) {
            Some(i64::MIN) => {
                return ctx.error(
                    b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                )
            }
            Some(n) => Some(n),
            None => return,
        },
        None => None,
    };
    let set = match read_obj::<A, Set<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing if count.is_some() => return reply::array_len(ctx.out, 0),
        Found::Missing => return reply::null(ctx.out, ctx.proto),
        Found::Some(set) => set,
    };
    let mut rng = || ks.random();
    let Some(count) = count else {
        if let Some(elem) = set.random_member(&mut rng) {
            bulk_elem(ctx.out, elem);
        }
        return;
    };
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        reply::array_len(ctx.out, n);
        for _ in 0..n {
            if let Some(elem) = set.random_member(&mut rng) {
                bulk_elem(ctx.out, elem);
            }
        }
        return;
    }
    let mut all: Vec<Elem<'_>> = set.iter().collect();
    let n = (count as usize).min(all.len());
    for i in 0..n {
        let j = i + crate::types::Rng::below(&mut rng, all.len() - i);
        all.swap(i, j);
    }
    reply::array_len(ctx.out, n);
    for elem in &all[..n] {
        bulk_elem(ctx.out, *elem);
    }
}

/// Which algebra operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The sets named by `keys` (None for missing keys), or None after replying WRONGTYPE.
fn load_sets<'a, A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    write: bool,
) -> Option<Vec<Option<&'a Set<A>>>> {
    let mut sets = Vec::with_capacity(keys.len());
    for &key in keys {
        let found = if write {
            write_obj::<A, Set<A>>(ks, ctx, key)
        } else {
            read_obj::<A, Set<A>>(ks, ctx, key)
        };
        match found {
            Found::WrongType => return None,
            Found::Missing => sets.push(None),
            Found::Some(set) => sets.push(Some(&*set)),
        }
    }
    Some(sets)
}

/// The members of the result, as owned bytes (sources may be overwritten by a STORE).
fn compute(op: Op, sets: &[Option<&Set<impl KvAllocator>>], limit: usize) -> Vec<Vec<u8>> {
    let mut result = Vec::new();
    match op {
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return result;
            }
            let mut sorted: Vec<_> = sets.iter().flatten().collect();
            sorted.sort_by_key(|s| s.len());
            let Some((first, rest)) = sorted.split_first() else {
                return result;
            };
            for elem in first.iter() {
                let bytes = elem.to_vec();
                if rest.iter().all(|s| s.contains(&bytes)) {
                    result.push(bytes);
                    if limit != 0 && result.len() >= limit {
                        break;
                    }
                }
            }
        }
        Op::Union => {
            let mut seen = std::collections::HashSet::new();
            for set in sets.iter().flatten() {
                for elem in set.iter() {
                    let bytes = elem.to_vec();
                    if seen.insert(bytes.clone()) {
                        result.push(bytes);
                    }
                }
            }
        }
        Op::Diff => {
            let Some(Some(first)) = sets.first() else {
                return result;
            };
            for elem in first.iter() {
                let bytes = elem.to_vec();
                if !sets[1..].iter().flatten().any(|s| s.contains(&bytes)) {
                    result.push(bytes);
                }
            }
        }
    }
    result
}

/// Stores `members` as the set at `dst` (replacing any value and TTL), or deletes `dst` when empty; replies
/// the cardinality.
fn store<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    dst: &[u8],
    members: &[Vec<u8>],
    event: &'static str,
) {
    if members.is_empty() {
        if ks.delete(ctx.db, dst, ctx.now_ms, ctx.fx) {
            ctx.fx.changed(notify::GENERIC, "del", ctx.db, dst);
        }
        return reply::integer(ctx.out, 0);
    }
    let limits = ks.config.limits;
    let mut set = Set::new_in(A::default());
    for member in members {
        if set.add(member, &limits).is_err() {
            return ctx.error(OOM);
        }
    }
    let Ok(raw) = new_object::<A, Set<A>>(set) else {
        return ctx.error(OOM);
    };
    crate::value::register_for::<A>();
    if let Err(oom) = ks.set_payload(
        ctx.db,
        dst,
        PayloadInit::Object(Kind::Set, raw),
        None,
        false,
        ctx.now_ms,
    ) {
        // SAFETY: `raw` was not stored.
        unsafe { crate::value::free_object(A::default(), Kind::Set, raw) };
        return reply_oom(ctx, oom);
    }
    ctx.fx.changed(notify::SET, event, ctx.db, dst);
    reply::integer(ctx.out, members.len() as i64);
}

fn algebra<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, op: Op, dst: Option<&[u8]>) {
    let first = if dst.is_some() { 2 } else { 1 };
    let keys = &ctx.argv[first..];
    let Some(sets) = load_sets(ks, ctx, keys, dst.is_some()) else {
        return;
    };
    let members = compute(op, &sets, 0);
    match dst {
        Some(dst) => {
            let event = match op {
                Op::Inter => "sinterstore",
                Op::Union => "sunionstore",
                Op::Diff => "sdiffstore",
            };
            store(ks, ctx, dst, &members, event);
        }
        None => {
            reply::set_len(ctx.out, ctx.proto, members.len());
            for member in &members {
                reply::bulk(ctx.out, member);
            }
        }
    }
}

/// # Format
/// `SINTER key [key ...]` / `SUNION key [key ...]` / `SDIFF key [key ...]`
pub fn sinter<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    algebra(ks, ctx, op_of(ctx.argv[0]), None);
}

/// # Format
/// `SINTERSTORE destination key [key ...]` (and SUNIONSTORE, SDIFFSTORE)
pub fn sinterstore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let dst = ctx.argv[1];
    algebra(ks, ctx, op_of(ctx.argv[0]), Some(dst));
}

fn op_of(name: &[u8]) -> Op {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with(b"sunion") {
        Op::Union
    } else if lower.starts_with(b"sdiff") {
        Op::Diff
    } else {
        Op::Inter
    }
}

/// # Format
/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
pub fn sintercard<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let numkeys = match parse_i64_exact(ctx.argv[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return ctx.error(b"ERR numkeys should be greater than 0"),
    };
    if numkeys > ctx.argv.len() - 2 {
        return ctx.error(b"ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < ctx.argv.len() {
        if ctx.argv[j].eq_ignore_ascii_case(b"limit") && j + 1 < ctx.argv.len() {
            j += 1;
            match parse_i64_exact(ctx.argv[j]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return ctx.error(b"ERR LIMIT can't be negative"),
            }
        } else {
            return ctx.error(super::SYNTAX);
        }
        j += 1;
    }
    let keys = &ctx.argv[2..2 + numkeys];
    let Some(sets) = load_sets(ks, ctx, keys, false) else {
        return;
    };
    let members = compute(Op::Inter, &sets, limit);
    reply::integer(ctx.out, members.len() as i64);
}

/// # Format
/// `SMOVE source destination member`
pub fn smove<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let (src_key, dst_key, member) = (ctx.argv[1], ctx.argv[2], ctx.argv[3]);
    let src = write_obj::<A, Set<A>>(ks, ctx, src_key);
    let src = match src {
        Found::WrongType => return,
        Found::Missing => {
            // Redis checks the destination's type only when the source exists.
            return reply::integer(ctx.out, 0);
        }
        Found::Some(set) => set,
    };
    if matches!(write_obj::<A, Set<A>>(ks, ctx, dst_key), Found::WrongType) {
        return;
    }
    if src_key == dst_key {
        return reply::integer(ctx.out, i64::from(src.contains(member)));
    }
    if !src.remove(member) {
        return reply::integer(ctx.out, 0);
    }
    ctx.fx.notify(notify::SET, "srem", ctx.db, src_key);
    delete_if_empty(ks, ctx, ctx.db, src_key, src);
    ctx.fx.touch(ctx.db, src_key);
    ctx.fx.dirty += 1;
    let Some(dst) = write_or_create::<A, Set<A>>(ks, ctx, dst_key) else {
        return;
    };
    let limits = ks.config.limits;
    match dst.add(member, &limits) {
        Ok(added) => {
            if added {
                ctx.fx.changed(notify::SET, "sadd", ctx.db, dst_key);
            }
            reply::integer(ctx.out, 1);
        }
        Err(_) => {
            delete_if_empty(ks, ctx, ctx.db, dst_key, dst);
            ctx.error(OOM);
        }
    }
}

/// Replies an SSCAN/HSCAN-style page: cursor 0 and every item (a complete iteration in one call).
pub(crate) fn reply_scan(ctx: &mut Ctx<'_>, items: &[Vec<u8>]) {
    reply_scan_page(ctx, 0, items);
}

/// Replies a SCAN-style page: the next cursor and the items.
pub(crate) fn reply_scan_page(ctx: &mut Ctx<'_>, cursor: u64, items: &[Vec<u8>]) {
    reply::array_len(ctx.out, 2);
    reply::bulk(ctx.out, itoa::Buffer::new().format(cursor).as_bytes());
    reply::array_len(ctx.out, items.len());
    for item in items {
        reply::bulk(ctx.out, item);
    }
}

/// Parses SSCAN/HSCAN's cursor; `None` after replying the error.
pub(crate) fn scan_cursor(ctx: &mut Ctx<'_>) -> Option<u64> {
    let cursor = parse_cursor(ctx.argv[2]);
    if cursor.is_none() {
        ctx.error(b"ERR invalid cursor");
    }
    cursor
}

/// # Format
/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// `intset`/`listpack` sets whole with cursor 0; `hashtable` ones a page per call (see [`Set::scan`]).
pub fn sscan<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(cursor) = scan_cursor(ctx) else {
        return;
    };
    let set = match read_obj::<A, Set<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => return reply_scan(ctx, &[]),
        Found::Some(set) => set,
    };
    let argv = ctx.argv;
    let Some(opts) = parse_scan_options(ctx, argv, 3, false) else {
        return;
    };
    let mut items = Vec::new();
    let next = set.scan(cursor, opts.count, |member| {
        let member = member.to_vec();
        if opts.pattern.is_none_or(|p| glob::matches(p, &member)) {
            items.push(member);
        }
    });
    reply_scan_page(ctx, next, &items);
}

#[cfg(test)]
#[path = "sscan_tests.rs"]
mod sscan_tests;
