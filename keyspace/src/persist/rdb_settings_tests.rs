//! `rdbcompression` and `rdbchecksum`: files Zedis writes under each of the four settings have (or lack) LZF
//! strings and a CRC64, pass `redis-check-rdb`, load into a redis-server 7.0.15 started with the same
//! settings, and load back here; the file that redis-server then saves loads here too.

use super::rdb::{entry_value, store_value};
use super::rdb_file::{load, save, Extras};
use crate::commands::zsets::zscan_tests::{split, Reference};
use crate::{Keyspace, KeyspaceConfig};
use zedis_kv_pool::SystemAlloc;
use zedis_rdb::{AuxInfo, RdbValue};

type Ks = Keyspace<SystemAlloc>;

/// A compressible string Redis and Zedis both LZF-compress under `rdbcompression yes`.
fn long_text() -> Vec<u8> {
    b"compressible ".repeat(400)
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as i64)
}

fn sample() -> Vec<(Vec<u8>, RdbValue)> {
    vec![
        (b"text".to_vec(), RdbValue::String(long_text())),
        (b"small".to_vec(), RdbValue::String(b"hello".to_vec())),
        (
            b"list".to_vec(),
            RdbValue::List(
                (0..2000)
                    .map(|i| format!("element-{i}").into_bytes())
                    .collect(),
            ),
        ),
        (
            b"hash".to_vec(),
            RdbValue::Hash(
                (0..200)
                    .map(|i| (format!("field-{i}").into_bytes(), long_text()))
                    .collect(),
            ),
        ),
    ]
}

fn config(compression: bool, checksum: bool) -> KeyspaceConfig {
    KeyspaceConfig {
        rdb_compression: compression,
        rdb_checksum: checksum,
        ..KeyspaceConfig::default()
    }
}

fn aux(now: i64) -> AuxInfo {
    AuxInfo {
        redis_ver: "7.0.15".into(),
        redis_bits: 64,
        ctime_secs: now / 1000,
        used_mem_bytes: 1 << 20,
        aof_base: false,
    }
}

fn sorted(v: Option<RdbValue>) -> Option<RdbValue> {
    v.map(|v| match v {
        RdbValue::Hash(mut p) => {
            p.sort();
            RdbValue::Hash(p)
        }
        other => other,
    })
}

/// `file` loaded into a fresh keyspace holds exactly [`sample`].
fn assert_holds_sample(file: &[u8], cfg: KeyspaceConfig, now: i64) {
    let mut ks: Ks = Keyspace::new(16, cfg);
    let stats = load(&mut ks, file, now, &mut |_| Err("no functions".into())).unwrap();
    assert_eq!(stats.keys, sample().len() as u64);
    for (key, value) in sample() {
        let entry = ks.db(0).find(&key).expect("key loaded");
        assert_eq!(
            sorted(entry_value::<SystemAlloc>(entry)),
            sorted(Some(value))
        );
    }
}

/// Whether the bytes hold [`long_text`] uncompressed.
fn has_plain_text(file: &[u8]) -> bool {
    let text = long_text();
    file.windows(text.len()).any(|w| w == text)
}

fn redis_check_rdb(file: &[u8], tag: &str) {
    let path = std::env::temp_dir().join(format!("zedis-rdb-{tag}-{}.rdb", std::process::id()));
    std::fs::write(&path, file).unwrap();
    let out = std::process::Command::new("redis-check-rdb")
        .arg(&path)
        .output()
        .expect("redis-check-rdb 7.0.15 must be installed");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "{tag}: {text}"
    );
}

#[test]
fn files_follow_rdbcompression_and_rdbchecksum_both_ways_with_redis_server() {
    for (compression, checksum) in [(true, true), (false, true), (true, false), (false, false)] {
        let tag = format!("compression-{compression}-checksum-{checksum}");
        let now = now_ms();
        let mut ks: Ks = Keyspace::new(16, config(compression, checksum));
        for (key, value) in sample() {
            store_value(&mut ks, 0, &key, &value, None, now).unwrap();
        }
        let file = save(&ks, Vec::new(), &aux(now), &Extras::default(), now).unwrap();
        let trailer = &file[file.len() - 8..];
        assert_eq!(trailer == [0; 8], !checksum, "{tag}: trailer");
        assert_eq!(has_plain_text(&file), !compression, "{tag}: LZF strings");
        redis_check_rdb(&file, &tag);
        assert_holds_sample(&file, config(compression, checksum), now);

        // redis-server with the same settings loads it, then saves its own file under them.
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let args = [
            "--rdbcompression",
            yes_no(compression),
            "--rdbchecksum",
            yes_no(checksum),
        ];
        let mut redis = Reference::start_with(&args, Some(&file)).expect("redis-server");
        assert_eq!(redis.call(&split("dbsize")), b":4\r\n", "{tag}");
        let text = redis.call(&split("get text"));
        assert!(
            text.ends_with(&[long_text(), b"\r\n".to_vec()].concat()),
            "{tag}"
        );
        assert_eq!(redis.call(&split("llen list")), b":2000\r\n", "{tag}");
        assert_eq!(
            redis.call(&split("lindex list 1999")),
            b"$12\r\nelement-1999\r\n"
        );
        assert_eq!(redis.call(&split("hlen hash")), b":200\r\n", "{tag}");
        assert_eq!(redis.call(&split("save")), b"+OK\r\n", "{tag}");
        let theirs = std::fs::read(redis.dir().join("dump.rdb")).unwrap();
        assert_eq!(
            theirs[theirs.len() - 8..] == [0; 8],
            !checksum,
            "{tag}: Redis's trailer"
        );
        assert_eq!(
            has_plain_text(&theirs),
            !compression,
            "{tag}: Redis's strings"
        );
        assert_holds_sample(&theirs, KeyspaceConfig::default(), now);
    }
}
