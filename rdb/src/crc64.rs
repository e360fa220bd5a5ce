//! Redis's CRC64 (Jones polynomial, reflected, init 0, no final xor), via the `crc` crate.

use crc::{Crc, Digest, Table, CRC_64_REDIS};

/// Slicing-by-16 tables (32 KB): several times faster than byte-at-a-time over whole files, as Redis's own
/// `crcspeed` is.
static REDIS_CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// CRC64 of `data` as Redis's `crc64(0, data, len)`.
pub fn crc64(data: &[u8]) -> u64 {
    REDIS_CRC64.checksum(data)
}

/// A running CRC64 over data that arrives in pieces.
#[derive(Clone)]
pub struct Crc64 {
    digest: Digest<'static, u64, Table<16>>,
}

impl Default for Crc64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc64 {
    /// A new running checksum.
    pub fn new() -> Self {
        Crc64 {
            digest: REDIS_CRC64.digest(),
        }
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
    }

    /// The checksum of everything added so far.
    pub fn value(&self) -> u64 {
        self.digest.clone().finalize()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redis_test_vector() {
        // From Redis's crc64.c self test.
        assert_eq!(super::crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }
}
