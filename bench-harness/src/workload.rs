//! Workload parameters (the `[workload]` table after point overrides), a xorshift generator and the key
//! popularity and value size samplers.

use std::sync::Arc;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// What a trial does to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Fill, then a timed GET/SET/DEL mix.
    Kv,
    /// Open many idle connections and measure memory per connection.
    IdleConnections,
    /// Connect, PING, disconnect in a loop.
    ConnectChurn,
    /// One publisher fanning out to many subscribers.
    Pubsub,
}

/// Key popularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Distribution {
    /// Every key equally likely.
    Uniform,
    /// Key of rank k has weight 1/k^zipf_s.
    Zipf,
}

/// All workload parameters, with defaults for every field.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// What the trial does.
    pub kind: Kind,
    /// Client connections (kv load and connect churn threads).
    pub connections: usize,
    /// Commands per batch on each connection (kv) or per publisher batch (pubsub).
    pub pipeline: usize,
    /// Distinct keys; the fill phase writes each once.
    pub keys: u64,
    /// Key popularity in the timed phase.
    pub distribution: Distribution,
    /// Zipf exponent.
    pub zipf_s: f64,
    /// Value size when `value_bytes_mix` is empty.
    pub value_bytes: usize,
    /// Weighted value sizes: `[[bytes, weight], ...]`.
    pub value_bytes_mix: Vec<(usize, u32)>,
    /// Share of timed-phase commands that are GET.
    pub read_ratio: f64,
    /// Share of timed-phase commands that are DEL (the rest are SET).
    pub del_ratio: f64,
    /// Share of keys written with a TTL (`SET .. EX ttl_s`); which keys is fixed by key index.
    pub ttl_share: f64,
    /// TTL in seconds for those keys.
    pub ttl_s: u64,
    /// Weighted TTLs in seconds, `[[seconds, weight], ...]`, instead of `ttl_s` when not empty; each key
    /// with a TTL gets a fixed one drawn by its index.
    pub ttl_s_mix: Vec<(u64, u32)>,
    /// Write every key before the timed phase.
    pub fill: bool,
    /// After a GET miss, SET the key in the next batch (cache-aside).
    pub set_on_miss: bool,
    /// Timed phase length in seconds (kv, churn); the pubsub timeout.
    pub duration_s: f64,
    /// Seconds at the start of the timed phase whose results are discarded.
    pub warmup_s: f64,
    /// `{maxmemory}` in default command lines (Redis syntax, `0` = unlimited).
    pub maxmemory: String,
    /// `{policy}` in default command lines unless the server sets its own.
    pub policy: String,
    /// After the fill, `CONFIG SET maxmemory` to empty used_memory + this share of what the fill added.
    pub budget_fraction: Option<f64>,
    /// Memory sampling interval.
    pub sample_ms: u64,
    /// Idle connections to open (idle-connections).
    pub idle_connections: usize,
    /// Wait before each idle-connection memory reading, so the server's periodic buffer trimming (Redis shrinks
    /// idle query buffers after 2 s) shows.
    pub settle_ms: u64,
    /// Subscriber connections (pubsub).
    pub subscribers: usize,
    /// Messages the publisher sends (pubsub).
    pub messages: u64,
    /// Payload size of each message (pubsub), at least 16.
    pub message_bytes: usize,
    /// Seed for the generators (each connection derives its own).
    pub seed: u64,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            kind: Kind::Kv,
            connections: 4,
            pipeline: 1,
            keys: 100_000,
            distribution: Distribution::Uniform,
            zipf_s: 0.99,
            value_bytes: 100,
            value_bytes_mix: Vec::new(),
            read_ratio: 0.9,
            del_ratio: 0.0,
            ttl_share: 0.0,
            ttl_s: 3600,
            ttl_s_mix: Vec::new(),
            fill: true,
            set_on_miss: false,
            duration_s: 10.0,
            warmup_s: 0.0,
            maxmemory: "0".into(),
            policy: "noeviction".into(),
            budget_fraction: None,
            sample_ms: 250,
            idle_connections: 1000,
            settle_ms: 300,
            subscribers: 50,
            messages: 100_000,
            message_bytes: 64,
            seed: 0x5eed,
        }
    }
}

impl Workload {
    /// Deserializes and checks a workload table.
    pub fn from_table(table: &toml::Table) -> Result<Workload> {
        let workload: Workload = table.clone().try_into()?;
        workload.check()?;
        Ok(workload)
    }

    fn check(&self) -> Result<()> {
        if self.connections == 0 || self.pipeline == 0 || self.keys == 0 {
            bail!("connections, pipeline and keys must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.read_ratio)
            || !(0.0..=1.0).contains(&(self.read_ratio + self.del_ratio))
        {
            bail!("read_ratio + del_ratio must lie in 0..=1");
        }
        if !(0.0..=1.0).contains(&self.ttl_share) {
            bail!("ttl_share must lie in 0..=1");
        }
        if self.value_bytes_mix.iter().all(|&(_, w)| w == 0) && !self.value_bytes_mix.is_empty() {
            bail!("value_bytes_mix needs a positive weight");
        }
        if self.message_bytes < 16 {
            bail!("message_bytes must be at least 16 (the sequence number)");
        }
        if let Some(f) = self.budget_fraction {
            if !(f > 0.0 && f <= 1.0) {
                bail!("budget_fraction must lie in (0, 1]");
            }
        }
        if self.duration_s <= 0.0 || self.warmup_s < 0.0 || self.warmup_s >= self.duration_s {
            bail!("need duration_s > warmup_s >= 0");
        }
        Ok(())
    }

    /// Scales the workload down for smoke runs: a tenth of the time, keys and messages, a fifth of the idle
    /// connections.
    pub fn quick(&mut self) {
        self.duration_s = (self.duration_s / 10.0).max(1.0);
        self.warmup_s = (self.warmup_s / 10.0).min(self.duration_s / 4.0);
        self.keys = (self.keys / 10).max(1000);
        self.messages = (self.messages / 10).max(1000);
        self.idle_connections = (self.idle_connections / 5).max(50);
    }

    /// The largest value the workload writes.
    pub fn value_bytes_max(&self) -> usize {
        self.value_bytes_mix
            .iter()
            .map(|&(b, _)| b)
            .max()
            .unwrap_or(self.value_bytes)
    }

    /// Whether key `index` is written with a TTL (a fixed, well-spread choice per key).
    pub fn has_ttl(&self, index: u64) -> bool {
        self.ttl_share > 0.0 && (mix64(index ^ self.seed) as f64 / u64::MAX as f64) < self.ttl_share
    }

    /// Key `index`'s TTL in seconds, if it has one: `ttl_s`, or a fixed draw from `ttl_s_mix`.
    pub fn ttl_of(&self, index: u64) -> Option<u64> {
        if !self.has_ttl(index) {
            return None;
        }
        let total: u64 = self.ttl_s_mix.iter().map(|&(_, w)| u64::from(w)).sum();
        if total == 0 {
            return Some(self.ttl_s);
        }
        let mut pick = mix64(index.rotate_left(17) ^ self.seed ^ 0x7711) % total;
        for &(seconds, weight) in &self.ttl_s_mix {
            if pick < u64::from(weight) {
                return Some(seconds);
            }
            pick -= u64::from(weight);
        }
        Some(self.ttl_s)
    }
}

/// The key name for an index.
pub fn key_name(index: u64) -> Vec<u8> {
    format!("key:{index:012}").into_bytes()
}

/// SplitMix64's finalizer: a well-mixed hash of a counter.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Xorshift64*: small and fast; quality is ample for load generation.
#[derive(Debug, Clone)]
pub struct Rng {
    /// Never zero.
    state: u64,
}

impl Rng {
    /// A generator from any seed.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: mix64(seed) | 1,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// Picks key indexes: uniform, or Zipf by inverse CDF over a shared table.
#[derive(Debug, Clone)]
pub enum KeyPicker {
    /// `0..keys` uniformly.
    Uniform(u64),
    /// `cdf[k]` = P(rank <= k); ranks are scattered over key indexes so hot keys are not neighbours.
    Zipf(Arc<Vec<f64>>),
}

impl KeyPicker {
    /// Builds the picker for a workload (the Zipf table costs 8 bytes per key, built once).
    pub fn new(workload: &Workload) -> KeyPicker {
        match workload.distribution {
            Distribution::Uniform => KeyPicker::Uniform(workload.keys),
            Distribution::Zipf => {
                let mut cdf = Vec::with_capacity(workload.keys as usize);
                let mut total = 0.0;
                for rank in 1..=workload.keys {
                    total += 1.0 / (rank as f64).powf(workload.zipf_s);
                    cdf.push(total);
                }
                for c in &mut cdf {
                    *c /= total;
                }
                KeyPicker::Zipf(Arc::new(cdf))
            }
        }
    }

    /// The next key index.
    pub fn pick(&self, rng: &mut Rng) -> u64 {
        match self {
            KeyPicker::Uniform(n) => rng.below(*n),
            KeyPicker::Zipf(cdf) => {
                let u = rng.next_f64();
                let rank = cdf.partition_point(|&c| c < u).min(cdf.len() - 1) as u64;
                scatter(rank, cdf.len() as u64)
            }
        }
    }
}

/// A bijection on `0..n` spreading consecutive ranks apart: multiply by a constant coprime with `n`.
fn scatter(rank: u64, n: u64) -> u64 {
    let mut step = 0x9e37_79b9_7f4a_7c15 % n;
    while step == 0 || gcd(step, n) != 1 {
        step += 1;
    }
    ((rank as u128 * step as u128) % n as u128) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Draws value sizes from the workload's mix.
#[derive(Debug, Clone)]
pub struct SizePicker {
    /// `(bytes, cumulative weight)`; the last cumulative weight is the total.
    table: Vec<(usize, u64)>,
}

impl SizePicker {
    /// The picker for a workload.
    pub fn new(workload: &Workload) -> SizePicker {
        let mut table = Vec::new();
        let mut total = 0u64;
        for &(bytes, weight) in &workload.value_bytes_mix {
            total += u64::from(weight);
            table.push((bytes, total));
        }
        if table.is_empty() {
            table.push((workload.value_bytes, 1));
        }
        SizePicker { table }
    }

    /// The next value size.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        let total = self.table.last().map_or(1, |&(_, c)| c);
        let r = rng.below(total);
        let idx = self.table.partition_point(|&(_, c)| c <= r);
        self.table[idx.min(self.table.len() - 1)].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let workload = Workload {
            keys: 1000,
            distribution: Distribution::Zipf,
            ..Workload::default()
        };
        let picker = KeyPicker::new(&workload);
        let mut rng = Rng::new(1);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[picker.pick(&mut rng) as usize] += 1;
        }
        let hottest = scatter(0, 1000) as usize;
        // Rank 1 of Zipf(0.99) over 1000 keys has probability ~0.13.
        assert!(counts[hottest] > 10_000, "{}", counts[hottest]);
        assert!(counts.iter().filter(|&&c| c > 0).count() > 500);
    }

    #[test]
    fn scatter_is_a_bijection() {
        for n in [1u64, 2, 10, 97, 1000] {
            let mut seen: Vec<u64> = (0..n).map(|r| scatter(r, n)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn sizes_follow_weights() {
        let workload = Workload {
            value_bytes_mix: vec![(10, 3), (1000, 1), (5, 0)],
            ..Workload::default()
        };
        let picker = SizePicker::new(&workload);
        let mut rng = Rng::new(7);
        let small = (0..10_000).filter(|_| picker.pick(&mut rng) == 10).count();
        assert!((7000..8000).contains(&small), "{small}");
        assert_eq!(workload.value_bytes_max(), 1000);
    }

    #[test]
    fn ttl_share_is_roughly_honoured() {
        let workload = Workload {
            ttl_share: 0.25,
            ..Workload::default()
        };
        let with_ttl = (0..10_000).filter(|&i| workload.has_ttl(i)).count();
        assert!((2200..2800).contains(&with_ttl), "{with_ttl}");
    }

    #[test]
    fn bad_workloads_are_refused() {
        let table: toml::Table = toml::from_str("read_ratio = 0.9\ndel_ratio = 0.2").unwrap();
        assert!(Workload::from_table(&table).is_err());
        let table: toml::Table = toml::from_str("kind = 'pubsub'\nsubscribers = 3").unwrap();
        assert_eq!(Workload::from_table(&table).unwrap().kind, Kind::Pubsub);
    }
}
