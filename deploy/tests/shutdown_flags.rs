//! `shutdown-on-sigterm` values against redis-server 7.0.15: every combination of up to three words (the
//! five flags, a wrong one, mixed case) is accepted or refused as redis-server's CONFIG SET does, with the
//! same error text, and shown as its CONFIG GET shows it.

mod common;

use common::{have, RedisServer};
use zedis_deploy::shutdown::ShutdownFlags;

#[test]
fn flags_match_redis_server_config_set_and_get() {
    if !have("redis-server") {
        eprintln!("redis-server missing: skipped");
        return;
    }
    let redis = RedisServer::builder().start().expect("redis-server");
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port)).unwrap();
    let mut con = client.get_connection().unwrap();
    let words = [
        "default", "save", "nosave", "now", "force", "Force", "bogus",
    ];
    let mut values: Vec<String> = Vec::new();
    for a in words {
        values.push(a.to_string());
        for b in words {
            values.push(format!("{a} {b}"));
            for c in ["now", "save", "nosave"] {
                values.push(format!("{a} {b} {c}"));
            }
        }
    }
    for value in values {
        let theirs: redis::RedisResult<()> = redis::cmd("CONFIG")
            .arg("SET")
            .arg("shutdown-on-sigterm")
            .arg(&value)
            .query(&mut con);
        match (ShutdownFlags::parse(&value), theirs) {
            (Ok(ours), Ok(())) => {
                let shown: Vec<String> = redis::cmd("CONFIG")
                    .arg("GET")
                    .arg("shutdown-on-sigterm")
                    .query(&mut con)
                    .unwrap();
                assert_eq!(ours.to_config_string(), shown[1], "{value}");
            }
            (Err(why), Err(e)) => {
                assert!(e.to_string().ends_with(why), "{value}: {e} vs {why}");
            }
            (ours, theirs) => panic!("{value}: ours {ours:?}, redis-server {theirs:?}"),
        }
    }
}
