//! The `save` points: `save <seconds> <changes> [<seconds> <changes> ...]` (Redis 7.0's default
//! `3600 1 300 100 60 10000`; `save ""` turns them off). The cron starts a BGSAVE when, for one point, at
//! least `changes` writes happened and more than `seconds` passed since the last successful save (after a
//! failed one, not before `BGSAVE_RETRY_DELAY_S`), as Redis's `serverCron`. A BGSAVE SCHEDULE waiting for an
//! AOF rewrite starts here too.

use super::BGSAVE_RETRY_DELAY_S;
use crate::server::Core;
use crate::Strategy;

/// Parses a checked `save` value into (seconds, changes) pairs.
pub fn parse(value: &str) -> Vec<(u64, u64)> {
    let numbers: Vec<u64> = value
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// The point that is due, if any: `dirty` changes, `since_save_s` seconds since the last successful save.
pub fn due(points: &[(u64, u64)], dirty: u64, since_save_s: i64) -> Option<(u64, u64)> {
    points
        .iter()
        .copied()
        .find(|&(seconds, changes)| dirty >= changes && since_save_s > seconds as i64)
}

impl<S: Strategy> Core<S> {
    /// From the cron: starts the BGSAVE a save point or BGSAVE SCHEDULE calls for.
    pub fn save_points_cron(&mut self, now_s: i64) {
        if self.child_active() {
            return;
        }
        let p = &self.engine.persist;
        let retry_allowed = now_s - p.last_bgsave_try_s > BGSAVE_RETRY_DELAY_S || p.last_bgsave_ok;
        if !retry_allowed {
            return;
        }
        if p.bgsave_scheduled {
            self.engine.persist.bgsave_scheduled = false;
            let _ = self.rdb_fork();
            return;
        }
        let dirty = self.engine.stats.changes_since_save;
        if let Some((seconds, changes)) =
            due(&self.settings.save_points, dirty, now_s - p.lastsave_s)
        {
            zedis_deploy::notice!("{changes} changes in {seconds} seconds. Saving...");
            let _ = self.rdb_fork();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn redis_defaults() {
        let points = parse("3600 1 300 100 60 10000");
        assert_eq!(points, vec![(3600, 1), (300, 100), (60, 10000)]);
        assert!(parse("").is_empty());
        assert_eq!(due(&points, 0, 100_000), None, "no change, no save");
        assert_eq!(
            due(&points, 1, 3600),
            None,
            "strictly more than the seconds"
        );
        assert_eq!(due(&points, 1, 3601), Some((3600, 1)));
        assert_eq!(due(&points, 100, 301), Some((300, 100)));
        assert_eq!(due(&points, 10_000, 61), Some((60, 10000)));
    }

    proptest! {
        /// `due` agrees with a direct reading of Redis's rule: some point with enough changes and time.
        #[test]
        fn due_matches_the_rule(
            points in proptest::collection::vec((0u64..5000, 0u64..20000), 0..4),
            dirty in 0u64..30000,
            since in -10i64..10000,
        ) {
            let expected = points.iter().any(|&(s, c)| dirty >= c && since > s as i64);
            let got = due(&points, dirty, since);
            prop_assert_eq!(got.is_some(), expected);
            if let Some((s, c)) = got {
                prop_assert!(dirty >= c && since > s as i64);
            }
        }
    }
}
