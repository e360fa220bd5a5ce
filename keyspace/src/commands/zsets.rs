//! Sorted set commands on single members: ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK,
//! ZREVRANK, ZRANDMEMBER, ZSCAN, plus the score parsing and reply helpers the other sorted set files
//! share (`zset_range.rs`, `zset_store.rs`, `zset_pop.rs`).
//!
//! Errors and replies are Redis 7.0.15's; a sorted set that becomes empty deletes its key (with a
//! `del` event). Scores print as `%.17g` ([`reply::double`]).

use super::keys::parse_scan_options;
use super::lists::bulk_elem;
use super::sets::{reply_scan, reply_scan_page, scan_cursor};
use super::{Ctx, NOT_FLOAT, OOM, SYNTAX};
use crate::num::parse_f64;
use crate::types::{Elem, Upsert, ZSet};
use crate::value::{create, delete_if_empty, read_obj, write_obj, Found};
use crate::{glob, notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_resp::{reply, Protocol};

/// `ERR resulting score is not a number (NaN)`.
pub(crate) const NAN_SCORE: &[u8] = b"ERR resulting score is not a number (NaN)";

/// Parses a score argument as Redis's `getDoubleFromObject` does: `strtod` rules, no leading
/// space, no NaN, and no overflow to infinity unless infinity is spelled out.
pub(crate) fn parse_score(bytes: &[u8]) -> Option<f64> {
    let value = parse_f64(bytes)?;
    if value.is_infinite() && !bytes.iter().any(|b| b.eq_ignore_ascii_case(&b'i')) {
        return None;
    }
    Some(value)
}

/// Appends Redis's `d2string` text of a score (what ZSCAN and the AOF show): an integral value that
/// fits a 64-bit integer as that integer, `-0`, `inf`/`-inf`, otherwise `%.17g`.
pub fn d2string(out: &mut Vec<u8>, score: f64) {
    if score == 0.0 {
        out.extend_from_slice(if score.is_sign_negative() {
            b"-0"
        } else {
            b"0"
        });
    } else if score.fract() == 0.0
        && (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&score)
    {
        crate::num::push_i64(out, score as i64);
    } else {
        zedis_resp::reply::format_double_g17(out, score);
    }
}

/// Writes a score as [`reply::double`] does (`%.17g`), with the integral scores most sets hold printed
/// straight from the integer: `%.17g` of an integral value below 1e17 in magnitude is its digits.
pub(crate) fn reply_score(out: &mut Vec<u8>, proto: Protocol, score: f64) {
    if score.fract() != 0.0 || score.abs() >= 1e17 {
        return reply::double(out, proto, score);
    }
    let mut buf = [0u8; 24];
    let text = integral_text(&mut buf, score);
    match proto {
        Protocol::Resp2 => reply::bulk(out, text),
        Protocol::Resp3 => {
            out.push(b',');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// The digits of an integral `score` (|score| < 1e17), `-0` for negative zero, in `buf`.
fn integral_text(buf: &mut [u8; 24], score: f64) -> &[u8] {
    let mut at = buf.len();
    let mut value = score.abs() as u64;
    loop {
        at -= 1;
        buf[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if score.is_sign_negative() {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// Writes `(member, score)` pairs: members only, or with scores (flat in RESP2, pairs in RESP3).
pub(crate) fn reply_pairs<'a>(
    out: &mut Vec<u8>,
    proto: Protocol,
    pairs: impl Iterator<Item = (Elem<'a>, f64)>,
    len: usize,
    withscores: bool,
) {
    let nested = withscores && proto == Protocol::Resp3;
    reply::array_len(out, if withscores && !nested { 2 * len } else { len });
    for (member, score) in pairs.take(len) {
        if nested {
            reply::array_len(out, 2);
        }
        bulk_elem(out, member);
        if withscores {
            reply_score(out, proto, score);
        }
    }
}

/// ZADD's options.
#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// Parses ZADD's flags from `argv[2..]`; the index of the first score.
fn parse_add_flags(argv: &[&[u8]], flags: &mut AddFlags) -> usize {
    let mut idx = 2;
    while let Some(opt) = argv.get(idx) {
        let slot = match opt.to_ascii_lowercase().as_slice() {
            b"nx" => &mut flags.nx,
            b"xx" => &mut flags.xx,
            b"gt" => &mut flags.gt,
            b"lt" => &mut flags.lt,
            b"ch" => &mut flags.ch,
            b"incr" => &mut flags.incr,
            _ => break,
        };
        *slot = true;
        idx += 1;
    }
    idx
}

/// Validates ZADD's flags and pair count; the error to reply.
fn check_add_flags(flags: &AddFlags, elements: usize) -> Result<(), &'static [u8]> {
    if elements % 2 == 1 || elements == 0 {
        return Err(SYNTAX);
    }
    if flags.nx && flags.xx {
        return Err(b"ERR XX and NX options at the same time are not compatible");
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(b"ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if flags.incr && elements > 2 {
        return Err(b"ERR INCR option supports a single increment-element pair");
    }
    Ok(())
}

/// Outcome of one ZADD pair.
enum PairOutcome {
    Added(f64),
    Updated(f64),
    /// Present with the same score (still "processed").
    Same(f64),
    Nop,
}

fn add_one<A: KvAllocator>(
    zset: &mut ZSet<A>,
    member: &[u8],
    score: f64,
    flags: &AddFlags,
    limits: &crate::types::Limits,
) -> Result<PairOutcome, &'static [u8]> {
    let new = match zset.score(member) {
        Some(_) if flags.nx => return Ok(PairOutcome::Nop),
        Some(cur) => {
            let new = if flags.incr { cur + score } else { score };
            if new.is_nan() {
                return Err(NAN_SCORE);
            }
            if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                return Ok(PairOutcome::Nop);
            }
            new
        }
        None if flags.xx => return Ok(PairOutcome::Nop),
        None => score,
    };
    match zset.upsert(member, new, limits) {
        Ok(Upsert::Added) => Ok(PairOutcome::Added(new)),
        Ok(Upsert::Updated) => Ok(PairOutcome::Updated(new)),
        Ok(Upsert::Same) => Ok(PairOutcome::Same(new)),
        Err(_) => Err(OOM),
    }
}

fn zadd_generic<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, mut flags: AddFlags) {
    let key = ctx.argv[1];
    // ZINCRBY goes through ZADD's flag parser too, as Redis's zaddGenericCommand: `ZINCRBY k NX m` is a
    // syntax error, not a bad float.
    let first = parse_add_flags(ctx.argv, &mut flags);
    if let Err(error) = check_add_flags(&flags, ctx.argv.len() - first) {
        return ctx.error(error);
    }
    let mut scores = Vec::with_capacity((ctx.argv.len() - first) / 2);
    for pair in ctx.argv[first..].chunks(2) {
        match parse_score(pair[0]) {
            Some(score) => scores.push(score),
            None => return ctx.error(NOT_FLOAT),
        }
    }
    let zset = match write_obj::<A, ZSet<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing if flags.xx => {
            return match flags.incr {
                true => reply::null(ctx.out, ctx.proto),
                false => reply::integer(ctx.out, 0),
            };
        }
        Found::Missing => match create::<A, ZSet<A>>(ks, ctx, key) {
            Some(zset) => zset,
            None => return,
        },
        Found::Some(zset) => zset,
    };
    let limits = ks.config.limits;
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0);
    let mut last_score = 0.0;
    let mut error = None;
    for (pair, &score) in ctx.argv[first..].chunks(2).zip(&scores) {
        match add_one(zset, pair[1], score, &flags, &limits) {
            Ok(PairOutcome::Added(s)) => {
                (added, processed, last_score) = (added + 1, processed + 1, s)
            }
            Ok(PairOutcome::Updated(s)) => {
                (updated, processed, last_score) = (updated + 1, processed + 1, s)
            }
            Ok(PairOutcome::Same(s)) => (processed, last_score) = (processed + 1, s),
            Ok(PairOutcome::Nop) => {}
            Err(text) => {
                error = Some(text);
                break;
            }
        }
    }
    if added + updated > 0 {
        let event = if flags.incr { "zincr" } else { "zadd" };
        ctx.fx.changed(notify::ZSET, event, ctx.db, key);
        ctx.fx.dirty += (added + updated - 1) as u64;
    }
    delete_if_empty(ks, ctx, ctx.db, key, zset);
    if let Some(text) = error {
        return ctx.error(text);
    }
    if flags.incr {
        if processed > 0 {
            reply_score(ctx.out, ctx.proto, last_score);
        } else {
            reply::null(ctx.out, ctx.proto);
        }
    } else {
        reply::integer(ctx.out, if flags.ch { added + updated } else { added });
    }
}

/// # Format
/// `ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]`
pub fn zadd<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zadd_generic(ks, ctx, AddFlags::default());
}

/// # Format
/// `ZINCRBY key increment member`
pub fn zincrby<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ks, ctx, flags);
}

/// # Format
/// `ZREM key member [member ...]`
pub fn zrem<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let zset = match write_obj::<A, ZSet<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(zset) => zset,
    };
    let mut removed = 0;
    for &member in &ctx.argv[2..] {
        if zset.remove(member).is_some() {
            removed += 1;
        }
        if zset.is_empty() {
            break;
        }
    }
    if removed > 0 {
        ctx.fx.changed(notify::ZSET, "zrem", ctx.db, key);
        ctx.fx.dirty += removed as u64 - 1;
        delete_if_empty(ks, ctx, ctx.db, key, zset);
    }
    reply::integer(ctx.out, removed);
}

/// # Format
/// `ZCARD key`
pub fn zcard<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(zset) => reply::integer(ctx.out, zset.len() as i64),
    }
}

/// # Format
/// `ZSCORE key member`
pub fn zscore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::null(ctx.out, ctx.proto),
        Found::Some(zset) => match zset.score(ctx.argv[2]) {
            Some(score) => reply_score(ctx.out, ctx.proto, score),
            None => reply::null(ctx.out, ctx.proto),
        },
    }
}

/// # Format
/// `ZMSCORE key member [member ...]`
pub fn zmscore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let zset = match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(zset) => Some(&*zset),
    };
    reply::array_len(ctx.out, ctx.argv.len() - 2);
    for &member in &ctx.argv[2..] {
        match zset.and_then(|z| z.score(member)) {
            Some(score) => reply_score(ctx.out, ctx.proto, score),
            None => reply::null(ctx.out, ctx.proto),
        }
    }
}

fn rank_generic<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, rev: bool) {
    match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::null(ctx.out, ctx.proto),
        Found::Some(zset) => match zset.rank(ctx.argv[2]) {
            Some((rank, _)) if rev => reply::integer(ctx.out, (zset.len() - 1 - rank) as i64),
            Some((rank, _)) => reply::integer(ctx.out, rank as i64),
            None => reply::null(ctx.out, ctx.proto),
        },
    }
}

/// # Format
/// `ZRANK key member`
pub fn zrank<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    rank_generic(ks, ctx, false);
}

/// # Format
/// `ZREVRANK key member`
pub fn zrevrank<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    rank_generic(ks, ctx, true);
}

/// # Format
/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// As Redis: a `listpack` set replies every member and score with cursor 0; a `skiplist` set is walked with
/// the reverse-binary cursor of its member index, about `COUNT` items per call ([`ZSet::scan`]).
pub fn zscan<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(cursor) = scan_cursor(ctx) else {
        return;
    };
    let zset = match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing => return reply_scan(ctx, &[]),
        Found::Some(zset) => zset,
    };
    let argv = ctx.argv;
    let Some(opts) = parse_scan_options(ctx, argv, 3, false) else {
        return;
    };
    let mut items = Vec::new();
    let mut text = Vec::new();
    let next = zset.scan(cursor, opts.count, |member, score| {
        let member = member.to_vec();
        if opts.pattern.is_some_and(|p| !glob::matches(p, &member)) {
            return;
        }
        text.clear();
        d2string(&mut text, score);
        items.push(member);
        items.push(text.clone());
    });
    reply_scan_page(ctx, next, &items);
}

/// # Format
/// `ZRANDMEMBER key [count [WITHSCORES]]`
pub fn zrandmember<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let argc = ctx.argv.len();
    let mut count = None;
    let mut withscores = false;
    if argc >= 3 {
        let n = match crate::num::parse_i64_exact(ctx.argv[2]) {
            Some(n) if n != i64::MIN => n,
            Some(_) => {
                return ctx.error(
                    b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                )
            }
            None => return ctx.error(super::NOT_INTEGER),
        };
        if argc > 4 || (argc == 4 && !ctx.argv[3].eq_ignore_ascii_case(b"withscores")) {
            return ctx.error(SYNTAX);
        }
        if argc == 4 {
            withscores = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
                return ctx.error(b"ERR value is out of range");
            }
        }
        count = Some(n);
    }
    let zset = match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => return,
        Found::Missing if count.is_some() => return reply::array_len(ctx.out, 0),
        Found::Missing => return reply::null(ctx.out, ctx.proto),
        Found::Some(zset) => zset,
    };
    let mut rng = || ks.random();
    let Some(count) = count else {
        if let Some((member, _)) = zset.random(&mut rng) {
            bulk_elem(ctx.out, member);
        }
        return;
    };
    if count < 0 || count == 1 {
        let n = count.unsigned_abs() as usize;
        let mut picks = std::iter::from_fn(|| zset.random(&mut rng));
        // A client-declared count is bounded by what the reply buffer limits allow to be sent.
        return reply_pairs(ctx.out, ctx.proto, &mut picks, n, withscores);
    }
    let len = zset.len();
    let n = (count as usize).min(len);
    if n.saturating_mul(3) <= len {
        // Few of many (Redis's CASE 4): random picks until `n` distinct members.
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut picks = Vec::with_capacity(n);
        while picks.len() < n {
            if let Some((member, score)) = zset.random(&mut rng) {
                if seen.insert(member.to_vec()) {
                    picks.push((member, score));
                }
            }
        }
        return reply_pairs(ctx.out, ctx.proto, picks.into_iter(), n, withscores);
    }
    // Distinct members, many of few: a partial Fisher-Yates shuffle of the ranks.
    let mut ranks: Vec<usize> = (0..len).collect();
    for i in 0..n {
        let j = i + crate::types::Rng::below(&mut rng, len - i);
        ranks.swap(i, j);
    }
    let all: Vec<(Elem<'_>, f64)> = zset.iter().collect();
    let picks = ranks[..n].iter().map(|&r| all[r]);
    reply_pairs(ctx.out, ctx.proto, picks, n, withscores);
}

#[cfg(test)]
#[path = "zscan_tests.rs"]
pub(crate) mod zscan_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// The integral fast path prints what the `%.17g` formatter prints, in both protocols.
    #[test]
    fn reply_score_matches_g17() {
        let mut samples = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            500.0,
            0.5,
            -2.5,
            1e16,
            -1e16,
            99_999_999_999_999_984.0,
            1e17,
            -1e17,
            9_007_199_254_740_993.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            samples.push(((state >> 11) as f64 / 1e3).trunc() - 4e12);
            samples.push(f64::from_bits(state));
        }
        for score in samples {
            for proto in [Protocol::Resp2, Protocol::Resp3] {
                let (mut fast, mut reference) = (Vec::new(), Vec::new());
                reply_score(&mut fast, proto, score);
                reply::double(&mut reference, proto, score);
                assert_eq!(fast, reference, "{score:?}");
            }
        }
    }
}
