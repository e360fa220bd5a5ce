//! Interop with a real redis-server 7.0: its dump.rdb reads back as the data it serves; DUMP payloads
//! are byte-identical where Redis is deterministic and RESTORE accepts ours; a file written here
//! passes redis-check-rdb and loads into a fresh redis-server with the same data.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::fill::{fill, LIBRARY};
use common::{describe_redis, describe_value, have, value_from_redis, Redis, Reply, TempDir};
use zedis_rdb::{
    create_dump_payload, decode_dump_payload, EncodingConfig, KeyMeta, Limits, RdbItem, RdbReader,
    RdbValue, RdbWriter, WriteOptions,
};

struct Snapshot {
    items: Vec<RdbItem>,
}

impl Snapshot {
    fn keys(&self) -> BTreeMap<(u64, Vec<u8>), (RdbValue, KeyMeta)> {
        let mut db = 0;
        let mut out = BTreeMap::new();
        for item in &self.items {
            match item {
                RdbItem::SelectDb(n) => db = *n,
                RdbItem::Key { key, value, meta } => {
                    out.insert((db, key.clone()), (value.clone(), *meta));
                }
                _ => {}
            }
        }
        out
    }
}

fn read_file(path: &std::path::Path) -> Snapshot {
    let file = std::fs::File::open(path).expect("dump.rdb");
    let mut r = RdbReader::new(std::io::BufReader::new(file), Limits::default()).expect("header");
    let mut items = Vec::new();
    while let Some(item) = r
        .next_item()
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    {
        items.push(item);
    }
    Snapshot { items }
}

fn key_str(k: &[u8]) -> String {
    String::from_utf8(k.to_vec()).expect("utf8 test key")
}

#[test]
fn redis_dump_rdb_reads_back_dumps_match_and_our_files_load() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("interop");
    let redis = Redis::start(&dir.0, "dump.rdb", &["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = redis.client();
    fill(&mut c);
    c.ok(&["SAVE"]);
    let snap = read_file(&dir.0.join("dump.rdb"));

    // (a) Every key in redis is in the file with the same data, expiry and LFU counter.
    let keys = snap.keys();
    let aux: BTreeMap<Vec<u8>, Vec<u8>> = snap
        .items
        .iter()
        .filter_map(|i| match i {
            RdbItem::Aux { key, value } => Some((key.clone(), value.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        aux.get(&b"redis-ver"[..]).map(Vec::as_slice),
        Some(&b"7.0.15"[..])
    );
    assert_eq!(
        aux.get(&b"aof-base"[..]).map(Vec::as_slice),
        Some(&b"0"[..])
    );
    assert!(snap
        .items
        .contains(&RdbItem::Function(LIBRARY.as_bytes().to_vec())));
    let db0_keys = c.ok(&["DBSIZE"]);
    assert_eq!(
        Reply::Int(keys.keys().filter(|(db, _)| *db == 0).count() as i64),
        db0_keys
    );
    assert!(
        !keys.contains_key(&(0, b"x:emptied".to_vec()))
            || c.ok(&["EXISTS", "x:emptied"]) == Reply::Int(1)
    );
    for ((db, key), (value, meta)) in &keys {
        let k = key_str(key);
        c.ok(&["SELECT", &db.to_string()]);
        // OBJECT FREQ first: reads bump the counter.
        let freq = c.ok(&["OBJECT", "FREQ", &k]);
        assert_eq!(
            meta.lfu_freq.map(i64::from),
            match freq {
                Reply::Int(v) => Some(v),
                _ => None,
            },
            "LFU of {k}"
        );
        let pexpire = c.ok(&["PEXPIRETIME", &k]);
        assert_eq!(
            meta.expire_ms.unwrap_or(-1),
            match pexpire {
                Reply::Int(v) => v,
                _ => -2,
            },
            "expiry of {k}"
        );
        assert_eq!(describe_value(value), describe_redis(&mut c, &k), "key {k}");
    }
    c.ok(&["SELECT", "0"]);

    // (b) Our DUMP of the same value is byte-identical where Redis is deterministic, and RESTORE
    // of ours gives the same data for every key; Redis's payload decodes to the same value.
    let cfg = EncodingConfig::default();
    let mut identical = 0;
    for ((db, key), (value, _)) in keys.iter().filter(|((db, _), _)| *db == 0) {
        let _ = db;
        let k = key_str(key);
        let theirs = c.cmd(&["DUMP", &k]).bytes();
        let ours = create_dump_payload(value, &cfg);
        if k.starts_with("d:") {
            assert_eq!(
                ours.escape_ascii().to_string(),
                theirs.escape_ascii().to_string(),
                "DUMP of {k}"
            );
            // The same value rebuilt from Redis's replies alone (as a keyspace would hand it over).
            let rebuilt = create_dump_payload(&value_from_redis(&mut c, &k), &cfg);
            assert_eq!(
                rebuilt.escape_ascii().to_string(),
                theirs.escape_ascii().to_string(),
                "rebuilt DUMP of {k}"
            );
            identical += 1;
        }
        let decoded = decode_dump_payload(&theirs, Limits::default())
            .unwrap_or_else(|e| panic!("their DUMP of {k}: {e}"));
        assert_eq!(
            describe_value(&decoded),
            describe_value(value),
            "decoded DUMP of {k}"
        );
        let copy = format!("restored:{k}");
        let r = c.cmd_bytes(&[b"RESTORE", copy.as_bytes(), b"0", &ours]);
        assert_eq!(r, Reply::Status("OK".into()), "RESTORE of our {k}");
        assert_eq!(
            describe_redis(&mut c, &copy),
            describe_value(value),
            "restored {k}"
        );
        c.ok(&["DEL", &copy]);
    }
    assert!(
        identical >= 20,
        "only {identical} deterministic keys compared"
    );
    // A corrupt payload with a valid checksum is refused by Redis and by us alike.
    let mut bad = create_dump_payload(&RdbValue::Hash(vec![(b"a".to_vec(), b"b".to_vec())]), &cfg);
    bad[3] ^= 0x55;
    let n = bad.len();
    let crc = zedis_rdb::crc64(&bad[..n - 8]);
    bad[n - 8..].copy_from_slice(&crc.to_le_bytes());
    assert!(decode_dump_payload(&bad, Limits::default()).is_err());
    assert!(matches!(
        c.cmd_bytes(&[b"RESTORE", b"bad", b"0", &bad]),
        Reply::Error(_)
    ));

    // (c) A whole file written here: redis-check-rdb accepts it and a fresh server loads it.
    let out_dir = TempDir::new("written");
    let path = out_dir.0.join("ours.rdb");
    let file = std::fs::File::create(&path).expect("create");
    let mut w =
        RdbWriter::new(std::io::BufWriter::new(file), WriteOptions::default()).expect("writer");
    w.standard_aux(&zedis_rdb::AuxInfo {
        redis_ver: "7.0.15".into(),
        redis_bits: 64,
        ctime_secs: 1_700_000_000,
        used_mem_bytes: 1 << 20,
        aof_base: false,
    })
    .expect("aux");
    w.function(LIBRARY.as_bytes()).expect("function");
    type KeyRef<'a> = (&'a Vec<u8>, &'a RdbValue, &'a KeyMeta);
    let mut by_db: BTreeMap<u64, Vec<KeyRef<'_>>> = BTreeMap::new();
    for ((db, key), (value, meta)) in &keys {
        by_db.entry(*db).or_default().push((key, value, meta));
    }
    for (db, entries) in &by_db {
        let expires = entries.iter().filter(|e| e.2.expire_ms.is_some()).count() as u64;
        w.select_db(*db, entries.len() as u64, expires)
            .expect("select");
        for (key, value, meta) in entries {
            w.key(key, value, meta).expect("key");
        }
    }
    w.finish().expect("finish");
    if have("redis-check-rdb") {
        let out = Command::new("redis-check-rdb")
            .arg(&path)
            .output()
            .expect("redis-check-rdb");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains("RDB looks OK"),
            "redis-check-rdb: {text}"
        );
    }
    let fresh = Redis::start(
        &out_dir.0,
        "ours.rdb",
        &["--maxmemory-policy", "allkeys-lfu"],
    );
    let mut f = fresh.client();
    for ((db, key), (_, meta)) in &keys {
        f.ok(&["SELECT", &db.to_string()]);
        let freq = f.ok(&["OBJECT", "FREQ", &key_str(key)]);
        assert_eq!(
            meta.lfu_freq.map(i64::from),
            match freq {
                Reply::Int(v) => Some(v),
                _ => None,
            },
            "LFU loaded"
        );
    }
    f.ok(&["SELECT", "0"]);
    assert_eq!(f.ok(&["FCALL", "rdbfn", "0"]), Reply::Int(42));
    for (db, key) in keys.keys() {
        let k = key_str(key);
        c.ok(&["SELECT", &db.to_string()]);
        f.ok(&["SELECT", &db.to_string()]);
        assert_eq!(
            describe_redis(&mut f, &k),
            describe_redis(&mut c, &k),
            "loaded {k}"
        );
        assert_eq!(
            f.ok(&["PEXPIRETIME", &k]),
            c.ok(&["PEXPIRETIME", &k]),
            "expiry of loaded {k}"
        );
    }
    f.ok(&["SELECT", "0"]);
    assert_eq!(
        f.ok(&["DBSIZE"]),
        Reply::Int(keys.keys().filter(|(db, _)| *db == 0).count() as i64)
    );
}

#[test]
fn plain_quicklist_nodes_read_and_dump_identically() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("plain");
    let redis = Redis::start(&dir.0, "dump.rdb", &["--enable-debug-command", "yes"]);
    let mut c = redis.client();
    c.ok(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]);
    let big = "p".repeat(200);
    let other = "q".repeat(300);
    c.ok(&["RPUSH", "plain", "a", &big, "b", "c", &other, &other, "d"]);
    c.ok(&["SAVE"]);
    let snap = read_file(&dir.0.join("dump.rdb"));
    let (value, _) = snap
        .keys()
        .remove(&(0, b"plain".to_vec()))
        .expect("key in file");
    assert_eq!(describe_value(&value), describe_redis(&mut c, "plain"));
    let cfg = EncodingConfig {
        list_packed_threshold_bytes: 100,
        ..EncodingConfig::default()
    };
    let ours = create_dump_payload(&value, &cfg);
    assert_eq!(ours, c.cmd(&["DUMP", "plain"]).bytes());
    assert_eq!(
        c.cmd_bytes(&[b"RESTORE", b"copy", b"0", &ours]),
        Reply::Status("OK".into())
    );
    assert_eq!(describe_redis(&mut c, "copy"), describe_value(&value));
}

#[test]
fn compression_and_checksum_switched_off() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("nocompress");
    let redis = Redis::start(
        &dir.0,
        "dump.rdb",
        &["--rdbcompression", "no", "--rdbchecksum", "no"],
    );
    let mut c = redis.client();
    let text = "abcabcabd".repeat(40);
    c.ok(&["SET", "lzf", &text]);
    c.ok(&["HSET", "h", "field", &"v".repeat(60)]);
    c.ok(&["SAVE"]);
    let file = std::fs::read(dir.0.join("dump.rdb")).expect("dump.rdb");
    assert_eq!(
        file[file.len() - 8..],
        [0u8; 8],
        "checksum disabled writes 0"
    );
    let snap = read_file(&dir.0.join("dump.rdb"));
    let cfg = EncodingConfig {
        compression: false,
        ..EncodingConfig::default()
    };
    for ((_, key), (value, _)) in snap.keys() {
        let k = key_str(&key);
        assert_eq!(
            create_dump_payload(&value, &cfg),
            c.cmd(&["DUMP", &k]).bytes(),
            "DUMP of {k}"
        );
    }

    // Our file without checksum loads into redis.
    let out = TempDir::new("nochecksum");
    let f = std::fs::File::create(out.0.join("plain.rdb")).expect("create");
    let opts = WriteOptions {
        encoding: cfg,
        checksum: false,
    };
    let mut w = RdbWriter::new(f, opts).expect("writer");
    w.select_db(0, 1, 0).expect("select");
    w.key(
        b"lzf",
        &RdbValue::String(text.clone().into_bytes()),
        &KeyMeta::default(),
    )
    .expect("key");
    w.finish().expect("finish");
    let bytes = std::fs::read(out.0.join("plain.rdb")).expect("read back");
    assert_eq!(bytes[bytes.len() - 8..], [0u8; 8]);
    assert!(
        bytes.windows(text.len()).any(|w| w == text.as_bytes()),
        "stored uncompressed"
    );
    let fresh = Redis::start(&out.0, "plain.rdb", &[]);
    assert_eq!(
        fresh.client().ok(&["GET", "lzf"]).bytes(),
        text.into_bytes()
    );
}
