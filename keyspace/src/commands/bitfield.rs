//! BITFIELD and BITFIELD_RO: integers of 1 to 64 bits at arbitrary bit offsets of a string.
//!
//! Fields are big-endian bit strings (the first bit of the field is its most significant), like the rest of
//! the bitmap commands. Overflow handling follows Redis's `checkSignedBitfieldOverflow` /
//! `checkUnsignedBitfieldOverflow`: WRAP wraps modulo 2^bits (two's complement for signed fields), SAT
//! saturates, FAIL leaves the field untouched and replies a null.

use super::bitmaps::{parse_bit_offset, string_for_bits, string_value};
use super::{read, Ctx, SYNTAX, WRONGTYPE};
use crate::notify;
use crate::num::parse_i64_exact;
use crate::Keyspace;
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

/// Error for a type that is not `i1..i64` or `u1..u63`.
const BAD_TYPE: &[u8] =
    b"ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// What to do when SET or INCRBY does not fit the field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Overflow {
    /// Wrap around (modulo 2^bits).
    Wrap,
    /// Saturate at the minimum or maximum.
    Sat,
    /// Do nothing and reply null.
    Fail,
}

/// One parsed sub-operation.
#[derive(Clone, Copy, Debug)]
enum Op {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// A field type and position with its operation.
#[derive(Clone, Copy, Debug)]
struct FieldOp {
    op: Op,
    offset: u64,
    bits: u32,
    signed: bool,
    overflow: Overflow,
}

/// Reads `bits` (1..=64) bits at bit `offset` as an unsigned integer. `bytes` must hold them.
pub fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..u64::from(bits) {
        let pos = offset + i;
        let bit = (bytes[(pos >> 3) as usize] >> (7 - (pos & 7))) & 1;
        value = (value << 1) | u64::from(bit);
    }
    value
}

/// Reads `bits` bits at `offset` as a two's complement signed integer.
pub fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let value = get_unsigned(bytes, offset, bits);
    if bits < 64 && value & (1 << (bits - 1)) != 0 {
        (value | (u64::MAX << bits)) as i64
    } else {
        value as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`. `bytes` must hold them.
pub fn set_bits(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let bit = ((value >> (u64::from(bits) - 1 - i)) & 1) as u8;
        let pos = offset + i;
        let byte = &mut bytes[(pos >> 3) as usize];
        let shift = 7 - (pos & 7);
        *byte = (*byte & !(1 << shift)) | (bit << shift);
    }
}

/// Whether `value + incr` overflows an unsigned field of `bits` bits; on overflow, the value to store
/// (wrapped or saturated; meaningless for FAIL).
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > max_incr) {
        Some(if overflow == Overflow::Sat {
            max
        } else {
            wrap()
        })
    } else if incr < 0 && incr < min_incr {
        Some(if overflow == Overflow::Sat { 0 } else { wrap() })
    } else {
        None
    }
}

/// Whether `value + incr` overflows a signed field of `bits` bits; on overflow, the value to store.
pub fn signed_overflow(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrap = || {
        let sum = (value as u64).wrapping_add(incr as u64);
        if bits == 64 {
            sum as i64
        } else if sum & (1 << (bits - 1)) != 0 {
            (sum | (u64::MAX << bits)) as i64
        } else {
            (sum & !(u64::MAX << bits)) as i64
        }
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        Some(if overflow == Overflow::Sat {
            max
        } else {
            wrap()
        })
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(if overflow == Overflow::Sat {
            min
        } else {
            wrap()
        })
    } else {
        None
    }
}

/// Parses `i<bits>` / `u<bits>`; replies the type error on anything else.
fn parse_type(ctx: &mut Ctx<'_>, idx: usize) -> Option<(bool, u32)> {
    let arg = ctx.argv[idx];
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => {
            ctx.error(BAD_TYPE);
            return None;
        }
    };
    match parse_i64_exact(&arg[1..]) {
        Some(bits) if bits >= 1 && bits <= if signed { 64 } else { 63 } => {
            Some((signed, bits as u32))
        }
        _ => {
            ctx.error(BAD_TYPE);
            None
        }
    }
}

/// Parses the sub-operations from argument 2 on; `None` after replying an error.
fn parse_ops<A: KvAllocator>(ks: &Keyspace<A>, ctx: &mut Ctx<'_>) -> Option<Vec<FieldOp>> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < ctx.argv.len() {
        let remaining = ctx.argv.len() - j - 1;
        let sub = ctx.argv[j];
        let is = |name: &[u8]| sub.eq_ignore_ascii_case(name);
        let takes_value = if is(b"get") && remaining >= 2 {
            false
        } else if (is(b"set") || is(b"incrby")) && remaining >= 3 {
            true
        } else if is(b"overflow") && remaining >= 1 {
            let kind = ctx.argv[j + 1];
            overflow = if kind.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if kind.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if kind.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                ctx.error(b"ERR Invalid OVERFLOW type specified");
                return None;
            };
            j += 2;
            continue;
        } else {
            ctx.error(SYNTAX);
            return None;
        };
        let (signed, bits) = parse_type(ctx, j + 1)?;
        let offset = parse_bit_offset(ks, ctx, j + 2, bits)?;
        let op = if takes_value {
            let value = ctx.int_arg(j + 3)?;
            if is(b"set") {
                Op::Set(value)
            } else {
                Op::IncrBy(value)
            }
        } else {
            Op::Get
        };
        ops.push(FieldOp {
            op,
            offset,
            bits,
            signed,
            overflow,
        });
        j += if takes_value { 4 } else { 3 };
    }
    Some(ops)
}

/// Applies a SET or INCRBY to `bytes` and replies its result. Returns whether the stored value changed, or
/// `None` when OVERFLOW FAIL refused the write.
fn apply_write(
    out: &mut Vec<u8>,
    proto: zedis_resp::Protocol,
    bytes: &mut [u8],
    f: &FieldOp,
) -> Option<bool> {
    let (old, new, reply_value, failed) = if f.signed {
        let old = get_signed(bytes, f.offset, f.bits);
        let (base, incr) = match f.op {
            Op::IncrBy(incr) => (old, incr),
            _ => (f.value(), 0),
        };
        let over = signed_overflow(base, incr, f.bits, f.overflow);
        let new = over.unwrap_or(base.wrapping_add(incr));
        let reply_value = if matches!(f.op, Op::IncrBy(_)) {
            new
        } else {
            old
        };
        (old as u64, new as u64, reply_value, over.is_some())
    } else {
        let old = get_unsigned(bytes, f.offset, f.bits);
        let (base, incr) = match f.op {
            Op::IncrBy(incr) => (old, incr),
            _ => (f.value() as u64, 0),
        };
        let over = unsigned_overflow(base, incr, f.bits, f.overflow);
        let new = over.unwrap_or(base.wrapping_add(incr as u64));
        let reply_value = if matches!(f.op, Op::IncrBy(_)) {
            new
        } else {
            old
        };
        (old, new, reply_value as i64, over.is_some())
    };
    if failed && f.overflow == Overflow::Fail {
        reply::null(out, proto);
        return None;
    }
    reply::integer(out, reply_value);
    set_bits(bytes, f.offset, f.bits, new);
    let mask = if f.bits == 64 {
        u64::MAX
    } else {
        (1u64 << f.bits) - 1
    };
    Some(old & mask != new & mask)
}

impl FieldOp {
    fn value(&self) -> i64 {
        match self.op {
            Op::Set(v) | Op::IncrBy(v) => v,
            Op::Get => 0,
        }
    }

    /// The field read from `value` (zero-padded past its end).
    fn get(&self, value: &[u8]) -> i64 {
        let byte = (self.offset >> 3) as usize;
        let mut window = [0u8; 9];
        if let Some(src) = value.get(byte..) {
            let n = src.len().min(9);
            window[..n].copy_from_slice(&src[..n]);
        }
        let offset = self.offset & 7;
        if self.signed {
            get_signed(&window, offset, self.bits)
        } else {
            get_unsigned(&window, offset, self.bits) as i64
        }
    }
}

fn bitfield_generic<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>, read_only: bool) {
    let Some(ops) = parse_ops(ks, ctx) else {
        return;
    };
    let highest_write = ops
        .iter()
        .filter(|f| !matches!(f.op, Op::Get))
        .map(|f| f.offset + u64::from(f.bits) - 1)
        .max();
    let Some(highest) = highest_write else {
        let value = match read(ks, ctx, ctx.argv[1]) {
            None => None,
            Some(e) => match string_value(e) {
                Some(v) => Some(v),
                None => return ctx.error(WRONGTYPE),
            },
        };
        let value = value.as_deref().unwrap_or(&[]);
        reply::array_len(ctx.out, ops.len());
        for f in &ops {
            reply::integer(ctx.out, f.get(value));
        }
        return;
    };
    if read_only {
        return ctx.error(b"ERR BITFIELD_RO only supports the GET subcommand");
    }
    let Some((entry, grown)) = string_for_bits(ks, ctx, (highest >> 3) as usize + 1) else {
        return;
    };
    let Some(bytes) = entry.str_mut() else {
        return ctx.error(WRONGTYPE);
    };
    reply::array_len(ctx.out, ops.len());
    let mut changes = 0u64;
    for f in &ops {
        if let Op::Get = f.op {
            reply::integer(ctx.out, f.get(bytes));
        } else if apply_write(ctx.out, ctx.proto, bytes, f).is_some_and(|changed| changed || grown)
        {
            changes += 1;
        }
    }
    if changes > 0 {
        ctx.fx
            .changed(notify::STRING, "setbit", ctx.db, ctx.argv[1]);
        ctx.fx.dirty += changes - 1;
    }
}

/// # Format
/// `BITFIELD key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value |
/// INCRBY encoding offset increment ...]`
pub fn bitfield<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    bitfield_generic(ks, ctx, false);
}

/// # Format
/// `BITFIELD_RO key [GET encoding offset ...]`
pub fn bitfield_ro<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    bitfield_generic(ks, ctx, true);
}
