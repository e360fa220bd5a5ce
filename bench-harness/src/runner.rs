//! Runs an experiment: for every round, every point, every server (order reversed on odd rounds so slow drift
//! on a noisy machine hits every server alike) a fresh server process runs one trial, sampled over time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::server::{free_port, info_u64, proc_sample, Conn, ServerProcess};
use crate::spec::{split_command, Point, ServerPlan, Spec};
use crate::workload::{Kind, Workload};
use crate::{clients, load, pubsub};

/// How a run is configured beyond the spec.
#[derive(Debug, Clone)]
pub struct Options {
    /// Results directory.
    pub out_dir: PathBuf,
    /// Scale workloads down (see `Workload::quick`) and run one round.
    pub quick: bool,
    /// Path substituted for `{zedis}`.
    pub zedis_bin: PathBuf,
    /// Keep only servers whose label equals or starts with one of these (empty: all).
    pub only: Vec<String>,
    /// Overrides the spec's round count.
    pub rounds: Option<usize>,
    /// Free text copied into the report (e.g. "the machine was shared with 4 engineers compiling").
    pub note: Option<String>,
}

/// One server running one point in one round.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// Round index from 0.
    pub round: usize,
    /// Point label.
    pub point: String,
    /// Server label.
    pub server: String,
    /// The command line actually run.
    pub command: String,
    /// Set when the trial failed; its metrics are then partial or empty.
    pub error: Option<String>,
    /// The first error reply the server sent (e.g. OOM under noeviction); counted in the `errors` metric.
    pub first_error_reply: Option<String>,
    /// Metric name to value (names listed in `report::METRICS`).
    pub metrics: BTreeMap<String, f64>,
}

/// One memory sample of a running server.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Point label.
    pub point: String,
    /// Server label.
    pub server: String,
    /// Round index.
    pub round: usize,
    /// Seconds since the server answered its first PING.
    pub t_s: f64,
    /// `start`, `fill` or `timed`.
    pub phase: &'static str,
    /// VmRSS, bytes.
    pub rss_bytes: u64,
    /// INFO used_memory, bytes.
    pub used_memory: u64,
}

/// Everything a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct RunData {
    /// The spec as run.
    pub spec: Spec,
    /// Whether `--quick` scaled it down.
    pub quick: bool,
    /// Rounds run.
    pub rounds: usize,
    /// Servers compared.
    pub servers: Vec<ServerPlan>,
    /// Workload points.
    pub points: Vec<Point>,
    /// Every trial, in run order.
    pub trials: Vec<Trial>,
    /// Memory samples of every trial.
    pub samples: Vec<Sample>,
    /// `--note`, copied into the report.
    pub note: Option<String>,
}

const PHASES: [&str; 3] = ["start", "fill", "timed"];

/// Runs every trial of `spec`.
pub fn run(spec: &Spec, options: &Options) -> Result<RunData> {
    let redis_on_path = crate::server::on_path("redis-server");
    let servers: Vec<ServerPlan> = spec
        .servers(redis_on_path)?
        .into_iter()
        .filter(|s| {
            options.only.is_empty() || options.only.iter().any(|o| s.label.starts_with(o.as_str()))
        })
        .collect();
    if servers.is_empty() {
        bail!(
            "no servers to run (redis-server on PATH: {redis_on_path}; --only {:?})",
            options.only
        );
    }
    if servers.iter().any(|s| s.command.contains("{zedis}")) && !options.zedis_bin.is_file() {
        bail!("{} not found: build it (cargo build --release -p zedis-server), pass --server-bin, or --only redis",
            options.zedis_bin.display());
    }
    let mut points = spec.points()?;
    for point in &mut points {
        if options.quick {
            let mut workload = Workload::from_table(&point.workload)?;
            workload.quick();
            point.workload = toml::Table::try_from(&workload)?;
        }
    }
    let rounds = options
        .rounds
        .unwrap_or(if options.quick { 1 } else { spec.rounds });
    let logs = options.out_dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let bar = ProgressBar::new((rounds * points.len() * servers.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut data = RunData {
        spec: spec.clone(),
        quick: options.quick,
        rounds,
        servers: servers.clone(),
        points: points.clone(),
        trials: Vec::new(),
        samples: Vec::new(),
        note: options.note.clone(),
    };
    for round in 0..rounds {
        for point in &points {
            let workload = Workload::from_table(&point.workload)?;
            let mut order: Vec<&ServerPlan> = servers.iter().collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for plan in order {
                bar.set_message(format!(
                    "round {} {} {}",
                    round + 1,
                    point.label,
                    plan.label
                ));
                let (trial, samples) = run_trial(plan, point, &workload, round, options);
                if let Some(error) = &trial.error {
                    bar.println(format!(
                        "trial failed: round {} {} {}: {error}",
                        round + 1,
                        point.label,
                        plan.label
                    ));
                }
                data.trials.push(trial);
                data.samples.extend(samples);
                bar.inc(1);
            }
        }
    }
    bar.finish_with_message("done");
    Ok(data)
}

/// Fills a command template.
pub fn command_line(
    plan: &ServerPlan,
    workload: &Workload,
    port: u16,
    zedis_bin: &std::path::Path,
) -> String {
    plan.command
        .replace("{port}", &port.to_string())
        .replace("{zedis}", &zedis_bin.display().to_string())
        .replace("{maxmemory}", &workload.maxmemory)
        .replace(
            "{policy}",
            plan.policy.as_deref().unwrap_or(&workload.policy),
        )
}

fn run_trial(
    plan: &ServerPlan,
    point: &Point,
    workload: &Workload,
    round: usize,
    options: &Options,
) -> (Trial, Vec<Sample>) {
    let mut trial = Trial {
        round,
        point: point.label.clone(),
        server: plan.label.clone(),
        command: String::new(),
        error: None,
        first_error_reply: None,
        metrics: BTreeMap::new(),
    };
    let mut samples = Vec::new();
    let outcome = (|| -> Result<()> {
        let port = free_port()?;
        trial.command = command_line(plan, workload, port, &options.zedis_bin);
        let args = split_command(&trial.command)?;
        let log = options.out_dir.join("logs").join(format!(
            "{}-{}-r{round}.log",
            slug(&plan.label),
            slug(&point.label)
        ));
        let server = ServerProcess::start(&args, port, &log)?;
        let sampler = matches!(workload.kind, Kind::Kv | Kind::Pubsub)
            .then(|| Sampler::start(&server, workload));
        let result = match workload.kind {
            Kind::Kv => kv_trial(&server, workload, sampler.as_ref(), &mut trial.metrics)
                .map(|reply| trial.first_error_reply = reply),
            Kind::IdleConnections => idle_trial(&server, workload, &mut trial.metrics),
            Kind::ConnectChurn => churn_trial(&server, workload, &mut trial.metrics),
            Kind::Pubsub => pubsub_trial(&server, workload, &mut trial.metrics),
        };
        if let Some(sampler) = sampler {
            for mut sample in sampler.stop() {
                sample.point = point.label.clone();
                sample.server = plan.label.clone();
                sample.round = round;
                samples.push(sample);
            }
        }
        result
    })();
    if let Err(error) = outcome {
        trial.error = Some(format!("{error:#}"));
    }
    // Other processes' load at the end of the trial: the harness and server themselves add up to ~2.
    if let Some(load) = crate::server::load_average_1m() {
        trial.metrics.insert("load_1m".into(), load);
    }
    (trial, samples)
}

/// A file-name-safe form of a label.
pub fn slug(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn kv_trial(
    server: &ServerProcess,
    workload: &Workload,
    sampler: Option<&Sampler>,
    m: &mut BTreeMap<String, f64>,
) -> Result<Option<String>> {
    let mut control = server.conn()?;
    let rss_empty = server.sample()?.rss_bytes;
    let used_empty = info_u64(&control.info()?, "used_memory");
    m.insert("rss_empty".into(), rss_empty as f64);
    if workload.fill {
        if let Some(s) = sampler {
            s.phase(1);
        }
        m.insert(
            "fill_errors".into(),
            load::fill(server.port, workload)? as f64,
        );
    }
    let keys = control.dbsize()?;
    let rss_full = server.sample()?.rss_bytes;
    let used_full = info_u64(&control.info()?, "used_memory");
    m.insert("keys_filled".into(), keys as f64);
    if keys > 0 {
        m.insert(
            "bytes_per_key_rss".into(),
            rss_full.saturating_sub(rss_empty) as f64 / keys as f64,
        );
        m.insert(
            "bytes_per_key_used".into(),
            used_full.saturating_sub(used_empty) as f64 / keys as f64,
        );
    }
    if let Some(fraction) = workload.budget_fraction {
        let budget = used_empty + (fraction * used_full.saturating_sub(used_empty) as f64) as u64;
        control.config_set("maxmemory", &budget.to_string())?;
        m.insert("budget_bytes".into(), budget as f64);
    }
    let before = control.info()?;
    let cpu_before = server.sample()?.cpu_s;
    if let Some(s) = sampler {
        s.phase(2);
    }
    let stats = load::run_timed(server.port, workload)?;
    let cpu_s = server.sample()?.cpu_s - cpu_before;
    let after = control.info()?;
    let end = server.sample()?;
    let delta =
        |field: &str| info_u64(&after, field).saturating_sub(info_u64(&before, field)) as f64;
    m.insert("ops".into(), stats.ops as f64);
    m.insert(
        "ops_per_s".into(),
        stats.ops as f64 / stats.window_s.max(1e-9),
    );
    m.insert(
        "ops_per_cpu_s".into(),
        stats.ops_all as f64 / cpu_s.max(1e-9),
    );
    m.insert("server_cpu_s".into(), cpu_s);
    for (name, q) in [("p50_us", 50.0), ("p99_us", 99.0), ("p999_us", 99.9)] {
        m.insert(name.into(), stats.latency_us.value_at_percentile(q) as f64);
    }
    m.insert("max_us".into(), stats.latency_us.max() as f64);
    if stats.hits + stats.misses > 0 {
        m.insert(
            "hit_ratio".into(),
            stats.hits as f64 / (stats.hits + stats.misses) as f64,
        );
    }
    let (hits, misses) = (delta("keyspace_hits"), delta("keyspace_misses"));
    if hits + misses > 0.0 {
        m.insert("server_hit_ratio".into(), hits / (hits + misses));
    }
    m.insert("evicted_keys".into(), delta("evicted_keys"));
    m.insert(
        "evicted_keys_total".into(),
        info_u64(&after, "evicted_keys") as f64,
    );
    m.insert("errors".into(), stats.errors as f64);
    let used_end = info_u64(&after, "used_memory");
    m.insert("used_memory_end".into(), used_end as f64);
    m.insert("rss_end".into(), end.rss_bytes as f64);
    m.insert("rss_peak".into(), end.hwm_bytes as f64);
    if used_end > 0 {
        m.insert(
            "rss_over_used".into(),
            end.rss_bytes as f64 / used_end as f64,
        );
    }
    m.insert("keys_end".into(), control.dbsize()? as f64);
    Ok(stats.first_error)
}

fn idle_trial(
    server: &ServerProcess,
    workload: &Workload,
    m: &mut BTreeMap<String, f64>,
) -> Result<()> {
    let r = clients::idle_connections(
        server,
        workload.idle_connections,
        Duration::from_millis(workload.settle_ms),
    )?;
    let n = r.connections.max(1) as f64;
    m.insert("connections".into(), r.connections as f64);
    m.insert("connected_clients".into(), r.connected_clients as f64);
    m.insert("rss_empty".into(), r.rss_before as f64);
    m.insert(
        "bytes_per_conn_rss".into(),
        (r.rss_after as f64 - r.rss_before as f64) / n,
    );
    m.insert(
        "bytes_per_conn_used".into(),
        (r.used_after as f64 - r.used_before as f64) / n,
    );
    Ok(())
}

fn churn_trial(
    server: &ServerProcess,
    workload: &Workload,
    m: &mut BTreeMap<String, f64>,
) -> Result<()> {
    let cpu_before = server.sample()?.cpu_s;
    let start = Instant::now();
    let cycles = clients::connect_churn(
        server.port,
        workload.connections,
        Duration::from_secs_f64(workload.duration_s),
    )?;
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_s = server.sample()?.cpu_s - cpu_before;
    m.insert("connects".into(), cycles as f64);
    m.insert("connects_per_s".into(), cycles as f64 / elapsed);
    m.insert("connects_per_cpu_s".into(), cycles as f64 / cpu_s.max(1e-9));
    m.insert("server_cpu_s".into(), cpu_s);
    m.insert("rss_end".into(), server.sample()?.rss_bytes as f64);
    Ok(())
}

fn pubsub_trial(
    server: &ServerProcess,
    workload: &Workload,
    m: &mut BTreeMap<String, f64>,
) -> Result<()> {
    let cpu_before = server.sample()?.cpu_s;
    let r = pubsub::run(server.port, workload)?;
    let cpu_s = server.sample()?.cpu_s - cpu_before;
    let promised = r.published * workload.subscribers as u64;
    m.insert("published".into(), r.published as f64);
    m.insert("delivered".into(), r.delivered as f64);
    m.insert(
        "delivered_per_s".into(),
        r.delivered as f64 / r.elapsed_s.max(1e-9),
    );
    m.insert(
        "delivered_per_cpu_s".into(),
        r.delivered as f64 / cpu_s.max(1e-9),
    );
    m.insert(
        "lost".into(),
        promised.max(r.expected).saturating_sub(r.delivered) as f64,
    );
    m.insert("out_of_order".into(), r.out_of_order as f64);
    m.insert("disconnected".into(), r.disconnected as f64);
    m.insert("server_cpu_s".into(), cpu_s);
    m.insert("rss_end".into(), server.sample()?.rss_bytes as f64);
    Ok(())
}

/// Samples RSS and used_memory on its own thread and connection.
struct Sampler {
    stop: Arc<AtomicBool>,
    phase: Arc<AtomicU8>,
    handle: std::thread::JoinHandle<Vec<Sample>>,
}

impl Sampler {
    fn start(server: &ServerProcess, workload: &Workload) -> Sampler {
        let (stop, phase) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU8::new(0)));
        let (pid, port, interval) = (
            server.pid(),
            server.port,
            Duration::from_millis(workload.sample_ms.max(10)),
        );
        let (stop2, phase2) = (Arc::clone(&stop), Arc::clone(&phase));
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            let mut conn = Conn::connect(port).ok();
            let mut samples = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                let rss_bytes = proc_sample(pid).map(|s| s.rss_bytes).unwrap_or(0);
                let used_memory = conn
                    .as_mut()
                    .and_then(|c| c.info().ok())
                    .map_or(0, |info| info_u64(&info, "used_memory"));
                samples.push(Sample {
                    point: String::new(),
                    server: String::new(),
                    round: 0,
                    t_s: start.elapsed().as_secs_f64(),
                    phase: PHASES[usize::from(phase2.load(Ordering::Relaxed)).min(2)],
                    rss_bytes,
                    used_memory,
                });
                let wake = Instant::now() + interval;
                while Instant::now() < wake && !stop2.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            samples
        });
        Sampler {
            stop,
            phase,
            handle,
        }
    }

    fn phase(&self, phase: u8) {
        self.phase.store(phase, Ordering::Relaxed);
    }

    fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}
