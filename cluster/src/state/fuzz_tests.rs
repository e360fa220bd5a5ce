//! Random but well-formed packets (any type, known or unknown senders and nodes, random epochs, slots,
//! flags and gossip) on random links, mixed with ticks: the state machine never panics and keeps its
//! tables consistent.

use proptest::prelude::*;

use super::{Action, ClusterState, Config, LinkId, NO_NODE};
use crate::bus::{Body, Gossip, Header, Message, MsgType, NodeName, PingExt};
use crate::slot::{SlotBitmap, SLOTS};

const NAMES: [&str; 5] = [
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "cccccccccccccccccccccccccccccccccccccccc",
    "dddddddddddddddddddddddddddddddddddddddd",
    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
];

fn base() -> ClusterState {
    let [a, b, c, d, e] = NAMES;
    let text = format!(
        "{a} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n\
         {b} 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922\n\
         {c} 127.0.0.1:7002@17002 master - 0 0 3 connected 10923-16383\n\
         {d} 127.0.0.1:7003@17003 slave {b} 0 0 2 connected\n\
         {e} 127.0.0.1:7004@17004 slave {a} 0 0 1 connected\n\
         vars currentEpoch 3 lastVoteEpoch 0\n"
    );
    ClusterState::from_nodes_conf(
        Config {
            node_timeout_ms: 1000,
            ..Config::default()
        },
        &text,
        1_000_000,
    )
    .unwrap()
}

fn name() -> impl Strategy<Value = NodeName> {
    prop_oneof![
        4 => (0usize..5).prop_map(|i| NAMES[i].as_bytes().try_into().unwrap()),
        1 => Just(*b"ffffffffffffffffffffffffffffffffffffffff"),
        1 => any::<[u8; 20]>().prop_map(|h| { let mut n = [0u8; 40]; n[..20].copy_from_slice(&h); n[20..].copy_from_slice(&h); n }),
    ]
}

fn slots() -> impl Strategy<Value = SlotBitmap> {
    proptest::collection::vec((0u16..SLOTS as u16, 0u16..3000), 0..3).prop_map(|ranges| {
        let mut map = SlotBitmap::default();
        for (start, len) in ranges {
            for s in start..start.saturating_add(len).min(SLOTS as u16) {
                map.set(s, true);
            }
        }
        map
    })
}

fn header() -> impl Strategy<Value = Header> {
    (
        0u16..12,
        name(),
        proptest::option::of(name()),
        0u64..8,
        0u64..8,
        slots(),
        any::<u16>(),
        any::<u8>(),
        any::<u64>(),
    )
        .prop_map(
            |(kind, sender, slaveof, ce, cfg, myslots, flags, mflag, offset)| {
                let mut h = Header::new(MsgType::from_u16(kind), sender);
                h.slaveof = slaveof;
                h.current_epoch = ce;
                h.config_epoch = cfg;
                h.myslots = myslots;
                h.flags = flags & 0x3ff;
                h.mflags[0] = mflag & 3;
                h.offset = offset;
                h.port = 7000;
                h.cport = 17000;
                h
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    let gossip = (name(), any::<u16>(), 0u32..2_000).prop_map(|(name, flags, pong)| Gossip {
        name,
        ping_sent_s: 0,
        pong_received_s: pong,
        ip: crate::bus::ip_to_field("127.0.0.1"),
        port: 7009,
        cport: 17009,
        flags: flags & 0x3ff,
        pport: 0,
    });
    (
        header(),
        proptest::collection::vec(gossip, 0..4),
        name(),
        0u64..8,
        slots(),
        any::<bool>(),
    )
        .prop_map(|(header, gossip, about, epoch, slots, host)| {
            let body = match header.kind {
                MsgType::Ping | MsgType::Pong | MsgType::Meet => {
                    let exts = if host {
                        vec![PingExt::Hostname(b"h".to_vec())]
                    } else {
                        vec![]
                    };
                    Body::Ping { gossip, exts }
                }
                MsgType::Fail => Body::Fail { about },
                MsgType::Publish | MsgType::PublishShard => Body::Publish {
                    channel: b"c".to_vec(),
                    message: b"m".to_vec(),
                },
                MsgType::Update => Body::Update {
                    config_epoch: epoch,
                    name: about,
                    slots,
                },
                MsgType::Module => Body::Module {
                    module_id: [1; 8],
                    kind: 1,
                    payload: b"p".to_vec(),
                },
                MsgType::Unknown(_) => Body::Raw(vec![1, 2, 3]),
                _ => Body::Empty,
            };
            Message { header, body }
        })
}

#[derive(Debug, Clone)]
enum Step {
    Packet(usize, Box<Message>),
    Tick(u64),
    Accept,
    Close(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (any::<usize>(), message()).prop_map(|(l, m)| Step::Packet(l, Box::new(m))),
        2 => (1u64..3000).prop_map(Step::Tick),
        1 => Just(Step::Accept),
        1 => any::<usize>().prop_map(Step::Close),
    ]
}

fn check_invariants(s: &ClusterState) {
    let mut assigned = 0;
    for slot in 0..SLOTS as u16 {
        if let Some(o) = s.slot_owner(slot) {
            assigned += 1;
            assert!(
                s.nodes[o].slots.get(slot),
                "slot {slot} bound to a node whose bitmap lacks it"
            );
        }
        for v in [
            s.migrating_to[usize::from(slot)],
            s.importing_from[usize::from(slot)],
        ] {
            assert!(v == NO_NODE || s.nodes.contains(v as usize));
        }
    }
    let counted: u32 = s.nodes.iter().map(|(_, n)| n.numslots).sum();
    assert_eq!(counted, assigned);
    for (idx, n) in s.nodes.iter() {
        assert_eq!(n.numslots, n.slots.count());
        assert_eq!(s.by_name.get(&n.name), Some(&idx));
        if let Some(m) = n.master {
            assert!(s.nodes.contains(m));
        }
        for &r in &n.replicas {
            assert_eq!(
                s.nodes.get(r).and_then(|r| r.master),
                Some(idx),
                "replica list out of sync"
            );
        }
        for l in [n.link, n.inbound_link].into_iter().flatten() {
            assert_eq!(s.links.get(&l).and_then(|l| l.node), Some(idx));
        }
        for r in &n.fail_reports {
            assert!(s.nodes.contains(r.reporter));
        }
    }
    assert_eq!(s.by_name.len(), s.nodes.len());
    assert!(s.nodes.contains(s.myself));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_packets_keep_the_state_consistent(steps in proptest::collection::vec(step(), 1..60)) {
        let mut s = base();
        let mut now = 1_000_000u64;
        let mut links: Vec<LinkId> = Vec::new();
        for st in steps {
            let actions = match st {
                Step::Packet(l, msg) => {
                    let link = if links.is_empty() { 999 } else { links[l % links.len()] };
                    s.handle(link, &msg, now)
                }
                Step::Tick(dt) => {
                    now += dt;
                    s.tick(now)
                }
                Step::Accept => {
                    links.push(s.accept_link("127.0.0.1", "127.0.0.1", now));
                    Vec::new()
                }
                Step::Close(l) => match links.len() {
                    0 => Vec::new(),
                    n => s.link_closed(links.remove(l % n), now),
                },
            };
            for a in actions {
                match a {
                    Action::Connect { link, .. } => {
                        links.push(link);
                        let more = s.link_connected(link, "127.0.0.1", now);
                        drop(more);
                    }
                    Action::Close { link } => links.retain(|&l| l != link),
                    _ => {}
                }
            }
            check_invariants(&s);
        }
    }
}
