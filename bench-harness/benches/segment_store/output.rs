//! CSV, markdown and SVG output of the segment-store experiment.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::trial::Spec;
use crate::Done;

/// What the run covered, for the report header.
pub struct Settings {
    /// Keys per fill trial.
    pub keys: u64,
    /// Distinct keys of the cache workload.
    pub universe: u64,
    /// Operations per cache trial.
    pub cache_ops: u64,
    /// Rounds.
    pub rounds: usize,
    /// Cache budgets.
    pub budgets_mib: Vec<usize>,
    /// Fill value sizes.
    pub value_bytes: Vec<usize>,
    /// Strategies in order.
    pub strategies: Vec<&'static str>,
}

type Error = Box<dyn std::error::Error>;

/// `median (min–max)` of the rounds.
struct Cell {
    median: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn cell(values: &[f64]) -> Option<Cell> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    };
    Some(Cell {
        median,
        min: v[0],
        max: v[v.len() - 1],
        n: v.len(),
    })
}

fn fmt(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a < 10.0 && v.fract() != 0.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.1}")
    }
}

fn show(c: Option<Cell>) -> String {
    match c {
        Some(c) if c.n > 1 => format!("{} ({}–{})", fmt(c.median), fmt(c.min), fmt(c.max)),
        Some(c) => fmt(c.median),
        None => "–".into(),
    }
}

/// Key of a fill point: (value bytes, ttl, strategy).
fn fill_values(done: &[Done], value: usize, ttl: bool, strategy: &str, metric: &str) -> Vec<f64> {
    done.iter()
        .filter(|d| {
            matches!(&d.spec, Spec::Fill { strategy: s, value_bytes, ttl: t, .. }
                if s == strategy && *value_bytes == value && *t == ttl)
        })
        .filter_map(|d| d.metrics.get(metric).copied())
        .collect()
}

fn cache_values(done: &[Done], budget: usize, strategy: &str, metric: &str) -> Vec<f64> {
    done.iter()
        .filter(|d| {
            matches!(&d.spec, Spec::Cache { strategy: s, budget_bytes, .. }
                if s == strategy && *budget_bytes == budget)
        })
        .filter_map(|d| d.metrics.get(metric).copied())
        .collect()
}

fn csv(done: &[Done], kind: &str) -> String {
    let rows: Vec<&Done> = done
        .iter()
        .filter(|d| d.spec.encode().starts_with(kind))
        .collect();
    let names: std::collections::BTreeSet<&str> = rows
        .iter()
        .flat_map(|d| d.metrics.keys().map(String::as_str))
        .collect();
    let mut out = String::from("round,spec");
    for n in &names {
        let _ = write!(out, ",{n}");
    }
    out.push('\n');
    for d in rows {
        let _ = write!(out, "{},\"{}\"", d.round, d.spec.encode());
        for n in &names {
            let v = d.metrics.get(*n).map(|v| v.to_string()).unwrap_or_default();
            let _ = write!(out, ",{v}");
        }
        out.push('\n');
    }
    out
}

/// Writes `fill.csv`, `cache.csv`, `report.md` and the plots.
pub fn write_all(dir: &Path, s: &Settings, done: &[Done]) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("fill.csv"), csv(done, "fill"))?;
    std::fs::write(dir.join("cache.csv"), csv(done, "cache"))?;
    let mut md = String::new();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        md,
        "# Segment store vs KV pool vs system allocator (in process)\n\n\
         **In-process figures, not server-level ones**: no network, no RESP parsing, no command table; the \
         keyspace runs its real SET/GET handlers (argument parsing and reply encoding included), the segment \
         store its own API with the same reply bytes appended. Each trial is a fresh process; strategies \
         alternate order each round. Rounds: {}. Cells: `median (min–max)`. Machine: {} CPUs, shared with \
         other engineers compiling (load average at the end: {}).\n\n\
         Command: `cargo bench -p zedis-bench --bench segment_store` (settings: `ZEDIS_SEG_KEYS={}`, \
         `ZEDIS_SEG_UNIVERSE={}`, `ZEDIS_SEG_CACHE_OPS={}`, `ZEDIS_SEG_ROUNDS={}`).\n",
        s.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        s.keys,
        s.universe,
        s.cache_ops,
        s.rounds,
    );
    fill_section(&mut md, s, done);
    cache_section(&mut md, s, done);
    fill_plots(dir, s, done, &mut md)?;
    md.push_str("Data: `fill.csv`, `cache.csv` (every trial, every metric).\n");
    std::fs::write(dir.join("report.md"), md)?;
    Ok(())
}

fn fill_section(md: &mut String, s: &Settings, done: &[Done]) {
    let _ = writeln!(
        md,
        "## Bytes per key and throughput, {} keys\n\n\
         Keys `key:00000000` (12 B). With TTL: every key expires 1–2 h ahead (several of the segment \
         store's TTL buckets). `charged` = bytes charged to the budget (`Component::Keyspace`: entries, \
         values, expiry table and index for the keyspace; segments and index for the segment store) per \
         key; `RSS` = RSS growth during the fill per key. Insert = SET of new keys; get = GET of random \
         present keys.\n\n\
         | value | TTL | strategy | charged B/key | RSS B/key | insert ops/s | get ops/s |\n\
         |---|---|---|---|---|---|---|",
        s.keys
    );
    for &value in &s.value_bytes {
        for ttl in [false, true] {
            for strategy in &s.strategies {
                let c = |m: &str| cell(&fill_values(done, value, ttl, strategy, m));
                let _ = writeln!(
                    md,
                    "| {value} B | {} | {strategy} | {} | {} | {} | {} |",
                    if ttl { "yes" } else { "no" },
                    show(c("charged_per_key")),
                    show(c("rss_per_key")),
                    show(c("insert_ops_per_s")),
                    show(c("get_ops_per_s")),
                );
            }
        }
    }
    md.push('\n');
}

fn cache_section(md: &mut String, s: &Settings, done: &[Done]) {
    let _ = writeln!(
        md,
        "## TTL-heavy cache workload\n\n\
         {} operations (the first 20% not counted) of cache-aside (GET; SET after a miss) over {} keys, \
         Zipf(0.99) popularity; per key a fixed value size (16/32/64/256 B, weights 4/3/2/1) and TTL class \
         (none 10%, 5 s 30%, 30 s 30%, 300 s 30%). Simulated clock: 1 ms per 20 operations; an expiry tick \
         every 100 simulated ms. Keyspace: allkeys-lru eviction before each SET, Redis's active expire cycle \
         on the tick (time cap 250 µs). Segment store: merge eviction on a full budget, whole expired \
         segments freed on the tick. `charged` = budget bytes at the end; `RSS` = RSS growth over the run.\n\n\
         | budget | strategy | hit ratio | ops/s | charged at end | RSS growth | keys at end | evicted | expired |\n\
         |---|---|---|---|---|---|---|---|---|",
        s.cache_ops, s.universe
    );
    for &mib in &s.budgets_mib {
        for strategy in &s.strategies {
            let c = |m: &str| cell(&cache_values(done, mib << 20, strategy, m));
            let budget = if mib == 0 {
                "none".to_owned()
            } else {
                format!("{mib} MiB")
            };
            let _ = writeln!(
                md,
                "| {budget} | {strategy} | {} | {} | {} | {} | {} | {} | {} |",
                show(c("hit_ratio")),
                show(c("ops_per_s")),
                show(c("charged_end")),
                show(c("rss_delta_end")),
                show(c("keys_end")),
                show(c("evicted")),
                show(c("expired")),
            );
        }
    }
    md.push('\n');
}

fn fill_plots(dir: &Path, s: &Settings, done: &[Done], md: &mut String) -> Result<(), Error> {
    md.push_str("## Plots\n\n");
    let plots = [
        ("charged_per_key", "bytes per key charged to the budget"),
        ("rss_per_key", "RSS bytes per key"),
        ("insert_ops_per_s", "inserts per second"),
        ("get_ops_per_s", "gets per second"),
    ];
    for (metric, title) in plots {
        let mut series = Vec::new();
        for strategy in &s.strategies {
            for ttl in [false, true] {
                let points: Vec<(f64, f64)> = s
                    .value_bytes
                    .iter()
                    .filter_map(|&v| {
                        cell(&fill_values(done, v, ttl, strategy, metric))
                            .map(|c| (v as f64, c.median))
                    })
                    .collect();
                let label = format!("{strategy}{}", if ttl { " +TTL" } else { "" });
                series.push((label, points));
            }
        }
        let file = format!("{metric}.svg");
        line_chart(&dir.join(&file), title, "value bytes", &series)?;
        let _ = writeln!(md, "### {title}\n\n![{title}]({file})\n");
    }
    let mut series = Vec::new();
    for strategy in &s.strategies {
        let points = s
            .budgets_mib
            .iter()
            .filter(|&&mib| mib > 0)
            .filter_map(|&mib| {
                cell(&cache_values(done, mib << 20, strategy, "hit_ratio"))
                    .map(|c| (mib as f64, c.median))
            })
            .collect();
        series.push((strategy.to_string(), points));
    }
    line_chart(
        &dir.join("cache_hit_ratio.svg"),
        "cache workload hit ratio",
        "budget MiB",
        &series,
    )?;
    md.push_str("### cache workload hit ratio\n\n![hit ratio](cache_hit_ratio.svg)\n\n");
    Ok(())
}

/// Lines of `(x, y)` points, one per series.
fn line_chart(
    path: &Path,
    title: &str,
    x_name: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Error> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let xs = || series.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x));
    let x_min = xs().fold(f64::INFINITY, f64::min);
    let x_max = xs().fold(f64::NEG_INFINITY, f64::max);
    let (x_min, x_max) = if x_min < x_max {
        (x_min, x_max)
    } else {
        (0.0, 1.0)
    };
    let y_max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .fold(0.0, f64::max)
        * 1.1;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(x_min..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc(x_name)
        .y_label_formatter(&|y| fmt(*y))
        .draw()?;
    for (i, (label, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
