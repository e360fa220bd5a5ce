//! `key_hash_slot` against a real redis-server 7.0.15's `CLUSTER KEYSLOT` for a few hundred random keys.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use zedis_resp::Frame;

#[test]
fn keyslot_matches_redis() {
    let Some(node) = common::RedisNode::start(&[]) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut client = node.client();
    // Keys biased towards braces so every branch of the hash-tag rule is hit.
    let key = proptest::collection::vec(
        prop_oneof![Just(b'{'), Just(b'}'), any::<u8>(), b'a'..=b'e'],
        0..24,
    );
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    let mut fixed: Vec<Vec<u8>> = [
        "",
        "{}",
        "{",
        "}",
        "a{b}c",
        "{{}}",
        "}{a}",
        "foo{}{bar}",
        "{a}{b}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fixed.push(vec![0, 255, b'{', 1, b'}']);
    for k in &fixed {
        let reply = client.call(&[b"CLUSTER", b"KEYSLOT", k]);
        assert_eq!(
            reply,
            Frame::Integer(i64::from(zedis_cluster::key_hash_slot(k))),
            "key {k:?}"
        );
    }
    let client = std::cell::RefCell::new(client);
    runner
        .run(&key, |k| {
            let reply = client.borrow_mut().call(&[b"CLUSTER", b"KEYSLOT", &k]);
            prop_assert_eq!(
                reply,
                Frame::Integer(i64::from(zedis_cluster::key_hash_slot(&k)))
            );
            Ok(())
        })
        .unwrap();
}
