//! Encodings Redis 7.0 no longer writes but still loads (ziplist, zipmap, quicklist of ziplists,
//! linked lists, text-double sorted sets): payloads built here are RESTOREd into a real redis-server
//! 7.0 and must read back as the same data our decoder gives. Plus LRU idle times both ways.

mod common;

use common::legacy::legacy_payloads;
use common::{describe_redis, describe_value, have, Redis, Reply, TempDir};
use zedis_rdb::{
    decode_dump_payload, KeyMeta, Limits, RdbItem, RdbReader, RdbValue, RdbWriter, WriteOptions,
};

#[test]
fn legacy_encodings_restore_into_redis_as_we_decode_them() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("legacy");
    let redis = Redis::start(&dir.0, "dump.rdb", &[]);
    let mut c = redis.client();
    for (name, p) in legacy_payloads() {
        let ours =
            decode_dump_payload(&p, Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = c.cmd_bytes(&[b"RESTORE", name.as_bytes(), b"0", &p]);
        assert_eq!(r, Reply::Status("OK".into()), "RESTORE {name}");
        assert_eq!(
            describe_redis(&mut c, name),
            describe_value(&ours),
            "{name}"
        );
    }
}

#[test]
fn lru_idle_times_both_ways() {
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("lru");
    let redis = Redis::start(&dir.0, "dump.rdb", &["--maxmemory-policy", "allkeys-lru"]);
    let mut c = redis.client();
    c.ok(&["SET", "k", "v"]);
    c.ok(&["SAVE"]);
    let file = std::fs::read(dir.0.join("dump.rdb")).expect("dump.rdb");
    let mut r = RdbReader::new(&file[..], Limits::default()).expect("header");
    let mut idle = None;
    while let Some(item) = r.next_item().expect("item") {
        if let RdbItem::Key { meta, .. } = item {
            idle = meta.idle_secs;
        }
    }
    assert!(matches!(idle, Some(0..=30)), "idle {idle:?}");

    let out = TempDir::new("lru-out");
    let f = std::fs::File::create(out.0.join("idle.rdb")).expect("create");
    let mut w = RdbWriter::new(f, WriteOptions::default()).expect("writer");
    w.select_db(0, 1, 0).expect("select");
    let meta = KeyMeta {
        expire_ms: None,
        idle_secs: Some(5000),
        lfu_freq: None,
    };
    w.key(b"old", &RdbValue::String(b"v".to_vec()), &meta)
        .expect("key");
    w.finish().expect("finish");
    let fresh = Redis::start(&out.0, "idle.rdb", &["--maxmemory-policy", "allkeys-lru"]);
    let idle = fresh.client().ok(&["OBJECT", "IDLETIME", "old"]);
    assert!(matches!(idle, Reply::Int(5000..=5100)), "{idle:?}");
}
