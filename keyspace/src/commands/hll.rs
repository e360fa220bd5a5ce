//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFSELFTEST, PFDEBUG.
//!
//! Values are ordinary strings in Redis's HLL representation ([`crate::types::hll`]). A dense HLL has a
//! fixed size and is updated in place; a sparse one is edited in a scratch copy and stored back (it is at
//! most `hll-sparse-max-bytes` long).

use super::{read, reply_oom, write, Ctx, WRONGTYPE};
use crate::entry::{EntryPtr, Payload, PayloadInit, FLAG_RAW};
use crate::notify;
use crate::types::hll;
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// A string that is not a HyperLogLog.
const NOT_HLL: &[u8] = b"WRONGTYPE Key is not a valid HyperLogLog string value.";
/// A sparse HLL whose opcodes do not cover every register.
const CORRUPT: &[u8] = b"INVALIDOBJ Corrupted HLL object detected";

/// Redis's `isHLLObjectOrReply`: the entry's bytes when they are a well-formed HLL, else `None` after
/// replying WRONGTYPE (plain for collections, the HLL text for other strings).
fn hll_bytes<'a>(ctx: &mut Ctx<'_>, entry: EntryPtr) -> Option<&'a [u8]> {
    match entry.payload() {
        Payload::Str(bytes) if hll::validate(bytes).is_some() => Some(bytes),
        Payload::Object(..) => {
            ctx.error(WRONGTYPE);
            None
        }
        _ => {
            ctx.error(NOT_HLL);
            None
        }
    }
}

/// Stores `bytes` as the raw string value of `key`, keeping its TTL.
fn store<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    bytes: &[u8],
) -> bool {
    match ks.set_payload(ctx.db, key, PayloadInit::Str(bytes), None, true, ctx.now_ms) {
        Ok(e) => {
            e.set_flag(FLAG_RAW);
            true
        }
        Err(oom) => {
            reply_oom(ctx, oom);
            false
        }
    }
}

/// # Format
/// `PFADD key [element [element ...]]`
pub fn pfadd<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let sparse_max = ks.config.hll_sparse_bytes_max;
    let entry = write(ks, ctx, key);
    let mut updated = 0u64;
    let mut scratch = match entry {
        None => {
            updated += 1;
            hll::new_sparse()
        }
        Some(e) => {
            let Some(bytes) = hll_bytes(ctx, e) else {
                return;
            };
            if bytes[4] == hll::DENSE {
                return pfadd_dense(ctx, e);
            }
            bytes.to_vec()
        }
    };
    for element in &ctx.argv[2..] {
        match hll::add(&mut scratch, element, sparse_max) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(hll::Corrupt) => {
                // Redis's `pfaddCommand` updates the string in place: the elements before the one
                // that met the corruption stay applied, and it returns with the error before
                // counting them dirty or signalling the key (so they are not propagated either).
                if updated > 0 && !store(ks, ctx, key, &scratch) {
                    return;
                }
                return ctx.error(CORRUPT);
            }
        }
    }
    if updated > 0 {
        hll::invalidate_cache(&mut scratch);
        if !store(ks, ctx, key, &scratch) {
            return;
        }
        pfadd_changed(ctx, updated);
    }
    reply::integer(ctx.out, i64::from(updated > 0));
}

/// PFADD on a dense HLL: registers updated in place.
fn pfadd_dense(ctx: &mut Ctx<'_>, entry: EntryPtr) {
    let Some(bytes) = entry.str_mut() else {
        return ctx.error(NOT_HLL);
    };
    let mut updated = 0u64;
    for element in &ctx.argv[2..] {
        let (index, count) = hll::pat_len(element);
        if hll::dense_set(&mut bytes[hll::HDR_BYTES..], index, count) {
            updated += 1;
        }
    }
    if updated > 0 {
        hll::invalidate_cache(bytes);
        entry.set_flag(FLAG_RAW);
        pfadd_changed(ctx, updated);
    }
    reply::integer(ctx.out, i64::from(updated > 0));
}

fn pfadd_changed(ctx: &mut Ctx<'_>, updated: u64) {
    let key = ctx.argv[1];
    ctx.fx.changed(notify::STRING, "pfadd", ctx.db, key);
    ctx.fx.dirty += updated - 1;
}

/// # Format
/// `PFCOUNT key [key ...]`
pub fn pfcount<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    if ctx.argv.len() > 2 {
        let mut max = vec![0u8; hll::REGISTERS];
        for i in 1..ctx.argv.len() {
            let Some(e) = read(ks, ctx, ctx.argv[i]) else {
                continue;
            };
            let Some(bytes) = hll_bytes(ctx, e) else {
                return;
            };
            if hll::merge_into(&mut max, bytes).is_err() {
                return ctx.error(CORRUPT);
            }
        }
        return reply::integer(ctx.out, hll::count_raw(&max) as i64);
    }
    let key = ctx.argv[1];
    let Some(e) = read(ks, ctx, key) else {
        return reply::integer(ctx.out, 0);
    };
    let Some(bytes) = hll_bytes(ctx, e) else {
        return;
    };
    if let Some(card) = hll::cached_card(bytes) {
        return reply::integer(ctx.out, card as i64);
    }
    let Ok(card) = hll::count(bytes) else {
        return ctx.error(CORRUPT);
    };
    // Caching the estimate changes the value: like Redis, this counts as a write (logged, WATCH fires).
    if let Some(bytes) = e.str_mut() {
        hll::set_cached_card(bytes, card);
        e.set_flag(FLAG_RAW);
        ctx.fx.dirty += 1;
        ctx.fx.touch(ctx.db, key);
    }
    reply::integer(ctx.out, card as i64);
}

/// # Format
/// `PFMERGE destkey sourcekey [sourcekey ...]`
pub fn pfmerge<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let mut max = vec![0u8; hll::REGISTERS];
    let mut use_dense = false;
    for i in 1..ctx.argv.len() {
        let Some(e) = read(ks, ctx, ctx.argv[i]) else {
            continue;
        };
        let Some(bytes) = hll_bytes(ctx, e) else {
            return;
        };
        use_dense |= bytes[4] == hll::DENSE;
        if hll::merge_into(&mut max, bytes).is_err() {
            return ctx.error(CORRUPT);
        }
    }
    let key = ctx.argv[1];
    let mut dest = match write(ks, ctx, key) {
        None => hll::new_sparse(),
        Some(e) => match e.payload() {
            Payload::Str(bytes) => bytes.to_vec(),
            _ => return ctx.error(WRONGTYPE),
        },
    };
    if use_dense && dest[4] == hll::SPARSE {
        match hll::sparse_to_dense(&dest) {
            Ok(dense) => dest = dense,
            Err(hll::Corrupt) => return ctx.error(CORRUPT),
        }
    }
    let sparse_max = ks.config.hll_sparse_bytes_max;
    for (idx, &value) in max.iter().enumerate() {
        if value == 0 {
            continue;
        }
        if dest[4] == hll::DENSE {
            hll::dense_set(&mut dest[hll::HDR_BYTES..], idx, value);
        } else {
            // Redis ignores a failure here too: the sources were validated, the destination is sparse.
            let _ = hll::sparse_set(&mut dest, idx, value, sparse_max);
        }
    }
    hll::invalidate_cache(&mut dest);
    if store(ks, ctx, key, &dest) {
        ctx.fx.changed(notify::STRING, "pfadd", ctx.db, key);
        reply::ok(ctx.out);
    }
}

/// # Format
/// `PFSELFTEST`
///
/// Checks dense register packing on random values, then that sparse and dense HLLs fed the same elements
/// agree and stay within six standard errors of the true cardinality at 1, 10, ... 100000 elements (Redis
/// goes to 10^7; the smaller bound keeps the command short in debug builds).
pub fn pfselftest<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let mut regs = vec![0u8; hll::DENSE_BYTES - hll::HDR_BYTES];
    let mut expected = vec![0u8; hll::REGISTERS];
    for _ in 0..10 {
        for (i, want) in expected.iter_mut().enumerate() {
            *want = (ks.random() & 63) as u8;
            hll::dense_put(&mut regs, i, *want);
        }
        for (i, &want) in expected.iter().enumerate() {
            let got = hll::dense_get(&regs, i);
            if got != want {
                let text = format!("TESTFAILED Register {i} should be {want} but is {got}");
                return ctx.error(text.as_bytes());
            }
        }
    }
    let mut dense = hll::new_sparse();
    dense = hll::sparse_to_dense(&dense).unwrap_or_default();
    let mut sparse = hll::new_sparse();
    let relerr = 1.04 / (hll::REGISTERS as f64).sqrt();
    let seed = ks.random();
    let mut checkpoint = 1u64;
    for j in 1..=100_000u64 {
        let element = (j ^ seed).to_le_bytes();
        let _ = hll::add(&mut dense, &element, 0);
        let _ = hll::add(&mut sparse, &element, ks.config.hll_sparse_bytes_max);
        if j != checkpoint {
            continue;
        }
        if j < ks.config.hll_sparse_bytes_max as u64 / 2 && sparse[4] != hll::SPARSE {
            return ctx.error(b"TESTFAILED sparse encoding not used");
        }
        let card = hll::count(&dense).unwrap_or(u64::MAX);
        if card != hll::count(&sparse).unwrap_or(u64::MAX) {
            return ctx.error(b"TESTFAILED dense/sparse disagree");
        }
        let max_err = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if card.abs_diff(checkpoint) > max_err {
            let text = format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{}",
                card.abs_diff(checkpoint)
            );
            return ctx.error(text.as_bytes());
        }
        checkpoint *= 10;
    }
    reply::ok(ctx.out);
}

/// Converts the HLL at `key` to dense in place of its value; `Some(converted)`, or `None` after an error.
fn to_dense<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    bytes: &[u8],
) -> Option<bool> {
    if bytes[4] != hll::SPARSE {
        return Some(false);
    }
    let Ok(dense) = hll::sparse_to_dense(bytes) else {
        ctx.error(CORRUPT);
        return None;
    };
    if !store(ks, ctx, key, &dense) {
        return None;
    }
    // An encoding change is propagated like a write, as Redis does.
    ctx.fx.dirty += 1;
    Some(true)
}

/// # Format
/// `PFDEBUG GETREG | DECODE | ENCODING | TODENSE key`
pub fn pfdebug<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let (sub, key) = (ctx.argv[1], ctx.argv[2]);
    let Some(e) = write(ks, ctx, key) else {
        return ctx.error(b"ERR The specified key does not exist");
    };
    let Some(bytes) = hll_bytes(ctx, e) else {
        return;
    };
    if sub.eq_ignore_ascii_case(b"getreg") {
        if to_dense(ks, ctx, key, bytes).is_none() {
            return;
        }
        let Some(e) = ks.db(ctx.db).find(key) else {
            return ctx.error(CORRUPT);
        };
        let Payload::Str(dense) = e.payload() else {
            return ctx.error(CORRUPT);
        };
        reply::array_len(ctx.out, hll::REGISTERS);
        for i in 0..hll::REGISTERS {
            reply::integer(
                ctx.out,
                i64::from(hll::dense_get(&dense[hll::HDR_BYTES..], i)),
            );
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if bytes[4] != hll::SPARSE {
            return ctx.error(b"ERR HLL encoding is not sparse");
        }
        reply::bulk(ctx.out, hll::decode(bytes).as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        let name: &[u8] = if bytes[4] == hll::DENSE {
            b"dense"
        } else {
            b"sparse"
        };
        reply::simple(ctx.out, name);
    } else if sub.eq_ignore_ascii_case(b"todense") {
        if let Some(converted) = to_dense(ks, ctx, key, bytes) {
            reply::integer(ctx.out, i64::from(converted));
        }
    } else {
        ctx.error_c_format(&[b"ERR Unknown PFDEBUG subcommand '", sub, b"'"]);
    }
}

#[cfg(test)]
mod tests {
    use super::{pfadd, pfcount, pfdebug, pfmerge};
    use crate::commands::{strings, Ctx, Effects, Handler};
    use crate::{Keyspace, KeyspaceConfig};
    use proptest::prelude::*;
    use zedis_kv_pool::SystemAlloc;
    use zedis_resp::Protocol;

    type A = SystemAlloc;

    fn run(ks: &mut Keyspace<A>, handler: Handler<A>, args: &[&[u8]]) -> Vec<u8> {
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

    /// A value that passes the header check, so the register area is what gets fuzzed.
    fn hll_like() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..400),
        )
            .prop_map(|(dense, body)| {
                let mut v = b"HYLL".to_vec();
                v.push(u8::from(!dense));
                v.extend_from_slice(&[0; 11]);
                v.extend_from_slice(&body);
                if dense {
                    v.resize(crate::types::hll::DENSE_BYTES, 0xa5);
                }
                v
            })
    }

    proptest! {
        #[test]
        fn arbitrary_values_never_panic(
            value in prop_oneof![proptest::collection::vec(any::<u8>(), 0..64), hll_like()],
            element in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
            run(&mut ks, strings::set, &[b"set", b"k", &value]);
            run(&mut ks, pfadd, &[b"pfadd", b"ok", b"a"]);
            for (handler, args) in [
                (pfcount as Handler<A>, vec![&b"pfcount"[..], b"k"]),
                (pfcount, vec![b"pfcount", b"k", b"ok"]),
                (pfmerge, vec![b"pfmerge", b"ok", b"k"]),
                (pfdebug, vec![b"pfdebug", b"decode", b"k"]),
                (pfdebug, vec![b"pfdebug", b"getreg", b"k"]),
                (pfadd, vec![b"pfadd", b"k", &element]),
                (pfcount, vec![b"pfcount", b"k"]),
            ] {
                let reply = run(&mut ks, handler, &args);
                prop_assert!(matches!(reply.first(), Some(b':' | b'-' | b'+' | b'$' | b'*')));
            }
        }
    }

    #[test]
    fn corrupt_values_get_redis_errors() {
        let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
        run(&mut ks, strings::set, &[b"set", b"s", b"not an hll"]);
        assert_eq!(
            run(&mut ks, pfcount, &[b"pfcount", b"s"]),
            b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
        );
        let mut bad = b"HYLL\x01".to_vec();
        bad.extend_from_slice(&[0; 10]);
        bad.push(0x80); // cached cardinality invalid
        bad.push(0x00); // a single ZERO opcode: 1 register instead of 16384
        run(&mut ks, strings::set, &[b"set", b"b", &bad]);
        assert_eq!(
            run(&mut ks, pfcount, &[b"pfcount", b"b"]),
            b"-INVALIDOBJ Corrupted HLL object detected\r\n"
        );
    }

    #[test]
    fn pfadd_on_corrupt_sparse_keeps_what_it_applied() {
        // Redis 7.0.15: a sparse HLL with one ZERO opcode too many (16385 registers) takes elements
        // until a promotion to dense meets the corruption; those stay, with no dirty count.
        let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
        run(&mut ks, pfadd, &[b"pfadd", b"h", b"1"]);
        run(&mut ks, strings::append, &[b"append", b"h", b"\x00"]);
        let before = run(&mut ks, strings::get, &[b"get", b"h"]);
        let elements: Vec<Vec<u8>> = (0..3000).map(|i| format!("e{i}").into_bytes()).collect();
        let mut args: Vec<&[u8]> = vec![b"pfadd", b"h"];
        args.extend(elements.iter().map(|e| e.as_slice()));
        let mut fx = Effects::default();
        let mut out = Vec::new();
        let mut ctx = Ctx {
            argv: &args,
            out: &mut out,
            proto: Protocol::Resp2,
            db: 0,
            now_ms: 1_000_000,
            fx: &mut fx,
        };
        pfadd(&mut ks, &mut ctx);
        assert_eq!(out, b"-INVALIDOBJ Corrupted HLL object detected\r\n");
        assert_eq!(fx.dirty, 0);
        let after = run(&mut ks, strings::get, &[b"get", b"h"]);
        assert!(
            after.len() > before.len() + 1000,
            "elements before the error stay"
        );
        // An element that changes nothing before the corruption: nothing stored, the same error.
        let again = run(
            &mut ks,
            pfadd,
            &[b"pfadd", b"h", b"e0", b"e1", &elements[2999]],
        );
        assert_eq!(again, b"-INVALIDOBJ Corrupted HLL object detected\r\n");
    }
}
