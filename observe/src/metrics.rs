//! Prometheus text exposition (format 0.0.4) of a plain [`Snapshot`] of the server's figures: counters,
//! gauges and histograms with `le` buckets, `# HELP`/`# TYPE` lines, escaped label values. The server
//! fills a snapshot (INFO fields, budget components, allocator figures, command stats and latency
//! histograms) and publishes it to the `metrics-port` HTTP thread ([`crate::metrics_http`]).

use crate::errorstats::ErrorStats;
use crate::latency::LatencyMonitor;
use crate::slowlog::SlowLog;
use crate::stats::CommandStats;
use crate::tracking::TrackingTable;
use indexmap::IndexMap;
use std::fmt::Write;

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic count.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Cumulative buckets plus sum and count.
    Histogram,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One sample's value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Scalar(f64),
    Histogram {
        /// `(le, cumulative count)`, increasing `le`; `+Inf` is added on output.
        buckets: Vec<(f64, u64)>,
        sum: f64,
        count: u64,
    },
}

#[derive(Debug, Clone)]
struct Family {
    help: String,
    kind: MetricKind,
    samples: Vec<(Vec<(String, String)>, Value)>,
}

/// The figures to expose, grouped by metric family in insertion order.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    families: IndexMap<String, Family>,
}

/// A metric or label name with every character Prometheus does not allow replaced by `_`.
pub fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A float as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, else Rust's shortest round-trip text.
fn push_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

/// `{a="x",b="y"}` with `\`, `"` and newline escaped; nothing for no labels. `extra` is appended last.
fn push_labels(out: &mut String, labels: &[(String, String)], extra: Option<(&str, &str)>) {
    let all = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra);
    let mut first = true;
    for (name, value) in all {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if !first {
        out.push('}');
    }
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    fn add(
        &mut self,
        name: &str,
        help: &str,
        kind: MetricKind,
        labels: &[(&str, &str)],
        value: Value,
    ) {
        let family = self
            .families
            .entry(sanitize_name(name))
            .or_insert_with(|| Family {
                help: help.to_owned(),
                kind,
                samples: Vec::new(),
            });
        if family.kind != kind {
            return; // One name, one type: a conflicting sample is dropped.
        }
        let labels = labels
            .iter()
            .map(|(k, v)| (sanitize_name(k), (*v).to_owned()))
            .collect();
        family.samples.push((labels, value));
    }

    /// A counter sample.
    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.add(
            name,
            help,
            MetricKind::Counter,
            labels,
            Value::Scalar(value),
        );
    }

    /// A gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.add(name, help, MetricKind::Gauge, labels, Value::Scalar(value));
    }

    /// A histogram sample: cumulative `(le, count)` buckets in increasing `le` (the `+Inf` bucket, equal
    /// to `count`, is written by the renderer), the sum of observations and their count.
    pub fn histogram(
        &mut self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        buckets: &[(f64, u64)],
        sum: f64,
        count: u64,
    ) {
        let buckets = buckets
            .iter()
            .copied()
            .filter(|(le, _)| le.is_finite())
            .collect();
        self.add(
            name,
            help,
            MetricKind::Histogram,
            labels,
            Value::Histogram {
                buckets,
                sum,
                count,
            },
        );
    }

    /// Every numeric INFO field as a gauge `redis_<field>`, and the keyspace lines (`db0:keys=1,...`) as
    /// `redis_db_keys{db="db0"}` etc. Per-command and per-error lines are left to [`Self::add_command_stats`]
    /// and [`Self::add_error_stats`].
    pub fn add_info(&mut self, info: &str) {
        for line in info.lines().map(str::trim_end) {
            let Some((field, value)) = line.split_once(':') else {
                continue;
            };
            if line.starts_with('#')
                || ["cmdstat_", "errorstat_", "latency_percentiles_usec_"]
                    .iter()
                    .any(|p| field.starts_with(p))
            {
                continue;
            }
            if let Ok(number) = value.parse::<f64>() {
                self.gauge(
                    &format!("redis_{field}"),
                    &format!("INFO field {field}"),
                    &[],
                    number,
                );
            } else if field.starts_with("db") && field[2..].parse::<u32>().is_ok() {
                for pair in value.split(',') {
                    if let Some((key, number)) = pair.split_once('=') {
                        if let Ok(number) = number.parse::<f64>() {
                            let help = format!("INFO keyspace {key} per database");
                            self.gauge(&format!("redis_db_{key}"), &help, &[("db", field)], number);
                        }
                    }
                }
            }
        }
    }

    /// Per-command counters and latency histograms (`le` in seconds, buckets as LATENCY HISTOGRAM's).
    pub fn add_command_stats(&mut self, stats: &CommandStats) {
        for (name, stat) in stats.iter() {
            if stat.calls == 0 && stat.rejected_calls == 0 && stat.failed_calls == 0 {
                continue;
            }
            let labels = [("cmd", name)];
            self.counter(
                "zedis_commands_total",
                "Calls per command",
                &labels,
                stat.calls as f64,
            );
            self.counter(
                "zedis_commands_duration_seconds_total",
                "Time spent per command",
                &labels,
                stat.usec as f64 / 1e6,
            );
            self.counter(
                "zedis_commands_rejected_calls_total",
                "Calls refused before running",
                &labels,
                stat.rejected_calls as f64,
            );
            self.counter(
                "zedis_commands_failed_calls_total",
                "Calls that replied an error",
                &labels,
                stat.failed_calls as f64,
            );
            if let Some(hist) = stat.histogram() {
                let buckets: Vec<(f64, u64)> = hist
                    .cdf_buckets()
                    .into_iter()
                    .map(|(us, n)| (us as f64 / 1e6, n))
                    .collect();
                self.histogram(
                    "zedis_command_latency_seconds",
                    "Command latency (Redis's LATENCY HISTOGRAM buckets)",
                    &labels,
                    &buckets,
                    stat.usec as f64 / 1e6,
                    hist.calls(),
                );
            }
        }
    }

    /// Error replies per code and their total.
    pub fn add_error_stats(&mut self, errors: &ErrorStats) {
        self.counter(
            "zedis_error_replies_total",
            "Error replies",
            &[],
            errors.total_error_replies() as f64,
        );
        for (code, count) in errors.iter() {
            let code = String::from_utf8_lossy(code);
            self.counter(
                "zedis_errors_total",
                "Error replies per error code",
                &[("code", &code)],
                count as f64,
            );
        }
    }

    /// Per latency event: the latest and the all-time highest sample (ms), as LATENCY LATEST shows them.
    pub fn add_latency_monitor(&mut self, monitor: &LatencyMonitor) {
        for (event, series) in monitor.events() {
            let labels = [("event", event)];
            let latest = f64::from(series.latest().latency_ms) / 1e3;
            let max = f64::from(series.max_ms()) / 1e3;
            self.gauge(
                "zedis_latency_event_latest_seconds",
                "Latest latency spike per event",
                &labels,
                latest,
            );
            self.gauge(
                "zedis_latency_event_max_seconds",
                "Highest latency spike per event",
                &labels,
                max,
            );
        }
    }

    /// The slow log's length and the client-side caching table's sizes and bytes.
    pub fn add_slowlog_and_tracking(&mut self, slowlog: &SlowLog, tracking: &TrackingTable) {
        self.gauge(
            "zedis_slowlog_length",
            "SLOWLOG LEN",
            &[],
            slowlog.len() as f64,
        );
        self.gauge(
            "zedis_tracking_clients",
            "Clients with CLIENT TRACKING on",
            &[],
            tracking.tracking_clients() as f64,
        );
        self.gauge(
            "zedis_tracking_keys",
            "Keys in the tracking table",
            &[],
            tracking.total_keys() as f64,
        );
        self.gauge(
            "zedis_tracking_items",
            "Client ids in the tracking table",
            &[],
            tracking.total_items() as f64,
        );
        self.gauge(
            "zedis_tracking_prefixes",
            "BCAST prefixes",
            &[],
            tracking.total_prefixes() as f64,
        );
        self.gauge(
            "zedis_tracking_bytes",
            "Bytes held by the tracking table",
            &[],
            tracking.bytes() as f64,
        );
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, family) in &self.families {
            let help = family.help.replace('\\', "\\\\").replace('\n', "\\n");
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
            for (labels, value) in &family.samples {
                match value {
                    Value::Scalar(v) => {
                        out.push_str(name);
                        push_labels(&mut out, labels, None);
                        out.push(' ');
                        push_float(&mut out, *v);
                        out.push('\n');
                    }
                    Value::Histogram {
                        buckets,
                        sum,
                        count,
                    } => {
                        for (le, n) in buckets
                            .iter()
                            .map(|(le, n)| (*le, *n))
                            .chain([(f64::INFINITY, *count)])
                        {
                            let mut le_text = String::new();
                            push_float(&mut le_text, le);
                            let _ = write!(out, "{name}_bucket");
                            push_labels(&mut out, labels, Some(("le", &le_text)));
                            let _ = writeln!(out, " {n}");
                        }
                        let _ = write!(out, "{name}_sum");
                        push_labels(&mut out, labels, None);
                        out.push(' ');
                        push_float(&mut out, *sum);
                        let _ = write!(out, "\n{name}_count");
                        push_labels(&mut out, labels, None);
                        let _ = writeln!(out, " {count}");
                    }
                }
            }
        }
        out
    }

    /// Approximate bytes held (names, labels, samples), for the budget.
    pub fn bytes(&self) -> usize {
        self.families
            .iter()
            .map(|(name, f)| {
                name.len()
                    + f.help.len()
                    + 64
                    + f.samples
                        .iter()
                        .map(|(labels, value)| {
                            48 + labels
                                .iter()
                                .map(|(k, v)| k.len() + v.len() + 48)
                                .sum::<usize>()
                                + match value {
                                    Value::Scalar(_) => 0,
                                    Value::Histogram { buckets, .. } => buckets.len() * 16,
                                }
                        })
                        .sum::<usize>()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_labels_and_histograms() {
        let mut snap = Snapshot::new();
        snap.gauge(
            "used-memory",
            "Bytes\nused",
            &[("component", "key\"space\\")],
            1024.0,
        );
        snap.counter("hits_total", "Hits", &[], 3.0);
        snap.histogram(
            "lat_seconds",
            "Latency",
            &[("cmd", "get")],
            &[(0.001, 2), (0.002, 5)],
            0.004,
            6,
        );
        snap.gauge("hits_total", "conflict", &[], 1.0);
        assert_eq!(
            snap.render(),
            "# HELP used_memory Bytes\\nused\n# TYPE used_memory gauge\nused_memory{component=\"key\\\"space\\\\\"} 1024\n\
             # HELP hits_total Hits\n# TYPE hits_total counter\nhits_total 3\n\
             # HELP lat_seconds Latency\n# TYPE lat_seconds histogram\n\
             lat_seconds_bucket{cmd=\"get\",le=\"0.001\"} 2\nlat_seconds_bucket{cmd=\"get\",le=\"0.002\"} 5\n\
             lat_seconds_bucket{cmd=\"get\",le=\"+Inf\"} 6\nlat_seconds_sum{cmd=\"get\"} 0.004\nlat_seconds_count{cmd=\"get\"} 6\n"
        );
        assert_eq!(sanitize_name("0db"), "_0db");
    }
}
