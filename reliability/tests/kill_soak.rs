//! kill -9 at random moments under `appendfsync always` with several writers, sometimes during an AOF rewrite,
//! round after round on the same directory: after every restart, every write acknowledged in any round is there.
//! (`server/tests/aof.rs` has the single-kill version that runs in CI.) The seed is printed;
//! `ZEDIS_FAULTS_SEED=<n>` replays a run.

use std::time::Duration;
use zedis_reliability::{Acked, Kind, ServerProcess, TempDir, Writers};

/// xorshift64*.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
#[ignore = "slow (10 kills and restarts): run by scripts/faults.sh"]
fn soak_kill9_at_random_moments_under_appendfsync_always() {
    let seed = std::env::var("ZEDIS_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    eprintln!("seed {seed} (ZEDIS_FAULTS_SEED={seed} replays it)");
    let mut rng = seed;
    let dir = TempDir::new("kill-soak");
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut server = ServerProcess::start(Kind::Zedis, dir.path(), &args).unwrap();
    let mut rounds: Vec<Acked> = Vec::new();
    for round in 0..10 {
        let writers = Writers::start(server.port, 4, &format!("r{round}w"));
        std::thread::sleep(Duration::from_millis(50 + next(&mut rng) % 1500));
        let rewrite = next(&mut rng) % 3 == 0;
        if rewrite {
            let mut conn = server.conn();
            let _: redis::RedisResult<String> = redis::cmd("BGREWRITEAOF").query(&mut conn);
            std::thread::sleep(Duration::from_millis(next(&mut rng) % 300));
        }
        server.kill9();
        let acked = writers.finish();
        eprintln!(
            "round {round}: {} writes acknowledged{}",
            acked.total(),
            if rewrite { ", rewrite started" } else { "" }
        );
        rounds.push(acked);
        server.restart().unwrap();
        let mut conn = server.conn();
        for (r, acked) in rounds.iter().enumerate() {
            let lost = acked.missing(&mut conn);
            assert_eq!(
                lost, 0,
                "seed {seed}, after round {round}: {lost} of round {r} lost"
            );
        }
    }
}
