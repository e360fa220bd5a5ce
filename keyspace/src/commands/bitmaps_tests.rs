//! Bitmap and BITFIELD commands against a `Vec<bool>` model (proptest), plus edge cases of the helpers.

use super::{
    bitcount, bitop, bitop_byte, bitop_into, bitpos, first_bit, getbit, popcount, setbit, BitOp,
};
use crate::commands::bitfield::{
    bitfield, get_signed, get_unsigned, set_bits, signed_overflow, unsigned_overflow, Overflow,
};
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

fn int(reply: &[u8]) -> i64 {
    assert_eq!(reply[0], b':', "{}", String::from_utf8_lossy(reply));
    std::str::from_utf8(&reply[1..reply.len() - 2])
        .unwrap()
        .parse()
        .unwrap()
}

fn get_value(ks: &mut Keyspace<A>, key: &[u8]) -> Vec<u8> {
    let reply = run(ks, strings::get, &[b"get", key]);
    if reply.starts_with(b"$-1") {
        return Vec::new();
    }
    let start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
    reply[start..reply.len() - 2].to_vec()
}

fn model_bytes(bits: &[bool]) -> Vec<u8> {
    let mut bytes = vec![0u8; bits.len().div_ceil(8)];
    for (i, &b) in bits.iter().enumerate() {
        if b {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
    }
    bytes
}

/// The model's bit range `start..=end` (Redis's negative-index and clamping rules), in bits.
/// BITCOUNT's extra rule (both negative and reversed: empty) is checked by its caller.
fn model_range(len_bits: usize, start: i64, end: i64, unit_bits: i64) -> Option<(usize, usize)> {
    let total = len_bits as i64 / unit_bits;
    let s = if start < 0 { start + total } else { start }.max(0);
    let mut e = if end < 0 { end + total } else { end }.max(0);
    if e >= total {
        e = total - 1;
    }
    if s > e {
        return None;
    }
    Some((
        (s * unit_bits) as usize,
        (e * unit_bits + unit_bits - 1) as usize,
    ))
}

#[derive(Debug, Clone)]
enum Step {
    Set(u32, bool),
    Count(i64, i64, bool),
    Pos(bool, i64, i64, bool),
    Field(bool, u32, u32, i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (prop_oneof![0u32..300, 0u32..5000], any::<bool>()).prop_map(|(o, b)| Step::Set(o, b)),
        (-50i64..50, -50i64..50, any::<bool>()).prop_map(|(s, e, b)| Step::Count(s, e, b)),
        (any::<bool>(), -50i64..50, -50i64..50, any::<bool>())
            .prop_map(|(v, s, e, b)| Step::Pos(v, s, e, b)),
        (any::<bool>(), 1u32..64, 0u32..300, any::<i64>())
            .prop_map(|(s, w, o, v)| Step::Field(s, w, o, v)),
    ]
}

proptest! {
    #[test]
    fn bit_commands_match_a_vec_bool_model(steps in proptest::collection::vec(step(), 1..60)) {
        let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
        let mut model: Vec<bool> = Vec::new();
        for s in steps {
            match s {
                Step::Set(offset, on) => {
                    let off = offset.to_string();
                    let v: &[u8] = if on { b"1" } else { b"0" };
                    let old = int(&run(&mut ks, setbit, &[b"setbit", b"k", off.as_bytes(), v]));
                    let o = offset as usize;
                    if model.len() <= o {
                        model.resize((o / 8 + 1) * 8, false);
                    }
                    prop_assert_eq!(old, i64::from(model[o]));
                    model[o] = on;
                    let got = int(&run(&mut ks, getbit, &[b"getbit", b"k", off.as_bytes()]));
                    prop_assert_eq!(got, i64::from(on));
                }
                Step::Count(start, end, bit_unit) => {
                    let (s, e) = (start.to_string(), end.to_string());
                    let unit: &[u8] = if bit_unit { b"BIT" } else { b"BYTE" };
                    let got = int(&run(&mut ks, bitcount, &[b"bitcount", b"k", s.as_bytes(), e.as_bytes(), unit]));
                    let reversed = start < 0 && end < 0 && start > end;
                    let want = model_range(model.len(), start, end, if bit_unit { 1 } else { 8 })
                        .filter(|_| !reversed)
                        .map_or(0, |(a, b)| model[a..=b].iter().filter(|&&x| x).count());
                    prop_assert_eq!(got, want as i64);
                }
                Step::Pos(value, start, end, bit_unit) => {
                    if model.is_empty() {
                        continue;
                    }
                    let (s, e) = (start.to_string(), end.to_string());
                    let unit: &[u8] = if bit_unit { b"BIT" } else { b"BYTE" };
                    let v: &[u8] = if value { b"1" } else { b"0" };
                    let got = int(&run(&mut ks, bitpos, &[b"bitpos", b"k", v, s.as_bytes(), e.as_bytes(), unit]));
                    let unit_bits = if bit_unit { 1 } else { 8 };
                    let range = model_range(model.len(), start.max(-1 << 20), end, unit_bits);
                    let want = range
                        .and_then(|(a, b)| (a..=b).find(|&i| model[i] == value))
                        .map_or(-1, |i| i as i64);
                    prop_assert_eq!(got, want);
                }
                Step::Field(signed, width, offset, value) => {
                    let width = if signed { width + 1 } else { width };
                    let ty = format!("{}{}", if signed { 'i' } else { 'u' }, width);
                    let (off, val) = (offset.to_string(), value.to_string());
                    let reply = run(&mut ks, bitfield, &[b"bitfield", b"k", b"set", ty.as_bytes(), off.as_bytes(), val.as_bytes(), b"get", ty.as_bytes(), off.as_bytes()]);
                    let end = (offset + width) as usize;
                    if model.len() < end {
                        model.resize(end.div_ceil(8) * 8, false);
                    }
                    for i in 0..width as usize {
                        model[offset as usize + i] = (value as u64 >> (width as usize - 1 - i)) & 1 == 1;
                    }
                    let stored = if signed {
                        get_signed(&model_bytes(&model), u64::from(offset), width)
                    } else {
                        get_unsigned(&model_bytes(&model), u64::from(offset), width) as i64
                    };
                    let text = String::from_utf8_lossy(&reply).into_owned();
                    prop_assert!(text.ends_with(&format!(":{stored}\r\n")), "{} {}", text, stored);
                }
            }
            prop_assert_eq!(get_value(&mut ks, b"k"), model_bytes(&model));
        }
    }

    #[test]
    fn bitop_matches_bytewise_model(a in proptest::collection::vec(any::<u8>(), 0..80),
                                    b in proptest::collection::vec(any::<u8>(), 0..80),
                                    c in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut dst = vec![0u8; a.len().max(b.len()).max(c.len())];
        for op in [BitOp::And, BitOp::Or, BitOp::Xor] {
            bitop_into(op, &[&a, &b, &c], &mut dst);
            let want: Vec<u8> = (0..dst.len()).map(|i| bitop_byte(op, &[&a, &b, &c], i)).collect();
            prop_assert_eq!(&dst, &want);
        }
        let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
        run(&mut ks, strings::set, &[b"set", b"a", &a]);
        run(&mut ks, strings::set, &[b"set", b"b", &b]);
        let len = a.len().max(b.len());
        let at = |v: &[u8], i: usize| v.get(i).copied().unwrap_or(0);
        for (op, f) in [(&b"and"[..], (|x, y| x & y) as fn(u8, u8) -> u8), (b"or", |x, y| x | y), (b"xor", |x, y| x ^ y)] {
            let n = int(&run(&mut ks, bitop, &[b"bitop", op, b"d", b"a", b"b"]));
            prop_assert_eq!(n, len as i64);
            let want: Vec<u8> = (0..len).map(|i| f(at(&a, i), at(&b, i))).collect();
            prop_assert_eq!(get_value(&mut ks, b"d"), want);
        }
        run(&mut ks, bitop, &[b"bitop", b"not", b"d", b"a"]);
        let want: Vec<u8> = a.iter().map(|x| !x).collect();
        prop_assert_eq!(get_value(&mut ks, b"d"), want);
        prop_assert_eq!(popcount(&a), a.iter().map(|x| u64::from(x.count_ones())).sum::<u64>());
    }

    #[test]
    fn field_bits_round_trip(value in any::<u64>(), bits in 1u32..=64, offset in 0u64..40) {
        let mut buf = [0u8; 16];
        set_bits(&mut buf, offset, bits, value);
        let mask = if bits == 64 { u64::MAX } else { (1 << bits) - 1 };
        prop_assert_eq!(get_unsigned(&buf, offset, bits), value & mask);
    }

    #[test]
    fn overflow_matches_wide_arithmetic(value in any::<i64>(), incr in any::<i64>(), bits in 1u32..=63) {
        // Unsigned: the stored value is in range, so reduce it first.
        let uv = (value as u64) & ((1u64 << bits) - 1);
        let sum = i128::from(uv) + i128::from(incr);
        let max = (1i128 << bits) - 1;
        let got = unsigned_overflow(uv, incr, bits, Overflow::Sat);
        if sum > max { prop_assert_eq!(got, Some(max as u64)); }
        else if sum < 0 { prop_assert_eq!(got, Some(0)); }
        else { prop_assert_eq!(got, None); }
        let wrapped = unsigned_overflow(uv, incr, bits, Overflow::Wrap).unwrap_or(sum as u64);
        prop_assert_eq!(i128::from(wrapped), sum.rem_euclid(max + 1));
        // Signed.
        let sbits = bits + 1;
        let smax = (1i128 << (sbits - 1)) - 1;
        let sv = (value as i128).clamp(-smax - 1, smax) as i64;
        let ssum = i128::from(sv) + i128::from(incr);
        let got = signed_overflow(sv, incr, sbits, Overflow::Sat);
        if ssum > smax { prop_assert_eq!(got, Some(smax as i64)); }
        else if ssum < -smax - 1 { prop_assert_eq!(got, Some((-smax - 1) as i64)); }
        else { prop_assert_eq!(got, None); }
    }
}

#[test]
fn first_bit_follows_redis_padding_rules() {
    assert_eq!(first_bit(&[0xff, 0xff], false), 16);
    assert_eq!(first_bit(&[0, 0], true), -1);
    assert_eq!(first_bit(&[0, 0x10], true), 11);
    assert_eq!(first_bit(&[0xff, 0xf7], false), 12);
}

#[test]
fn offsets_past_the_bulk_limit_are_refused() {
    let mut ks = Keyspace::<A>::new(1, KeyspaceConfig::default());
    let reply = run(&mut ks, setbit, &[b"setbit", b"k", b"4294967296", b"1"]);
    assert_eq!(
        reply,
        b"-ERR bit offset is not an integer or out of range\r\n"
    );
    let reply = run(&mut ks, setbit, &[b"setbit", b"k", b"-1", b"1"]);
    assert_eq!(
        reply,
        b"-ERR bit offset is not an integer or out of range\r\n"
    );
    let reply = run(&mut ks, setbit, &[b"setbit", b"k", b"1", b"2"]);
    assert_eq!(reply, b"-ERR bit is not an integer or out of range\r\n");
}
