//! One trial, run in a fresh child process so its RSS is its own: either `fill` (bytes per key, insert and
//! get throughput) or `cache` (a TTL-heavy cache-aside workload under a memory budget).

use std::time::Instant;

use crate::stores::{self, Store};

/// Simulated clock start (unix ms).
pub const NOW_MS: i64 = 1_700_000_000_000;

/// What the parent asks for, passed as `ZEDIS_SEG_TRIAL=kind,strategy,a,b,c`.
#[derive(Debug, Clone)]
pub enum Spec {
    /// `fill,<strategy>,<keys>,<value_bytes>,<ttl 0|1>`.
    Fill {
        /// `segment`, `pool` or `system`.
        strategy: String,
        /// Keys inserted.
        keys: u64,
        /// Value bytes.
        value_bytes: usize,
        /// Whether every key gets an expiry.
        ttl: bool,
    },
    /// `cache,<strategy>,<universe keys>,<budget bytes>,<ops>`.
    Cache {
        /// `segment`, `pool` or `system`.
        strategy: String,
        /// Distinct keys the workload may ask for.
        universe: u64,
        /// Memory budget.
        budget_bytes: usize,
        /// Operations (GETs, plus a SET after each miss).
        ops: u64,
    },
}

impl Spec {
    /// The environment form.
    pub fn encode(&self) -> String {
        match self {
            Spec::Fill {
                strategy,
                keys,
                value_bytes,
                ttl,
            } => format!("fill,{strategy},{keys},{value_bytes},{}", u8::from(*ttl)),
            Spec::Cache {
                strategy,
                universe,
                budget_bytes,
                ops,
            } => format!("cache,{strategy},{universe},{budget_bytes},{ops}"),
        }
    }

    /// Parses [`Spec::encode`]'s form.
    pub fn decode(text: &str) -> Option<Spec> {
        let parts: Vec<&str> = text.split(',').collect();
        let [kind, strategy, a, b, c] = parts.as_slice() else {
            return None;
        };
        let strategy = (*strategy).to_owned();
        match *kind {
            "fill" => Some(Spec::Fill {
                strategy,
                keys: a.parse().ok()?,
                value_bytes: b.parse().ok()?,
                ttl: *c == "1",
            }),
            "cache" => Some(Spec::Cache {
                strategy,
                universe: a.parse().ok()?,
                budget_bytes: b.parse().ok()?,
                ops: c.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// Runs the trial and prints `name=value` pairs on one line for the parent.
pub fn run(spec: &Spec) {
    let metrics = match spec {
        Spec::Fill {
            strategy,
            keys,
            value_bytes,
            ttl,
        } => match strategy.as_str() {
            "segment" => fill(stores::segment(0), *keys, *value_bytes, *ttl),
            "pool" => fill(stores::pool(0, false), *keys, *value_bytes, *ttl),
            "system" => fill(stores::system(0, false), *keys, *value_bytes, *ttl),
            other => panic!("unknown strategy {other}"),
        },
        Spec::Cache {
            strategy,
            universe,
            budget_bytes,
            ops,
        } => {
            let workload = CacheWorkload::new(*universe);
            match strategy.as_str() {
                "segment" => cache(stores::segment(*budget_bytes), &workload, *ops),
                "pool" => cache(stores::pool(*budget_bytes, true), &workload, *ops),
                "system" => cache(stores::system(*budget_bytes, true), &workload, *ops),
                other => panic!("unknown strategy {other}"),
            }
        }
    };
    let line: Vec<String> = metrics.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("{}", line.join(" "));
}

/// `key:00000000` (12 bytes).
pub fn key(i: u64) -> [u8; 12] {
    let mut k = *b"key:00000000";
    let mut n = i;
    for b in k[4..].iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
    k
}

/// xorshift64.
pub struct Rng(u64);

impl Rng {
    /// Fixed seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `0..1`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// VmRSS and VmHWM of this process, bytes.
pub fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

type Metrics = Vec<(&'static str, f64)>;

/// Inserts `keys` keys, then reads them back in a random order: bytes per key and throughput.
fn fill<S: Store>(mut store: S, keys: u64, value_bytes: usize, ttl: bool) -> Metrics {
    let value = vec![b'v'; value_bytes];
    let (rss_before, _) = rss();
    let start = Instant::now();
    for i in 0..keys {
        // Expiries spread over one to two hours, so over several of the segment store's TTL buckets.
        let expire_at =
            ttl.then(|| NOW_MS + 3_600_000 + (i.wrapping_mul(0x9E37_79B9) % 3_600_000) as i64);
        assert!(
            store.set(&key(i), &value, expire_at, NOW_MS),
            "unlimited budget refused a write"
        );
    }
    let insert_s = start.elapsed().as_secs_f64();
    let (rss_after, hwm) = rss();
    let mut rng = Rng::new(0x5EED);
    let start = Instant::now();
    let mut hits = 0u64;
    for _ in 0..keys {
        hits += u64::from(store.get(&key(rng.next() % keys), NOW_MS));
    }
    let get_s = start.elapsed().as_secs_f64();
    let n = keys as f64;
    let mut m = vec![
        ("keys", store.keys() as f64),
        ("charged_per_key", store.charged_bytes() as f64 / n),
        (
            "rss_per_key",
            rss_after.saturating_sub(rss_before) as f64 / n,
        ),
        ("rss_peak", hwm as f64),
        ("insert_ops_per_s", n / insert_s),
        ("get_ops_per_s", n / get_s),
        ("get_hits", hits as f64),
    ];
    m.extend(store.extras());
    m
}

/// The TTL-heavy cache workload: Zipf(0.99) popularity over `universe` keys (ranks scattered over key
/// indexes), each key with a fixed value size (16/32/64/256 B, weights 4/3/2/1) and a fixed TTL class (no
/// TTL 10%, 5 s 30%, 30 s 30%, 300 s 30%); cache-aside: GET, and SET the key with its TTL after a miss.
pub struct CacheWorkload {
    /// Cumulative Zipf weights, normalised to 1.
    cdf: Vec<f64>,
    universe: u64,
}

/// Multiplier that scatters Zipf ranks over key indexes (a prime; the universe must not be a multiple).
const SCATTER_PRIME: u64 = 2_654_435_761;
/// Zipf exponent.
const ZIPF_S: f64 = 0.99;
/// Simulated milliseconds per operation batch: the clock advances 1 ms every `OPS_PER_SIM_MS` operations.
const OPS_PER_SIM_MS: u64 = 20;
/// Simulated milliseconds between expiry cron ticks (Redis's `hz` 10).
const CRON_SIM_MS: i64 = 100;
/// Share of operations discarded before counting hits.
const WARMUP_SHARE: f64 = 0.2;

impl CacheWorkload {
    /// Precomputes the Zipf table (before the RSS baseline is read).
    pub fn new(universe: u64) -> Self {
        let mut cdf = Vec::with_capacity(universe as usize);
        let mut sum = 0.0;
        for rank in 1..=universe {
            sum += 1.0 / (rank as f64).powf(ZIPF_S);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        CacheWorkload { cdf, universe }
    }

    fn pick(&self, rng: &mut Rng) -> u64 {
        let u = rng.unit();
        let rank = self.cdf.partition_point(|&c| c < u) as u64;
        // Scatter ranks over key indexes: multiplying by a prime that does not divide the universe is a
        // bijection modulo it.
        (u128::from(rank.min(self.universe - 1)) * u128::from(SCATTER_PRIME)
            % u128::from(self.universe)) as u64
    }

    fn value_bytes(i: u64) -> usize {
        match i.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 60 {
            0..=5 => 16,
            6..=10 => 32,
            11..=13 => 64,
            _ => 256,
        }
    }

    fn ttl_ms(i: u64) -> Option<i64> {
        match (i.wrapping_mul(0xA076_1D64_78BD_642F) >> 32) % 10 {
            0 => None,
            1..=3 => Some(5_000),
            4..=6 => Some(30_000),
            _ => Some(300_000),
        }
    }
}

fn cache<S: Store>(mut store: S, w: &CacheWorkload, ops: u64) -> Metrics {
    let value = [b'v'; 256];
    let mut rng = Rng::new(24_301);
    let (rss_before, _) = rss();
    let warmup = (ops as f64 * WARMUP_SHARE) as u64;
    let (mut hits, mut misses, mut refused) = (0u64, 0u64, 0u64);
    let mut now_ms = NOW_MS;
    let mut next_cron = NOW_MS + CRON_SIM_MS;
    let mut charged_max = 0usize;
    let start = Instant::now();
    let mut timed_from = start;
    for op in 0..ops {
        if op == warmup {
            timed_from = Instant::now();
        }
        if op % OPS_PER_SIM_MS == 0 {
            now_ms += 1;
            if now_ms >= next_cron {
                next_cron += CRON_SIM_MS;
                store.cron(now_ms);
                charged_max = charged_max.max(store.charged_bytes());
            }
        }
        let i = w.pick(&mut rng);
        let k = key(i);
        let hit = store.get(&k, now_ms);
        if !hit {
            let bytes = CacheWorkload::value_bytes(i);
            let expire_at = CacheWorkload::ttl_ms(i).map(|t| now_ms + t);
            if !store.set(&k, &value[..bytes], expire_at, now_ms) {
                refused += u64::from(op >= warmup);
            }
        }
        if op >= warmup {
            if hit {
                hits += 1;
            } else {
                misses += 1;
            }
        }
    }
    let timed_s = timed_from.elapsed().as_secs_f64();
    let (rss_end, hwm) = rss();
    let mut m = vec![
        ("hit_ratio", hits as f64 / (hits + misses).max(1) as f64),
        ("ops_per_s", (ops - warmup) as f64 / timed_s),
        ("charged_end", store.charged_bytes() as f64),
        ("charged_max_at_cron", charged_max as f64),
        ("rss_delta_end", rss_end.saturating_sub(rss_before) as f64),
        ("rss_peak", hwm as f64),
        ("keys_end", store.keys() as f64),
        ("refused_timed", refused as f64),
        ("simulated_s", (now_ms - NOW_MS) as f64 / 1000.0),
    ];
    m.extend(store.extras());
    m
}
