//! List commands: pushes and pops, ranges, LSET/LREM/LTRIM/LINSERT/LPOS, LMOVE/RPOPLPUSH, LMPOP.
//!
//! Errors and replies are Redis 7.0.15's; a list that becomes empty deletes its key (with a `del` event).

use super::{Ctx, NO_SUCH_KEY, OOM, SYNTAX};
use crate::num::parse_i64_exact;
use crate::types::{Elem, List};
use crate::value::{create, delete_if_empty, read_obj, write_obj, write_or_create, Found};
use crate::{notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// Writes an element as a bulk string.
pub(crate) fn bulk_elem(out: &mut Vec<u8>, elem: Elem<'_>) {
    match elem {
        Elem::Int(n) => reply::bulk_int(out, n),
        Elem::Bytes(bytes) => reply::bulk(out, bytes),
    }
}

/// `ERR wrong number of arguments for '<command>' command`.
pub(crate) fn wrong_arity(ctx: &mut Ctx<'_>) {
    let name = String::from_utf8_lossy(ctx.argv[0]).to_ascii_lowercase();
    ctx.error(format!("ERR wrong number of arguments for '{name}' command").as_bytes());
}

/// Parses `LEFT`/`RIGHT`: true for left (head).
fn parse_side(arg: &[u8]) -> Option<bool> {
    if arg.eq_ignore_ascii_case(b"left") {
        Some(true)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Some(false)
    } else {
        None
    }
}

/// Pops from the head (`left`) or tail as an owned byte vector.
fn pop_one<A: KvAllocator>(
    list: &mut List<A>,
    left: bool,
    limits: &crate::types::Limits,
) -> Option<Vec<u8>> {
    if left {
        list.pop_front_with(limits, |e| e.to_vec())
    } else {
        list.pop_back_with(limits, |e| e.to_vec())
    }
}

fn push_all<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    left: bool,
    only_existing: bool,
) {
    let key = ctx.argv[1];
    let list = match write_obj::<A, List<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing if only_existing => return reply::integer(ctx.out, 0),
        Found::Missing => match create::<A, List<A>>(ks, ctx, key) {
            Some(list) => list,
            None => return,
        },
        Found::Some(list) => list,
    };
    let limits = ks.config.limits;
    let mut pushed = 0;
    for &value in &ctx.argv[2..] {
        let result = if left {
            list.push_front(value, &limits)
        } else {
            list.push_back(value, &limits)
        };
        if result.is_err() {
            break;
        }
        pushed += 1;
    }
    if pushed < ctx.argv.len() - 2 {
        if pushed > 0 {
            ctx.fx.changed(
                notify::LIST,
                if left { "lpush" } else { "rpush" },
                ctx.db,
                key,
            );
        }
        delete_if_empty(ks, ctx, ctx.db, key, list);
        return ctx.error(OOM);
    }
    ctx.fx.changed(
        notify::LIST,
        if left { "lpush" } else { "rpush" },
        ctx.db,
        key,
    );
    reply::integer(ctx.out, list.len() as i64);
}

/// # Format
/// `LPUSH key element [element ...]` / `RPUSH key element [element ...]`
pub fn push<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let left = ctx.argv[0].eq_ignore_ascii_case(b"lpush");
    push_all(ks, ctx, left, false);
}

/// # Format
/// `LPUSHX key element [element ...]` / `RPUSHX key element [element ...]`
pub fn pushx<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let left = ctx.argv[0].eq_ignore_ascii_case(b"lpushx");
    push_all(ks, ctx, left, true);
}

/// Pops up to `count` elements from `key`'s list (known to exist) and replies them as an array (or, when
/// `count` is `None`, one element as a bulk), with the pop event and the key's deletion when emptied.
pub(crate) fn pop_range<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    list: &mut List<A>,
    left: bool,
    count: Option<usize>,
) {
    let limits = ks.config.limits;
    let n = count.unwrap_or(1).min(list.len());
    if count.is_some() {
        reply::array_len(ctx.out, n);
    }
    for _ in 0..n {
        let out = &mut *ctx.out;
        let popped = if left {
            list.pop_front_with(&limits, |e| bulk_elem(out, e))
        } else {
            list.pop_back_with(&limits, |e| bulk_elem(out, e))
        };
        debug_assert!(popped.is_some());
    }
    ctx.fx.changed(
        notify::LIST,
        if left { "lpop" } else { "rpop" },
        ctx.db,
        key,
    );
    delete_if_empty(ks, ctx, ctx.db, key, list);
}

/// # Format
/// `LPOP key [count]` / `RPOP key [count]`
pub fn pop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let left = ctx.argv[0].eq_ignore_ascii_case(b"lpop");
    if ctx.argv.len() > 3 {
        return wrong_arity(ctx);
    }
    let count = match ctx.argv.get(2) {
        Some(arg) => match parse_i64_exact(arg) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.error(b"ERR value is out of range, must be positive"),
        },
        None => None,
    };
    let key = ctx.argv[1];
    let list = match write_obj::<A, List<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing if count.is_some() => return reply::null_array(ctx.out, ctx.proto),
        Found::Missing => return reply::null(ctx.out, ctx.proto),
        Found::Some(list) => list,
    };
    match count {
        Some(0) => reply::array_len(ctx.out, 0),
        count => pop_range(ks, ctx, key, list, left, count),
    }
}

/// # Format
/// `LLEN key`
pub fn llen<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, List<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(list) => reply::integer(ctx.out, list.len() as i64),
    }
}

/// # Format
/// `LRANGE key start stop`
pub fn lrange<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(start) = ctx.int_arg(2) else { return };
    let Some(stop) = ctx.int_arg(3) else { return };
    match read_obj::<A, List<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::array_len(ctx.out, 0),
        Found::Some(list) => {
            let range = list.range(start, stop);
            reply::array_len(ctx.out, range.len());
            for elem in range {
                bulk_elem(ctx.out, elem);
            }
            list.recompress();
        }
    }
}

/// # Format
/// `LINDEX key index`
pub fn lindex<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let list = match read_obj::<A, List<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => return reply::null(ctx.out, ctx.proto),
        Found::Some(list) => list,
    };
    let Some(index) = ctx.int_arg(2) else { return };
    match list.get(index) {
        Some(elem) => bulk_elem(ctx.out, elem),
        None => reply::null(ctx.out, ctx.proto),
    }
    list.recompress();
}

/// # Format
/// `LSET key index element`
pub fn lset<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let list = match write_obj::<A, List<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return ctx.error(NO_SUCH_KEY),
        Found::Some(list) => list,
    };
    let Some(index) = ctx.int_arg(2) else { return };
    let limits = ks.config.limits;
    match list.set(index, ctx.argv[3], &limits) {
        Ok(true) => {
            ctx.fx.changed(notify::LIST, "lset", ctx.db, key);
            reply::ok(ctx.out);
        }
        Ok(false) => ctx.error(b"ERR index out of range"),
        Err(_) => ctx.error(OOM),
    }
}

/// # Format
/// `LREM key count element`
pub fn lrem<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(count) = ctx.int_arg(2) else { return };
    let key = ctx.argv[1];
    let list = match write_obj::<A, List<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(list) => list,
    };
    let limits = ks.config.limits;
    let removed = list.remove(count, ctx.argv[3], &limits);
    if removed > 0 {
        ctx.fx.changed(notify::LIST, "lrem", ctx.db, key);
        delete_if_empty(ks, ctx, ctx.db, key, list);
    }
    reply::integer(ctx.out, removed as i64);
}

/// # Format
/// `LTRIM key start stop`
pub fn ltrim<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(start) = ctx.int_arg(2) else { return };
    let Some(stop) = ctx.int_arg(3) else { return };
    let key = ctx.argv[1];
    let list = match write_obj::<A, List<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::ok(ctx.out),
        Found::Some(list) => list,
    };
    let limits = ks.config.limits;
    let before = list.len();
    list.trim(start, stop, &limits);
    let removed = before - list.len();
    ctx.fx.notify(notify::LIST, "ltrim", ctx.db, key);
    delete_if_empty(ks, ctx, ctx.db, key, list);
    ctx.fx.touch(ctx.db, key);
    ctx.fx.dirty += removed as u64;
    reply::ok(ctx.out);
}

/// # Format
/// `LINSERT key <BEFORE | AFTER> pivot element`
pub fn linsert<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let after = if ctx.argv[2].eq_ignore_ascii_case(b"after") {
        true
    } else if ctx.argv[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return ctx.error(SYNTAX);
    };
    let key = ctx.argv[1];
    let list = match write_obj::<A, List<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(list) => list,
    };
    let limits = ks.config.limits;
    match list.insert(ctx.argv[3], ctx.argv[4], after, &limits) {
        Ok(true) => {
            ctx.fx.changed(notify::LIST, "linsert", ctx.db, key);
            reply::integer(ctx.out, list.len() as i64);
        }
        Ok(false) => reply::integer(ctx.out, -1),
        Err(_) => ctx.error(OOM),
    }
}

/// LPOS's options: (rank, count or -1, maxlen).
fn parse_lpos_options(ctx: &mut Ctx<'_>) -> Option<(i64, i64, i64)> {
    let (mut rank, mut count, mut maxlen) = (1i64, -1i64, 0i64);
    let mut j = 3;
    while j < ctx.argv.len() {
        let opt = ctx.argv[j];
        let more = j + 1 < ctx.argv.len();
        if opt.eq_ignore_ascii_case(b"rank") && more {
            j += 1;
            rank = ctx.int_arg(j)?;
            if rank == 0 {
                ctx.error(b"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                return None;
            }
        } else if opt.eq_ignore_ascii_case(b"count") && more {
            j += 1;
            match parse_i64_exact(ctx.argv[j]) {
                Some(n) if n >= 0 => count = n,
                _ => {
                    ctx.error(b"ERR COUNT can't be negative");
                    return None;
                }
            }
        } else if opt.eq_ignore_ascii_case(b"maxlen") && more {
            j += 1;
            match parse_i64_exact(ctx.argv[j]) {
                Some(n) if n >= 0 => maxlen = n,
                _ => {
                    ctx.error(b"ERR MAXLEN can't be negative");
                    return None;
                }
            }
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        j += 1;
    }
    Some((rank, count, maxlen))
}

/// # Format
/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
pub fn lpos<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some((rank, count, maxlen)) = parse_lpos_options(ctx) else {
        return;
    };
    let list = match read_obj::<A, List<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing if count == -1 => return reply::null(ctx.out, ctx.proto),
        Found::Missing => return reply::array_len(ctx.out, 0),
        Found::Some(list) => list,
    };
    let needle = crate::types::Needle::new(ctx.argv[2]);
    let len = list.len();
    let scan_max = if maxlen == 0 {
        usize::MAX
    } else {
        maxlen as usize
    };
    let wanted = if count == 0 {
        usize::MAX
    } else {
        count.max(1) as usize
    };
    // Redis negates LONG_MIN to itself, so every match satisfies `matches >= rank`: the first one counts.
    let mut skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let mut matches: Vec<i64> = Vec::new();
    let mut check = |pos: usize, elem: Elem<'_>| {
        if needle.matches(&elem) {
            if skip > 0 {
                skip -= 1;
            } else {
                matches.push(pos as i64);
            }
        }
        matches.len() >= wanted
    };
    if rank > 0 {
        for (i, elem) in list.iter().take(scan_max).enumerate() {
            if check(i, elem) {
                break;
            }
        }
    } else {
        for (i, elem) in list.iter().rev().take(scan_max).enumerate() {
            if check(len - 1 - i, elem) {
                break;
            }
        }
    }
    list.recompress();
    if count == -1 {
        match matches.first() {
            Some(&pos) => reply::integer(ctx.out, pos),
            None => reply::null(ctx.out, ctx.proto),
        }
    } else {
        reply::array_len(ctx.out, matches.len());
        for pos in matches {
            reply::integer(ctx.out, pos);
        }
    }
}

/// Redis's `lmoveGenericCommand`.
fn lmove_generic<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    from_left: bool,
    to_left: bool,
) {
    let (src_key, dst_key) = (ctx.argv[1], ctx.argv[2]);
    let src = match write_obj::<A, List<A>>(ks, ctx, src_key) {
        Found::WrongType => return,
        Found::Missing => return reply::null(ctx.out, ctx.proto),
        Found::Some(list) => list,
    };
    let same = src_key == dst_key;
    if !same && matches!(write_obj::<A, List<A>>(ks, ctx, dst_key), Found::WrongType) {
        return;
    }
    let limits = ks.config.limits;
    let Some(value) = pop_one(src, from_left, &limits) else {
        return reply::null(ctx.out, ctx.proto);
    };
    let dst = if same {
        Some(&mut *src)
    } else {
        write_or_create::<A, List<A>>(ks, ctx, dst_key)
    };
    let replied = dst.is_none();
    let pushed = match dst {
        Some(dst) if to_left => dst.push_front(&value, &limits).is_ok(),
        Some(dst) => dst.push_back(&value, &limits).is_ok(),
        None => false,
    };
    if !pushed {
        // Best effort: put the element back where it came from (its space was just freed).
        let _ = if from_left {
            src.push_front(&value, &limits)
        } else {
            src.push_back(&value, &limits)
        };
        if let Found::Some(dst) = write_obj::<A, List<A>>(ks, ctx, dst_key) {
            delete_if_empty(ks, ctx, ctx.db, dst_key, dst);
        }
        if !replied {
            ctx.error(OOM);
        }
        return;
    }
    ctx.fx.changed(
        notify::LIST,
        if to_left { "lpush" } else { "rpush" },
        ctx.db,
        dst_key,
    );
    reply::bulk(ctx.out, &value);
    ctx.fx.notify(
        notify::LIST,
        if from_left { "lpop" } else { "rpop" },
        ctx.db,
        src_key,
    );
    ctx.fx.touch(ctx.db, src_key);
    delete_if_empty(ks, ctx, ctx.db, src_key, src);
}

/// # Format
/// `LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>`
pub fn lmove<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let (Some(from), Some(to)) = (parse_side(ctx.argv[3]), parse_side(ctx.argv[4])) else {
        return ctx.error(SYNTAX);
    };
    lmove_generic(ks, ctx, from, to);
}

/// # Format
/// `RPOPLPUSH source destination`
pub fn rpoplpush<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    lmove_generic(ks, ctx, false, true);
}

/// # Format
/// `LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
pub fn lmpop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let numkeys = match parse_i64_exact(ctx.argv[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return ctx.error(b"ERR numkeys should be greater than 0"),
    };
    let where_idx = match numkeys.checked_add(2) {
        Some(idx) if idx < ctx.argv.len() => idx,
        _ => return ctx.error(SYNTAX),
    };
    let Some(left) = parse_side(ctx.argv[where_idx]) else {
        return ctx.error(SYNTAX);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < ctx.argv.len() {
        if count.is_none() && ctx.argv[j].eq_ignore_ascii_case(b"count") && j + 1 < ctx.argv.len() {
            j += 1;
            match parse_i64_exact(ctx.argv[j]) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => return ctx.error(b"ERR count should be greater than 0"),
            }
        } else {
            return ctx.error(SYNTAX);
        }
        j += 1;
    }
    let count = count.unwrap_or(1);
    for i in 2..where_idx {
        let key = ctx.argv[i];
        let list = match write_obj::<A, List<A>>(ks, ctx, key) {
            Found::WrongType => return,
            Found::Missing => continue,
            Found::Some(list) => list,
        };
        let n = count.min(list.len());
        reply::array_len(ctx.out, 2);
        reply::bulk(ctx.out, key);
        pop_range(ks, ctx, key, list, left, Some(count));
        let name: &[u8] = if left { b"LPOP" } else { b"RPOP" };
        ctx.fx.rewrite(vec![
            name.to_vec(),
            key.to_vec(),
            n.to_string().into_bytes(),
        ]);
        return;
    }
    reply::null_array(ctx.out, ctx.proto);
}
