//! `--kv-allocator segment` (issue 25): what the eviction policies mean for keys in segment stores, WATCH
//! seeing evictions of promoted keys, and client pauses holding expiry and eviction still (Redis's
//! `expireIfNeeded` and `isSafeToPerformEvictions` under `checkClientPauseTimeoutAndReturnIfPaused`).

mod common;

use common::{cmd, Server};
use std::time::{Duration, Instant};

const NIL_EXEC: &str = "*-1\r\n";

fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--kv-allocator", "segment", "--save", ""];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn info_field(c: &mut redis::Connection, name: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg("everything").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .parse()
        .unwrap()
}

fn fill(c: &mut redis::Connection, prefix: &str, range: std::ops::Range<usize>, px: Option<u64>) {
    let value = "v".repeat(500);
    for chunk in range.collect::<Vec<_>>().chunks(100) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let cmd = pipe.cmd("SET").arg(format!("{prefix}{i}")).arg(&value);
            if let Some(px) = px {
                cmd.arg("PX").arg(px);
            }
            cmd.ignore();
        }
        let _: () = pipe.query(c).unwrap();
    }
}

fn exists(c: &mut redis::Connection, prefix: &str, n: usize) -> i64 {
    (0..n)
        .map(|i| -> i64 {
            redis::cmd("EXISTS")
                .arg(format!("{prefix}{i}"))
                .query(c)
                .unwrap()
        })
        .sum()
}

fn exec_set(raw: &mut common::Raw, key: &str) -> String {
    raw.roundtrip("MULTI\r\n", "+OK\r\n");
    raw.roundtrip(&format!("SET {key} mine\r\n"), "+QUEUED\r\n");
    raw.send(b"EXEC\r\n");
    let first = raw.read_exact_len(4);
    if first == "*-1\r" {
        first + &raw.read_exact_len(1)
    } else {
        first + &raw.read_exact_len("+OK\r\n".len())
    }
}

/// `allkeys-lru` under segment is merge eviction: keys read since their segment was written survive the
/// merges of the oldest segments while unread keys of those segments go, so the recently read keys stay,
/// the unread old ones go first, and the newest writes stay (FIFO by segment age refined by reads).
/// (The shared eviction test writes a fixed 6.5 MB into 8 MB: too little for the segment store, which
/// holds it without evicting; this one writes until eviction has taken more than the cold keys' worth.)
#[test]
fn allkeys_lru_is_merge_eviction_keeping_read_keys() {
    let server = start(&["--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = server.conn();
    fill(&mut c, "hot", 0..200, None);
    fill(&mut c, "cold", 0..5_000, None);
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("GET").arg(format!("hot{i}")).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    let mut written = 0;
    while info_field(&mut c, "evicted_keys") < 6_000 {
        fill(&mut c, "new", written..written + 1_000, None);
        written += 1_000;
        assert!(written < 100_000, "no eviction");
    }
    let hot = exists(&mut c, "hot", 200);
    let cold = exists(&mut c, "cold", 5_000);
    assert!(hot >= 190, "only {hot}/200 read keys survived");
    assert!(cold < 2_500, "{cold}/5000 unread old keys survived");
    // The newest thousand keys were written after every eviction of a merge could reach them.
    let newest: i64 = (written - 1_000..written)
        .map(|i| -> i64 {
            redis::cmd("EXISTS")
                .arg(format!("new{i}"))
                .query(&mut c)
                .unwrap()
        })
        .sum();
    assert_eq!(newest, 1_000);
    assert!(info_field(&mut c, "seg_merges") > 0);
}

/// A key WATCH promoted to the tables is evicted like the store's keys (a unit is drawn per segment and
/// per table key), and the eviction fails the transaction.
#[test]
fn watch_sees_the_eviction_of_a_promoted_key() {
    for policy in ["allkeys-random", "allkeys-lru", "allkeys-lfu"] {
        let server = start(&["--maxmemory", "8mb", "--maxmemory-policy", policy]);
        let mut filler = server.conn();
        let mut raw = server.raw();
        let mut watch = String::from("WATCH");
        for i in 0..2000 {
            cmd(&mut filler, &["SET", &format!("w{i}"), "x"]).unwrap();
            watch.push_str(&format!(" w{i}"));
        }
        raw.roundtrip(&format!("{watch}\r\n"), "+OK\r\n");
        let mut written = 0;
        while exists(&mut filler, "w", 2000) == 2000 {
            fill(&mut filler, "fill", written..written + 2_000, None);
            written += 2_000;
            assert!(written < 200_000, "{policy}: no watched key evicted");
        }
        assert_eq!(exec_set(&mut raw, "w0"), NIL_EXEC, "{policy}");
    }
}

/// During `CLIENT PAUSE WRITE` nothing expires or is evicted: expired store items read as missing but
/// stay (DBSIZE unchanged), the active cycle leaves whole expired segments alone, and a lowered maxmemory
/// evicts nothing until the pause ends.
#[test]
fn client_pause_holds_segment_expiry_and_eviction() {
    let server = start(&["--hz", "50", "--maxmemory-policy", "allkeys-lru"]);
    let mut c = server.conn();
    fill(&mut c, "long", 0..8_000, None);
    fill(&mut c, "short", 0..4_000, Some(3_000));
    cmd(&mut c, &["CLIENT", "PAUSE", "60000", "WRITE"]).unwrap();
    let held: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert!(
        held > 8_000,
        "the short keys expired before the pause ({held} keys)"
    );
    assert_eq!(info_field(&mut c, "expired_keys"), 0);
    std::thread::sleep(Duration::from_millis(3_500));
    // Expired, unread: the cron left them.
    let size: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(size, held);
    // Read while paused: missing, yet kept.
    let got: Option<String> = redis::cmd("GET").arg("short1").query(&mut c).unwrap();
    assert_eq!(got, None);
    assert_eq!(exists(&mut c, "short", 10), 0);
    let size: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(size, held);
    assert_eq!(info_field(&mut c, "expired_keys"), 0);
    // Lowering maxmemory under the keyspace's size: reads go on, nothing is evicted.
    cmd(&mut c, &["CONFIG", "SET", "maxmemory", "3mb"]).unwrap();
    for i in 0..50 {
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("long{i}"))
            .query(&mut c)
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(info_field(&mut c, "evicted_keys"), 0);
    assert_eq!(info_field(&mut c, "seg_items"), held);
    // Once the pause ends, expiry and eviction catch up.
    cmd(&mut c, &["CLIENT", "UNPAUSE"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut c, "expired_keys") == 0 || info_field(&mut c, "evicted_keys") == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing expired or evicted after the pause"
        );
        let _: Option<String> = redis::cmd("GET").arg("long0").query(&mut c).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
}
