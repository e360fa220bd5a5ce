//! A byte-exact side-by-side compatibility suite: every script in `tests/compat/*.txt` runs against a
//! `zedis-server` and a real `redis-server` (7.0), and every reply must match byte for byte unless the line
//! asks for a looser comparison.
//!
//! Script syntax, one item per line (`#` starts a comment line, blank lines are skipped):
//! - `CMD arg "quoted arg" 'single'`: sent as a RESP multibulk; one reply frame read from each server.
//!   Double quotes take redis-cli escapes (`\x41`, `\n`, `\r`, `\t`, `\a`, `\b`, `\"`, `\\`).
//! - prefixes (before the command): `?type` compares only the top-level RESP type byte; `?sorted` compares
//!   aggregates as sorted multisets (recursively); `?pairs` compares a flat `[k, v, k, v]` array (or a map)
//!   as a set of pairs; `?error` only requires both replies to be errors; `@noreply` sends without reading.
//! - `@resp3`: sends `HELLO 3`, compares the reply with the `id` value masked (as for every `HELLO` line).
//! - `@sleep N`: sleeps N milliseconds.
//! - `@raw BYTES`: sends escaped raw bytes (same escapes as double quotes, without the quotes) and reads one
//!   reply frame; `@send BYTES` sends without reading; `@read` reads one frame; `@raw-close BYTES` sends and
//!   reads until the server closes the connection, comparing everything received; `@raw-close-rep PREFIX N
//!   UNIT` does the same with PREFIX followed by N copies of UNIT (for size limits).
//!
//! Each script runs on fresh connections after `FLUSHALL`, and ends with a sentinel `ECHO` so stray replies
//! show up as mismatches. All mismatches are collected, then the test fails once listing them all.
//!
//! Env: `COMPAT_SCRIPT=name` runs only `name.txt`; `COMPAT_VS_REDIS=1` compares redis against a second
//! redis (to validate the scripts themselves); `COMPAT_VERBOSE=1` prints every reply pair.

mod common;
mod compat_support;

use common::reference::RedisProcess;
use compat_support::run::{run_script, Mismatch};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `server/tests/compat`: the scripts and `known-diffs.txt`.
fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("compat")
}

/// The `*.txt` scripts, sorted (only `$COMPAT_SCRIPT.txt` when that is set).
fn script_paths() -> Vec<PathBuf> {
    let only = std::env::var("COMPAT_SCRIPT").ok();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(scripts_dir())
        .expect("tests/compat directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .filter(|p| {
            only.as_deref()
                .is_none_or(|o| p.file_stem().is_some_and(|s| s == o))
        })
        .collect();
    paths.sort();
    paths
}

/// Known differences are a ratchet: listed ones are reported but do not fail the run; a new mismatch fails
/// it, and so does a listed one that no longer differs (remove it from the list). Returns the report of what
/// fails (empty when nothing does) and how many mismatches were known.
fn ratchet(mismatches: &[Mismatch], errors: &[String]) -> (String, usize) {
    let known_text =
        std::fs::read_to_string(scripts_dir().join("known-diffs.txt")).unwrap_or_default();
    let known: BTreeSet<String> = known_text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let mut report = String::new();
    let mut seen = BTreeSet::new();
    let mut known_hits = 0;
    for m in mismatches {
        let at = format!("{}:{}", m.script, m.line);
        seen.insert(at.clone());
        if known.contains(&at) {
            known_hits += 1;
            continue;
        }
        report.push_str(&format!("{at}: {}\n", m.text));
        if !m.reference.is_empty() || !m.candidate.is_empty() {
            report.push_str(&format!(
                "    redis: {}\n    zedis: {}\n",
                m.reference, m.candidate
            ));
        }
    }
    for at in known.difference(&seen) {
        report.push_str(&format!(
            "{at}: listed in known-diffs.txt but now matches Redis: remove it\n"
        ));
    }
    for e in errors {
        report.push_str(&format!("script error: {e}\n"));
    }
    (report, known_hits)
}

#[test]
fn compat_with_redis() {
    if !zedis_testkit::installed("redis-server") {
        eprintln!("compat: redis-server is not on PATH; skipping the side-by-side suite");
        return;
    }
    let reference = RedisProcess::start(&[]).expect("start redis-server");
    let vs_redis = std::env::var("COMPAT_VS_REDIS").is_ok_and(|v| v == "1");
    let (_zedis, _second, candidate_port) = if vs_redis {
        let second = RedisProcess::start(&[]).expect("start second redis-server");
        let port = second.port;
        (None, Some(second), port)
    } else {
        let zedis = common::Server::start(&["--save", "", "--appendonly", "no"]);
        let port = zedis.port;
        (Some(zedis), None, port)
    };
    let paths = script_paths();
    assert!(!paths.is_empty(), "no compat scripts found");
    let mut mismatches = Vec::new();
    let mut errors = Vec::new();
    for path in &paths {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(path).expect("read script");
        if let Err(e) = run_script(
            [reference.port, candidate_port],
            &name,
            &text,
            &mut mismatches,
        ) {
            errors.push(format!("{name}: {e}"));
        }
    }
    let (report, known_hits) = ratchet(&mismatches, &errors);
    eprintln!(
        "compat: {} scripts, {} mismatches ({} known, listed in server/tests/compat/known-diffs.txt)",
        paths.len(),
        mismatches.len(),
        known_hits
    );
    assert!(
        report.is_empty(),
        "unexpected compatibility differences:\n{report}"
    );
}
