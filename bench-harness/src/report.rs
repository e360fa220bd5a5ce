//! Results: medians and spreads over rounds, ratios against the baseline, and the output files (CSV, JSON,
//! markdown report; SVG plots are in `plots`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::plots;
use crate::runner::RunData;
use crate::spec::Point;
use crate::workload::{Kind, Workload};

/// A metric shown in tables: name, heading, whether to plot it, whether to give its ratio to the baseline.
pub struct MetricInfo {
    /// Key in `Trial::metrics`.
    pub name: &'static str,
    /// Column heading and plot title.
    pub title: &'static str,
    /// Draw an SVG for it.
    pub plot: bool,
    /// Show a `× base` column for it (when a baseline ran).
    pub ratio: bool,
}

const fn m(name: &'static str, title: &'static str, plot: bool) -> MetricInfo {
    MetricInfo {
        name,
        title,
        plot,
        ratio: false,
    }
}

/// A metric that also gets a `× base` column.
const fn r(name: &'static str, title: &'static str, plot: bool) -> MetricInfo {
    MetricInfo {
        name,
        title,
        plot,
        ratio: true,
    }
}

const KV_METRICS: &[MetricInfo] = &[
    r("ops_per_s", "ops/s", true),
    r("ops_per_cpu_s", "ops per server CPU-s", true),
    m("p50_us", "p50 µs", false),
    r("p99_us", "p99 µs", true),
    m("p999_us", "p99.9 µs", true),
    m("max_us", "max µs", true),
    m("bytes_per_key_rss", "bytes/key (RSS)", true),
    m("bytes_per_key_used", "bytes/key (used_memory)", false),
    m("hit_ratio", "hit ratio", true),
    m("evicted_keys", "evicted keys", false),
    m("rss_over_used", "RSS / used_memory", true),
];

const IDLE_METRICS: &[MetricInfo] = &[
    r(
        "bytes_per_conn_rss",
        "bytes per idle connection (RSS)",
        true,
    ),
    m(
        "bytes_per_conn_used",
        "bytes per idle connection (used_memory)",
        false,
    ),
    m("connected_clients", "connected clients", false),
];

const CHURN_METRICS: &[MetricInfo] = &[
    r("connects_per_s", "connect/PING/close per s", true),
    r("connects_per_cpu_s", "connects per server CPU-s", true),
];

const PUBSUB_METRICS: &[MetricInfo] = &[
    r("delivered_per_s", "messages delivered/s", true),
    r("delivered_per_cpu_s", "delivered per server CPU-s", true),
    m("lost", "lost", false),
    m("out_of_order", "out of order", false),
];

/// The headline metrics of each workload kind, in table order.
pub fn headline(kind: Kind) -> &'static [MetricInfo] {
    match kind {
        Kind::Kv => KV_METRICS,
        Kind::IdleConnections => IDLE_METRICS,
        Kind::ConnectChurn => CHURN_METRICS,
        Kind::Pubsub => PUBSUB_METRICS,
    }
}

/// Median and spread of one metric for one server at one point.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Point label.
    pub point: String,
    /// Server label.
    pub server: String,
    /// Metric name.
    pub metric: String,
    /// Median over successful rounds.
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Rounds that produced the metric.
    pub n: usize,
    /// Median over rounds of (this server / the baseline in the same round), when a baseline ran.
    pub ratio_vs_baseline: Option<f64>,
}

/// Median of a non-empty slice (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Summaries for every (point, server, metric) with data.
pub fn summarize(data: &RunData) -> Vec<Summary> {
    // (point, server, metric) -> round -> value
    let mut values: BTreeMap<(&str, &str, &str), BTreeMap<usize, f64>> = BTreeMap::new();
    for trial in data.trials.iter().filter(|t| t.error.is_none()) {
        for (metric, &value) in &trial.metrics {
            if value.is_finite() {
                values
                    .entry((&trial.point, &trial.server, metric))
                    .or_default()
                    .insert(trial.round, value);
            }
        }
    }
    let mut out = Vec::new();
    for point in &data.points {
        for plan in &data.servers {
            let baseline = data
                .servers
                .iter()
                .filter(|s| s.baseline)
                .find(|s| s.policy == plan.policy)
                .or_else(|| data.servers.iter().find(|s| s.baseline));
            let metrics: BTreeSet<&str> = values
                .keys()
                .filter(|(p, s, _)| *p == point.label && *s == plan.label)
                .map(|&(_, _, metric)| metric)
                .collect();
            for metric in metrics {
                let by_round = &values[&(point.label.as_str(), plan.label.as_str(), metric)];
                let mut all: Vec<f64> = by_round.values().copied().collect();
                let mut ratios: Vec<f64> = baseline
                    .and_then(|b| values.get(&(point.label.as_str(), b.label.as_str(), metric)))
                    .map(|base| {
                        by_round
                            .iter()
                            .filter_map(|(round, v)| {
                                base.get(round).filter(|b| **b != 0.0).map(|b| v / b)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Summary {
                    point: point.label.clone(),
                    server: plan.label.clone(),
                    metric: metric.to_owned(),
                    min: all.iter().copied().fold(f64::INFINITY, f64::min),
                    max: all.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    n: all.len(),
                    median: median(&mut all),
                    ratio_vs_baseline: (!ratios.is_empty()).then(|| median(&mut ratios)),
                });
            }
        }
    }
    out
}

/// Compact number formatting for tables and axes.
pub fn fmt(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "–".into()
    } else if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a < 10.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.1}")
    }
}

/// Writes every output file into `out_dir`.
pub fn write_all(data: &RunData, out_dir: &Path) -> Result<()> {
    std::fs::create_dir_all(out_dir)?;
    let summary = summarize(data);
    let json = serde_json::json!({ "run": data, "summary": summary });
    std::fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    std::fs::write(out_dir.join("trials.csv"), trials_csv(data))?;
    std::fs::write(out_dir.join("summary.csv"), summary_csv(&summary))?;
    std::fs::write(out_dir.join("timeseries.csv"), timeseries_csv(data))?;
    let plots = plots::draw_all(data, &summary, out_dir)?;
    std::fs::write(out_dir.join("report.md"), markdown(data, &summary, &plots)?)?;
    Ok(())
}

/// CSV field quoting.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn trials_csv(data: &RunData) -> String {
    let names: BTreeSet<&str> = data
        .trials
        .iter()
        .flat_map(|t| t.metrics.keys().map(String::as_str))
        .collect();
    let mut out = String::from("round,point,server,error");
    for name in &names {
        let _ = write!(out, ",{name}");
    }
    out.push('\n');
    for t in &data.trials {
        let error = t.error.as_deref().unwrap_or("");
        let _ = write!(
            out,
            "{},{},{},{}",
            t.round,
            csv_field(&t.point),
            csv_field(&t.server),
            csv_field(error)
        );
        for name in &names {
            let value = t
                .metrics
                .get(*name)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let _ = write!(out, ",{value}");
        }
        out.push('\n');
    }
    out
}

fn summary_csv(summary: &[Summary]) -> String {
    let mut out = String::from("point,server,metric,median,min,max,n,ratio_vs_baseline\n");
    for s in summary {
        let ratio = s
            .ratio_vs_baseline
            .map(|r| r.to_string())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{ratio}",
            csv_field(&s.point),
            csv_field(&s.server),
            s.metric,
            s.median,
            s.min,
            s.max,
            s.n
        );
    }
    out
}

fn timeseries_csv(data: &RunData) -> String {
    let mut out = String::from("point,server,round,t_s,phase,rss_bytes,used_memory\n");
    for s in &data.samples {
        let _ = writeln!(
            out,
            "{},{},{},{:.3},{},{},{}",
            csv_field(&s.point),
            csv_field(&s.server),
            s.round,
            s.t_s,
            s.phase,
            s.rss_bytes,
            s.used_memory
        );
    }
    out
}

type Lookup<'a> = BTreeMap<(&'a str, &'a str, &'a str), &'a Summary>;

fn markdown(data: &RunData, summary: &[Summary], plots: &[(String, String)]) -> Result<String> {
    let spec = &data.spec;
    let mut md = String::new();
    let _ = writeln!(md, "# Experiment: {}\n", spec.name);
    if !spec.description.is_empty() {
        let _ = writeln!(md, "{}\n", spec.description.trim());
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let quick = if data.quick {
        ", **--quick** (scaled down: a smoke test, not a measurement)"
    } else {
        ""
    };
    let _ = writeln!(
        md,
        "Rounds: {} (servers alternate order each round){quick}. Machine: {cpus} CPUs. Cells are \
         `median (min–max)` over rounds; `× base` is the median over rounds of the ratio to the baseline in the \
         same round.\n",
        data.rounds,
    );
    load_note(&mut md, data);
    md.push_str("## Servers\n\n| label | command |\n|---|---|\n");
    for plan in &data.servers {
        let baseline = if plan.baseline { " (baseline)" } else { "" };
        let _ = writeln!(
            md,
            "| {}{baseline} | `{}` |",
            plan.label,
            plan.command.trim()
        );
    }
    md.push('\n');
    let lookup: Lookup = summary
        .iter()
        .map(|s| ((s.point.as_str(), s.server.as_str(), s.metric.as_str()), s))
        .collect();
    for point in &data.points {
        point_table(&mut md, data, point, &lookup)?;
    }
    trial_notes(&mut md, data);
    if !plots.is_empty() {
        md.push_str("## Plots\n\n");
        for (file, title) in plots {
            let _ = writeln!(md, "### {title}\n\n![{title}]({file})\n");
        }
    }
    md.push_str(
        "Data: `results.json` (spec, every trial, summary), `trials.csv`, `summary.csv`, \
         `timeseries.csv`; server logs in `logs/`.\n",
    );
    Ok(md)
}

/// The machine's load during the run (1-minute load average at the end of each trial) and `--note`.
fn load_note(md: &mut String, data: &RunData) {
    let mut loads: Vec<f64> = data
        .trials
        .iter()
        .filter_map(|t| t.metrics.get("load_1m").copied())
        .collect();
    if !loads.is_empty() {
        let (min, max) = (
            loads.iter().copied().fold(f64::INFINITY, f64::min),
            loads.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let _ = writeln!(
            md,
            "Machine load: 1-minute load average at the end of each trial {:.2} median ({min:.2}–{max:.2}); \
             the harness and the server under test account for about 2 of it.\n",
            median(&mut loads),
        );
    }
    if let Some(note) = &data.note {
        let _ = writeln!(md, "Note: {}\n", note.trim());
    }
}

/// One section per point: the workload and a table of headline metrics per server.
fn point_table(md: &mut String, data: &RunData, point: &Point, lookup: &Lookup) -> Result<()> {
    let workload = Workload::from_table(&point.workload)?;
    let _ = writeln!(md, "## {}\n", point.label);
    let shown = toml::to_string(&point.workload)?.replace('\n', "; ");
    let _ = writeln!(md, "Workload: `{}`\n", shown.trim_end_matches("; "));
    let get =
        |server: &str, metric: &str| lookup.get(&(point.label.as_str(), server, metric)).copied();
    let metrics: Vec<&MetricInfo> = headline(workload.kind)
        .iter()
        .filter(|mi| {
            data.servers
                .iter()
                .any(|s| get(&s.label, mi.name).is_some())
        })
        .collect();
    let ratio_metrics: Vec<&MetricInfo> = if data.servers.iter().any(|s| s.baseline) {
        metrics.iter().copied().filter(|mi| mi.ratio).collect()
    } else {
        Vec::new()
    };
    md.push_str("| server |");
    for mi in &metrics {
        let _ = write!(md, " {} |", mi.title);
    }
    for mi in &ratio_metrics {
        let _ = write!(md, " {} × base |", mi.title);
    }
    let _ = writeln!(
        md,
        "\n|---|{}",
        "---|".repeat(metrics.len() + ratio_metrics.len())
    );
    for plan in &data.servers {
        let _ = write!(md, "| {} |", plan.label);
        for mi in &metrics {
            let cell = get(&plan.label, mi.name).map_or("–".into(), |s| {
                if s.n > 1 {
                    format!("{} ({}–{})", fmt(s.median), fmt(s.min), fmt(s.max))
                } else {
                    fmt(s.median)
                }
            });
            let _ = write!(md, " {cell} |");
        }
        for mi in &ratio_metrics {
            let ratio = get(&plan.label, mi.name)
                .and_then(|s| s.ratio_vs_baseline)
                .map_or("–".into(), |r| format!("{r:.2}"));
            let _ = write!(md, " {ratio} |");
        }
        md.push('\n');
    }
    md.push('\n');
    Ok(())
}

/// Failed trials and trials that saw error replies.
fn trial_notes(md: &mut String, data: &RunData) {
    let failed: Vec<_> = data.trials.iter().filter(|t| t.error.is_some()).collect();
    if !failed.is_empty() {
        md.push_str("## Failed trials\n\n");
        for t in failed {
            let error = t.error.as_deref().unwrap_or("");
            let _ = writeln!(
                md,
                "- round {} {} {}: {error}",
                t.round + 1,
                t.point,
                t.server
            );
        }
        md.push('\n');
    }
    let replied: Vec<_> = data
        .trials
        .iter()
        .filter(|t| t.first_error_reply.is_some())
        .collect();
    if !replied.is_empty() {
        md.push_str("## Error replies (counted in `errors`; expected under noeviction)\n\n");
        for t in replied {
            let count = t.metrics.get("errors").copied().unwrap_or(0.0);
            let reply = t.first_error_reply.as_deref().unwrap_or("");
            let _ = writeln!(
                md,
                "- round {} {} {}: {count} replies, first `{reply}`",
                t.round + 1,
                t.point,
                t.server
            );
        }
        md.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn kv_tables_show_the_tail_and_its_ratio() {
        let kv = headline(Kind::Kv);
        assert!(kv.iter().any(|m| m.name == "max_us"));
        let ratios: Vec<&str> = kv.iter().filter(|m| m.ratio).map(|m| m.name).collect();
        assert_eq!(ratios, ["ops_per_s", "ops_per_cpu_s", "p99_us"]);
    }

    #[test]
    fn numbers_format_compactly() {
        assert_eq!(fmt(1_234_567.0), "1.23M");
        assert_eq!(fmt(12_345.0), "12.3k");
        assert_eq!(fmt(42.0), "42");
        assert_eq!(fmt(0.91234), "0.912");
        assert_eq!(fmt(f64::NAN), "–");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
