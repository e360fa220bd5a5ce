//! `examples/mini_node.rs` (`ClusterNode` wired into a tiny mio server, as the wiring steps in the README
//! describe) with the real tools: `redis-cli --cluster create` builds a cluster of two toy Zedis nodes and
//! a redis-server, `redis-cli --cluster check` finds every slot covered and agreed, `redis-cli -c` writes
//! and reads keys through the -MOVED redirections of both kinds of node, and `redis-cli --cluster reshard`
//! moves slots with their keys from a Zedis node to the redis-server (our MIGRATE) and on to the other
//! Zedis node (redis-server's MIGRATE into our RESTORE-ASKING).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::RedisNode;
use zedis_testkit::{free_port_pair, Proc, TempDir};

/// A running `mini_node` example, killed by PID on drop (before its directory is removed).
struct MiniNode {
    _proc: Proc,
    port: u16,
    _dir: TempDir,
}

fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join("mini_node");
    if !path.exists() {
        // `cargo test --test mini_node` builds only this test: build the example too.
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "zedis-cluster", "--example", "mini_node"])
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
    }
    path.exists().then_some(path)
}

fn start_mini(bin: &Path) -> MiniNode {
    let port = free_port_pair().expect("free ports");
    let dir = TempDir::new("mini-node");
    let args = [
        port.to_string(),
        dir.path().to_string_lossy().into_owned(),
        "3000".to_string(),
    ];
    let proc = Proc::spawn(&bin.to_string_lossy(), &args, port, dir.path())
        .expect("mini_node did not come up");
    MiniNode {
        _proc: proc,
        port,
        _dir: dir,
    }
}

fn cli(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn redis_cli_creates_and_uses_a_mixed_cluster() {
    let Some(bin) = example_binary() else {
        eprintln!("mini_node example unavailable: skipped");
        return;
    };
    let Some(redis) = RedisNode::start(&["--cluster-node-timeout", "3000"]) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let (a, b) = (start_mini(&bin), start_mini(&bin));
    let addrs: Vec<String> = [a.port, redis.port, b.port]
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let started = Instant::now();
    let mut args = vec!["--cluster", "create"];
    args.extend(addrs.iter().map(String::as_str));
    args.push("--cluster-yes");
    let created = cli(&args);
    assert!(
        created.contains("[OK] All 16384 slots covered."),
        "{created}"
    );
    eprintln!(
        "redis-cli --cluster create (2 Zedis + 1 redis-server) took {:?}",
        started.elapsed()
    );
    for addr in &addrs {
        let check = cli(&["--cluster", "check", addr]);
        assert!(
            check.contains("[OK] All nodes agree about slots configuration.")
                && check.contains("[OK] All 16384 slots covered."),
            "check from {addr}: {check}"
        );
    }
    // A master turns its state ok only some time after it starts (Redis's writable delay, 2 s), which a
    // fast create can beat.
    let ports = [a.port, redis.port, b.port];
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ports
        .iter()
        .all(|p| cli(&["-p", &p.to_string(), "CLUSTER", "INFO"]).contains("cluster_state:ok"))
    {
        assert!(
            Instant::now() < deadline,
            "cluster_state never ok everywhere"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Keys everywhere, through redirections, starting from each kind of node.
    for i in 0..15 {
        let port = ports[i % 3].to_string();
        let key = format!("key:{i}");
        let set = cli(&["-c", "-p", &port, "SET", &key, &format!("value {i}")]);
        assert_eq!(set.trim(), "OK", "SET {key} via {port}");
    }
    for i in 0..15 {
        let port = ports[(i + 1) % 3].to_string();
        let key = format!("key:{i}");
        let got = cli(&["-c", "-p", &port, "GET", &key]);
        assert_eq!(got.trim(), format!("value {i}"), "GET {key} via {port}");
    }
    // Resharding: one key in each of slots 0..20 (the first Zedis node's), moved to the redis-server,
    // then on to the second Zedis node; every key stays readable and the cluster stays agreed.
    let moved_keys: Vec<String> = (0..20u16)
        .map(|slot| {
            (0..)
                .map(|i| format!("m:{i}"))
                .find(|k| zedis_cluster::key_hash_slot(k.as_bytes()) == slot)
                .unwrap()
        })
        .collect();
    for key in &moved_keys {
        let set = cli(&["-c", "-p", &a.port.to_string(), "SET", key, key]);
        assert_eq!(set.trim(), "OK");
    }
    let id = |port: u16| {
        cli(&["-p", &port.to_string(), "CLUSTER", "MYID"])
            .trim()
            .to_string()
    };
    let (a_id, r_id, b_id) = (id(a.port), id(redis.port), id(b.port));
    for (from, to, via) in [(&a_id, &r_id, a.port), (&r_id, &b_id, b.port)] {
        let started = Instant::now();
        let out = cli(&[
            "--cluster",
            "reshard",
            &format!("127.0.0.1:{via}"),
            "--cluster-from",
            from,
            "--cluster-to",
            to,
            "--cluster-slots",
            "20",
            "--cluster-yes",
        ]);
        assert!(out.contains("Moving slot 19 from"), "{out}");
        eprintln!(
            "reshard of 20 slots {from:.8} -> {to:.8} took {:?}",
            started.elapsed()
        );
        let check = cli(&["--cluster", "check", &format!("127.0.0.1:{via}")]);
        assert!(
            check.contains("[OK] All nodes agree about slots configuration.")
                && check.contains("[OK] All 16384 slots covered.")
                && !check.contains("[WARNING]"),
            "{check}"
        );
    }
    let owner = cli(&["-p", &redis.port.to_string(), "CLUSTER", "NODES"]);
    assert!(
        owner
            .lines()
            .any(|l| l.starts_with(&b_id) && l.contains(" 0-19")),
        "the second Zedis node owns slots 0-19 now: {owner}"
    );
    assert_eq!(
        cli(&["-p", &b.port.to_string(), "CLUSTER", "COUNTKEYSINSLOT", "0"]).trim(),
        "1"
    );
    for key in &moved_keys {
        let got = cli(&["-c", "-p", &redis.port.to_string(), "GET", key]);
        assert_eq!(got.trim(), key, "{key} after two reshards");
    }
    let total: i64 = [a.port, redis.port, b.port]
        .iter()
        .map(|p| {
            cli(&["-p", &p.to_string(), "DBSIZE"])
                .trim()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        total,
        15 + moved_keys.len() as i64,
        "no key lost or duplicated"
    );

    // Without -c, the same redirection from a Zedis node as from the redis-server ("foo" is in the third
    // node's slots: create gives the slots out in the order of the addresses).
    let from_zedis = cli(&["-p", &a.port.to_string(), "GET", "foo"]);
    let from_redis = cli(&["-p", &redis.port.to_string(), "GET", "foo"]);
    assert_eq!(from_zedis, from_redis);
    assert!(
        from_zedis.contains(&format!("MOVED 12182 127.0.0.1:{}", b.port)),
        "{from_zedis}"
    );
}
