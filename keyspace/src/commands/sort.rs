//! SORT and SORT_RO: sort the elements of a list or set (numerically or as bytes, directly or by external
//! keys), with LIMIT, GET patterns and STORE, following Redis 7.0's `sort.c`.
//!
//! The input types are read in one place, [`load_input`]: a sorted set is one more match arm there (its
//! members in rank order; `BY nosort` then keeps that order, reversed by DESC, as for lists).

use super::pqsort::pqsort;
use super::sort_score::sort_score;
use super::{c_string, read, reply_oom, Ctx, SYNTAX, WRONGTYPE};
use crate::entry::{EntryPtr, Kind, Payload, PayloadInit};
use crate::notify;
use crate::types::{Hash, List, Set, ZSet};
use crate::value::{self, new_object};
use crate::Keyspace;
use std::cmp::Ordering;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// Parsed options.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    /// BY with a pattern that has no `*` (e.g. `nosort`): keep the input order.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

/// Parses the options after the key; `None` after replying an error.
fn parse<'a>(ctx: &mut Ctx<'_>, argv: &[&'a [u8]], read_only: bool) -> Option<Options<'a>> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let is = |name: &[u8]| argv[j].eq_ignore_ascii_case(name);
        if is(b"asc") {
            o.desc = false;
        } else if is(b"desc") {
            o.desc = true;
        } else if is(b"alpha") {
            o.alpha = true;
        } else if is(b"limit") && left >= 2 {
            o.limit_start = ctx.int_arg(j + 1)?;
            o.limit_count = ctx.int_arg(j + 2)?;
            j += 2;
        } else if !read_only && is(b"store") && left >= 1 {
            o.store = Some(argv[j + 1]);
            j += 1;
        } else if is(b"by") && left >= 1 {
            o.by = Some(argv[j + 1]);
            o.dont_sort = !argv[j + 1].contains(&b'*');
            j += 1;
        } else if is(b"get") && left >= 1 {
            o.gets.push(argv[j + 1]);
            j += 1;
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// The input's elements and whether its natural order is meaningful (lists, sorted sets) for `BY nosort`.
struct Input {
    elements: Vec<Vec<u8>>,
    ordered: bool,
}

/// Reads the elements of `entry` in their natural order; `None` for a type SORT does not take.
fn load_input<A: KvAllocator>(entry: EntryPtr) -> Option<Input> {
    match entry.kind() {
        Kind::List => {
            let list = value::object::<A, List<A>>(entry)?;
            Some(Input {
                elements: list.iter().map(|e| e.to_vec()).collect(),
                ordered: true,
            })
        }
        Kind::Set => {
            let set = value::object::<A, Set<A>>(entry)?;
            Some(Input {
                elements: set.iter().map(|e| e.to_vec()).collect(),
                ordered: false,
            })
        }
        Kind::ZSet => {
            let zset = value::object::<A, ZSet<A>>(entry)?;
            // `sortCommandGeneric` destructively converts a sorted set to the skiplist encoding
            // (SORT_RO too), which OBJECT ENCODING and later -0 scores show. Without memory the
            // set keeps its encoding, which changes no reply.
            let _ = zset.convert_to_skiplist();
            Some(Input {
                elements: zset.iter().map(|(member, _)| member.to_vec()).collect(),
                ordered: true,
            })
        }
        _ => None,
    }
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is replaced by the
/// element, and a `->field` suffix after it reads that hash field. `None` when there is no `*`, the key is
/// missing or of another type, or the field is absent.
fn lookup_by_pattern<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    pattern: &[u8],
    element: &[u8],
) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < after.len());
    let (postfix, field) = match arrow {
        Some(i) => (&after[..i], Some(&after[i + 2..])),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);
    let entry = read(ks, ctx, &key)?;
    match (field, entry.payload()) {
        (Some(field), Payload::Object(Kind::Hash, _)) => {
            let hash = value::object::<A, Hash<A>>(entry)?;
            hash.get(field).map(|v| v.to_vec())
        }
        (None, Payload::Str(bytes)) => Some(bytes.to_vec()),
        (None, Payload::Int(n)) => Some(itoa::Buffer::new().format(n).as_bytes().to_vec()),
        _ => None,
    }
}

/// One element being sorted.
struct Item {
    element: Vec<u8>,
    score: f64,
    /// The BY value for ALPHA sorting by pattern (`None`: missing, sorts first).
    by_value: Option<Vec<u8>>,
}

/// `sortCompare`. ALPHA compares bytes with `compareStringObjects` when storing, else with `strcoll`
/// (the "C" locale: `strcmp`, so up to the first NUL; equal prefixes are ties, which the caller's
/// sort leaves as Redis's does).
fn compare(a: &Item, b: &Item, alpha: bool, by_pattern: bool, store: bool) -> Ordering {
    if !alpha {
        return a
            .score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.element.cmp(&b.element));
    }
    let text = |bytes: &[u8], other: &[u8]| {
        if store {
            bytes.cmp(other)
        } else {
            c_string(bytes).cmp(c_string(other))
        }
    };
    if by_pattern {
        return match (&a.by_value, &b.by_value) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => text(x, y),
        };
    }
    text(&a.element, &b.element)
}

/// Redis's LIMIT clamping: the inclusive output range over `len` elements (empty when `end < start`).
fn limit_range(o: &Options<'_>, len: i64) -> (i64, i64) {
    let mut start = o.limit_start.max(0).min(len);
    let count = o.limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    (start, end.min(len - 1))
}

fn sort_generic<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, read_only: bool) {
    let argv: Vec<&[u8]> = ctx.argv.to_vec();
    let Some(mut o) = parse(ctx, &argv, read_only) else {
        return;
    };
    let input = match read(ks, ctx, argv[1]) {
        None => Input {
            elements: Vec::new(),
            ordered: true,
        },
        Some(e) => match load_input::<A>(e) {
            Some(input) => input,
            None => return ctx.error(WRONGTYPE),
        },
    };
    // Sorting a set "by nothing" into a key, or for a script, would give an arbitrary order: Redis sorts it
    // as bytes then.
    if o.dont_sort && !input.ordered && (o.store.is_some() || ctx.fx.from_script) {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }
    let mut elements = input.elements;
    if o.dont_sort && input.ordered && o.desc {
        elements.reverse();
    }
    let (start, end) = limit_range(&o, elements.len() as i64);
    let mut items: Vec<Item> = elements
        .into_iter()
        .map(|element| Item {
            element,
            score: 0.0,
            by_value: None,
        })
        .collect();
    if !o.dont_sort && !fill_sort_keys(ks, ctx, &o, &mut items) {
        return ctx.error(b"ERR One or more scores can't be converted into double");
    }
    if !o.dont_sort {
        let (alpha, by_pattern, desc) = (o.alpha, o.by.is_some(), o.desc);
        let store = o.store.is_some();
        let mut cmp = |a: &Item, b: &Item| {
            let cmp = compare(a, b, alpha, by_pattern, store);
            if desc {
                cmp.reverse()
            } else {
                cmp
            }
        };
        let whole = start == 0 && end == items.len() as i64 - 1;
        if by_pattern && !whole && end >= start {
            // `sortCommand` sorts BY-pattern input with a LIMIT by `pqsort`, which leaves ties
            // (equal BY values) where a full sort would not.
            pqsort(&mut items, &mut cmp, start as usize, end as usize);
        } else {
            // glibc's `qsort` (a merge sort here) keeps ties in input order, as `sort_by`.
            items.sort_by(cmp);
        }
    }
    let selected: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    match o.store {
        None => reply_items(ks, ctx, &o, selected),
        Some(dest) => store_items(ks, ctx, &o, dest, selected),
    }
}

/// Computes each item's score (numeric) or BY value (ALPHA with BY); false if a score does not parse.
fn fill_sort_keys<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    o: &Options<'_>,
    items: &mut [Item],
) -> bool {
    let mut ok = true;
    for item in items.iter_mut() {
        let by_value = match o.by {
            Some(pattern) => match lookup_by_pattern(ks, ctx, pattern, &item.element) {
                Some(v) => v,
                None => continue,
            },
            None if o.alpha => continue,
            None => item.element.clone(),
        };
        if o.alpha {
            item.by_value = Some(by_value);
        } else {
            match sort_score(&by_value) {
                Some(score) => item.score = score,
                None => ok = false,
            }
        }
    }
    ok
}

fn reply_items<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    o: &Options<'_>,
    items: &[Item],
) {
    let per_item = o.gets.len().max(1);
    reply::array_len(ctx.out, items.len() * per_item);
    for item in items {
        if o.gets.is_empty() {
            reply::bulk(ctx.out, &item.element);
        }
        for pattern in &o.gets {
            match lookup_by_pattern(ks, ctx, pattern, &item.element) {
                Some(v) => reply::bulk(ctx.out, &v),
                None => reply::null(ctx.out, ctx.proto),
            }
        }
    }
}

fn store_items<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    o: &Options<'_>,
    dest: &[u8],
    items: &[Item],
) {
    let limits = ks.config.limits;
    let mut list = List::new_in(A::default());
    let mut pushed = 0u64;
    for item in items {
        let values: Vec<Vec<u8>> = if o.gets.is_empty() {
            vec![item.element.clone()]
        } else {
            o.gets
                .iter()
                .map(|p| lookup_by_pattern(ks, ctx, p, &item.element).unwrap_or_default())
                .collect()
        };
        for v in values {
            if list.push_back(&v, &limits).is_err() {
                return ctx.error(super::OOM);
            }
            pushed += 1;
        }
    }
    if pushed == 0 {
        if ks.delete(ctx.db, dest, ctx.now_ms, ctx.fx) {
            ctx.fx.changed(notify::GENERIC, "del", ctx.db, dest);
        }
        return reply::integer(ctx.out, 0);
    }
    let Ok(raw) = new_object::<A, List<A>>(list) else {
        return ctx.error(super::OOM);
    };
    value::register_for::<A>();
    let init = PayloadInit::Object(Kind::List, raw);
    if let Err(oom) = ks.set_payload(ctx.db, dest, init, None, false, ctx.now_ms) {
        // SAFETY: `raw` was not stored.
        unsafe { value::free_object(A::default(), Kind::List, raw) };
        return reply_oom(ctx, oom);
    }
    ctx.fx.changed(notify::LIST, "sortstore", ctx.db, dest);
    ctx.fx.dirty += pushed - 1;
    reply::integer(ctx.out, pushed as i64);
}

/// Redis's `sortGetKeys` (COMMAND GETKEYS, ACL, cluster routing): the source key (1) and the last STORE
/// destination, skipping the arguments of LIMIT, GET and BY. `argv[0]` is the command name.
pub fn key_positions(argv: &[&[u8]]) -> Vec<usize> {
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let arg = argv[i];
        if arg.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if arg.eq_ignore_ascii_case(b"get") || arg.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    std::iter::once(1).chain(store).collect()
}

/// # Format
/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]
/// [STORE destination]`
pub fn sort<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    sort_generic(ks, ctx, false);
}

/// # Format
/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]`
pub fn sort_ro<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    sort_generic(ks, ctx, true);
}

#[cfg(test)]
mod tests {
    use super::sort;
    use crate::commands::{lists, Ctx, Effects};
    use crate::{Keyspace, KeyspaceConfig};
    use proptest::prelude::*;
    use zedis_kv_pool::SystemAlloc;
    use zedis_resp::Protocol;

    type A = SystemAlloc;

    fn run(ks: &mut Keyspace<A>, handler: crate::commands::Handler<A>, args: &[&[u8]]) -> Vec<u8> {
        let mut fx = Effects::default();
        let mut out = Vec::new();
        let mut ctx = Ctx {
            argv: args,
            out: &mut out,
            proto: Protocol::Resp2,
            db: 0,
            now_ms: 1_000_000,
            fx: &mut fx,
        };
        handler(ks, &mut ctx);
        out
    }

    fn bulk_array(items: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", items.len()).into_bytes();
        for item in items {
            out.extend_from_slice(format!("${}\r\n", item.len()).as_bytes());
            out.extend_from_slice(item);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    proptest! {
        #[test]
        fn sort_matches_a_model(values in proptest::collection::vec(-50i64..50, 0..30),
                                desc in any::<bool>(), alpha in any::<bool>(),
                                limit in proptest::option::of((-3i64..40, -3i64..40))) {
            let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
            let texts: Vec<Vec<u8>> = values.iter().map(|v| v.to_string().into_bytes()).collect();
            let mut push: Vec<&[u8]> = vec![b"rpush", b"l"];
            push.extend(texts.iter().map(|t| &t[..]));
            if !texts.is_empty() {
                run(&mut ks, lists::push, &push);
            }
            let mut args: Vec<Vec<u8>> = vec![b"sort".to_vec(), b"l".to_vec()];
            if desc { args.push(b"DESC".to_vec()); }
            if alpha { args.push(b"ALPHA".to_vec()); }
            if let Some((start, count)) = limit {
                args.extend([b"LIMIT".to_vec(), start.to_string().into_bytes(), count.to_string().into_bytes()]);
            }
            let argv: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
            let got = run(&mut ks, sort, &argv);

            let mut model = texts.clone();
            if alpha {
                model.sort();
            } else {
                model.sort_by_key(|t| std::str::from_utf8(t).unwrap().parse::<i64>().unwrap());
            }
            if desc { model.reverse(); }
            if let Some((start, count)) = limit {
                let len = model.len() as i64;
                let start = start.clamp(0, len) as usize;
                let count = if count < 0 { model.len() } else { count as usize };
                model = model.into_iter().skip(start).take(count).collect();
            }
            prop_assert_eq!(got, bulk_array(&model));
        }
    }

    #[test]
    fn key_positions_follow_sort_get_keys() {
        let argv = |line: &'static str| -> Vec<&'static [u8]> {
            line.split(' ').map(str::as_bytes).collect()
        };
        assert_eq!(super::key_positions(&argv("sort abc store def")), [1, 3]);
        assert_eq!(
            super::key_positions(&argv("sort abc store invalid store stillbad store def")),
            [1, 7]
        );
        assert_eq!(super::key_positions(&argv("sort abc get store by x")), [1]);
        assert_eq!(
            super::key_positions(&argv("sort abc limit store x store")),
            [1]
        );
        assert_eq!(super::key_positions(&argv("sort_ro abc")), [1]);
    }

    #[test]
    fn sort_converts_a_sorted_set_to_skiplist() {
        // Redis 7.0.15 (`zsetConvert` in `sortCommandGeneric`): after SORT_RO a small sorted set is a
        // skiplist, so a later -0 score keeps its sign.
        use crate::commands::{zset_range, zsets};
        let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
        run(&mut ks, zsets::zadd, &[b"zadd", b"z", b"1", b"a"]);
        run(&mut ks, super::sort_ro, &[b"sort_ro", b"z"]);
        run(&mut ks, zsets::zadd, &[b"zadd", b"z", b"-0", b"b"]);
        let got = run(
            &mut ks,
            zset_range::zrange,
            &[b"zrange", b"z", b"0", b"0", b"withscores"],
        );
        assert_eq!(got, b"*2\r\n$1\r\nb\r\n$2\r\n-0\r\n");
    }

    #[test]
    fn by_pattern_with_limit_leaves_ties_as_pqsort() {
        // Redis 7.0.15: `SORT l BY nokey* ALPHA LIMIT 0 2` of a list: every BY value is missing (all
        // ties), so the order is what `pqsort` leaves; without LIMIT, glibc's stable sort keeps input
        // order.
        let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
        let items: Vec<Vec<u8>> = (0..10).map(|i| format!("e{i}").into_bytes()).collect();
        let mut rpush: Vec<&[u8]> = vec![b"rpush", b"l"];
        rpush.extend(items.iter().map(|i| i.as_slice()));
        run(&mut ks, crate::commands::lists::push, &rpush);
        let all = run(
            &mut ks,
            super::sort,
            &[b"sort", b"l", b"by", b"nokey*", b"alpha"],
        );
        assert_eq!(all, bulk_array(&items));
        let some = run(
            &mut ks,
            super::sort,
            &[
                b"sort", b"l", b"by", b"nokey*", b"alpha", b"limit", b"0", b"2",
            ],
        );
        assert_eq!(
            some,
            bulk_array(&PQSORT_FIRST_TWO.map(|i| items[i].clone()))
        );
    }

    const PQSORT_FIRST_TWO: [usize; 2] = [9, 1];
}
