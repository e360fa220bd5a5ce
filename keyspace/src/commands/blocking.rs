//! Blocking list commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
//!
//! Each first tries its non-blocking form. If that finds data (or an error), it replies as Redis does. If
//! every key is missing, the command either records [`BlockOn`] in the effects (the server parks the
//! client and retries the same command when one of the keys is written, first blocked first served), or,
//! when blocking is not allowed (inside MULTI, during AOF loading), replies a null array as if timed out.

use super::lists::{lmove, lmpop, pop_range, rpoplpush};
use super::{BlockOn, Ctx, Handler};
use crate::num::parse_f64;
use crate::types::List;
use crate::value::{write_obj, Found};
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// Redis's `getTimeoutFromObjectOrReply` in seconds: the absolute deadline (`None` = forever), or an error
/// reply.
pub(crate) fn parse_timeout(ctx: &mut Ctx<'_>, idx: usize) -> Result<Option<i64>, ()> {
    let Some(seconds) = parse_f64(ctx.argv[idx]) else {
        ctx.error(b"ERR timeout is not a float or out of range");
        return Err(());
    };
    let ms = (seconds * 1000.0).ceil();
    // Redis casts the long double to long long; out-of-range values (inf included) come out negative.
    let ms = if ms.is_finite() && ms < i64::MAX as f64 {
        ms as i64
    } else {
        -1
    };
    if ms < 0 {
        ctx.error(b"ERR timeout is negative");
        return Err(());
    }
    if ms == 0 {
        return Ok(None);
    }
    match ms.checked_add(ctx.now_ms) {
        Some(deadline) => Ok(Some(deadline)),
        None => {
            ctx.error(b"ERR timeout is out of range");
            Err(())
        }
    }
}

/// Nothing to serve: block on `keys`, or reply `null` when blocking is not allowed (inside MULTI, Redis
/// answers BLMOVE/BRPOPLPUSH with a null bulk and the pops with a null array).
pub(crate) fn block_or_null(
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    deadline_ms: Option<i64>,
    null: fn(&mut Vec<u8>, reply::Protocol),
) {
    if ctx.fx.may_block {
        ctx.fx.block = Some(BlockOn {
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            deadline_ms,
        });
    } else {
        null(ctx.out, ctx.proto);
    }
}

/// Runs the non-blocking form `handler` with `argv`; true if it did something or replied an error (its reply
/// is then in `ctx.out`), false if it found nothing (its null reply discarded).
fn try_non_blocking<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    argv: &[&[u8]],
    handler: Handler<A>,
) -> bool {
    let mark = ctx.out.len();
    let dirty = ctx.fx.dirty;
    let mut inner = Ctx {
        argv,
        out: &mut *ctx.out,
        proto: ctx.proto,
        db: ctx.db,
        now_ms: ctx.now_ms,
        fx: &mut *ctx.fx,
    };
    handler(ks, &mut inner);
    let errored = ctx.out.get(mark) == Some(&b'-');
    if errored || ctx.fx.dirty != dirty {
        return true;
    }
    ctx.out.truncate(mark);
    false
}

/// Whether `key` exists and holds something other than a list (a retried blocked client skips it).
fn holds_other_type<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, key: &[u8]) -> bool {
    super::write(ks, ctx, key).is_some_and(|e| e.kind() != crate::entry::Kind::List)
}

/// Whether `key` exists.
fn ks_has<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, key: &[u8]) -> bool {
    super::write(ks, ctx, key).is_some()
}

/// # Format
/// `BLPOP key [key ...] timeout` / `BRPOP key [key ...] timeout`
pub fn blpop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let last = ctx.argv.len() - 1;
    let Ok(deadline) = parse_timeout(ctx, last) else {
        return;
    };
    let left = ctx.argv[0].eq_ignore_ascii_case(b"blpop");
    let keys = &ctx.argv[1..last];
    for &key in keys {
        if ctx.fx.blocked_retry && holds_other_type(ks, ctx, key) {
            continue;
        }
        let list = match write_obj::<A, List<A>>(ks, ctx, key) {
            Found::WrongType => return,
            Found::Missing => continue,
            Found::Some(list) => list,
        };
        reply::array_len(ctx.out, 2);
        reply::bulk(ctx.out, key);
        pop_range(ks, ctx, key, list, left, None);
        let name: &[u8] = if left { b"LPOP" } else { b"RPOP" };
        ctx.fx.rewrite(vec![name.to_vec(), key.to_vec()]);
        return;
    }
    block_or_null(ctx, keys, deadline, reply::null_array);
}

/// # Format
/// `BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout` / `BRPOPLPUSH source destination timeout`
pub fn blmove<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let brpoplpush = ctx.argv[0].eq_ignore_ascii_case(b"brpoplpush");
    let last = ctx.argv.len() - 1;
    if !brpoplpush {
        let side_ok =
            |arg: &[u8]| arg.eq_ignore_ascii_case(b"left") || arg.eq_ignore_ascii_case(b"right");
        if !side_ok(ctx.argv[3]) || !side_ok(ctx.argv[4]) {
            return ctx.error(super::SYNTAX);
        }
    }
    let Ok(deadline) = parse_timeout(ctx, last) else {
        return;
    };
    let source = ctx.argv[1];
    if ctx.fx.blocked_retry && holds_other_type(ks, ctx, source) {
        return block_or_null(ctx, &[source], deadline, reply::null);
    }
    let mut argv: Vec<&[u8]> = ctx.argv[..last].to_vec();
    let handler: Handler<A> = if brpoplpush {
        argv[0] = b"RPOPLPUSH";
        rpoplpush::<A>
    } else {
        argv[0] = b"LMOVE";
        lmove::<A>
    };
    if try_non_blocking(ks, ctx, &argv, handler) {
        if ctx.fx.rewritten.is_none() && ctx.fx.dirty > 0 {
            ctx.fx.rewrite(argv.iter().map(|a| a.to_vec()).collect());
        }
        return;
    }
    block_or_null(ctx, &[source], deadline, reply::null);
}

/// # Format
/// `BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
pub fn blmpop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let mut argv: Vec<&[u8]> = Vec::with_capacity(ctx.argv.len() - 1);
    argv.push(b"LMPOP");
    argv.extend_from_slice(&ctx.argv[2..]);
    // The non-blocking form validates every argument; the timeout is checked first, as Redis does.
    let Ok(deadline) = parse_timeout(ctx, 1) else {
        return;
    };
    let numkeys = crate::num::parse_i64_exact(ctx.argv[2]).unwrap_or(0).max(0) as usize;
    let keys: Vec<&[u8]> = ctx.argv[3..(3 + numkeys).min(ctx.argv.len())].to_vec();
    // A retry skips keys that now hold another type (Redis leaves the client blocked on them).
    if ctx.fx.blocked_retry
        && keys
            .iter()
            .all(|k| holds_other_type(ks, ctx, k) || !ks_has(ks, ctx, k))
    {
        return block_or_null(ctx, &keys, deadline, reply::null_array);
    }
    if try_non_blocking(ks, ctx, &argv, lmpop::<A>) {
        return;
    }
    block_or_null(ctx, &keys, deadline, reply::null_array);
}
