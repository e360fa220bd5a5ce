//! RDB files between Zedis and a real redis-server 7.0: SAVE on both with one key per type and encoding, then
//! redis-server loading Zedis's file, Zedis reloading its own and Zedis loading redis-server's, each compared
//! key by key with redis-server reloading its own file. Skipped with a note when `redis-server` is not
//! installed.

mod common;

use common::encodings::{contents, fixtures, redis_start, run};
use common::{connect, Server};
use redis::Value;
use std::process::Command;

#[test]
fn save_writes_a_file_redis_loads_and_both_servers_reload() {
    let Some(probe) = redis_start(&[]) else {
        return;
    };
    drop(probe);
    let zdir = common::TempDir::new("rdb-save-zedis");
    let rdir = common::TempDir::new("rdb-save-redis");
    let zargs = ["--dir", zdir.path(), "--dbfilename", "dump.rdb"];
    let rargs = ["--dir", rdir.path(), "--dbfilename", "dump.rdb"];
    let keys: Vec<&str> = fixtures().iter().map(|f| f.0).collect();
    let mut expected: Vec<Vec<String>> = Vec::new();
    {
        let zedis = Server::start(&zargs);
        let redis = redis_start(&rargs).unwrap();
        let (mut z, mut r) = (zedis.conn(), connect(redis.port));
        for (_, commands, _) in fixtures() {
            for c in &commands {
                let _ = run(&mut z, c);
                let _ = run(&mut r, c);
            }
        }
        run(&mut z, "SET withttl v EX 1000").unwrap();
        run(&mut r, "SET withttl v EX 1000").unwrap();
        assert_eq!(run(&mut z, "SAVE"), Ok(Value::Okay));
        assert_eq!(run(&mut r, "SAVE"), Ok(Value::Okay));
    }
    let zfile = zdir.0.join("dump.rdb");
    if let Ok(out) = Command::new("redis-check-rdb").arg(&zfile).output() {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("RDB looks OK"),
            "{text}"
        );
    }
    // Reference: redis-server reloading its own file (a loaded string is int/embstr/raw by content).
    {
        let reference = redis_start(&rargs).unwrap();
        let mut conn = connect(reference.port);
        for key in &keys {
            expected.push(contents(&mut conn, key));
        }
    }
    // Zedis's file in redis-server and in Zedis; redis-server's file in Zedis.
    let redis_on_zedis_file = redis_start(&zargs).unwrap();
    let zedis_on_zedis_file = Server::start(&zargs);
    let zedis_on_redis_file = Server::start(&rargs);
    for (name, mut conn) in [
        (
            "redis-server loading Zedis's file",
            connect(redis_on_zedis_file.port),
        ),
        ("Zedis reloading its file", zedis_on_zedis_file.conn()),
        (
            "Zedis loading redis-server's file",
            zedis_on_redis_file.conn(),
        ),
    ] {
        for (key, want) in keys.iter().zip(&expected) {
            assert_eq!(&contents(&mut conn, key), want, "{name}: {key}");
        }
        match run(&mut conn, "TTL withttl") {
            Ok(Value::Int(n)) => assert!((900..=1000).contains(&n), "{name}: ttl {n}"),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(
            run(&mut conn, "DBSIZE"),
            Ok(Value::Int(keys.len() as i64 + 1)),
            "{name}"
        );
    }
}
