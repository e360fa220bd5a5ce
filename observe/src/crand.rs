//! glibc's `srand`/`rand` (the `TYPE_3` additive feedback generator of `random_r.c`), so LOLWUT's art is
//! drawn from the very sequence redis-server's `rand()` would give for the same seed, and tests can fix it.

/// glibc's `RAND_MAX`.
pub const RAND_MAX: i32 = i32::MAX;

const DEGREE: usize = 31;
const SEPARATION: usize = 3;

/// A `rand()` stream; `CRand::new(seed)` equals glibc after `srand(seed)`.
#[derive(Debug, Clone)]
pub struct CRand {
    state: [i32; DEGREE],
    front: usize,
    rear: usize,
}

impl CRand {
    /// The stream glibc's `rand()` gives after `srand(seed)`.
    pub fn new(seed: u32) -> CRand {
        let seed = if seed == 0 { 1 } else { seed };
        let mut state = [0i32; DEGREE];
        state[0] = seed as i32;
        let mut word = i64::from(seed as i32);
        for slot in state.iter_mut().skip(1) {
            let hi = word / 127_773;
            let lo = word % 127_773;
            word = 16_807 * lo - 2_836 * hi;
            if word < 0 {
                word += 2_147_483_647;
            }
            *slot = word as i32;
        }
        let mut rand = CRand {
            state,
            front: SEPARATION,
            rear: 0,
        };
        for _ in 0..DEGREE * 10 {
            rand.next_value();
        }
        rand
    }

    /// Seeded as redis-server's `main` does: `srand(time(NULL) ^ getpid() ^ tv_usec)`.
    pub fn seeded_at_start(unix_s: u64, pid: u32, usec: u32) -> CRand {
        CRand::new((unix_s as u32) ^ pid ^ usec)
    }

    /// The next `rand()` value, in `0..=RAND_MAX`.
    pub fn next_value(&mut self) -> i32 {
        let sum = (self.state[self.front] as u32).wrapping_add(self.state[self.rear] as u32);
        self.state[self.front] = sum as i32;
        self.front = (self.front + 1) % DEGREE;
        self.rear = (self.rear + 1) % DEGREE;
        (sum >> 1) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_known_values() {
        // glibc: srand(1); rand() ... (the documented first outputs of the default seed).
        let mut r = CRand::new(1);
        let first: Vec<i32> = (0..3).map(|_| r.next_value()).collect();
        assert_eq!(first, [1_804_289_383, 846_930_886, 1_681_692_777]);
        let mut zero = CRand::new(0);
        assert_eq!(zero.next_value(), 1_804_289_383);
    }
}
