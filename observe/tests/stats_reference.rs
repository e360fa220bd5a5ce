//! INFO commandstats / errorstats / latencystats and LATENCY HISTOGRAM against a real redis-server: the
//! commands run there are fed to [`CommandStats`] and [`ErrorStats`] with the exact durations Redis measured
//! (read back from its slow log, which records the same `duration` value), and the lines must be identical.

mod common;

use common::{bulk, int, items};
use zedis_observe::stats::parse_percentiles;
use zedis_observe::{CommandStats, ErrorStats};
use zedis_resp::{Frame, Protocol};

/// The INFO section's lines that start with one of `prefixes`, sorted (Redis lists commands in hash order).
fn lines_for(text: &str, prefixes: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = text
        .split("\r\n")
        .filter(|l| prefixes.iter().any(|p| l.starts_with(p.as_str())))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn info(client: &mut common::Client, section: &str) -> String {
    String::from_utf8_lossy(bulk(&client.cmd(&["INFO", section]))).into_owned()
}

#[test]
fn stats_sections_and_histograms_match_redis() {
    let redis = reference_or_skip!(
        "--slowlog-log-slower-than",
        "0",
        "--slowlog-max-len",
        "100000"
    );
    let mut client = redis.client();
    let mut workload: Vec<Vec<&str>> = Vec::new();
    for i in 0..30 {
        workload.push(vec!["SET", "k", if i % 2 == 0 { "v" } else { "value" }]);
        workload.push(vec!["GET", "k"]);
    }
    for sleep in ["0.001", "0.002", "0.004"] {
        workload.push(vec!["DEBUG", "SLEEP", sleep]);
    }
    workload.push(vec!["CONFIG", "GET", "maxmemory"]);
    workload.push(vec!["INCR", "k"]); // fails: not an integer
    workload.push(vec!["LPUSH", "k", "x"]); // fails: WRONGTYPE
    let mut errors: Vec<Vec<u8>> = Vec::new();
    for cmd in &workload {
        if let Frame::Error(text) = client.cmd(cmd) {
            errors.push(text);
        }
    }
    // Rejected before running: arity (counted for GET) and an unknown command (no command to count).
    for cmd in [&["GET"][..], &["NOSUCHCOMMAND", "x"]] {
        if let Frame::Error(text) = client.cmd(cmd) {
            errors.push(text);
        }
    }
    assert_eq!(errors.len(), 4);

    // Ours, with Redis's durations from its slow log (oldest first).
    let log = client.cmd(&["SLOWLOG", "GET", "-1"]);
    let mut ours = CommandStats::new();
    for name in [
        "set",
        "get",
        "debug",
        "config",
        "config|get",
        "incr",
        "lpush",
    ] {
        ours.register(name);
    }
    let mut matched = 0;
    for entry in items(&log).iter().rev() {
        let fields = items(entry);
        let argv: Vec<String> = items(&fields[3])
            .iter()
            .map(|a| String::from_utf8_lossy(bulk(a)).to_ascii_lowercase())
            .collect();
        let name = if argv[0] == "config" {
            format!("config|{}", argv[1])
        } else {
            argv[0].clone()
        };
        let Some(slot) = ours.slot(name.as_bytes()) else {
            continue;
        };
        ours.record_call(slot, int(&fields[2]));
        matched += 1;
    }
    assert_eq!(matched, workload.len());
    ours.record_failed(ours.slot(b"incr").unwrap());
    ours.record_failed(ours.slot(b"lpush").unwrap());
    ours.record_rejected(ours.slot(b"get").unwrap());
    let mut errorstats = ErrorStats::default();
    for text in &errors {
        errorstats.record(text);
    }

    let prefixes: Vec<String> = ["set", "get", "debug", "config|get", "incr", "lpush"]
        .iter()
        .flat_map(|n| {
            [
                format!("cmdstat_{n}:"),
                format!("latency_percentiles_usec_{n}:"),
            ]
        })
        .collect();
    let mut text = String::new();
    ours.write_commandstats(&mut text);
    assert!(text.starts_with("# Commandstats\r\n"));
    assert_eq!(
        lines_for(&text, &prefixes),
        lines_for(&info(&mut client, "commandstats"), &prefixes)
    );
    assert_eq!(lines_for(&text, &prefixes).len(), 6);

    let mut text = String::new();
    errorstats.write_errorstats(&mut text);
    assert_eq!(
        text,
        info(&mut client, "errorstats").trim_start_matches("\r\n")
    );

    let mut text = String::new();
    ours.write_latencystats(&mut text);
    assert_eq!(
        lines_for(&text, &prefixes),
        lines_for(&info(&mut client, "latencystats"), &prefixes)
    );
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        if proto == Protocol::Resp3 {
            client.cmd(&["HELLO", "3"]);
        }
        for names in [
            &["set", "GET"][..],
            &["debug"],
            &["config"],
            &["nosuch", "incr"],
            &["config|get", "lpush"],
        ] {
            let mut out = Vec::new();
            let args: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
            ours.reply_histogram(&mut out, proto, &args);
            let mut cmd = vec!["LATENCY", "HISTOGRAM"];
            cmd.extend_from_slice(names);
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&client.raw(&cmd)),
                "{names:?}"
            );
        }
    }
    client.cmd(&["HELLO", "2"]);
    client.cmd(&[
        "CONFIG",
        "SET",
        "latency-tracking-info-percentiles",
        "0 12.5 99.99 100",
    ]);
    ours.set_percentiles(parse_percentiles(&[b"0", b"12.5", b"99.99", b"100"]).unwrap());
    let mut text = String::new();
    ours.write_latencystats(&mut text);
    assert_eq!(
        lines_for(&text, &prefixes),
        lines_for(&info(&mut client, "latencystats"), &prefixes)
    );
}
