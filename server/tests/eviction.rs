//! Eviction policies under a small budget: each keeps used_memory under maxmemory and evicts what it should.

mod common;

use common::{err, Server};
use std::time::Duration;

fn info_field(c: &mut redis::Connection, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn fill(c: &mut redis::Connection, prefix: &str, n: usize, ttl: Option<u64>) {
    let value = "v".repeat(500);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let cmd = pipe.cmd("SET").arg(format!("{prefix}{i}")).arg(&value);
            if let Some(ttl) = ttl {
                cmd.arg("EX").arg(ttl);
            }
            cmd.ignore();
        }
        let _: () = pipe.query(c).unwrap();
    }
}

#[test]
fn every_sampling_policy_stays_under_the_budget() {
    for policy in [
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let server = Server::start(&["--maxmemory", "6mb", "--maxmemory-policy", policy]);
        let mut c = server.conn();
        // Every key has a TTL so that the volatile policies have candidates too.
        fill(&mut c, "k", 20_000, Some(100_000));
        let used = info_field(&mut c, "used_memory");
        assert!(used <= 6 << 20, "{policy}: used_memory {used}");
        assert!(
            info_field(&mut c, "evicted_keys") > 0,
            "{policy}: nothing evicted"
        );
        let keys: u64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
        assert!(keys > 1000, "{policy}: only {keys} keys left");
    }
}

#[test]
fn volatile_policy_without_volatile_keys_refuses_writes() {
    let server = Server::start(&["--maxmemory", "4mb", "--maxmemory-policy", "volatile-lru"]);
    let mut c = server.conn();
    let value = "v".repeat(500);
    let mut refused = None;
    for i in 0..20_000 {
        if let Err(e) = redis::cmd("SET")
            .arg(format!("p{i}"))
            .arg(&value)
            .query::<()>(&mut c)
        {
            refused = Some(e.code().unwrap_or("").to_string());
            break;
        }
    }
    assert_eq!(refused.as_deref(), Some("OOM"));
    assert_eq!(info_field(&mut c, "evicted_keys"), 0);
}

#[test]
fn allkeys_lru_keeps_the_recently_used_keys() {
    let server = Server::start(&[
        "--maxmemory",
        "8mb",
        "--maxmemory-policy",
        "allkeys-lru",
        "--maxclients",
        "100",
    ]);
    let mut c = server.conn();
    fill(&mut c, "hot", 200, None);
    fill(&mut c, "cold", 5_000, None);
    // LRU clocks have 1-second resolution (as in Redis): touch the hot keys in a later second than the
    // cold fill, and write the new keys in a later one still.
    std::thread::sleep(Duration::from_millis(1100));
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("GET").arg(format!("hot{i}")).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    fill(&mut c, "new", 8_000, None);
    // Under `--kv-allocator segment` the same values take fewer bytes: write on until something is evicted.
    let mut round = 0;
    while info_field(&mut c, "evicted_keys") == 0 {
        fill(&mut c, &format!("more{round}-"), 1_000, None);
        round += 1;
        assert!(round < 100, "nothing was evicted");
    }
    let mut hot_left = 0;
    for i in 0..200 {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(format!("hot{i}"))
            .query(&mut c)
            .unwrap();
        hot_left += exists;
    }
    assert!(hot_left >= 190, "only {hot_left}/200 hot keys survived");
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let server = Server::start(&[
        "--maxmemory",
        "6mb",
        "--maxmemory-policy",
        "volatile-ttl",
        "--maxclients",
        "100",
    ]);
    let mut c = server.conn();
    fill(&mut c, "late", 2_000, Some(100_000));
    fill(&mut c, "soon", 2_000, Some(1_000));
    fill(&mut c, "more", 6_000, Some(50_000));
    let mut late_left = 0;
    for i in 0..2_000 {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(format!("late{i}"))
            .query(&mut c)
            .unwrap();
        late_left += exists;
    }
    assert!(
        late_left > 1_500,
        "only {late_left}/2000 late keys survived"
    );
}

#[test]
fn lfu_policy_tracks_frequency() {
    let server = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = server.conn();
    let _: () = redis::cmd("SET").arg("f").arg("1").query(&mut c).unwrap();
    for _ in 0..100 {
        let _: String = redis::cmd("GET").arg("f").query(&mut c).unwrap();
    }
    let freq: i64 = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("f")
        .query(&mut c)
        .unwrap();
    assert!(freq > 5, "freq {freq}");
    assert!(err(&mut c, &["OBJECT", "IDLETIME", "f"])
        .starts_with("ERR An LFU maxmemory policy is selected"));
}

#[test]
fn lowering_maxmemory_evicts_even_under_reads() {
    let server = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = server.conn();
    fill(&mut c, "k", 10_000, None);
    let used = info_field(&mut c, "used_memory");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used / 2)
        .query(&mut c)
        .unwrap();
    let _: Option<String> = redis::cmd("GET").arg("k1").query(&mut c).unwrap();
    assert!(info_field(&mut c, "evicted_keys") > 0);
    // Each call evicts for at most 500 µs, as Redis's performEvictions; the cron (and the reads) finish the
    // job, as Redis's evictionTimeProc does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while info_field(&mut c, "used_memory") > used / 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "still over the lowered limit after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_lowered_maxmemory_is_caught_up_without_writes_and_without_blocking_writes() {
    // Redis's evictionTimeProc: after CONFIG SET maxmemory below the current use, the server evicts in
    // bounded steps every loop turn, with no client writing, until it is under the new limit; meanwhile
    // writes are admitted (no -OOM while the overshoot only shrinks).
    let server = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = server.conn();
    fill(&mut c, "k", 40_000, None);
    let used = info_field(&mut c, "used_memory");
    let limit = used / 4;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(limit)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("written-while-over")
        .arg("1")
        .query(&mut c)
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while info_field(&mut c, "used_memory") > limit {
        assert!(
            std::time::Instant::now() < deadline,
            "still over the lowered limit: {} > {limit}",
            info_field(&mut c, "used_memory")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(info_field(&mut c, "evicted_keys") > 0);
}
