//! The generator core both fuzzers share: the seeded PRNG, the comparison modes and the generated command.

/// A deterministic PRNG (xorshift64*): the whole run is reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (the state is never 0, which xorshift cannot leave).
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed: neighbouring seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// A generator whose state is `state` as given (no mixing; `state` must not be 0), for tests that fixed
    /// their data to a plain xorshift64* stream.
    pub fn from_state(state: u64) -> Rng {
        assert_ne!(state, 0, "xorshift cannot leave state 0");
        Rng(state)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }

    /// One element of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a [u8]]) -> &'a [u8] {
        items[self.below(items.len())]
    }
}

/// How the two replies to a command are compared (each fuzzer's docs say which commands need which, and why).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Norm {
    /// Byte for byte.
    Exact,
    /// An aggregate compared as a multiset of its elements (set and hash iteration order).
    Multiset,
    /// A flat `[k, v, k, v]` array or a map compared as a set of pairs.
    Pairs,
    /// Only types and lengths (random picks: SRANDMEMBER, HRANDFIELD, RANDOMKEY, SPOP, ZRANDMEMBER,
    /// GEOSEARCH ... ANY, SORT BY nosort LIMIT on a set).
    Shape,
    /// `[cursor, elements]`: the cursor exactly, the elements as a multiset.
    Scan,
    /// `[cursor, [k, v, ...]]`: the cursor exactly, the elements as pairs.
    ScanPairs,
    /// A non-negative integer within this tolerance (TTLs and absolute expire times); negatives exactly.
    Within(i64),
    /// `:0` or `:1` on both sides (errors exactly): EXPIRE/PEXPIRE with GT or LT, whose answer for an equal
    /// relative TTL depends on whether a millisecond passed since the previous one was set.
    Flag,
    /// EXEC: each element compared with the mode of the command queued at its position.
    Exec,
    /// XPENDING's extended form: `[[id, consumer, idle-ms, deliveries], ...]` with the idle time (elapsed
    /// wall-clock milliseconds since delivery) ignored.
    Pending,
}

/// One generated command.
pub struct Op {
    /// The arguments, name first.
    pub args: Vec<Vec<u8>>,
    /// How the replies are compared.
    pub norm: Norm,
    /// A deterministic command sent after this one (unless it failed) to make the two keyspaces equal again
    /// (a `DEL` after SPOP, an `EXISTS` after a 1 ms expiry).
    pub fixup: Option<Vec<Vec<u8>>>,
    /// Milliseconds to wait before the fixup (a 1 ms expiry must have passed on both servers).
    pub settle_ms: u64,
}

impl Op {
    /// An op compared with `norm`, with no fixup.
    pub fn new(args: Vec<Vec<u8>>, norm: Norm) -> Op {
        Op {
            args,
            norm,
            fixup: None,
            settle_ms: 0,
        }
    }
}

/// Builds an argument vector from byte slices.
pub fn argv(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}
