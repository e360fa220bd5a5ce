//! Per-command statistics: INFO `commandstats` (calls, usec, usec_per_call, rejected_calls, failed_calls),
//! INFO `latencystats` (percentiles from each command's [`CommandHistogram`]) and LATENCY HISTOGRAM, as
//! Redis 7.0's `server.c` and `latency.c` produce them.
//!
//! The server registers every command and subcommand once ([`CommandStats::register`], full names such as
//! `get` and `config|get`) and keeps the returned [`CommandSlot`] in its table row, so recording a call is an
//! index, not a name lookup.

use crate::histogram::CommandHistogram;
use hashbrown::HashMap;
use std::fmt::Write;
use zedis_resp::{reply, Protocol};

/// `latency-tracking-info-percentiles` default.
pub const LATENCY_TRACKING_PERCENTILES_DEFAULT: [f64; 3] = [50.0, 99.0, 99.9];

/// A registered command's index in [`CommandStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandSlot(u32);

/// One command's counters.
#[derive(Debug, Default, Clone)]
pub struct CommandStat {
    /// Calls that ran (Redis's `calls`).
    pub calls: u64,
    /// Total run time in µs (Redis's `microseconds`).
    pub usec: u64,
    /// Calls refused before running (arity, ACL, OOM, MISCONF, ...).
    pub rejected_calls: u64,
    /// Calls that ran and replied an error.
    pub failed_calls: u64,
    /// Allocated at the first tracked call, as Redis does (about 24 KiB each).
    histogram: Option<Box<CommandHistogram>>,
}

impl CommandStat {
    /// The latency histogram, if a call was tracked since the last reset.
    pub fn histogram(&self) -> Option<&CommandHistogram> {
        self.histogram.as_deref()
    }
}

/// A `latency-tracking-info-percentiles` value Redis refuses (the text is Redis's CONFIG SET error detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PercentilesError {
    /// Not a number.
    #[error("Invalid latency-tracking-info-percentiles parameters")]
    Invalid,
    /// Outside [0, 100].
    #[error("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")]
    OutOfRange,
}

/// Redis's `trimDoubleString(sprintf("%f", d))`: six decimals, then trailing zeros and a bare point removed.
pub fn trimmed_double(d: f64) -> String {
    let mut text = format!("{d:.6}");
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    text
}

/// Parses CONFIG SET latency-tracking-info-percentiles's arguments (a single empty argument means none).
pub fn parse_percentiles(args: &[&[u8]]) -> Result<Vec<f64>, PercentilesError> {
    if args.len() == 1 && args[0].is_empty() {
        return Ok(Vec::new());
    }
    args.iter()
        .map(|arg| {
            let p = zedis_util::num::parse_f64(arg).ok_or(PercentilesError::Invalid)?;
            if !(0.0..=100.0).contains(&p) {
                return Err(PercentilesError::OutOfRange);
            }
            Ok(p)
        })
        .collect()
}

/// CONFIG GET latency-tracking-info-percentiles's value.
pub fn format_percentiles(percentiles: &[f64]) -> String {
    percentiles
        .iter()
        .map(|p| trimmed_double(*p))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Redis's `getSafeInfoString`: `#`, `:`, `\n`, `\r` become `_` in a name printed in INFO.
fn safe_info_name(name: &str) -> String {
    name.replace(['#', ':', '\n', '\r'], "_")
}

/// Every registered command's counters.
#[derive(Debug)]
pub struct CommandStats {
    /// Full names (lower case), in registration order; `names[i]` belongs to `stats[i]`.
    names: Vec<String>,
    stats: Vec<CommandStat>,
    by_name: HashMap<String, CommandSlot>,
    /// `latency-tracking`.
    latency_tracking: bool,
    /// `latency-tracking-info-percentiles`.
    percentiles: Vec<f64>,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats::new()
    }
}

impl CommandStats {
    /// No commands yet; latency tracking on with Redis's default percentiles.
    pub fn new() -> CommandStats {
        CommandStats {
            names: Vec::new(),
            stats: Vec::new(),
            by_name: HashMap::new(),
            latency_tracking: true,
            percentiles: LATENCY_TRACKING_PERCENTILES_DEFAULT.to_vec(),
        }
    }

    /// Registers a command by full name (`get`, `config|get`; stored lower-cased) and returns its slot; the
    /// same slot again for a name already registered. Register a container before its subcommands: INFO lists
    /// commands in registration order.
    pub fn register(&mut self, fullname: &str) -> CommandSlot {
        let name = fullname.to_ascii_lowercase();
        if let Some(slot) = self.by_name.get(&name) {
            return *slot;
        }
        let slot = CommandSlot(self.names.len() as u32);
        self.names.push(name.clone());
        self.stats.push(CommandStat::default());
        self.by_name.insert(name, slot);
        slot
    }

    /// The slot of a registered full name (case-insensitive).
    pub fn slot(&self, fullname: &[u8]) -> Option<CommandSlot> {
        let name = String::from_utf8_lossy(fullname).to_ascii_lowercase();
        self.by_name.get(&name).copied()
    }

    /// Every registered command's full name and counters, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &CommandStat)> {
        self.names.iter().map(String::as_str).zip(&self.stats)
    }

    /// The counters of `slot`.
    pub fn get(&self, slot: CommandSlot) -> Option<&CommandStat> {
        self.stats.get(slot.0 as usize)
    }

    /// CONFIG SET latency-tracking.
    pub fn set_latency_tracking(&mut self, on: bool) {
        self.latency_tracking = on;
    }

    /// CONFIG SET latency-tracking-info-percentiles (already parsed by [`parse_percentiles`]).
    pub fn set_percentiles(&mut self, percentiles: Vec<f64>) {
        self.percentiles = percentiles;
    }

    /// The configured percentiles.
    pub fn percentiles(&self) -> &[f64] {
        &self.percentiles
    }

    /// A call that ran for `duration_us` (Redis's `call()` with `CMD_CALL_STATS`, client not blocked): counts
    /// it, adds its time, and records it in the histogram when latency tracking is on.
    pub fn record_call(&mut self, slot: CommandSlot, duration_us: i64) {
        let tracking = self.latency_tracking;
        let Some(stat) = self.stats.get_mut(slot.0 as usize) else {
            return;
        };
        stat.calls += 1;
        stat.usec = stat.usec.saturating_add(duration_us.max(0) as u64);
        if tracking {
            stat.histogram
                .get_or_insert_with(Default::default)
                .record_us(duration_us);
        }
    }

    /// A blocked call served later (Redis's `updateStatsOnUnblock`): its time is added and tracked in the
    /// histogram, the call itself was counted when it blocked.
    pub fn record_unblocked(&mut self, slot: CommandSlot, duration_us: i64) {
        let tracking = self.latency_tracking;
        let Some(stat) = self.stats.get_mut(slot.0 as usize) else {
            return;
        };
        stat.usec = stat.usec.saturating_add(duration_us.max(0) as u64);
        if tracking {
            stat.histogram
                .get_or_insert_with(Default::default)
                .record_us(duration_us);
        }
    }

    /// A call refused before it ran (Redis's `rejectCommand` paths).
    pub fn record_rejected(&mut self, slot: CommandSlot) {
        if let Some(stat) = self.stats.get_mut(slot.0 as usize) {
            stat.rejected_calls += 1;
        }
    }

    /// A call that ran and replied an error.
    pub fn record_failed(&mut self, slot: CommandSlot) {
        if let Some(stat) = self.stats.get_mut(slot.0 as usize) {
            stat.failed_calls += 1;
        }
    }

    /// CONFIG RESETSTAT (Redis's `resetCommandTableStats`): zero counters, free histograms.
    pub fn reset(&mut self) {
        for stat in &mut self.stats {
            *stat = CommandStat::default();
        }
    }

    /// Bytes held, for the budget (histograms dominate).
    pub fn bytes(&self) -> usize {
        let names: usize = self.names.iter().map(|n| 2 * n.capacity()).sum();
        let tables = self.stats.capacity() * std::mem::size_of::<CommandStat>()
            + self.names.capacity() * std::mem::size_of::<String>()
            + self.by_name.capacity() * (std::mem::size_of::<(String, CommandSlot)>() + 1);
        let histograms: usize = self
            .stats
            .iter()
            .filter_map(|s| s.histogram())
            .map(|h| h.bytes())
            .sum();
        names + tables + histograms
    }

    /// INFO `commandstats`: the header and one line per command with calls, rejections or failures.
    pub fn write_commandstats(&self, out: &mut String) {
        out.push_str("# Commandstats\r\n");
        for (name, stat) in self.names.iter().zip(&self.stats) {
            if stat.calls == 0 && stat.failed_calls == 0 && stat.rejected_calls == 0 {
                continue;
            }
            // Redis divides as C `float`, then prints with %.2f.
            let per_call = if stat.calls == 0 {
                0.0
            } else {
                f64::from(stat.usec as f32 / stat.calls as f32)
            };
            let _ = write!(
                out,
                "cmdstat_{}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                safe_info_name(name),
                stat.calls,
                stat.usec,
                stat.rejected_calls,
                stat.failed_calls
            );
        }
    }

    /// INFO `latencystats`: the header, then (with latency tracking on) one line per command with a
    /// histogram: `latency_percentiles_usec_<name>:p50=1.003,p99=...`.
    pub fn write_latencystats(&self, out: &mut String) {
        out.push_str("# Latencystats\r\n");
        if !self.latency_tracking {
            return;
        }
        for (name, stat) in self.names.iter().zip(&self.stats) {
            let Some(hist) = stat.histogram() else {
                continue;
            };
            let _ = write!(out, "latency_percentiles_usec_{}:", safe_info_name(name));
            for (j, p) in self.percentiles.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let us = hist.value_at_percentile_ns(*p) as f64 / 1000.0;
                let _ = write!(out, "p{}={us:.3}", trimmed_double(*p));
            }
            out.push_str("\r\n");
        }
    }

    /// LATENCY HISTOGRAM [command ...]: a map from full name to `{calls, histogram_usec}` for every command
    /// with a histogram, or for the named ones (a container name also lists its subcommands; unknown names
    /// are skipped; a name given twice is listed twice, as in Redis).
    pub fn reply_histogram(&self, out: &mut Vec<u8>, proto: Protocol, names: &[&[u8]]) {
        let mut listed: Vec<usize> = Vec::new();
        if names.is_empty() {
            listed.extend((0..self.stats.len()).filter(|&i| self.stats[i].histogram.is_some()));
        } else {
            for name in names {
                let Some(slot) = self.slot(name) else {
                    continue;
                };
                let index = slot.0 as usize;
                if self.stats[index].histogram.is_some() {
                    listed.push(index);
                }
                let prefix = format!("{}|", self.names[index]);
                listed.extend((0..self.stats.len()).filter(|&i| {
                    self.names[i].starts_with(&prefix) && self.stats[i].histogram.is_some()
                }));
            }
        }
        reply::map_len(out, proto, listed.len());
        for index in listed {
            reply::bulk(out, self.names[index].as_bytes());
            if let Some(hist) = self.stats[index].histogram() {
                hist.reply_cdf(out, proto);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_text_rules() {
        assert_eq!(trimmed_double(50.0), "50");
        assert_eq!(trimmed_double(99.9), "99.9");
        assert_eq!(trimmed_double(0.0), "0");
        assert_eq!(trimmed_double(12.345), "12.345");
        assert_eq!(parse_percentiles(&[b""]), Ok(vec![]));
        assert_eq!(
            parse_percentiles(&[b"50", b"abc"]),
            Err(PercentilesError::Invalid)
        );
        assert_eq!(
            parse_percentiles(&[b"101"]),
            Err(PercentilesError::OutOfRange)
        );
        assert_eq!(format_percentiles(&[50.0, 99.0, 99.9]), "50 99 99.9");
    }

    #[test]
    fn unblocked_call_adds_time_not_a_call() {
        let mut stats = CommandStats::new();
        let blpop = stats.register("blpop");
        stats.record_call(blpop, 5);
        stats.record_unblocked(blpop, 7);
        let stat = stats.get(blpop).unwrap();
        assert_eq!((stat.calls, stat.usec), (1, 12));
        assert_eq!(stat.histogram().map(|h| h.calls()), Some(2));
    }

    #[test]
    fn commandstats_lines_and_reset() {
        let mut stats = CommandStats::new();
        let get = stats.register("get");
        let sub = stats.register("CONFIG|GET");
        assert_eq!(stats.register("get"), get);
        stats.record_call(get, 3);
        stats.record_call(get, 4);
        stats.record_failed(get);
        stats.record_rejected(sub);
        let mut out = String::new();
        stats.write_commandstats(&mut out);
        assert_eq!(
            out,
            "# Commandstats\r\ncmdstat_get:calls=2,usec=7,usec_per_call=3.50,rejected_calls=0,failed_calls=1\r\ncmdstat_config|get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
        );
        assert!(stats.bytes() > 2 * CommandHistogram::new().bytes() / 2);
        stats.reset();
        let mut out = String::new();
        stats.write_commandstats(&mut out);
        assert_eq!(out, "# Commandstats\r\n");
        assert!(stats.get(get).is_some_and(|s| s.histogram().is_none()));
    }
}
