//! `zedis-bench`: the experiment harness. Runs zedis-server under allocator strategies (and redis-server, when
//! on PATH) as child processes, drives load with its own generator, samples memory and CPU from `/proc` and
//! INFO, and writes CSV, JSON, SVG plots and a markdown report. See `bench-harness/README.md`.
//!
//! # Module layout
//! - `spec`: the experiment TOML format, server expansion, sweep points.
//! - `workload`: workload parameters, xorshift RNG, uniform/Zipf key and weighted value-size pickers.
//! - `server`: child server processes, `/proc` readings, a control connection.
//! - `load`: the pipelined key-value load generator; `clients`: idle connections and connect churn;
//!   `pubsub`: publisher/subscriber fan-out with loss checking.
//! - `runner`: alternating rounds of trials; `report`: summaries, CSV/JSON/markdown; `plots`: SVGs.

mod clients;
mod load;
mod plots;
mod pubsub;
mod report;
mod runner;
mod server;
mod spec;
mod workload;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Command line.
#[derive(Parser)]
#[command(
    name = "zedis-bench",
    about = "Zedis experiment harness: allocator strategies against each other and redis-server"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run an experiment spec and write its results directory.
    Run {
        /// The spec, e.g. experiments/strategy-matrix.toml.
        spec: PathBuf,
        /// Results directory (default: `results/<name>/` next to the spec).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Smoke run: one round, a tenth of the durations, keys and messages.
        #[arg(long)]
        quick: bool,
        /// The zedis-server binary substituted for `{zedis}`.
        #[arg(long, default_value = "target/release/zedis-server")]
        server_bin: PathBuf,
        /// Run only servers whose label starts with one of these (comma separated), e.g. `--only redis`.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Override the spec's number of rounds.
        #[arg(long)]
        rounds: Option<usize>,
        /// Free text copied into the report, e.g. how loaded the machine was.
        #[arg(long)]
        note: Option<String>,
    },
    /// Print the servers and points a spec expands to, without running anything.
    List {
        /// The spec.
        spec: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Run {
            spec: spec_path,
            out,
            quick,
            server_bin,
            only,
            rounds,
            note,
        } => {
            let spec = spec::Spec::load(&spec_path)?;
            let out_dir = out.unwrap_or_else(|| {
                spec_path
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join("results")
                    .join(&spec.name)
            });
            server::raise_fd_limit();
            let options = runner::Options {
                out_dir: out_dir.clone(),
                quick,
                zedis_bin: server_bin,
                only,
                rounds,
                note,
            };
            let data = runner::run(&spec, &options)?;
            report::write_all(&data, &out_dir)?;
            let failed = data.trials.iter().filter(|t| t.error.is_some()).count();
            println!(
                "{} trials ({failed} failed); report: {}",
                data.trials.len(),
                out_dir.join("report.md").display()
            );
            Ok(())
        }
        Cmd::List { spec: spec_path } => {
            let spec = spec::Spec::load(&spec_path)?;
            println!("{}: {} rounds", spec.name, spec.rounds);
            for plan in spec.servers(server::on_path("redis-server"))? {
                println!("server {:<40} {}", plan.label, plan.command);
            }
            for point in spec.points()? {
                println!(
                    "point  {:<40} {}",
                    point.label,
                    toml::to_string(&point.workload)?.replace('\n', " ")
                );
            }
            Ok(())
        }
    }
}
