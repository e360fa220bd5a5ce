//! The latency monitor: Redis 7.0's `latency.c` as data. The server measures an event (`command`,
//! `fast-command`, `expire-cycle`, `eviction-cycle`, `fork`, `aof-write`, ...) in milliseconds and calls
//! [`LatencyMonitor::add_sample_if_needed`]; LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR replies come from here
//! (HISTOGRAM from [`crate::stats::CommandStats`]).
//!
//! Each event keeps the last [`LATENCY_TS_LEN`] samples, at most one per second (the highest latency of that
//! second), and its all-time maximum.

use crate::error::ObserveError;
use crate::sparkline::Sequence;
use zedis_resp::{reply, Protocol};

/// Redis's `LATENCY_TS_LEN`: samples kept per event.
pub const LATENCY_TS_LEN: usize = 160;
/// The event names Redis 7.0 records, for the server's call sites (each where Redis measures it).
pub mod events {
    /// A command without the `fast` flag (`call()`), latency in ms of its run.
    pub const COMMAND: &str = "command";
    /// A command with the `fast` flag (`call()`).
    pub const FAST_COMMAND: &str = "fast-command";
    /// A blocked client's command run when it is unblocked.
    pub const COMMAND_UNBLOCKING: &str = "command-unblocking";
    /// The active expire cycle.
    pub const EXPIRE_CYCLE: &str = "expire-cycle";
    /// Deleting one expired key.
    pub const EXPIRE_DEL: &str = "expire-del";
    /// One eviction pass (`performEvictions`).
    pub const EVICTION_CYCLE: &str = "eviction-cycle";
    /// Deleting one evicted key.
    pub const EVICTION_DEL: &str = "eviction-del";
    /// Waiting for lazy-free during eviction.
    pub const EVICTION_LAZYFREE: &str = "eviction-lazyfree";
    /// `fork()` for BGSAVE/BGREWRITEAOF.
    pub const FORK: &str = "fork";
    /// An AOF `write()` (all cases).
    pub const AOF_WRITE: &str = "aof-write";
    /// An AOF write while an fsync is pending.
    pub const AOF_WRITE_PENDING_FSYNC: &str = "aof-write-pending-fsync";
    /// An AOF write while a child process is active.
    pub const AOF_WRITE_ACTIVE_CHILD: &str = "aof-write-active-child";
    /// An AOF write with nothing else going on.
    pub const AOF_WRITE_ALONE: &str = "aof-write-alone";
    /// The fsync of `appendfsync always`.
    pub const AOF_FSYNC_ALWAYS: &str = "aof-fsync-always";
    /// `fstat()` of the AOF.
    pub const AOF_FSTAT: &str = "aof-fstat";
    /// Renaming the rewritten AOF into place.
    pub const AOF_RENAME: &str = "aof-rename";
    /// Unlinking a temporary RDB file.
    pub const RDB_UNLINK_TEMP_FILE: &str = "rdb-unlink-temp-file";
    /// An active defragmentation cycle.
    pub const ACTIVE_DEFRAG_CYCLE: &str = "active-defrag-cycle";
    /// The cron run while a script or module blocks the server.
    pub const WHILE_BLOCKED_CRON: &str = "while-blocked-cron";
}

/// Width of LATENCY GRAPH's chart (Redis's `LATENCY_GRAPH_COLS`).
const GRAPH_COLUMNS: usize = 80;
/// Height of LATENCY GRAPH's chart in rows.
const GRAPH_ROWS: usize = 4;

/// One sample: when (unix seconds; 0 = empty slot) and how long (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencySample {
    /// Unix time in seconds (Redis keeps it as `int32_t`); 0 marks an unused slot.
    pub time_unix_s: i32,
    /// Latency in milliseconds.
    pub latency_ms: u32,
}

/// One event's ring of samples.
#[derive(Debug, Clone)]
pub struct TimeSeries {
    /// Index of the next sample to write; the ring is ordered oldest first from here.
    idx: usize,
    /// Highest latency seen since the event was created or reset.
    max_ms: u32,
    samples: [LatencySample; LATENCY_TS_LEN],
}

impl TimeSeries {
    fn new() -> TimeSeries {
        TimeSeries {
            idx: 0,
            max_ms: 0,
            samples: [LatencySample::default(); LATENCY_TS_LEN],
        }
    }

    /// Redis's `latencyAddSample` for this series.
    fn add(&mut self, latency_ms: u32, now_unix_s: i32) {
        self.max_ms = self.max_ms.max(latency_ms);
        let prev = (self.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        if self.samples[prev].time_unix_s == now_unix_s {
            let sample = &mut self.samples[prev];
            sample.latency_ms = sample.latency_ms.max(latency_ms);
            return;
        }
        self.samples[self.idx] = LatencySample {
            time_unix_s: now_unix_s,
            latency_ms,
        };
        self.idx = (self.idx + 1) % LATENCY_TS_LEN;
    }

    /// The used samples, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = LatencySample> + '_ {
        (0..LATENCY_TS_LEN)
            .map(move |j| self.samples[(self.idx + j) % LATENCY_TS_LEN])
            .filter(|s| s.time_unix_s != 0)
    }

    /// The most recent sample.
    pub fn latest(&self) -> LatencySample {
        self.samples[(self.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN]
    }

    /// The all-time maximum in ms.
    pub fn max_ms(&self) -> u32 {
        self.max_ms
    }
}

/// The latency monitor: `latency-monitor-threshold` and the events seen so far, in creation order.
#[derive(Debug, Default)]
pub struct LatencyMonitor {
    /// `latency-monitor-threshold` in ms; 0 disables sampling.
    threshold_ms: u64,
    /// Event names are unique (compared case-sensitively, as Redis's dict does).
    events: Vec<(String, Box<TimeSeries>)>,
}

impl LatencyMonitor {
    /// A monitor with `latency-monitor-threshold` = `threshold_ms` (Redis's default is 0: off).
    pub fn new(threshold_ms: u64) -> LatencyMonitor {
        LatencyMonitor {
            threshold_ms,
            events: Vec::new(),
        }
    }

    /// CONFIG SET latency-monitor-threshold.
    pub fn set_threshold_ms(&mut self, threshold_ms: u64) {
        self.threshold_ms = threshold_ms;
    }

    /// The current threshold in ms.
    pub fn threshold_ms(&self) -> u64 {
        self.threshold_ms
    }

    /// Whether the server should time events at all (Redis's `latencyStartMonitor` reads the clock only then).
    pub fn enabled(&self) -> bool {
        self.threshold_ms != 0
    }

    /// Redis's `latencyAddSampleIfNeeded`: records `latency_ms` for `event` when the monitor is on and the
    /// latency reaches the threshold. Returns whether it was recorded.
    pub fn add_sample_if_needed(&mut self, event: &str, latency_ms: u64, now_unix_s: i64) -> bool {
        if self.threshold_ms == 0 || latency_ms < self.threshold_ms {
            return false;
        }
        self.add_sample(event, latency_ms, now_unix_s);
        true
    }

    /// Redis's `latencyAddSample`: records unconditionally (latency saturated to `u32`, time to `i32`).
    pub fn add_sample(&mut self, event: &str, latency_ms: u64, now_unix_s: i64) {
        let latency = u32::try_from(latency_ms).unwrap_or(u32::MAX);
        let now = i32::try_from(now_unix_s).unwrap_or(i32::MAX);
        match self.events.iter_mut().find(|(name, _)| name == event) {
            Some((_, series)) => series.add(latency, now),
            None => {
                let mut series = Box::new(TimeSeries::new());
                series.add(latency, now);
                self.events.push((event.to_owned(), series));
            }
        }
    }

    /// The series of `event` (case-sensitive, as HISTORY and GRAPH look it up).
    pub fn series(&self, event: &[u8]) -> Option<&TimeSeries> {
        self.events
            .iter()
            .find(|(name, _)| name.as_bytes() == event)
            .map(|(_, s)| s.as_ref())
    }

    /// The events with their series, in creation order.
    pub fn events(&self) -> impl Iterator<Item = (&str, &TimeSeries)> {
        self.events.iter().map(|(n, s)| (n.as_str(), s.as_ref()))
    }

    /// LATENCY RESET [event ...]: drops the named events (case-insensitively), or all with no names; returns
    /// how many were dropped (an event named twice counts once, as in Redis).
    pub fn reset(&mut self, events: &[&[u8]]) -> usize {
        let before = self.events.len();
        if events.is_empty() {
            self.events.clear();
        } else {
            self.events.retain(|(name, _)| {
                !events
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(name.as_bytes()))
            });
        }
        before - self.events.len()
    }

    /// Bytes held, for the budget.
    pub fn bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<(String, Box<TimeSeries>)>()
            + self
                .events
                .iter()
                .map(|(n, _)| n.capacity() + std::mem::size_of::<TimeSeries>())
                .sum::<usize>()
    }

    /// LATENCY LATEST: `[event, time, latest ms, max ms]` per event.
    pub fn reply_latest(&self, out: &mut Vec<u8>) {
        reply::array_len(out, self.events.len());
        for (name, series) in &self.events {
            let latest = series.latest();
            reply::array_len(out, 4);
            reply::bulk(out, name.as_bytes());
            reply::integer(out, latest.time_unix_s.into());
            reply::integer(out, latest.latency_ms.into());
            reply::integer(out, series.max_ms.into());
        }
    }

    /// LATENCY HISTORY event: `[time, ms]` per sample, oldest first; empty for an unknown event.
    pub fn reply_history(&self, out: &mut Vec<u8>, event: &[u8]) {
        let Some(series) = self.series(event) else {
            reply::array_len(out, 0);
            return;
        };
        reply::array_len(out, series.samples().count());
        for sample in series.samples() {
            reply::array_len(out, 2);
            reply::integer(out, sample.time_unix_s.into());
            reply::integer(out, sample.latency_ms.into());
        }
    }

    /// LATENCY RESET's reply.
    pub fn reply_reset(&mut self, out: &mut Vec<u8>, events: &[&[u8]]) {
        let resets = self.reset(events);
        reply::integer(out, resets as i64);
    }

    /// LATENCY GRAPH event: Redis's text (title, a line of dashes, the sparkline with "how long ago" labels).
    pub fn graph(&self, event: &[u8], now_unix_s: i64) -> Result<String, ObserveError> {
        let Some((name, series)) = self.events.iter().find(|(n, _)| n.as_bytes() == event) else {
            return Err(ObserveError::NoSamples(
                String::from_utf8_lossy(event).into_owned(),
            ));
        };
        let mut seq = Sequence::new();
        let (mut min, mut max) = (0u32, 0u32);
        for sample in series.samples() {
            if seq.is_empty() {
                (min, max) = (sample.latency_ms, sample.latency_ms);
            } else {
                max = max.max(sample.latency_ms);
                min = min.min(sample.latency_ms);
            }
            let elapsed = now_unix_s - i64::from(sample.time_unix_s);
            let label = if elapsed < 60 {
                format!("{elapsed}s")
            } else if elapsed < 3600 {
                format!("{}m", elapsed / 60)
            } else if elapsed < 3600 * 24 {
                format!("{}h", elapsed / 3600)
            } else {
                format!("{}d", elapsed / (3600 * 24))
            };
            seq.push(sample.latency_ms.into(), Some(&label));
        }
        let mut graph = format!(
            "{name} - high {max} ms, low {min} ms (all time high {} ms)\n",
            series.max_ms
        );
        graph.push_str(&"-".repeat(GRAPH_COLUMNS));
        graph.push('\n');
        seq.render_filled(&mut graph, GRAPH_COLUMNS, GRAPH_ROWS);
        Ok(graph)
    }

    /// LATENCY GRAPH's reply: the graph as a verbatim `txt` string, or Redis's error.
    pub fn reply_graph(&self, out: &mut Vec<u8>, proto: Protocol, event: &[u8], now_unix_s: i64) {
        match self.graph(event, now_unix_s) {
            Ok(text) => reply::verbatim(out, proto, b"txt", text.as_bytes()),
            Err(e) => reply::error(out, &e.reply_text()),
        }
    }

    /// LATENCY HELP's reply.
    pub fn reply_help(out: &mut Vec<u8>) {
        crate::help::reply_help(out, "latency", HELP);
    }
}

/// LATENCY HELP's lines (Redis 7.0.15's text).
const HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn threshold_and_same_second_merge() {
        let mut mon = LatencyMonitor::new(0);
        assert!(!mon.add_sample_if_needed("command", 500, 100));
        mon.set_threshold_ms(10);
        assert!(!mon.add_sample_if_needed("command", 9, 100));
        assert!(mon.add_sample_if_needed("command", 20, 100));
        assert!(mon.add_sample_if_needed("command", 15, 100));
        assert!(mon.add_sample_if_needed("command", 30, 100));
        assert!(mon.add_sample_if_needed("command", 12, 101));
        let series = mon.series(b"command").unwrap();
        let samples: Vec<_> = series
            .samples()
            .map(|s| (s.time_unix_s, s.latency_ms))
            .collect();
        assert_eq!(samples, [(100, 30), (101, 12)]);
        assert_eq!(series.max_ms(), 30);
        assert_eq!(mon.reset(&[b"COMMAND", b"command"]), 1);
        assert_eq!(mon.events().count(), 0);
    }

    #[test]
    fn graph_unknown_event_is_an_error() {
        let mon = LatencyMonitor::new(1);
        let mut out = Vec::new();
        mon.reply_graph(&mut out, Protocol::Resp2, b"nope", 0);
        assert_eq!(out, b"-ERR No samples available for event 'nope'\r\n");
    }

    proptest! {
        /// A series against a model: a vector of (time, max latency) per distinct consecutive second, last 160.
        #[test]
        fn series_matches_model(ops in proptest::collection::vec((0i32..3, 1u32..1000), 1..600)) {
            let mut series = TimeSeries::new();
            let mut model: Vec<(i32, u32)> = Vec::new();
            let mut now = 1000;
            let mut max = 0;
            for (advance, latency) in ops {
                now += advance;
                series.add(latency, now);
                max = max.max(latency);
                match model.last_mut() {
                    Some(last) if last.0 == now => last.1 = last.1.max(latency),
                    _ => model.push((now, latency)),
                }
                let tail = &model[model.len().saturating_sub(LATENCY_TS_LEN)..];
                let got: Vec<(i32, u32)> = series.samples().map(|s| (s.time_unix_s, s.latency_ms)).collect();
                prop_assert_eq!(&got[..], tail);
                prop_assert_eq!(series.max_ms(), max);
                prop_assert_eq!(series.latest(), LatencySample { time_unix_s: now, latency_ms: model.last().unwrap().1 });
            }
        }
    }
}
