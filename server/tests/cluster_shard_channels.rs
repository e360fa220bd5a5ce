//! Shard channels of a slot the node stops serving (Redis 7.0's `removeChannelsInSlot`): every subscriber
//! gets a `sunsubscribe` push and no more messages, on each path that takes a slot away — `redis-cli
//! --cluster reshard` (SETSLOT NODE at the end of a migration), CLUSTER DELSLOTS, a newer owner's claim
//! arriving over the bus, FLUSHSLOTS. The same script runs against three redis-server 7.0.15 nodes and
//! three Zedis nodes, and what the two subscribed clients (RESP2 and RESP3) received is compared byte for
//! byte.

mod cluster_support;

use cluster_support::*;
use std::time::Duration;
use zedis_testkit::{wait_until, Frame, RespClient};

/// `{tN}suffix` hashing to `slot`: the first tag `tN` that does, so both runs use the same names.
fn channel_in(slot: u16, suffix: &str) -> String {
    (0..)
        .map(|i| format!("{{t{i}}}"))
        .find(|tag| zedis_cluster::key_hash_slot(tag.as_bytes()) == slot)
        .map(|tag| format!("{tag}{suffix}"))
        .expect("a tag for every slot")
}

/// Everything the client was sent before the reply to a PING sent now, then that reply (its exact bytes).
fn drain(client: &mut RespClient) -> Vec<Vec<u8>> {
    client.send(&[b"PING"]);
    let mut got = Vec::new();
    loop {
        let (raw, frame) = client.read_raw();
        let pong = match &frame {
            Frame::Simple(s) => s == b"PONG",
            Frame::Array(items) | Frame::Push(items) => {
                items.first() == Some(&Frame::Bulk(b"pong".to_vec()))
            }
            _ => false,
        };
        got.push(raw);
        if pong {
            return got;
        }
    }
}

/// Waits (wide) until `node` no longer serves `slot`.
fn wait_lost(node: &Node, slot: u16) {
    assert!(
        wait_until(Duration::from_secs(60), || !served_slots(node)
            .contains(&slot)),
        "{:?} node still serves slot {slot}",
        node.kind
    );
}

/// One run on a fresh 3-master cluster of `kind`: the two clients' transcripts, step by step.
fn transcript(kind: Kind) -> Vec<(String, Vec<Vec<u8>>)> {
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(kind, 5000)).collect();
    let all: Vec<&Node> = nodes.iter().collect();
    create(&all, 0);
    // redis-cli gives the first node 0-5460 and the second 5461-10922.
    let (a, b) = (&nodes[0], &nodes[1]);
    assert!(served_slots(a).contains(&0) && served_slots(b).contains(&5461));
    let mut r2 = a.client();
    let mut r3 = a.client();
    let hello = r3.cmd(&["HELLO", "3"]);
    assert!(matches!(hello, Frame::Map(_)), "{hello:?}");
    let mut log = Vec::new();
    let s0 = [channel_in(0, "b"), channel_in(0, "a")];
    let (s100, s200) = (channel_in(100, "x"), channel_in(200, "x"));
    let (s300, s5000) = (channel_in(300, "x"), channel_in(5000, "x"));
    // One SSUBSCRIBE per channel: in cluster mode its channels must share a slot.
    let subscribe = |client: &mut RespClient, channels: &[&str]| {
        channels
            .iter()
            .map(|channel| client.raw(&["SSUBSCRIBE", channel]))
            .collect()
    };
    log.push((
        "r2 ssubscribe".to_string(),
        subscribe(&mut r2, &[&s0[0], &s0[1], &s100, &s200, &s300, &s5000]),
    ));
    log.push((
        "r3 ssubscribe".to_string(),
        subscribe(&mut r3, &[&s0[1], &s300, &s5000, &s200]),
    ));

    // 1. redis-cli --cluster reshard of one slot (slot 0, A's first) to B.
    reshard(a, a, b, 1);
    wait_lost(a, 0);
    assert!(served_slots(b).contains(&0));
    log.push(("reshard r2".into(), drain(&mut r2)));
    log.push(("reshard r3".into(), drain(&mut r3)));
    // Nobody on A listens on slot 0's channels any more, and A redirects their publishers.
    let mut admin = a.client();
    let numsub = admin.raw(&["PUBSUB", "SHARDNUMSUB", &s0[0], &s0[1]]);
    log.push(("shardnumsub".into(), vec![numsub]));
    log.push((
        "spublish moved".into(),
        vec![admin.raw(&["SPUBLISH", &s0[1], "late"])],
    ));

    // 2. CLUSTER DELSLOTS.
    log.push((
        "delslots".into(),
        vec![admin.raw(&["CLUSTER", "DELSLOTS", "100"])],
    ));
    log.push(("delslots r2".into(), drain(&mut r2)));
    log.push(("delslots r3".into(), drain(&mut r3)));

    // 3. B claims slot 200 with a newer epoch: A learns it over the bus.
    let mut on_b = b.client();
    let id_b = b.id();
    assert_eq!(
        on_b.cmd(&["CLUSTER", "SETSLOT", "200", "NODE", &id_b]),
        Frame::Simple(b"OK".to_vec())
    );
    on_b.cmd(&["CLUSTER", "BUMPEPOCH"]);
    wait_lost(a, 200);
    log.push(("bus update r2".into(), drain(&mut r2)));
    log.push(("bus update r3".into(), drain(&mut r3)));

    // 4. FLUSHSLOTS: every remaining slot of A, so both remaining channels go (slot order).
    log.push((
        "flushslots".into(),
        vec![admin.raw(&["CLUSTER", "FLUSHSLOTS"])],
    ));
    log.push(("flushslots r2".into(), drain(&mut r2)));
    log.push(("flushslots r3".into(), drain(&mut r3)));
    log.push((
        "shardchannels".into(),
        vec![admin.raw(&["PUBSUB", "SHARDCHANNELS"])],
    ));
    log
}

/// The four paths, on redis-server and on Zedis: the same bytes, and Redis's `sunsubscribe` form.
#[test]
fn lost_slots_unsubscribe_shard_channels_like_redis() {
    if !have_redis() {
        return eprintln!("skipped: redis-server not installed");
    }
    let _serial = serial();
    let redis = transcript(Kind::Redis);
    let zedis = transcript(Kind::Zedis);
    for ((step, want), (_, got)) in redis.iter().zip(&zedis) {
        // MOVED names a port of its own run.
        let show = |frames: &[Vec<u8>]| {
            frames
                .iter()
                .map(|f| {
                    let text = String::from_utf8_lossy(f).into_owned();
                    match text.rsplit_once(':') {
                        Some((head, _)) if text.starts_with("-MOVED") => format!("{head}:PORT"),
                        _ => text,
                    }
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(show(got), show(want), "step {step}");
    }
    assert_eq!(redis.len(), zedis.len());
    // The reshard step's pushes, spelled out (slot 0's channels in byte order, RESP2 then RESP3).
    let (a, b) = (channel_in(0, "a"), channel_in(0, "b"));
    let r2 = &zedis[2].1;
    assert_eq!(
        r2[0],
        format!("*3\r\n$12\r\nsunsubscribe\r\n${}\r\n{a}\r\n:5\r\n", a.len()).into_bytes()
    );
    assert_eq!(
        r2[1],
        format!("*3\r\n$12\r\nsunsubscribe\r\n${}\r\n{b}\r\n:4\r\n", b.len()).into_bytes()
    );
    let r3 = &zedis[3].1;
    assert_eq!(
        r3[0],
        format!(">3\r\n$12\r\nsunsubscribe\r\n${}\r\n{a}\r\n:3\r\n", a.len()).into_bytes()
    );
}

/// CLUSTER FAILOVER: the promoted replica takes its master's slots over (Redis deletes them first, so
/// the shard channels of every one of those slots go on the new master), and the old master, now a
/// replica, drops its own. One run of `kind`: what a subscriber on each node received.
fn failover_transcript(kind: Kind) -> Vec<(String, Vec<Vec<u8>>)> {
    let nodes: Vec<Node> = (0..6).map(|_| Node::start(kind, 5000)).collect();
    let all: Vec<&Node> = nodes.iter().collect();
    create(&all, 1);
    let master = all
        .iter()
        .copied()
        .find(|n| n.is_master() && served_slots(n).contains(&0))
        .expect("slot 0's master");
    let replica = replica_of(&all, master).expect("its replica");
    let channel = channel_in(0, "f");
    let mut on_master = master.client();
    let mut on_replica = replica.client();
    let mut log = vec![(
        "subscribe".to_string(),
        vec![
            on_master.raw(&["SSUBSCRIBE", &channel]),
            on_replica.raw(&["READONLY"]),
            on_replica.raw(&["SSUBSCRIBE", &channel]),
        ],
    )];
    assert!(
        wait_until(Duration::from_secs(60), || replica
            .cli(&["info", "replication"])
            .contains("master_link_status:up")),
        "{kind:?}: the replica never linked"
    );
    let mut admin = replica.client();
    log.push(("failover".into(), vec![admin.raw(&["CLUSTER", "FAILOVER"])]));
    // A manual failover that times out (the machine is loaded) is asked again.
    let promoted = (0..4).any(|_| {
        wait_until(Duration::from_secs(20), || {
            replica.is_master() && !master.is_master()
        }) || {
            admin.raw(&["CLUSTER", "FAILOVER"]);
            false
        }
    });
    assert!(promoted, "{kind:?}: the replica was not promoted");
    log.push(("new master".into(), drain(&mut on_replica)));
    log.push(("old master".into(), drain(&mut on_master)));
    log
}

/// The failover path, on redis-server and on Zedis: the same bytes.
#[test]
fn failover_unsubscribes_shard_channels_like_redis() {
    if !have_redis() {
        return eprintln!("skipped: redis-server not installed");
    }
    let _serial = serial();
    let redis = failover_transcript(Kind::Redis);
    let zedis = failover_transcript(Kind::Zedis);
    let show = |log: &[(String, Vec<Vec<u8>>)]| {
        log.iter()
            .map(|(step, frames)| {
                let text: Vec<String> = frames
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                format!("{step}: {text:?}")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(show(&zedis), show(&redis));
    // Something was unsubscribed on some node, so the comparison is not of two silences.
    assert!(
        show(&redis).iter().any(|l| l.contains("sunsubscribe")),
        "{:?}",
        show(&redis)
    );
}
