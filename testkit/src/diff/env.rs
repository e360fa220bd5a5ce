//! The fuzzers' settings from the environment: `ZEDIS_FUZZ_SEED`, `ZEDIS_FUZZ_SEEDS`, `ZEDIS_FUZZ_OPS`,
//! `ZEDIS_FUZZ_HISTORY`.

/// How many past commands a failure report shows when `ZEDIS_FUZZ_HISTORY` is not set.
pub const HISTORY_LEN: usize = 20;

/// `ZEDIS_FUZZ_SEED`, else one from the clock (below 10^9, short enough to type when replaying it).
///
/// # Panics
/// When `ZEDIS_FUZZ_SEED` is not an integer.
pub fn seed_from_env() -> u64 {
    match std::env::var("ZEDIS_FUZZ_SEED") {
        Ok(s) => s.parse().expect("ZEDIS_FUZZ_SEED must be an integer"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000_000)
            .unwrap_or(1),
    }
}

/// The seeds to run: `ZEDIS_FUZZ_SEEDS` (`a-b` inclusive, or `a,b,c`), else [`seed_from_env`].
///
/// # Panics
/// When a seed is not an integer.
pub fn seeds_from_env() -> Vec<u64> {
    let Ok(list) = std::env::var("ZEDIS_FUZZ_SEEDS") else {
        return vec![seed_from_env()];
    };
    if let Some((a, b)) = list.split_once('-') {
        let (a, b): (u64, u64) = (
            a.trim().parse().expect("ZEDIS_FUZZ_SEEDS: a-b"),
            b.trim().parse().expect("ZEDIS_FUZZ_SEEDS: a-b"),
        );
        return (a..=b).collect();
    }
    list.split(',')
        .map(|s| s.trim().parse().expect("ZEDIS_FUZZ_SEEDS: a,b,c"))
        .collect()
}

/// `ZEDIS_FUZZ_OPS`, else `default`.
pub fn ops_from_env(default: usize) -> usize {
    usize_from_env("ZEDIS_FUZZ_OPS").unwrap_or(default)
}

/// `ZEDIS_FUZZ_HISTORY`, else [`HISTORY_LEN`].
pub fn history_len_from_env() -> usize {
    usize_from_env("ZEDIS_FUZZ_HISTORY").unwrap_or(HISTORY_LEN)
}

fn usize_from_env(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}
