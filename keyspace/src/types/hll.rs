//! HyperLogLog in Redis's own byte representation (Redis 7.0 `hyperloglog.c`), so values move between
//! Redis and Zedis with GET/SET and give the same PFCOUNT.
//!
//! Layout of the string:
//!
//! ```text
//! 0   "HYLL"        magic
//! 4   encoding      0 dense, 1 sparse
//! 5   3 bytes       unused (zero)
//! 8   card          cached cardinality, 8 bytes little endian; bit 7 of byte 15 set = cache invalid
//! 16  registers     dense: 16384 6-bit registers, little-endian bit packing (12288 bytes)
//!                   sparse: opcodes ZERO 00xxxxxx (1..64 zero registers), XZERO 01xxxxxx yyyyyyyy
//!                   (1..16384 zero registers), VAL 1vvvvvxx (1..4 registers of value 1..32)
//! ```
//!
//! Pure functions over byte slices / vectors: no keyspace, no commands. Every reader is bounds-checked, so a
//! corrupt value yields [`Corrupt`] (or a meaningless but finite estimate, as in Redis) and never a panic.

/// Bits of the hash used to pick a register.
pub const P: u32 = 14;
/// Bits left for the zero-run count.
pub const Q: u32 = 64 - P;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Bits per dense register.
const BITS: usize = 6;
/// Largest register value.
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Header bytes.
pub const HDR_BYTES: usize = 16;
/// Size of a dense HLL string.
pub const DENSE_BYTES: usize = HDR_BYTES + (REGISTERS * BITS).div_ceil(8);
/// Encoding byte of a dense HLL.
pub const DENSE: u8 = 0;
/// Encoding byte of a sparse HLL.
pub const SPARSE: u8 = 1;
/// Largest value a sparse VAL opcode holds.
const SPARSE_VAL_MAX_VALUE: u8 = 32;
/// Longest run of a VAL opcode.
const SPARSE_VAL_MAX_LEN: usize = 4;
/// Longest run of a ZERO opcode.
const SPARSE_ZERO_MAX_LEN: usize = 64;
/// Longest run of an XZERO opcode.
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const _: () = assert!(
    REGISTERS <= SPARSE_XZERO_MAX_LEN,
    "one XZERO covers an empty HLL"
);
/// 0.5 / ln(2), the estimator's alpha for m → ∞.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// Redis's hash seed.
const SEED: u64 = 0xadc8_3b19;

/// The representation is invalid (sparse opcodes not covering exactly 16384 registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2, 64-bit version, reading blocks little endian (Redis's endian-neutral variant).
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let mut k = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Redis's `hllPatLen`: the register an element maps to and the length of its zero run plus one.
pub fn pat_len(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash as usize) & (REGISTERS - 1);
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A new, empty sparse HLL (one XZERO opcode; the cached cardinality 0 is valid).
pub fn new_sparse() -> Vec<u8> {
    let mut hll = vec![0u8; HDR_BYTES + 2];
    hll[..4].copy_from_slice(b"HYLL");
    hll[4] = SPARSE;
    let len = REGISTERS - 1;
    hll[HDR_BYTES] = (len >> 8) as u8 | 0x40;
    hll[HDR_BYTES + 1] = (len & 0xff) as u8;
    hll
}

/// Redis's `isHLLObjectOrReply` check: the encoding byte of a well-formed header, or `None`.
pub fn validate(hll: &[u8]) -> Option<u8> {
    if hll.len() < HDR_BYTES || &hll[..4] != b"HYLL" || hll[4] > SPARSE {
        return None;
    }
    if hll[4] == DENSE && hll.len() != DENSE_BYTES {
        return None;
    }
    Some(hll[4])
}

/// The cached cardinality, if valid.
pub fn cached_card(hll: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(hll.get(8..16)?.try_into().ok()?);
    (hll[15] & 0x80 == 0).then_some(card)
}

/// Stores `card` as the valid cached cardinality.
pub fn set_cached_card(hll: &mut [u8], card: u64) {
    hll[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality invalid.
pub fn invalidate_cache(hll: &mut [u8]) {
    hll[15] |= 0x80;
}

/// Register `idx` of a dense register array (a missing trailing byte reads as zero).
pub fn dense_get(registers: &[u8], idx: usize) -> u8 {
    let byte = idx * BITS / 8;
    let fb = (idx * BITS) & 7;
    let b0 = u16::from(registers.get(byte).copied().unwrap_or(0));
    let b1 = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) as u8) & REGISTER_MAX
}

/// Calls `f(index, value)` for every register of a dense register array (four registers per three bytes).
pub fn dense_for_each(registers: &[u8], mut f: impl FnMut(usize, u8)) {
    for (chunk, b) in registers.chunks_exact(3).take(REGISTERS / 4).enumerate() {
        let (b0, b1, b2) = (b[0], b[1], b[2]);
        let i = chunk * 4;
        f(i, b0 & 63);
        f(i + 1, ((b0 >> 6) | (b1 << 2)) & 63);
        f(i + 2, ((b1 >> 4) | (b2 << 4)) & 63);
        f(i + 3, b2 >> 2);
    }
}

/// Sets register `idx` of a dense register array to `value` (at most 63).
pub fn dense_put(registers: &mut [u8], idx: usize, value: u8) {
    let byte = idx * BITS / 8;
    let fb = (idx * BITS) & 7;
    let v = u16::from(value & REGISTER_MAX);
    if let Some(b) = registers.get_mut(byte) {
        *b = (u16::from(*b) & !(u16::from(REGISTER_MAX) << fb) | (v << fb)) as u8;
    }
    if let Some(b) = registers.get_mut(byte + 1) {
        let high_mask = u16::from(REGISTER_MAX) >> (8 - fb);
        *b = ((u16::from(*b) & !high_mask) | (v >> (8 - fb))) as u8;
    }
}

/// Redis's `hllDenseSet`: raises register `idx` to `count`; returns whether it changed.
pub fn dense_set(registers: &mut [u8], idx: usize, count: u8) -> bool {
    if count > dense_get(registers, idx) {
        dense_put(registers, idx, count);
        true
    } else {
        false
    }
}

/// One sparse opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// `run` zero registers (ZERO or XZERO).
    Zero {
        /// Registers covered.
        run: usize,
        /// Whether it is the two-byte XZERO form.
        extended: bool,
    },
    /// `run` registers of value `value`.
    Val {
        /// Register value (1..=32).
        value: u8,
        /// Registers covered (1..=4).
        run: usize,
    },
}

impl Opcode {
    /// Registers covered.
    pub fn run(self) -> usize {
        match self {
            Opcode::Zero { run, .. } | Opcode::Val { run, .. } => run,
        }
    }

    /// Bytes the opcode takes.
    pub fn bytes(self) -> usize {
        match self {
            Opcode::Zero { extended: true, .. } => 2,
            _ => 1,
        }
    }
}

/// Decodes the opcode at `sparse[at]` (a truncated XZERO reads its missing byte as zero, as Redis reads the
/// string's terminator).
pub fn opcode_at(sparse: &[u8], at: usize) -> Opcode {
    let b = sparse[at];
    if b & 0xc0 == 0 {
        Opcode::Zero {
            run: usize::from(b & 0x3f) + 1,
            extended: false,
        }
    } else if b & 0xc0 == 0x40 {
        let low = sparse.get(at + 1).copied().unwrap_or(0);
        Opcode::Zero {
            run: ((usize::from(b & 0x3f) << 8) | usize::from(low)) + 1,
            extended: true,
        }
    } else {
        Opcode::Val {
            value: ((b >> 2) & 0x1f) + 1,
            run: usize::from(b & 3) + 1,
        }
    }
}

fn val_byte(value: u8, run: usize) -> u8 {
    ((value - 1) << 2) | (run as u8 - 1) | 0x80
}

/// Appends the ZERO or XZERO opcode for `run` zero registers.
fn push_zero(seq: &mut Vec<u8>, run: usize) {
    if run > SPARSE_ZERO_MAX_LEN {
        let l = run - 1;
        seq.push((l >> 8) as u8 | 0x40);
        seq.push((l & 0xff) as u8);
    } else {
        seq.push(run as u8 - 1);
    }
}

/// Iterates the opcodes of a sparse register area.
pub fn opcodes(sparse: &[u8]) -> impl Iterator<Item = Opcode> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= sparse.len() {
            return None;
        }
        let op = opcode_at(sparse, at);
        at += op.bytes();
        Some(op)
    })
}

/// Redis's `hllSparseToDense`: the dense form of a sparse HLL (header and cached cardinality kept).
pub fn sparse_to_dense(hll: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut dense = vec![0u8; DENSE_BYTES];
    dense[..HDR_BYTES].copy_from_slice(&hll[..HDR_BYTES]);
    dense[4] = DENSE;
    let registers = &mut dense[HDR_BYTES..];
    let mut idx = 0;
    for op in opcodes(&hll[HDR_BYTES..]) {
        match op {
            Opcode::Zero { run, .. } => idx += run,
            Opcode::Val { value, run } => {
                if idx + run > REGISTERS {
                    break;
                }
                for i in idx..idx + run {
                    dense_put(registers, i, value);
                }
                idx += run;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(dense)
}

/// Redis's `hllSparseSet`: raises register `index` of a sparse HLL to `count`, splitting and merging opcodes
/// exactly as Redis does, and promoting to dense when `count` > 32 or the string would pass
/// `sparse_bytes_max`. Returns whether the register changed.
pub fn sparse_set(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_bytes_max: usize,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    // Step 1: the opcode covering `index`.
    let end = hll.len();
    let (mut at, mut first, mut prev, mut found) = (HDR_BYTES, 0usize, None, None);
    while at < end {
        let op = opcode_at(hll, at);
        if index < first + op.run() {
            found = Some(op);
            break;
        }
        prev = Some(at);
        at += op.bytes();
        first += op.run();
    }
    let Some(op) = found else {
        return Err(Corrupt);
    };
    let last = first + op.run() - 1;
    // Step 2: trivial in-place updates, or the replacement sequence.
    let mut seq: Vec<u8> = Vec::with_capacity(5);
    match op {
        Opcode::Val { value, .. } if value >= count => return Ok(false),
        Opcode::Val { run: 1, .. }
        | Opcode::Zero {
            run: 1,
            extended: false,
        } => {
            hll[at] = val_byte(count, 1);
        }
        Opcode::Zero { .. } => {
            if index != first {
                push_zero(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zero(&mut seq, last - index);
            }
        }
        Opcode::Val { value, .. } => {
            if index != first {
                seq.push(val_byte(value, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(value, last - index));
            }
        }
    }
    // Step 3: splice the sequence in place of the opcode.
    if !seq.is_empty() {
        let old_len = op.bytes();
        if seq.len() > old_len && hll.len() + seq.len() - old_len > sparse_bytes_max {
            return promote(hll, index, count);
        }
        let op_end = (at + old_len).min(hll.len());
        hll.splice(at..op_end, seq);
    }
    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from the previous one.
    let mut p = prev.unwrap_or(HDR_BYTES);
    let mut scan = 5;
    while p < hll.len() && scan > 0 {
        scan -= 1;
        let b = hll[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        } else if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if let (Opcode::Val { value: v1, run: r1 }, Some(&next)) =
            (opcode_at(hll, p), hll.get(p + 1))
        {
            if next & 0x80 != 0 {
                if let Opcode::Val { value: v2, run: r2 } = opcode_at(hll, p + 1) {
                    if v1 == v2 && r1 + r2 <= SPARSE_VAL_MAX_LEN {
                        hll[p + 1] = val_byte(v1, r1 + r2);
                        hll.remove(p);
                        continue;
                    }
                }
            }
        }
        p += 1;
    }
    invalidate_cache(hll);
    Ok(true)
}

/// Converts to dense, then sets the register (which, by construction, changes).
fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    *hll = sparse_to_dense(hll)?;
    Ok(dense_set(&mut hll[HDR_BYTES..], index, count))
}

/// Redis's `hllAdd` on a validated HLL: returns whether a register changed.
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_bytes_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(element);
    match hll[4] {
        DENSE => Ok(dense_set(&mut hll[HDR_BYTES..], index, count)),
        SPARSE => sparse_set(hll, index, count, sparse_bytes_max),
        _ => Err(Corrupt),
    }
}

/// Redis's `hllMerge`: raises `max[i]` to each register of `hll` (validated).
pub fn merge_into(max: &mut [u8], hll: &[u8]) -> Result<(), Corrupt> {
    let regs = &hll[HDR_BYTES..];
    if hll[4] == DENSE {
        dense_for_each(regs, |i, v| {
            if let Some(m) = max.get_mut(i) {
                *m = (*m).max(v);
            }
        });
        return Ok(());
    }
    let mut idx = 0;
    for op in opcodes(regs) {
        match op {
            Opcode::Zero { run, .. } => idx += run,
            Opcode::Val { value, run } => {
                if idx + run > REGISTERS {
                    break;
                }
                for m in &mut max[idx..idx + run] {
                    *m = (*m).max(value);
                }
                idx += run;
            }
        }
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The improved estimator of Redis 7 (Ertl's) over a register-value histogram.
pub fn estimate(histogram: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(histogram[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(histogram[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// Redis's `hllCount` of a validated HLL; `Err` when sparse opcodes do not cover 16384 registers.
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let mut histogram = [0u32; 64];
    let regs = &hll[HDR_BYTES..];
    if hll[4] == DENSE {
        dense_for_each(regs, |_, v| histogram[usize::from(v)] += 1);
    } else {
        let mut idx = 0usize;
        for op in opcodes(regs) {
            match op {
                Opcode::Zero { run, .. } => histogram[0] = histogram[0].wrapping_add(run as u32),
                Opcode::Val { value, run } => {
                    let slot = &mut histogram[usize::from(value)];
                    *slot = slot.wrapping_add(run as u32);
                }
            }
            idx = idx.saturating_add(op.run());
        }
        if idx != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(estimate(&histogram))
}

/// The estimate over raw one-byte-per-register values (PFCOUNT of several keys).
pub fn count_raw(max: &[u8]) -> u64 {
    let mut histogram = [0u32; 64];
    for &v in max {
        histogram[usize::from(v & 63)] += 1;
    }
    estimate(&histogram)
}

/// PFDEBUG DECODE's text: `z:N`, `Z:N` and `v:VALUE,N` opcodes separated by spaces.
pub fn decode(hll: &[u8]) -> String {
    let mut text = String::new();
    for op in opcodes(&hll[HDR_BYTES..]) {
        let item = match op {
            Opcode::Zero {
                run,
                extended: false,
            } => format!("z:{run}"),
            Opcode::Zero {
                run,
                extended: true,
            } => format!("Z:{run}"),
            Opcode::Val { value, run } => format!("v:{value},{run}"),
        };
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&item);
    }
    text
}

#[cfg(test)]
#[path = "hll_tests.rs"]
mod tests;
