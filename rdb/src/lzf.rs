//! LZF, as Redis's `lzf_c.c` (HLOG 16, VERY_FAST) and `lzf_d.c` implement it.
//!
//! Compression reproduces Redis's output byte for byte, assuming its hash table starts empty (Redis
//! leaves it uninitialised, where stale slots can only ever point at real matches).

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// The hash table, kept per thread: each slot holds `generation << 32 | (position + 1)`, so a
/// new call starts from an empty table without clearing 2^16 slots.
struct HashTable {
    slots: Vec<u64>,
    generation: u64,
}

thread_local! {
    static TABLE: std::cell::RefCell<HashTable> = const {
        std::cell::RefCell::new(HashTable { slots: Vec::new(), generation: 0 })
    };
}

/// Compresses `input` into at most `out_len` bytes; `None` when it does not fit (as `lzf_compress`
/// returning 0).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if input.len() >= u32::MAX as usize {
        return None;
    }
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        if t.slots.is_empty() || t.generation >= u32::MAX as u64 {
            t.slots = vec![0; HSIZE];
            t.generation = 0;
        }
        t.generation += 1;
        let generation = t.generation;
        compress_with(
            input,
            out_len,
            &mut Slots {
                slots: &mut t.slots,
                generation,
            },
        )
    })
}

/// The table of one call: positions + 1 of this generation, 0 for anything older.
struct Slots<'a> {
    slots: &'a mut [u64],
    generation: u64,
}

impl Slots<'_> {
    fn get(&self, i: usize) -> u32 {
        let v = self.slots[i];
        if v >> 32 == self.generation {
            v as u32
        } else {
            0
        }
    }

    fn set(&mut self, i: usize, pos_plus_one: u32) {
        self.slots[i] = (self.generation << 32) | pos_plus_one as u64;
    }
}

fn compress_with(input: &[u8], out_len: usize, htab: &mut Slots<'_>) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return None;
    }
    // Slot = position + 1 (0 = empty).
    let mut out = vec![0u8; out_len];
    let mut op = 1usize; // start run
    let mut lit = 0usize;
    let mut ip = 0usize;
    let at = |i: usize| input[i] as u32;
    let mut hval: u32 = if in_len >= 2 { (at(0) << 8) | at(1) } else { 0 };
    while in_len >= 3 && ip < in_len - 2 {
        hval = (hval << 8) | at(ip + 2);
        let slot = idx(hval);
        let stored = htab.get(slot) as usize;
        htab.set(slot, (ip + 1) as u32);
        let matched = stored > 1 && {
            let r = stored - 1;
            ip - r - 1 < MAX_OFF
                && input[r + 2] == input[ip + 2]
                && input[r] == input[ip]
                && input[r + 1] == input[ip + 1]
        };
        if matched {
            let r = stored - 1;
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(MAX_REF);
            if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            'scan: {
                if maxlen > 16 {
                    // Redis unrolls 16 steps without the bound check; the end of a match can
                    // therefore pass `maxlen` by up to two bytes, still inside the input.
                    for _ in 0..16 {
                        len += 1;
                        if input[r + len] != input[ip + len] {
                            break 'scan;
                        }
                    }
                }
                loop {
                    len += 1;
                    if len >= maxlen || input[r + len] != input[ip + len] {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip >= in_len - 2 {
                break;
            }
            ip -= 2;
            hval = (at(ip) << 8) | at(ip + 1);
            hval = (hval << 8) | at(ip + 2);
            htab.set(idx(hval), (ip + 1) as u32);
            ip += 1;
            hval = (hval << 8) | at(ip + 2);
            htab.set(idx(hval), (ip + 1) as u32);
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            push_literal(&mut out, &mut op, &mut lit, input[ip]);
            ip += 1;
        }
    }
    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        push_literal(&mut out, &mut op, &mut lit, input[ip]);
        ip += 1;
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// Appends one literal byte at `op` to the current literal run of `lit` bytes; a run that reaches
/// `MAX_LIT` gets its length byte and the next run's length byte is reserved (`lzf_c.c`'s literal copy).
#[inline(always)]
fn push_literal(out: &mut [u8], op: &mut usize, lit: &mut usize, byte: u8) {
    *lit += 1;
    out[*op] = byte;
    *op += 1;
    if *lit == MAX_LIT {
        out[*op - *lit - 1] = (*lit - 1) as u8;
        *lit = 0;
        *op += 1;
    }
}

/// Decompresses `input`, which must expand to exactly `expected_len` bytes. The output grows with
/// what the input really produces, so a false `expected_len` allocates nothing up front.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, &'static str> {
    let mut out: Vec<u8> = Vec::with_capacity(expected_len.min(input.len().saturating_mul(4)));
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < (1 << 5) {
            let run = ctrl + 1;
            if out.len() + run > expected_len {
                return Err("LZF output longer than declared");
            }
            let lits = input
                .get(ip..ip + run)
                .ok_or("LZF literal run past the input")?;
            out.extend_from_slice(lits);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip).ok_or("LZF back reference past the input")? as usize;
                ip += 1;
            }
            let low = *input.get(ip).ok_or("LZF back reference past the input")? as usize;
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let len = len + 2;
            if out.len() + len > expected_len {
                return Err("LZF output longer than declared");
            }
            if back > out.len() {
                return Err("LZF back reference before the start");
            }
            let start = out.len() - back;
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    if out.len() != expected_len {
        return Err("LZF output shorter than declared");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repetitive_input_compresses() {
        let data = b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let c = compress(data, data.len() - 4).unwrap();
        assert!(c.len() < 10);
        assert_eq!(decompress(&c, data.len()).unwrap(), data.to_vec());
    }

    proptest! {
        #[test]
        fn roundtrip(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..3000)) {
            if let Some(c) = compress(&data, data.len() + 64) {
                prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
            }
        }

        #[test]
        fn decompress_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), n in 0usize..5000) {
            let _ = decompress(&data, n);
        }
    }
}
