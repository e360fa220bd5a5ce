//! MIGRATE's client side (`runtime::migrate`) against redis-server 7.0.15: keys dumped from one
//! redis-server move to another with RESTORE-ASKING (values and TTLs intact), and every reply — +OK,
//! +NOKEY, the target's BUSYKEY, -IOERR, the argument errors — is the one redis-server's own MIGRATE gives.

mod common;

use std::time::{Duration, Instant};

use common::{Client, RedisNode};
use zedis_cluster::runtime::migrate::{parse_migrate, MigrateItem, Migrator};
use zedis_resp::Frame;

/// A cluster-mode redis-server owning every slot, state ok.
fn lone_master() -> Option<(RedisNode, Client)> {
    let node = RedisNode::start(&["--cluster-require-full-coverage", "no"])?;
    let mut c = node.client();
    assert_eq!(
        c.line("CLUSTER ADDSLOTSRANGE 0 16383"),
        Frame::Simple(b"OK".to_vec())
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !c.text("CLUSTER INFO").contains("cluster_state:ok") {
        assert!(Instant::now() < deadline, "cluster_state never ok");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((node, c))
}

fn raw_reply(frame: Frame) -> Vec<u8> {
    frame.to_bytes()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[test]
fn migrate_matches_redis() {
    let (Some((src, mut s)), Some((dst, mut d))) = (lone_master(), lone_master()) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let _ = &src;
    let dport = dst.port.to_string();
    // Keys of several types, one with a TTL.
    s.line("SET k:str hello");
    s.line("RPUSH k:list a b c");
    s.line("HSET k:hash f1 v1 f2 v2");
    s.line("SET k:ttl soon");
    s.line("PEXPIRE k:ttl 60000");
    let names = ["k:str", "k:list", "k:hash", "k:ttl"];
    let dumps: Vec<Vec<u8>> = names
        .iter()
        .map(|k| match s.line(&format!("DUMP {k}")) {
            Frame::Bulk(b) => b,
            other => panic!("{other:?}"),
        })
        .collect();
    let ttls: Vec<u64> = names
        .iter()
        .map(|k| match s.line(&format!("PTTL {k}")) {
            Frame::Integer(n) if n > 0 => n as u64,
            Frame::Integer(_) => 0,
            other => panic!("{other:?}"),
        })
        .collect();
    let items: Vec<MigrateItem<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, k)| MigrateItem {
            key: k.as_bytes(),
            ttl_ms: ttls[i],
            payload: &dumps[i],
        })
        .collect();
    let mut argv: Vec<&[u8]> = vec![
        b"MIGRATE",
        b"127.0.0.1",
        dport.as_bytes(),
        b"",
        b"0",
        b"5000",
        b"KEYS",
    ];
    argv.extend(names.iter().map(|k| k.as_bytes()));
    let req = parse_migrate(&argv).unwrap();
    assert_eq!(req.keys.len(), 4);
    let mut m = Migrator::default();
    let done = m.migrate(&req, &items, true, now_ms());
    assert_eq!(done.reply, b"+OK\r\n");
    assert_eq!(done.accepted, vec![0, 1, 2, 3]);
    assert_eq!(m.cached(), 1, "the connection is kept for the next MIGRATE");
    for (i, k) in names.iter().enumerate() {
        assert_eq!(
            d.line(&format!("DUMP {k}")),
            Frame::Bulk(dumps[i].clone()),
            "{k}"
        );
    }
    let Frame::Integer(ttl) = d.line("PTTL k:ttl") else {
        panic!()
    };
    assert!((50_000..=60_000).contains(&ttl), "TTL kept: {ttl}");

    // Again without REPLACE: the target refuses; our reply is redis-server's own MIGRATE's.
    let again = m.migrate(&req, &items[..1], true, now_ms());
    let theirs = raw_reply(s.call(&[
        b"MIGRATE",
        b"127.0.0.1",
        dport.as_bytes(),
        b"k:str",
        b"0",
        b"5000",
        b"COPY",
    ]));
    assert_eq!(again.reply, theirs);
    assert!(again.accepted.is_empty());
    assert!(String::from_utf8_lossy(&again.reply).contains("BUSYKEY"));
    // With REPLACE it goes through, over the same cached connection.
    let argv_replace: Vec<&[u8]> = vec![
        b"MIGRATE",
        b"127.0.0.1",
        dport.as_bytes(),
        b"k:str",
        b"0",
        b"5000",
        b"REPLACE",
    ];
    let replace = parse_migrate(&argv_replace).unwrap();
    assert!(replace.replace && !replace.copy);
    assert_eq!(
        m.migrate(&replace, &items[..1], true, now_ms()).reply,
        b"+OK\r\n"
    );

    // Nothing to move.
    let theirs = raw_reply(s.call(&[
        b"MIGRATE",
        b"127.0.0.1",
        dport.as_bytes(),
        b"nokey",
        b"0",
        b"5000",
    ]));
    assert_eq!(m.migrate(&req, &[], true, now_ms()).reply, theirs);
    // A target nobody listens on.
    let closed = common::free_pair().unwrap().to_string();
    let theirs = raw_reply(s.call(&[
        b"MIGRATE",
        b"127.0.0.1",
        closed.as_bytes(),
        b"k:str",
        b"0",
        b"500",
        b"COPY",
    ]));
    let argv_closed: Vec<&[u8]> = vec![
        b"MIGRATE",
        b"127.0.0.1",
        closed.as_bytes(),
        b"k:str",
        b"0",
        b"500",
    ];
    let refused = m.migrate(
        &parse_migrate(&argv_closed).unwrap(),
        &items[..1],
        true,
        now_ms(),
    );
    assert_eq!(refused.reply, theirs);
    assert!(refused.accepted.is_empty());

    // Argument errors, in redis-server's order and words.
    for line in [
        "MIGRATE h 1 k 0 1000 KEYS a",
        "MIGRATE h 1 k 0 1000 FOO",
        "MIGRATE h 1 k 0 1000 AUTH",
        "MIGRATE h 1 k 0 1000 AUTH2 u",
        "MIGRATE h 1 k x 1000",
        "MIGRATE h 1 k 0 y",
        "MIGRATE h 1 k x y FOO",
    ] {
        let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let Frame::Error(theirs) = s.call(&argv) else {
            panic!("redis-server refuses {line}")
        };
        assert_eq!(
            parse_migrate(&argv).unwrap_err().as_bytes(),
            &theirs[..],
            "{line}"
        );
    }
    m.cron(now_ms() + 20_000);
    assert_eq!(m.cached(), 0, "idle connections are closed after 10 s");
}
