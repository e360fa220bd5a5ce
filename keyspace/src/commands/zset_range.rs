//! Sorted set range commands: ZRANGE (BYSCORE/BYLEX/REV/LIMIT/WITHSCORES), ZRANGESTORE, the legacy
//! ZRANGEBYSCORE/ZRANGEBYLEX/ZREVRANGE*/, ZCOUNT, ZLEXCOUNT and ZREMRANGEBYRANK/SCORE/LEX.
//!
//! Every range is turned into a span of ranks `[start, end)` of the ascending order, walked forward or
//! backward.

use super::zsets::reply_pairs;
use super::{Ctx, NOT_INTEGER, OOM, SYNTAX};
use crate::entry::{Kind, PayloadInit};
use crate::num::{parse_f64, parse_i64_exact};
use crate::types::elem::INT_TEXT_BYTES_MAX;
use crate::types::{Elem, Limits, ZSet};
use crate::value::{delete_if_empty, new_object, read_obj, write_obj, Found};
use crate::{notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

const NOT_FLOAT_RANGE: &[u8] = b"ERR min or max is not a float";
const NOT_LEX_RANGE: &[u8] = b"ERR min or max not valid string range item";

/// A score interval, bounds inclusive unless marked exclusive (`(`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScoreRange {
    min: f64,
    max: f64,
    min_exclusive: bool,
    max_exclusive: bool,
}

fn parse_score_bound(bytes: &[u8]) -> Option<(f64, bool)> {
    match bytes.split_first() {
        Some((b'(', rest)) => parse_f64(rest).map(|v| (v, true)),
        _ => parse_f64(bytes).map(|v| (v, false)),
    }
}

impl ScoreRange {
    /// Redis's `zslParseRange`.
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Option<Self> {
        let (min, min_exclusive) = parse_score_bound(min)?;
        let (max, max_exclusive) = parse_score_bound(max)?;
        Some(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    /// Whether `score` is at or past the lower bound.
    pub(crate) fn above_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    /// Whether `score` is at or before the upper bound.
    pub(crate) fn below_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    /// The ranks `[start, end)` whose scores are in the range.
    pub(crate) fn ranks<A: KvAllocator>(&self, zset: &ZSet<A>) -> (usize, usize) {
        let start = zset.count_before(|_, s| !self.above_min(s));
        let end = zset.count_before(|_, s| self.below_max(s));
        (start, end.max(start))
    }
}

/// One end of a lexicographic range.
#[derive(Clone, Copy, Debug)]
enum LexBound<'a> {
    NegInf,
    PosInf,
    Inclusive(&'a [u8]),
    Exclusive(&'a [u8]),
}

fn parse_lex_bound(bytes: &[u8]) -> Option<LexBound<'_>> {
    match bytes {
        b"-" => Some(LexBound::NegInf),
        b"+" => Some(LexBound::PosInf),
        [b'[', rest @ ..] => Some(LexBound::Inclusive(rest)),
        [b'(', rest @ ..] => Some(LexBound::Exclusive(rest)),
        _ => None,
    }
}

/// A member interval (`-`, `+`, `[member`, `(member`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LexRange<'a> {
    min: LexBound<'a>,
    max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    /// Redis's `zslParseLexRange`.
    pub(crate) fn parse(min: &'a [u8], max: &'a [u8]) -> Option<Self> {
        Some(LexRange {
            min: parse_lex_bound(min)?,
            max: parse_lex_bound(max)?,
        })
    }

    fn before_min(&self, member: Elem<'_>) -> bool {
        let mut buf = [0u8; INT_TEXT_BYTES_MAX];
        let member = member.to_bytes(&mut buf);
        match self.min {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(min) => member < min,
            LexBound::Exclusive(min) => member <= min,
        }
    }

    fn within_max(&self, member: Elem<'_>) -> bool {
        let mut buf = [0u8; INT_TEXT_BYTES_MAX];
        let member = member.to_bytes(&mut buf);
        match self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(max) => member <= max,
            LexBound::Exclusive(max) => member < max,
        }
    }

    /// The ranks `[start, end)` whose members are in the range (all scores assumed equal).
    pub(crate) fn ranks<A: KvAllocator>(&self, zset: &ZSet<A>) -> (usize, usize) {
        let start = zset.count_before(|m, _| self.before_min(m));
        let end = zset.count_before(|m, _| self.within_max(m));
        (start, end.max(start))
    }
}

/// How ZRANGE's `min`/`max` are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// A parsed range of any kind.
enum Spec<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// ZRANGE's options after the key and bounds.
struct RangeOptions {
    kind: RangeKind,
    rev: Option<bool>,
    withscores: bool,
    /// LIMIT offset and count (count < 0: no limit).
    limit: Option<(i64, i64)>,
}

fn parse_range_options(
    ctx: &mut Ctx<'_>,
    first: usize,
    store: bool,
    opts: &mut RangeOptions,
) -> bool {
    let argv = ctx.argv;
    let mut j = first;
    while j < argv.len() {
        let arg = argv[j];
        let left = argv.len() - j - 1;
        if !store && arg.eq_ignore_ascii_case(b"withscores") {
            opts.withscores = true;
        } else if arg.eq_ignore_ascii_case(b"limit") && left >= 2 {
            let (Some(offset), Some(count)) =
                (parse_i64_exact(argv[j + 1]), parse_i64_exact(argv[j + 2]))
            else {
                ctx.error(NOT_INTEGER);
                return false;
            };
            opts.limit = Some((offset, count));
            j += 2;
        } else if opts.rev.is_none() && arg.eq_ignore_ascii_case(b"rev") {
            opts.rev = Some(true);
        } else if opts.kind == RangeKind::Auto && arg.eq_ignore_ascii_case(b"bylex") {
            opts.kind = RangeKind::Lex;
        } else if opts.kind == RangeKind::Auto && arg.eq_ignore_ascii_case(b"byscore") {
            opts.kind = RangeKind::Score;
        } else {
            ctx.error(SYNTAX);
            return false;
        }
        j += 1;
    }
    true
}

/// The ranks to walk: `[start, end)` ascending, walked backward when `rev`.
fn span<A: KvAllocator>(
    zset: &ZSet<A>,
    spec: &Spec<'_>,
    rev: bool,
    limit: Option<(i64, i64)>,
) -> (usize, usize) {
    let len = zset.len() as i64;
    let (lo, hi) = match spec {
        Spec::Rank(start, end) => {
            let (mut start, mut end) = (*start, *end);
            if start < 0 {
                start += len;
            }
            if end < 0 {
                end += len;
            }
            start = start.max(0);
            if start > end || start >= len {
                return (0, 0);
            }
            end = end.min(len - 1);
            return if rev {
                ((len - 1 - end) as usize, (len - start) as usize)
            } else {
                (start as usize, end as usize + 1)
            };
        }
        Spec::Score(range) => range.ranks(zset),
        Spec::Lex(range) => range.ranks(zset),
    };
    let Some((offset, count)) = limit else {
        return (lo, hi);
    };
    if offset < 0 {
        return (0, 0);
    }
    let avail = hi - lo;
    let offset = (offset as u64).min(avail as u64) as usize;
    let take = if count < 0 {
        avail - offset
    } else {
        (count as u64).min((avail - offset) as u64) as usize
    };
    if rev {
        (hi - offset - take, hi - offset)
    } else {
        (lo + offset, lo + offset + take)
    }
}

/// Redis's `zrangeGenericCommand`: `argv[key_idx]` is the source, then min, max and options.
fn zrange_generic<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key_idx: usize,
    dst: Option<&[u8]>,
    kind: RangeKind,
    rev: Option<bool>,
) {
    let mut opts = RangeOptions {
        kind,
        rev,
        withscores: false,
        limit: None,
    };
    if !parse_range_options(ctx, key_idx + 3, dst.is_some(), &mut opts) {
        return;
    }
    let rev = opts.rev.unwrap_or(false);
    let kind = if opts.kind == RangeKind::Auto {
        RangeKind::Rank
    } else {
        opts.kind
    };
    // As Redis, which keeps only the count to tell whether LIMIT was given: a rank range accepts (and
    // ignores) `LIMIT <offset> -1`. (Score and lex ranges keep it: a negative offset still empties them.)
    if kind == RangeKind::Rank && opts.limit.is_some_and(|(_, count)| count == -1) {
        opts.limit = None;
    }
    if opts.limit.is_some() && kind == RangeKind::Rank {
        return ctx.error(b"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if opts.withscores && kind == RangeKind::Lex {
        return ctx.error(b"ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    let (mut min, mut max) = (ctx.argv[key_idx + 1], ctx.argv[key_idx + 2]);
    if rev && kind != RangeKind::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let spec = match kind {
        RangeKind::Score => match ScoreRange::parse(min, max) {
            Some(range) => Spec::Score(range),
            None => return ctx.error(NOT_FLOAT_RANGE),
        },
        RangeKind::Lex => match LexRange::parse(min, max) {
            Some(range) => Spec::Lex(range),
            None => return ctx.error(NOT_LEX_RANGE),
        },
        _ => match (parse_i64_exact(min), parse_i64_exact(max)) {
            (Some(start), Some(end)) => Spec::Rank(start, end),
            _ => return ctx.error(NOT_INTEGER),
        },
    };
    let zset = match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[key_idx]) {
        Found::WrongType => return,
        Found::Missing => None,
        Found::Some(zset) => Some(&*zset),
    };
    let (start, end) = zset.map_or((0, 0), |z| span(z, &spec, rev, opts.limit));
    match dst {
        None => match zset {
            Some(zset) => reply_pairs(
                ctx.out,
                ctx.proto,
                zset.range(start, end, rev),
                end - start,
                opts.withscores,
            ),
            None => reply::array_len(ctx.out, 0),
        },
        Some(dst) => {
            let mut pairs: Vec<(Vec<u8>, f64)> = zset
                .map(|z| {
                    z.range(start, end, false)
                        .map(|(m, s)| (m.to_vec(), s))
                        .collect()
                })
                .unwrap_or_default();
            let limits = ks.config.limits;
            zero_signs_as_built(&mut pairs, rev, kind == RangeKind::Rank, &limits);
            store_zset(ks, ctx, dst, &pairs, "zrangestore");
        }
    }
}

/// The `-0` scores ZRANGESTORE's result keeps, as Redis builds it (`zrangeResultBeginStore`, then
/// `zsetAdd` per member in reply order): a listpack first (unless a rank range is longer than
/// `zset-max-listpack-entries`), converted to a skiplist before the first member too long or past the
/// entry limit. A member added while it was a listpack stored `-0` as 0, and the conversion reads 0.
fn zero_signs_as_built(pairs: &mut [(Vec<u8>, f64)], rev: bool, rank: bool, limits: &Limits) {
    let n = pairs.len();
    if rank && n > limits.zset_listpack_entries_max {
        return;
    }
    for k in 0..n {
        let i = if rev { n - 1 - k } else { k };
        if k + 1 > limits.zset_listpack_entries_max
            || pairs[i].0.len() > limits.zset_listpack_value_bytes_max
        {
            return;
        }
        if pairs[i].1 == 0.0 {
            pairs[i].1 = 0.0;
        }
    }
}

/// Stores `pairs` (ascending, unique members) as the sorted set at `dst`, replacing any value and TTL,
/// or deletes `dst` when there are none; replies the count.
pub(crate) fn store_zset<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    dst: &[u8],
    pairs: &[(Vec<u8>, f64)],
    event: &'static str,
) {
    if pairs.is_empty() {
        if ks.delete(ctx.db, dst, ctx.now_ms, ctx.fx) {
            ctx.fx.changed(notify::GENERIC, "del", ctx.db, dst);
        }
        return reply::integer(ctx.out, 0);
    }
    let limits = ks.config.limits;
    let items = pairs.iter().map(|(m, s)| (Elem::from_bytes(m), *s));
    let Ok(zset) = ZSet::from_sorted(items, &limits, A::default()) else {
        return ctx.error(OOM);
    };
    let Ok(raw) = new_object::<A, ZSet<A>>(zset) else {
        return ctx.error(OOM);
    };
    crate::value::register_for::<A>();
    if let Err(oom) = ks.set_payload(
        ctx.db,
        dst,
        PayloadInit::Object(Kind::ZSet, raw),
        None,
        false,
        ctx.now_ms,
    ) {
        // SAFETY: `raw` was not stored.
        unsafe { crate::value::free_object(A::default(), Kind::ZSet, raw) };
        return super::reply_oom(ctx, oom);
    }
    ctx.fx.changed(notify::ZSET, event, ctx.db, dst);
    reply::integer(ctx.out, pairs.len() as i64);
}

/// # Format
/// `ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
pub fn zrange<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zrange_generic(ks, ctx, 1, None, RangeKind::Auto, None);
}

/// # Format
/// `ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]`
pub fn zrangestore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let dst = ctx.argv[1];
    zrange_generic(ks, ctx, 2, Some(dst), RangeKind::Auto, None);
}

/// # Format
/// `ZREVRANGE key start stop [WITHSCORES]`
pub fn zrevrange<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zrange_generic(ks, ctx, 1, None, RangeKind::Rank, Some(true));
}

/// # Format
/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
pub fn zrangebyscore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zrange_generic(ks, ctx, 1, None, RangeKind::Score, Some(false));
}

/// # Format
/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
pub fn zrevrangebyscore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zrange_generic(ks, ctx, 1, None, RangeKind::Score, Some(true));
}

/// # Format
/// `ZRANGEBYLEX key min max [LIMIT offset count]`
pub fn zrangebylex<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zrange_generic(ks, ctx, 1, None, RangeKind::Lex, Some(false));
}

/// # Format
/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
pub fn zrevrangebylex<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zrange_generic(ks, ctx, 1, None, RangeKind::Lex, Some(true));
}

/// # Format
/// `ZCOUNT key min max`
pub fn zcount<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(range) = ScoreRange::parse(ctx.argv[2], ctx.argv[3]) else {
        return ctx.error(NOT_FLOAT_RANGE);
    };
    match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(zset) => {
            let (start, end) = range.ranks(zset);
            reply::integer(ctx.out, (end - start) as i64);
        }
    }
}

/// # Format
/// `ZLEXCOUNT key min max`
pub fn zlexcount<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(range) = LexRange::parse(ctx.argv[2], ctx.argv[3]) else {
        return ctx.error(NOT_LEX_RANGE);
    };
    match read_obj::<A, ZSet<A>>(ks, ctx, ctx.argv[1]) {
        Found::WrongType => {}
        Found::Missing => reply::integer(ctx.out, 0),
        Found::Some(zset) => {
            let (start, end) = range.ranks(zset);
            reply::integer(ctx.out, (end - start) as i64);
        }
    }
}

/// Redis's `zremrangeGenericCommand`.
fn zremrange<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, kind: RangeKind) {
    let (min, max) = (ctx.argv[2], ctx.argv[3]);
    let (spec, event) = match kind {
        RangeKind::Score => match ScoreRange::parse(min, max) {
            Some(range) => (Spec::Score(range), "zremrangebyscore"),
            None => return ctx.error(NOT_FLOAT_RANGE),
        },
        RangeKind::Lex => match LexRange::parse(min, max) {
            Some(range) => (Spec::Lex(range), "zremrangebylex"),
            None => return ctx.error(NOT_LEX_RANGE),
        },
        _ => match (parse_i64_exact(min), parse_i64_exact(max)) {
            (Some(start), Some(end)) => (Spec::Rank(start, end), "zremrangebyrank"),
            _ => return ctx.error(NOT_INTEGER),
        },
    };
    let key = ctx.argv[1];
    let zset = match write_obj::<A, ZSet<A>>(ks, ctx, key) {
        Found::WrongType => return,
        Found::Missing => return reply::integer(ctx.out, 0),
        Found::Some(zset) => zset,
    };
    let (start, end) = span(zset, &spec, false, None);
    let removed = zset.remove_range(start, end, |_, _| {});
    if removed > 0 {
        ctx.fx.changed(notify::ZSET, event, ctx.db, key);
        ctx.fx.dirty += removed as u64 - 1;
        delete_if_empty(ks, ctx, ctx.db, key, zset);
    }
    reply::integer(ctx.out, removed as i64);
}

/// # Format
/// `ZREMRANGEBYRANK key start stop`
pub fn zremrangebyrank<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zremrange(ks, ctx, RangeKind::Rank);
}

/// # Format
/// `ZREMRANGEBYSCORE key min max`
pub fn zremrangebyscore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zremrange(ks, ctx, RangeKind::Score);
}

/// # Format
/// `ZREMRANGEBYLEX key min max`
pub fn zremrangebylex<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    zremrange(ks, ctx, RangeKind::Lex);
}

#[cfg(test)]
mod tests {
    use super::zero_signs_as_built;
    use crate::types::Limits;

    #[test]
    fn zrangestore_keeps_minus_zero_only_after_the_conversion() {
        // Redis 7.0.15: ZRANGESTORE of (a -0, b -0, <70 bytes> 1, c 2, d -0) adds in reply order to a
        // listpack, which turns into a skiplist at the long member: forward, every -0 came before it
        // (0); REV adds d, c, then the long member: d was added to the listpack (0).
        let limits = Limits::default();
        let long = vec![b'm'; 70];
        let pairs = vec![
            (b"a".to_vec(), -0.0),
            (b"b".to_vec(), -0.0),
            (long.clone(), 1.0),
            (b"c".to_vec(), 2.0),
            (b"e".to_vec(), -0.0),
        ];
        let signs =
            |p: &[(Vec<u8>, f64)]| p.iter().map(|x| x.1.is_sign_negative()).collect::<Vec<_>>();
        let mut forward = pairs.clone();
        zero_signs_as_built(&mut forward, false, true, &limits);
        assert_eq!(signs(&forward), [false, false, false, false, true]);
        let mut rev = pairs.clone();
        zero_signs_as_built(&mut rev, true, true, &limits);
        assert_eq!(signs(&rev), [true, true, false, false, false]);
        // A rank range longer than the entry limit is a skiplist from the start: every sign stays.
        let small = Limits {
            zset_listpack_entries_max: 2,
            ..Limits::default()
        };
        let mut big = pairs.clone();
        zero_signs_as_built(&mut big, false, true, &small);
        assert_eq!(signs(&big), signs(&pairs));
        // A score range starts as a listpack whatever its length: converted at the third member.
        let mut by_score = pairs;
        zero_signs_as_built(&mut by_score, false, false, &small);
        assert_eq!(signs(&by_score), [false, false, false, false, true]);
    }
}
