//! Sorted set algebra: ZUNION, ZINTER, ZDIFF, their STORE forms, and ZINTERCARD (Redis's
//! `zunionInterDiffGenericCommand`). Plain sets are accepted as inputs, each member with score 1.

use super::zset_range::store_zset;
use super::zsets::{parse_score, reply_pairs};
use super::{Ctx, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::entry::{EntryPtr, Kind};
use crate::num::parse_i64_exact;
use crate::types::{Elem, Set, ZSet};
use crate::value::object;
use crate::Keyspace;
use std::collections::HashMap;
use zedis_kv_pool::KvAllocator;

/// Which operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

/// How scores of a member present in several inputs combine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            // As `zunionInterAggregate`: the later value only when strictly smaller (larger), so
            // of 0 and -0 the first stays (`f64::min`/`max` may pick either zero).
            Aggregate::Min if value < *target => *target = value,
            Aggregate::Max if value > *target => *target = value,
            Aggregate::Min | Aggregate::Max => {}
        }
    }
}

/// One input: a sorted set, a set (scores 1), or a missing key (empty).
enum Source<'a, A: KvAllocator> {
    Missing,
    Sorted(&'a ZSet<A>),
    Plain(&'a Set<A>),
}

impl<A: KvAllocator> Source<'_, A> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Sorted(zset) => zset.len(),
            Source::Plain(set) => set.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Sorted(zset) => zset.score(member),
            Source::Plain(set) => set.contains(member).then_some(1.0),
        }
    }

    /// Every `(member, score)` as owned members.
    fn for_each(&self, mut f: impl FnMut(Vec<u8>, f64)) {
        match self {
            Source::Missing => {}
            Source::Sorted(zset) => zset.iter().for_each(|(m, s)| f(m.to_vec(), s)),
            Source::Plain(set) => set.iter().for_each(|m| f(m.to_vec(), 1.0)),
        }
    }
}

fn load<'a, A: KvAllocator>(entry: Option<EntryPtr>) -> Result<Source<'a, A>, ()> {
    let Some(entry) = entry else {
        return Ok(Source::Missing);
    };
    match entry.kind() {
        Kind::ZSet => object::<A, ZSet<A>>(entry)
            .map(|z| Source::Sorted(&*z))
            .ok_or(()),
        Kind::Set => object::<A, Set<A>>(entry)
            .map(|s| Source::Plain(&*s))
            .ok_or(()),
        _ => Err(()),
    }
}

/// The parsed options after the keys.
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT (0 = none).
    limit: usize,
}

fn parse_options(
    ctx: &mut Ctx<'_>,
    mut j: usize,
    setnum: usize,
    op: Op,
    store: bool,
    card: bool,
) -> Option<Options> {
    let argv = ctx.argv;
    let mut opts = Options {
        weights: vec![1.0; setnum],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    while j < argv.len() {
        let remaining = argv.len() - j;
        let arg = argv[j];
        if op != Op::Diff && !card && remaining > setnum && arg.eq_ignore_ascii_case(b"weights") {
            for i in 0..setnum {
                match parse_score(argv[j + 1 + i]) {
                    Some(weight) => opts.weights[i] = weight,
                    None => {
                        ctx.error(b"ERR weight value is not a float");
                        return None;
                    }
                }
            }
            j += 1 + setnum;
        } else if op != Op::Diff
            && !card
            && remaining >= 2
            && arg.eq_ignore_ascii_case(b"aggregate")
        {
            let name = argv[j + 1];
            opts.aggregate = if name.eq_ignore_ascii_case(b"sum") {
                Aggregate::Sum
            } else if name.eq_ignore_ascii_case(b"min") {
                Aggregate::Min
            } else if name.eq_ignore_ascii_case(b"max") {
                Aggregate::Max
            } else {
                ctx.error(SYNTAX);
                return None;
            };
            j += 2;
        } else if !store && !card && arg.eq_ignore_ascii_case(b"withscores") {
            opts.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && arg.eq_ignore_ascii_case(b"limit") {
            match parse_i64_exact(argv[j + 1]) {
                Some(n) if n >= 0 => opts.limit = n as usize,
                _ => {
                    ctx.error(b"ERR LIMIT can't be negative");
                    return None;
                }
            }
            j += 2;
        } else {
            ctx.error(SYNTAX);
            return None;
        }
    }
    Some(opts)
}

/// Weighted score (NaN, from `0 * inf`, counts as 0).
fn weighted(weight: f64, score: f64) -> f64 {
    let value = weight * score;
    if value.is_nan() {
        0.0
    } else {
        value
    }
}

/// The result pairs (unordered) of `op` over `sources` (with their weights).
fn compute<A: KvAllocator>(
    op: Op,
    sources: &[(Source<'_, A>, f64)],
    aggregate: Aggregate,
    limit: usize,
) -> Vec<(Vec<u8>, f64)> {
    let mut result = Vec::new();
    match op {
        Op::Inter => {
            let Some(((first, w0), rest)) = sources.split_first() else {
                return result;
            };
            if sources.iter().any(|(s, _)| s.len() == 0) {
                return result;
            }
            first.for_each(|member, score| {
                if limit != 0 && result.len() >= limit {
                    return;
                }
                let mut total = weighted(*w0, score);
                for (source, weight) in rest {
                    match source.score(&member) {
                        // `zunionInterDiffGenericCommand` cleans a NaN product of the first set
                        // only: a later NaN (0 x inf) goes to the aggregate (SUM gives 0,
                        // MIN/MAX keep what they had).
                        Some(score) => aggregate.apply(&mut total, score * *weight),
                        None => return,
                    }
                }
                result.push((member, total));
            });
        }
        Op::Union => {
            let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
            for (source, weight) in sources {
                source.for_each(|member, score| {
                    let value = weighted(*weight, score);
                    match index.get(&member) {
                        Some(&at) => aggregate.apply(&mut result[at].1, value),
                        None => {
                            index.insert(member.clone(), result.len());
                            result.push((member, value));
                        }
                    }
                });
            }
        }
        Op::Diff => {
            let Some(((first, _), rest)) = sources.split_first() else {
                return result;
            };
            first.for_each(|member, score| {
                if rest.iter().all(|(s, _)| s.score(&member).is_none()) {
                    result.push((member, score));
                }
            });
        }
    }
    result
}

fn generic<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    op: Op,
    dst: Option<&[u8]>,
    card: bool,
) {
    let numkeys_idx = if dst.is_some() { 2 } else { 1 };
    let Some(setnum) = parse_i64_exact(ctx.argv[numkeys_idx]) else {
        return ctx.error(NOT_INTEGER);
    };
    if setnum < 1 {
        let name = String::from_utf8_lossy(ctx.argv[0]).to_ascii_lowercase();
        return ctx
            .error(format!("ERR at least 1 input key is needed for '{name}' command").as_bytes());
    }
    if setnum > (ctx.argv.len() - numkeys_idx - 1) as i64 {
        return ctx.error(SYNTAX);
    }
    let setnum = setnum as usize;
    let keys = &ctx.argv[numkeys_idx + 1..numkeys_idx + 1 + setnum];
    let mut sources = Vec::with_capacity(setnum);
    for &key in keys {
        let entry = ks.lookup_read(ctx.db, key, ctx.now_ms, ctx.fx);
        match load::<A>(entry) {
            Ok(source) => sources.push(source),
            Err(()) => return ctx.error(WRONGTYPE),
        }
    }
    let Some(opts) = parse_options(
        ctx,
        numkeys_idx + 1 + setnum,
        setnum,
        op,
        dst.is_some(),
        card,
    ) else {
        return;
    };
    let mut sources: Vec<_> = sources
        .into_iter()
        .zip(opts.weights.iter().copied())
        .collect();
    if op != Op::Diff {
        sources.sort_by_key(|(s, _)| s.len());
    }
    let mut result = compute(op, &sources, opts.aggregate, opts.limit);
    if card {
        return zedis_resp::reply::integer(ctx.out, result.len() as i64);
    }
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    match dst {
        Some(dst) => {
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            store_zset(ks, ctx, dst, &result, event);
        }
        None => {
            let pairs = result.iter().map(|(m, s)| (Elem::from_bytes(m), *s));
            reply_pairs(ctx.out, ctx.proto, pairs, result.len(), opts.withscores);
        }
    }
}

/// # Format
/// `ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]`
pub fn zunion<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    generic(ks, ctx, Op::Union, None, false);
}

/// # Format
/// `ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]`
pub fn zinter<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    generic(ks, ctx, Op::Inter, None, false);
}

/// # Format
/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
pub fn zdiff<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    generic(ks, ctx, Op::Diff, None, false);
}

/// # Format
/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]`
pub fn zunionstore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let dst = ctx.argv[1];
    generic(ks, ctx, Op::Union, Some(dst), false);
}

/// # Format
/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]`
pub fn zinterstore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let dst = ctx.argv[1];
    generic(ks, ctx, Op::Inter, Some(dst), false);
}

/// # Format
/// `ZDIFFSTORE destination numkeys key [key ...]`
pub fn zdiffstore<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let dst = ctx.argv[1];
    generic(ks, ctx, Op::Diff, Some(dst), false);
}

/// # Format
/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
pub fn zintercard<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    generic(ks, ctx, Op::Inter, None, true);
}

#[cfg(test)]
mod tests {
    use super::Aggregate;

    #[test]
    fn min_max_keep_the_first_of_equal_scores() {
        // `zunionInterAggregate`: of 0 and -0 (equal), the value already there stays.
        for (aggregate, first, later) in [
            (Aggregate::Max, 0.0, -0.0),
            (Aggregate::Max, -0.0, 0.0),
            (Aggregate::Min, 0.0, -0.0),
            (Aggregate::Min, -0.0, 0.0),
        ] {
            let mut target: f64 = first;
            aggregate.apply(&mut target, later);
            assert_eq!(target.to_bits(), first.to_bits());
        }
        let mut target = 1.0;
        Aggregate::Max.apply(&mut target, 2.0);
        Aggregate::Min.apply(&mut target, -3.0);
        assert_eq!(target, -3.0);
        let mut target = f64::INFINITY;
        Aggregate::Sum.apply(&mut target, f64::NEG_INFINITY);
        assert_eq!(target, 0.0);
    }
}
