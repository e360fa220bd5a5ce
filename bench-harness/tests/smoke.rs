//! Runs a tiny spec (1-second kv workload, 2 connections) against `redis-server` through the real binary and
//! checks the output files and that the numbers are sane. Skips (with a note) when redis-server is not on PATH.

use std::path::PathBuf;
use std::process::Command;

fn redis_on_path() -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join("redis-server").is_file()))
        .unwrap_or(false)
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zedis-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const SPEC: &str = r#"
name = "smoke"
description = "A 1-second kv workload against redis-server."
rounds = 1
redis = true
strategies = ["zedis"]

[workload]
connections = 2
pipeline = 4
keys = 2000
duration_s = 1.0
distribution = "zipf"
read_ratio = 0.8
ttl_share = 0.1
value_bytes_mix = [[16, 3], [256, 1]]
sample_ms = 100
"#;

#[test]
fn tiny_kv_spec_against_redis() {
    if !redis_on_path() {
        eprintln!("note: redis-server not on PATH; skipping the smoke test");
        return;
    }
    let dir = scratch_dir("smoke");
    let spec = dir.join("smoke.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_zedis-bench"))
        .args([
            "run",
            spec.to_str().unwrap(),
            "--only",
            "redis",
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    for file in [
        "report.md",
        "results.json",
        "trials.csv",
        "summary.csv",
        "timeseries.csv",
        "ops_per_s.svg",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let trials = json["run"]["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 1, "--only redis leaves one server, one round");
    let trial = &trials[0];
    assert_eq!(trial["server"], "redis");
    assert!(trial["error"].is_null(), "{}", trial["error"]);
    let metric = |name: &str| {
        trial["metrics"][name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert!(metric("ops") > 0.0 && metric("ops_per_s") > 0.0);
    assert!(metric("ops_per_cpu_s") > 0.0);
    assert_eq!(metric("keys_filled"), 2000.0);
    assert!(metric("bytes_per_key_used") > 16.0 && metric("bytes_per_key_used") < 10_000.0);
    assert!((0.0..=1.0).contains(&metric("hit_ratio")));
    assert!(metric("p50_us") > 0.0 && metric("p50_us") <= metric("p99_us"));
    assert_eq!(metric("errors"), 0.0);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| redis |"));
    let series = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(series.lines().count() > 2, "memory was sampled");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_expands_a_spec_without_running() {
    let dir = scratch_dir("list");
    let spec = dir.join("list.toml");
    std::fs::write(
        &spec,
        "name='l'\nstrategies=['matrix']\n[sweep]\nparam='pipeline'\nvalues=[1, 64]\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_zedis-bench"))
        .args(["list", spec.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("server")).count(), 8);
    assert!(text.contains("pipeline=64"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_zedis_binary_is_a_clear_error() {
    let dir = scratch_dir("missing");
    let spec = dir.join("m.toml");
    std::fs::write(&spec, "name='m'\nstrategies=['zedis']\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_zedis-bench"))
        .args([
            "run",
            spec.to_str().unwrap(),
            "--server-bin",
            "/nonexistent/zedis-server",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not found"));
    let _ = std::fs::remove_dir_all(&dir);
}
