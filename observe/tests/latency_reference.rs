//! LATENCY against a real redis-server: events produced there with DEBUG SLEEP are fed to [`LatencyMonitor`]
//! (the samples Redis recorded); LATEST, HISTORY, GRAPH, DOCTOR, RESET, HELP and the errors must match byte
//! for byte.

mod common;

use common::{int, items, ClientExt};
use zedis_observe::doctor::{anon_huge_pages_bytes, report};
use zedis_observe::{DoctorInputs, LatencyMonitor};
use zedis_resp::{reply, Protocol};

fn doctor_inputs(pid: u32) -> DoctorInputs {
    DoctorInputs {
        slowlog_log_slower_than_us: 10_000,
        fork_rate_gb_per_s: 0.0,
        aof_fsync_always: false,
        hz: 10,
        anon_huge_pages_bytes: anon_huge_pages_bytes(Some(pid)),
    }
}

#[test]
fn latency_replies_match_redis() {
    let redis = reference_or_skip!("--latency-monitor-threshold", "1");
    let mut client = redis.client();
    let pid: u32 = client.info_field("server", "process_id").parse().unwrap();
    // Samples in several seconds with varied heights, so the graph uses every level and several labels.
    for (j, sleep) in ["0.03", "0.005", "0.045", "0.012", "0.002", "0.02"]
        .iter()
        .enumerate()
    {
        if j > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1050));
        }
        client.cmd(&["DEBUG", "SLEEP", sleep]);
    }
    client.cmd(&["DEBUG", "SLEEP", "0.01"]);

    let history = client.cmd(&["LATENCY", "HISTORY", "command"]);
    let mut ours = LatencyMonitor::new(1);
    for sample in items(&history) {
        let pair = items(sample);
        ours.add_sample("command", int(&pair[1]) as u64, int(&pair[0]));
    }
    assert!(items(&history).len() >= 5, "{history:?}");

    let mut out = Vec::new();
    ours.reply_history(&mut out, b"command");
    assert_eq!(out, client.raw(&["LATENCY", "HISTORY", "command"]));
    let mut out = Vec::new();
    ours.reply_latest(&mut out);
    assert_eq!(out, client.raw(&["LATENCY", "LATEST"]));

    let (graph, now) = client.raw_at_stable_second(&["LATENCY", "GRAPH", "command"]);
    let mut out = Vec::new();
    ours.reply_graph(&mut out, Protocol::Resp2, b"command", now);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&graph)
    );

    let (doctor, now) = client.raw_at_stable_second(&["LATENCY", "DOCTOR"]);
    let mut out = Vec::new();
    reply::bulk(&mut out, report(&ours, &doctor_inputs(pid), now).as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&doctor)
    );

    // RESP3: verbatim strings.
    client.cmd(&["HELLO", "3"]);
    let (graph, now) = client.raw_at_stable_second(&["LATENCY", "GRAPH", "command"]);
    let mut out = Vec::new();
    ours.reply_graph(&mut out, Protocol::Resp3, b"command", now);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&graph)
    );
    client.cmd(&["HELLO", "2"]);

    let mut out = Vec::new();
    ours.reply_graph(&mut out, Protocol::Resp2, b"no-such-event", 0);
    assert_eq!(out, client.raw(&["LATENCY", "GRAPH", "no-such-event"]));
    let mut out = Vec::new();
    ours.reply_history(&mut out, b"COMMAND");
    assert_eq!(out, client.raw(&["LATENCY", "HISTORY", "COMMAND"]));
    let mut out = Vec::new();
    LatencyMonitor::reply_help(&mut out);
    assert_eq!(out, client.raw(&["LATENCY", "HELP"]));

    let mut out = Vec::new();
    ours.reply_reset(&mut out, &[b"COMMAND", b"other", b"command"]);
    assert_eq!(
        out,
        client.raw(&["LATENCY", "RESET", "COMMAND", "other", "command"])
    );
    let mut out = Vec::new();
    ours.reply_latest(&mut out);
    assert_eq!(out, client.raw(&["LATENCY", "LATEST"]));

    // No events but the monitor on: the "no spike" text (or THP advice, as Redis decides from its smaps).
    let (doctor, now) = client.raw_at_stable_second(&["LATENCY", "DOCTOR"]);
    let mut out = Vec::new();
    reply::bulk(&mut out, report(&ours, &doctor_inputs(pid), now).as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&doctor)
    );
}

#[test]
fn doctor_disabled_and_slowlog_advice_match_redis() {
    let redis = reference_or_skip!("--slowlog-log-slower-than", "-1");
    let mut client = redis.client();
    let pid: u32 = client.info_field("server", "process_id").parse().unwrap();
    let mut ours = LatencyMonitor::new(0);
    let mut inputs = doctor_inputs(pid);
    inputs.slowlog_log_slower_than_us = -1;
    let (doctor, now) = client.raw_at_stable_second(&["LATENCY", "DOCTOR"]);
    let mut out = Vec::new();
    reply::bulk(&mut out, report(&ours, &inputs, now).as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&doctor)
    );

    // Slow log disabled: the "enable the Slow Log" advice with the threshold in µs.
    client.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "5"]);
    ours.set_threshold_ms(5);
    client.cmd(&["DEBUG", "SLEEP", "0.02"]);
    let latest = client.cmd(&["LATENCY", "LATEST"]);
    let event = items(&items(&latest)[0]);
    ours.add_sample("command", int(&event[2]) as u64, int(&event[1]));
    let (doctor, now) = client.raw_at_stable_second(&["LATENCY", "DOCTOR"]);
    let mut out = Vec::new();
    reply::bulk(&mut out, report(&ours, &inputs, now).as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&doctor)
    );
}
