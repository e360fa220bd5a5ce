//! Scripts in cluster mode, side by side with a single-node redis-server cluster. Redis 7.0.15's
//! `scriptVerifyClusterState`: a script's commands must stay in the slot of its declared keys (or, with
//! none, of its first command's key), unless it declares `allow-cross-slot-keys` or has no shebang (old
//! scripts keep their cross-slot freedom).

mod cluster_support;

use cluster_support::*;
use std::time::Duration;
use zedis_testkit::wait_until;

fn single_node(kind: Kind) -> Node {
    let node = Node::start(kind, 3000);
    assert_eq!(node.cli(&["cluster", "addslotsrange", "0", "16383"]), "OK");
    assert!(wait_until(Duration::from_secs(30), || node.state_ok()));
    node
}

#[test]
fn script_keys_stay_in_the_declared_slot_as_redis() {
    if !have_redis() {
        return eprintln!("skipped: redis-server not installed");
    }
    let _serial = serial();
    let zedis = single_node(Kind::Zedis);
    let redis = single_node(Kind::Redis);
    let cases: [&[&str]; 9] = [
        // Without a shebang, cross-slot access is allowed.
        &["eval", "return redis.call('set', '{a}x', '1')", "1", "{b}k"],
        &[
            "eval",
            "redis.call('set', '{a}y', '1') return redis.call('set', '{b}y', '1')",
            "0",
        ],
        // With one, the declared key's slot holds, or the first command's.
        &[
            "eval",
            "#!lua\nreturn redis.call('set', '{a}x', '1')",
            "1",
            "{b}k",
        ],
        &[
            "eval",
            "#!lua\nreturn redis.call('set', '{b}x', '1')",
            "1",
            "{b}k",
        ],
        &[
            "eval",
            "#!lua\nredis.call('set', '{a}y', '1') return redis.call('set', '{b}y', '1')",
            "0",
        ],
        &[
            "eval",
            "#!lua\nredis.call('set', '{a}y', '1') return redis.call('set', '{a}w', '1')",
            "0",
        ],
        // allow-cross-slot-keys lifts the rule.
        &[
            "eval",
            "#!lua flags=allow-cross-slot-keys\nreturn redis.call('set', '{a}z', '1')",
            "1",
            "{b}k",
        ],
        &["eval", "return redis.call('get', '{b}k')", "1", "{b}k"],
        &[
            "eval",
            "#!lua\nreturn redis.call('get', '{b}x')",
            "1",
            "{b}k",
        ],
    ];
    for args in cases {
        // The error names the script's sha and line; compare the reply up to there.
        let cut = |s: String| s.split(" script: ").next().unwrap_or("").to_string();
        assert_eq!(cut(zedis.cli(args)), cut(redis.cli(args)), "{args:?}");
    }
}
