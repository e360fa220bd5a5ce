//! Key → hash slot, as Redis's `keyHashSlot`: CRC16/XMODEM of the key (or of its first `{hash tag}`), modulo
//! 16384; and [`SlotBitmap`], the 2,048-byte slot set the bus carries.

/// Number of hash slots in a cluster.
pub const SLOTS: usize = 16384;

/// Bytes of a slot bitmap (one bit per slot, bit `s % 8` of byte `s / 8`, as Redis's `bitmapTestBit`).
pub const SLOT_BITMAP_BYTES: usize = SLOTS / 8;

/// CRC16 lookup table for the XMODEM polynomial 0x1021, built at compile time.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC16/XMODEM (polynomial 0x1021, initial value 0, no reflection), Redis's `crc16`.
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[usize::from(((crc >> 8) as u8) ^ b)]
    })
}

/// The hash slot of `key`: if it holds a `{` followed later by a `}` with at least one byte between
/// them, only the bytes between the first `{` and the first `}` after it are hashed.
pub fn key_hash_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        None => key,
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
    };
    crc16(hashed) & 0x3FFF
}

/// A set of slots as the 2,048-byte bitmap Redis keeps per node and sends in every bus header.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotBitmap(pub Box<[u8; SLOT_BITMAP_BYTES]>);

impl Default for SlotBitmap {
    fn default() -> Self {
        SlotBitmap(Box::new([0; SLOT_BITMAP_BYTES]))
    }
}

impl std::fmt::Debug for SlotBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ranges()).finish()
    }
}

impl SlotBitmap {
    /// Whether `slot` is set (`slot` below [`SLOTS`]; larger values read as unset).
    pub fn get(&self, slot: u16) -> bool {
        let slot = usize::from(slot);
        slot < SLOTS && self.0[slot / 8] & (1 << (slot & 7)) != 0
    }

    /// Sets or clears `slot`; returns its previous value. Slots out of range are ignored.
    pub fn set(&mut self, slot: u16, on: bool) -> bool {
        let slot = usize::from(slot);
        if slot >= SLOTS {
            return false;
        }
        let old = self.0[slot / 8] & (1 << (slot & 7)) != 0;
        if on {
            self.0[slot / 8] |= 1 << (slot & 7);
        } else {
            self.0[slot / 8] &= !(1 << (slot & 7));
        }
        old
    }

    /// Number of slots set.
    pub fn count(&self) -> u32 {
        self.0.iter().map(|b| b.count_ones()).sum()
    }

    /// Whether no slot is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// The set slots as inclusive `(start, end)` ranges, ascending.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        let mut start: Option<u16> = None;
        for slot in 0..SLOTS as u16 {
            match (self.get(slot), start) {
                (true, None) => start = Some(slot),
                (false, Some(s)) => {
                    out.push((s, slot - 1));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push((s, SLOTS as u16 - 1));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bitwise CRC16/XMODEM, the definition the table must agree with.
    fn crc16_bitwise(bytes: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &b in bytes {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    #[test]
    fn known_vectors() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
        // Values from redis-server 7.0.15's CLUSTER KEYSLOT.
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"bar"), 5061);
        assert_eq!(
            key_hash_slot(b"{user1000}.following"),
            key_hash_slot(b"user1000")
        );
        assert_eq!(key_hash_slot(b"foo{}{bar}"), key_hash_slot(b"foo{}{bar}"));
        assert_eq!(key_hash_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") & 0x3FFF);
        assert_eq!(key_hash_slot(b"foo{{bar}}zap"), key_hash_slot(b"{bar"));
        assert_eq!(key_hash_slot(b"foo{bar}{zap}"), key_hash_slot(b"bar"));
        assert_eq!(key_hash_slot(b"{"), crc16(b"{") & 0x3FFF);
    }

    proptest! {
        #[test]
        fn table_matches_bitwise(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(crc16(&bytes), crc16_bitwise(&bytes));
        }

        #[test]
        fn tag_rule(prefix in "[a-z]{0,5}", tag in "[a-z]{1,5}", suffix in "[a-z{}]{0,5}") {
            let key = format!("{prefix}{{{tag}}}{suffix}");
            prop_assert_eq!(key_hash_slot(key.as_bytes()), key_hash_slot(tag.as_bytes()));
            prop_assert!(key_hash_slot(key.as_bytes()) < SLOTS as u16);
        }

        #[test]
        fn bitmap_ranges_model(slots in proptest::collection::btree_set(0u16..SLOTS as u16, 0..200)) {
            let mut map = SlotBitmap::default();
            for &s in &slots { map.set(s, true); }
            prop_assert_eq!(map.count() as usize, slots.len());
            let expanded: Vec<u16> = map.ranges().iter().flat_map(|&(a, b)| a..=b).collect();
            prop_assert_eq!(expanded, slots.into_iter().collect::<Vec<_>>());
        }
    }
}
