//! MEMORY DOCTOR and MEMORY HELP against a real redis-server: the report computed here from the figures
//! Redis exposes (MEMORY STATS, INFO), read in the same MULTI as Redis's own report, is the same text,
//! for an empty instance, a healthy one, one past a big peak, and one with many cached scripts.

mod common;

use std::collections::HashMap;

use common::{bulk, int, items};
use zedis_observe::memory_doctor::{self, MallocSample, MemoryDoctorInputs};
use zedis_resp::Frame;

/// MEMORY STATS's integer fields by name.
fn stats_map(frame: &Frame) -> HashMap<String, i64> {
    let list = items(frame);
    let mut map = HashMap::new();
    for pair in list.chunks(2) {
        let name = String::from_utf8_lossy(bulk(&pair[0])).into_owned();
        if let Frame::Integer(n) = pair[1] {
            map.insert(name, n);
        }
    }
    map
}

/// `field:` of an INFO text.
fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name}"))
        .trim()
        .to_owned()
}

/// Redis's report and ours from the figures of the same moment.
fn both_reports(client: &mut common::Client) -> (String, String) {
    client.cmd(&["MULTI"]);
    client.cmd(&["MEMORY", "DOCTOR"]);
    client.cmd(&["MEMORY", "STATS"]);
    client.cmd(&["INFO", "everything"]);
    let exec = client.cmd(&["EXEC"]);
    let replies = items(&exec);
    let theirs = String::from_utf8_lossy(bulk(&replies[0])).into_owned();
    let stats = stats_map(&replies[1]);
    let info = String::from_utf8_lossy(bulk(&replies[2])).into_owned();
    let get = |name: &str| *stats.get(name).unwrap_or_else(|| panic!("no {name}"));
    let allocator_resident = get("allocator.resident");
    let process_rss = allocator_resident + get("rss-overhead.bytes");
    let allocator = info_field(&info, "mem_allocator");
    let inputs = MemoryDoctorInputs {
        total_allocated_bytes: get("total.allocated") as u64,
        peak_allocated_bytes: get("peak.allocated") as u64,
        sample: MallocSample {
            process_rss_bytes: process_rss as u64,
            used_bytes: (process_rss - get("fragmentation.bytes")) as u64,
            allocator_allocated_bytes: get("allocator.allocated") as u64,
            allocator_active_bytes: get("allocator.active") as u64,
            allocator_resident_bytes: allocator_resident as u64,
        },
        normal_clients: info_field(&info, "connected_clients").parse().unwrap(),
        normal_clients_bytes: get("clients.normal") as u64,
        replicas: info_field(&info, "connected_slaves").parse().unwrap(),
        replicas_bytes: get("clients.slaves") as u64,
        cached_scripts: info_field(&info, "number_of_cached_scripts")
            .parse()
            .unwrap(),
        allocator: &allocator,
    };
    (theirs, memory_doctor::report(&inputs))
}

#[test]
fn memory_help_matches_redis() {
    let redis = reference_or_skip!();
    let mut client = redis.client();
    let mut ours = Vec::new();
    memory_doctor::reply_memory_help(&mut ours);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&client.raw(&["MEMORY", "HELP"]))
    );
}

#[test]
fn doctor_reports_match_redis() {
    let redis = reference_or_skip!();
    let mut client = redis.client();

    let (theirs, ours) = both_reports(&mut client);
    assert!(theirs.contains("this instance is empty"), "{theirs}");
    assert_eq!(ours, theirs);

    // About 8 MB of small keys: past the 5 MB floor.
    client.cmd(&["DEBUG", "POPULATE", "80000", "key", "20"]);
    let (theirs, ours) = both_reports(&mut client);
    assert!(!theirs.contains("empty"), "{theirs}");
    assert_eq!(ours, theirs);

    // A peak far above the current use: fill database 1, then flush it.
    client.cmd(&["SELECT", "1"]);
    client.cmd(&["DEBUG", "POPULATE", "300000", "big", "20"]);
    client.cmd(&["FLUSHDB"]);
    client.cmd(&["SELECT", "0"]);
    let (theirs, ours) = both_reports(&mut client);
    assert!(theirs.contains("Peak memory"), "{theirs}");
    assert_eq!(ours, theirs);

    // More than 1000 cached scripts.
    for i in 0..1001 {
        client.cmd(&["SCRIPT", "LOAD", &format!("return {i}")]);
    }
    let (theirs, ours) = both_reports(&mut client);
    assert!(theirs.contains("Many scripts"), "{theirs}");
    assert_eq!(ours, theirs);
    assert_eq!(int(&client.cmd(&["DBSIZE"])), 80000);
}
