//! Bitmap commands on strings: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP (BITFIELD is in `bitfield.rs`).
//!
//! Bit `i` of a string is bit `7 - i % 8` of byte `i / 8` (the first bit is the most significant bit of the
//! first byte), as in Redis's `bitops.c`. Integer-encoded strings are read through their decimal text.

use super::{is_string, read, reply_oom, write, Ctx, SYNTAX, WRONGTYPE};
use crate::entry::{EntryPtr, Payload, PayloadInit, FLAG_RAW};
use crate::notify;
use crate::num::parse_i64_exact;
use crate::Keyspace;
use std::borrow::Cow;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// Error for an offset that does not parse, is negative or passes `proto-max-bulk-len`.
pub const BAD_OFFSET: &[u8] = b"ERR bit offset is not an integer or out of range";
/// Error for a SETBIT value other than 0 or 1.
const BAD_BIT: &[u8] = b"ERR bit is not an integer or out of range";

/// The string value of an entry as bytes (integers formatted); `None` for a collection.
pub(crate) fn string_value<'a>(entry: EntryPtr) -> Option<Cow<'a, [u8]>> {
    match entry.payload() {
        Payload::Str(bytes) => Some(Cow::Borrowed(bytes)),
        Payload::Int(n) => Some(Cow::Owned(
            itoa::Buffer::new().format(n).as_bytes().to_vec(),
        )),
        Payload::Object(..) => None,
    }
}

/// Redis's `getBitOffsetFromArgument`: a bit offset, with `#n` meaning `n * bits` when `bits > 0`.
/// Replies the error and returns `None` when it is malformed, negative or addresses a byte at or past
/// `proto-max-bulk-len`.
pub(crate) fn parse_bit_offset<A: KvAllocator>(
    ks: &Keyspace<A>,
    ctx: &mut Ctx<'_>,
    idx: usize,
    bits: u32,
) -> Option<u64> {
    let arg = ctx.argv[idx];
    let hash = bits > 0 && arg.first() == Some(&b'#');
    let digits = if hash { &arg[1..] } else { arg };
    let offset = parse_i64_exact(digits).and_then(|n| {
        if hash {
            n.checked_mul(i64::from(bits))
        } else {
            Some(n)
        }
    });
    match offset {
        Some(n) if n >= 0 && ((n >> 3) as u64) < ks.config.string_bytes_max as u64 => {
            Some(n as u64)
        }
        _ => {
            ctx.error(BAD_OFFSET);
            None
        }
    }
}

/// Strings that bit commands make longer than this are stored out of line ([`crate::entry::Kind::BigStr`]), so that
/// growing them again reallocates only their bytes, with spare room, and never the key.
pub const INLINE_BYTES_MAX: usize = 256;

/// Spare room for a string growing to `len` bytes, as Redis's `sdsMakeRoomFor`: double below 1 MiB, then
/// 1 MiB more; never past `limit` (`proto-max-bulk-len`) unless `len` already is.
fn grown_capacity(len: usize, limit: usize) -> usize {
    const MIB: usize = 1024 * 1024;
    let greedy = if len < MIB { len * 2 } else { len + MIB };
    greedy.min(limit.max(len))
}

/// Redis's `lookupStringForBitCommand`: the string at `ctx.argv[1]`, created or zero-padded so that it holds
/// at least `len` bytes, as a raw string. Returns the entry and whether it was created or grown, or `None`
/// after replying an error (wrong type, OOM).
pub(crate) fn string_for_bits<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    len: usize,
) -> Option<(EntryPtr, bool)> {
    let key = ctx.argv[1];
    let old = write(ks, ctx, key);
    let capacity = grown_capacity(len, ks.config.string_bytes_max);
    if let Some(e) = old {
        if !is_string(e) {
            ctx.error(WRONGTYPE);
            return None;
        }
        if let Payload::Str(bytes) = e.payload() {
            if bytes.len() >= len {
                e.set_flag(FLAG_RAW);
                return Some((e, false));
            }
        }
        match e.grow_big_str(A::default(), len, capacity) {
            Ok(true) => return Some((e, true)),
            Ok(false) => {}
            Err(_) => {
                reply_oom(ctx, crate::Oom);
                return None;
            }
        }
    }
    let old_value = old.and_then(string_value);
    let old_bytes: &[u8] = old_value.as_deref().unwrap_or(&[]);
    let new_len = len.max(old_bytes.len());
    let grown = new_len != old_bytes.len() || old.is_none();
    let mut fill = |dst: &mut [u8]| {
        dst[..old_bytes.len()].copy_from_slice(old_bytes);
        dst[old_bytes.len()..].fill(0);
    };
    let init = if new_len <= INLINE_BYTES_MAX {
        PayloadInit::StrWith(new_len, &mut fill)
    } else {
        PayloadInit::BigStrWith {
            len: new_len,
            // A new key gets its exact size, as in Redis; a growing one gets room to grow again.
            capacity: if old.is_some() { capacity } else { new_len },
            fill: &mut fill,
        }
    };
    match ks.set_payload(ctx.db, key, init, None, true, ctx.now_ms) {
        Ok(e) => {
            e.set_flag(FLAG_RAW);
            Some((e, grown))
        }
        Err(oom) => {
            reply_oom(ctx, oom);
            None
        }
    }
}

/// The bytes of the string at `key` for a read command: `Ok(None)` when missing, `Err` after replying
/// WRONGTYPE.
fn read_string<'a, A: KvAllocator>(
    ks: &mut Keyspace<A>,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<Cow<'a, [u8]>>, ()> {
    match read(ks, ctx, key) {
        None => Ok(None),
        Some(e) => match string_value(e) {
            Some(v) => Ok(Some(v)),
            None => {
                ctx.error(WRONGTYPE);
                Err(())
            }
        },
    }
}

/// # Format
/// `SETBIT key offset value`
pub fn setbit<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(offset) = parse_bit_offset(ks, ctx, 2, 0) else {
        return;
    };
    let on = match parse_i64_exact(ctx.argv[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return ctx.error(BAD_BIT),
    };
    let byte = (offset >> 3) as usize;
    let Some((entry, grown)) = string_for_bits(ks, ctx, byte + 1) else {
        return;
    };
    let Some(bytes) = entry.str_mut() else {
        return ctx.error(WRONGTYPE);
    };
    let shift = 7 - (offset & 7) as u32;
    let old = (bytes[byte] >> shift) & 1;
    if grown || old != on {
        bytes[byte] = (bytes[byte] & !(1 << shift)) | (on << shift);
        ctx.fx
            .changed(notify::STRING, "setbit", ctx.db, ctx.argv[1]);
    }
    reply::integer(ctx.out, i64::from(old));
}

/// # Format
/// `GETBIT key offset`
pub fn getbit<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(offset) = parse_bit_offset(ks, ctx, 2, 0) else {
        return;
    };
    let Ok(value) = read_string(ks, ctx, ctx.argv[1]) else {
        return;
    };
    let byte = (offset >> 3) as usize;
    let bit = value
        .as_deref()
        .and_then(|v| v.get(byte))
        .map_or(0, |b| (b >> (7 - (offset & 7))) & 1);
    reply::integer(ctx.out, i64::from(bit));
}

/// Number of set bits in `bytes`.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut count: u64 = chunks
        .by_ref()
        .map(|c| u64::from(u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])).count_ones()))
        .sum();
    count += chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    count
}

/// A resolved range of a string: inclusive byte bounds plus masks of the bits of the first and last byte
/// that lie outside a BIT range (Redis's `first_byte_neg_mask` / `last_byte_neg_mask`).
struct BitRange {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

/// Clamps `start..=end` (negative = from the end) to a string of `len` bytes, in bits when `is_bit`.
fn resolve_range(mut start: i64, mut end: i64, len: i64, is_bit: bool) -> BitRange {
    let total = if is_bit { len << 3 } else { len };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_mask, mut last_mask) = (0, 0);
    if is_bit && start <= end {
        first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    BitRange {
        start,
        end,
        first_mask,
        last_mask,
    }
}

/// Parses an optional `BIT | BYTE` unit at `idx`; replies a syntax error for anything else.
fn parse_unit(ctx: &mut Ctx<'_>, idx: usize) -> Option<bool> {
    match ctx.argv.get(idx) {
        None => Some(false),
        Some(a) if a.eq_ignore_ascii_case(b"bit") => Some(true),
        Some(a) if a.eq_ignore_ascii_case(b"byte") => Some(false),
        Some(_) => {
            ctx.error(SYNTAX);
            None
        }
    }
}

/// # Format
/// `BITCOUNT key [start end [BYTE | BIT]]`
pub fn bitcount<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let value = match read_string(ks, ctx, ctx.argv[1]) {
        Err(()) => return,
        Ok(None) => return reply::integer(ctx.out, 0),
        Ok(Some(v)) => v,
    };
    let range = match ctx.argv.len() {
        2 => BitRange {
            start: 0,
            end: value.len() as i64 - 1,
            first_mask: 0,
            last_mask: 0,
        },
        4 | 5 => {
            let Some(start) = ctx.int_arg(2) else { return };
            let Some(end) = ctx.int_arg(3) else { return };
            if start < 0 && end < 0 && start > end {
                return reply::integer(ctx.out, 0);
            }
            let Some(is_bit) = parse_unit(ctx, 4) else {
                return;
            };
            resolve_range(start, end, value.len() as i64, is_bit)
        }
        _ => return ctx.error(SYNTAX),
    };
    if range.start > range.end {
        return reply::integer(ctx.out, 0);
    }
    let (start, end) = (range.start as usize, range.end as usize);
    let mut count = popcount(&value[start..=end]);
    count -= u64::from((value[start] & range.first_mask).count_ones());
    count -= u64::from((value[end] & range.last_mask).count_ones());
    reply::integer(ctx.out, count as i64);
}

/// Redis's `redisBitpos`: the position of the first bit equal to `bit` in `bytes`; for 0 with none found,
/// the position just past the end (the string is zero-padded on the right); for 1, -1.
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = if bit { bytes[i] } else { !bytes[i] };
            (i as i64) * 8 + i64::from(b.leading_zeros())
        }
        None if bit => -1,
        None => bytes.len() as i64 * 8,
    }
}

/// # Format
/// `BITPOS key bit [start [end [BYTE | BIT]]]`
pub fn bitpos<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let Some(bit) = ctx.int_arg(2) else { return };
    if bit != 0 && bit != 1 {
        return ctx.error(b"ERR The bit argument must be 1 or 0.");
    }
    let bit = bit == 1;
    let value = match read_string(ks, ctx, ctx.argv[1]) {
        Err(()) => return,
        Ok(None) => return reply::integer(ctx.out, if bit { -1 } else { 0 }),
        Ok(Some(v)) => v,
    };
    let len = value.len() as i64;
    let argc = ctx.argv.len();
    let mut end_given = false;
    let range = if argc == 3 {
        resolve_range(0, len - 1, len, false)
    } else if argc <= 6 {
        let Some(start) = ctx.int_arg(3) else { return };
        let Some(is_bit) = parse_unit(ctx, 5) else {
            return;
        };
        let end = if argc >= 5 {
            let Some(end) = ctx.int_arg(4) else { return };
            end_given = true;
            end
        } else if is_bit {
            (len << 3) + 7
        } else {
            len - 1
        };
        resolve_range(start, end, len, is_bit)
    } else {
        return ctx.error(SYNTAX);
    };
    if range.start > range.end {
        return reply::integer(ctx.out, -1);
    }
    let (start, end) = (range.start as usize, range.end as usize);
    let bytes = end - start + 1;
    // Bits outside a BIT range are forced to the value not searched for, so they never match.
    let mask = |b: u8, m: u8| if bit { b & !m } else { b | m };
    let pos = if bytes == 1 {
        first_bit(
            &[mask(mask(value[start], range.first_mask), range.last_mask)],
            bit,
        )
    } else {
        let first = mask(value[start], range.first_mask);
        let last = mask(value[end], range.last_mask);
        let middle = &value[start + 1..end];
        let found = |p: i64, len: usize| p >= 0 && p < (len as i64) * 8;
        let p_first = first_bit(&[first], bit);
        let p_middle = || first_bit(middle, bit);
        let p_last = || first_bit(&[last], bit);
        if found(p_first, 1) {
            p_first
        } else if let Some(p) = Some(p_middle()).filter(|p| found(*p, middle.len())) {
            8 + p
        } else if let Some(p) = Some(p_last()).filter(|p| found(*p, 1)) {
            8 + (middle.len() as i64) * 8 + p
        } else if bit {
            -1
        } else {
            (bytes as i64) * 8
        }
    };
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return reply::integer(ctx.out, -1);
    }
    let pos = if pos == -1 {
        -1
    } else {
        pos + ((start as i64) << 3)
    };
    reply::integer(ctx.out, pos);
}

/// A BITOP operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BitOp {
    /// Bitwise AND.
    And,
    /// Bitwise OR.
    Or,
    /// Bitwise XOR.
    Xor,
    /// Bitwise NOT of a single source.
    Not,
}

/// Byte `idx` of BITOP's result over `sources` (missing bytes count as zero).
pub fn bitop_byte(op: BitOp, sources: &[&[u8]], idx: usize) -> u8 {
    let byte = |s: &[u8]| s.get(idx).copied().unwrap_or(0);
    let first = byte(sources[0]);
    let rest = sources[1..].iter().map(|s| byte(s));
    match op {
        BitOp::Not => !first,
        BitOp::And => rest.fold(first, |acc, b| acc & b),
        BitOp::Or => rest.fold(first, |acc, b| acc | b),
        BitOp::Xor => rest.fold(first, |acc, b| acc ^ b),
    }
}

/// Writes BITOP's result over `sources` into `dst` (its length is the longest source's): eight bytes at a
/// time where every source has data, byte by byte past the shortest.
pub fn bitop_into(op: BitOp, sources: &[&[u8]], dst: &mut [u8]) {
    let common = sources
        .iter()
        .map(|s| s.len())
        .min()
        .unwrap_or(0)
        .min(dst.len());
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let mut at = 0;
    while at + 8 <= common {
        let first = word(sources[0], at);
        let rest = sources[1..].iter().map(|s| word(s, at));
        let value = match op {
            BitOp::Not => !first,
            BitOp::And => rest.fold(first, |acc, w| acc & w),
            BitOp::Or => rest.fold(first, |acc, w| acc | w),
            BitOp::Xor => rest.fold(first, |acc, w| acc ^ w),
        };
        dst[at..at + 8].copy_from_slice(&value.to_ne_bytes());
        at += 8;
    }
    for (i, out) in dst.iter_mut().enumerate().skip(at) {
        *out = bitop_byte(op, sources, i);
    }
}

/// # Format
/// `BITOP AND | OR | XOR | NOT destkey key [key ...]`
pub fn bitop<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let name = ctx.argv[1];
    let op = if name.eq_ignore_ascii_case(b"and") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"or") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"xor") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"not") {
        BitOp::Not
    } else {
        return ctx.error(SYNTAX);
    };
    if op == BitOp::Not && ctx.argv.len() != 4 {
        return ctx.error(b"ERR BITOP NOT must be called with a single source key.");
    }
    let mut sources: Vec<Cow<'_, [u8]>> = Vec::with_capacity(ctx.argv.len() - 3);
    for i in 3..ctx.argv.len() {
        match read_string(ks, ctx, ctx.argv[i]) {
            Err(()) => return,
            Ok(v) => sources.push(v.unwrap_or(Cow::Borrowed(&[]))),
        }
    }
    let slices: Vec<&[u8]> = sources.iter().map(|s| &s[..]).collect();
    let len = slices.iter().map(|s| s.len()).max().unwrap_or(0);
    let dest = ctx.argv[2];
    if len == 0 {
        if ks.delete(ctx.db, dest, ctx.now_ms, ctx.fx) {
            ctx.fx.changed(notify::GENERIC, "del", ctx.db, dest);
        }
        return reply::integer(ctx.out, 0);
    }
    // The result is computed straight into the new entry: the sources stay alive until it replaces `dest`.
    let mut fill = |dst: &mut [u8]| bitop_into(op, &slices, dst);
    let init = PayloadInit::StrWith(len, &mut fill);
    match ks.set_payload(ctx.db, dest, init, None, false, ctx.now_ms) {
        Ok(e) => e.set_flag(FLAG_RAW),
        Err(oom) => return reply_oom(ctx, oom),
    }
    ctx.fx.changed(notify::STRING, "set", ctx.db, dest);
    reply::integer(ctx.out, len as i64);
}

#[cfg(test)]
#[path = "bitmaps_tests.rs"]
mod tests;
