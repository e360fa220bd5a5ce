//! In-process comparison of the segment store (`allocators/segment`, Segcache-style) with the keyspace under
//! the KV pool and under the system allocator (issue 25 groundwork; no server involved).
//!
//! ```sh
//! cargo bench -p zedis-bench --bench segment_store            # full run, writes experiments/results/segment/
//! ZEDIS_SEG_KEYS=100000 ZEDIS_SEG_CACHE_OPS=1000000 ZEDIS_SEG_ROUNDS=1 cargo bench -p zedis-bench --bench segment_store
//! ```
//!
//! Two experiments, every trial in a fresh child process (this binary re-run with `ZEDIS_SEG_TRIAL` set) so
//! that its RSS is its own; strategies alternate order each round, as in `zedis-bench run`:
//! - `fill`: `ZEDIS_SEG_KEYS` keys (default 1,000,000; `key:00000000`, 12 bytes) with 16/32/64/256-byte
//!   values, with and without an expiry: bytes per key charged to the budget and in RSS, then SET (insert)
//!   and GET (uniform, all hits) throughput;
//! - `cache`: a TTL-heavy cache-aside workload (`trial::CacheWorkload`: mixed TTLs, mixed sizes, Zipf 0.99
//!   reads over `ZEDIS_SEG_UNIVERSE` keys, default 1,000,000) on a simulated clock under budgets of 12, 24
//!   and 36 MiB and none: hit ratio, memory and throughput. The keyspace evicts with `allkeys-lru` (its `reclaim`, as the
//!   server calls it before a write) and runs Redis's active expire cycle every 100 simulated ms; the
//!   segment store evicts by segment merge and frees expired segments whole on the same tick.
//!
//! Output in `ZEDIS_SEG_OUT` (default `<workspace>/experiments/results/segment/`): `fill.csv`, `cache.csv`
//! (every trial), `report.md` (medians and min–max), SVG plots.

mod output;
mod stores;
mod trial;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use trial::Spec;

const STRATEGIES: [&str; 3] = ["segment", "pool", "system"];
const VALUE_BYTES: [usize; 4] = [16, 32, 64, 256];
/// Budgets of the cache workload; 0 is unlimited (the hit-ratio ceiling and the unconstrained footprint,
/// about 48 MB for the keyspace under the pool at the default scale, so 12/24/36 MiB are about 1/4, 1/2, 3/4).
const CACHE_BUDGETS_MIB: [usize; 4] = [0, 12, 24, 36];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One finished trial: its spec, round and metrics.
pub struct Done {
    /// What ran.
    pub spec: Spec,
    /// Round from 0.
    pub round: usize,
    /// Metric name to value.
    pub metrics: BTreeMap<String, f64>,
}

fn run_child(spec: &Spec) -> Result<BTreeMap<String, f64>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .env("ZEDIS_SEG_TRIAL", spec.encode())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    Ok(line
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect())
}

fn main() {
    if let Ok(text) = std::env::var("ZEDIS_SEG_TRIAL") {
        let spec = Spec::decode(&text).expect("ZEDIS_SEG_TRIAL");
        trial::run(&spec);
        return;
    }
    let keys: u64 = env_or("ZEDIS_SEG_KEYS", 1_000_000);
    let universe: u64 = env_or("ZEDIS_SEG_UNIVERSE", 1_000_000);
    let cache_ops: u64 = env_or("ZEDIS_SEG_CACHE_OPS", 5_000_000);
    let rounds: usize = env_or("ZEDIS_SEG_ROUNDS", 3);
    let out_dir: PathBuf = std::env::var("ZEDIS_SEG_OUT").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../experiments/results/segment"),
        PathBuf::from,
    );
    let mut specs = Vec::new();
    for value_bytes in VALUE_BYTES {
        for ttl in [false, true] {
            for strategy in STRATEGIES {
                specs.push(Spec::Fill {
                    strategy: strategy.into(),
                    keys,
                    value_bytes,
                    ttl,
                });
            }
        }
    }
    for budget_mib in CACHE_BUDGETS_MIB {
        for strategy in STRATEGIES {
            specs.push(Spec::Cache {
                strategy: strategy.into(),
                universe,
                budget_bytes: budget_mib << 20,
                ops: cache_ops,
            });
        }
    }
    let mut done = Vec::new();
    for round in 0..rounds {
        // Alternate the strategy order within each point (the specs are grouped by point, 3 at a time).
        for group in specs.chunks(STRATEGIES.len()) {
            let order: Vec<&Spec> = if round % 2 == 1 {
                group.iter().rev().collect()
            } else {
                group.iter().collect()
            };
            for spec in order {
                eprintln!("round {} {}", round + 1, spec.encode());
                match run_child(spec) {
                    Ok(metrics) => done.push(Done {
                        spec: spec.clone(),
                        round,
                        metrics,
                    }),
                    Err(error) => eprintln!("trial failed: {}: {error}", spec.encode()),
                }
            }
        }
    }
    let settings = output::Settings {
        keys,
        universe,
        cache_ops,
        rounds,
        budgets_mib: CACHE_BUDGETS_MIB.to_vec(),
        value_bytes: VALUE_BYTES.to_vec(),
        strategies: STRATEGIES.to_vec(),
    };
    if let Err(error) = output::write_all(&out_dir, &settings, &done) {
        eprintln!("writing results: {error}");
        std::process::exit(1);
    }
    eprintln!("report: {}", out_dir.join("report.md").display());
}
