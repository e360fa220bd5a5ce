//! The runtime over real sockets on 127.0.0.1: bad bytes from a peer close that link only, declared
//! lengths never size an allocation, the send buffer bound, the token range bound, nodes.conf saving.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use mio::{Events, Poll};

use super::*;
use crate::bus::{Body, Header, Message, MsgType};
use crate::state::Action;
use std::path::PathBuf;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Harness {
    poll: Poll,
    events: Events,
    node: ClusterNode,
    dir: PathBuf,
}

impl Harness {
    fn new(name: &str, change: impl FnOnce(&mut NodeConfig)) -> Harness {
        let dir =
            std::env::temp_dir().join(format!("zedis-cluster-rt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let poll = Poll::new().unwrap();
        let mut cfg = NodeConfig {
            bind: vec!["127.0.0.1".into()],
            config_file: dir.join("nodes.conf"),
            token_base: 10,
            tokens_max: 16,
            ..NodeConfig::default()
        };
        cfg.bus_port = 0; // an ephemeral bus port
        cfg.cluster.seed = now_ms() ^ u64::from(std::process::id());
        change(&mut cfg);
        let mut node = ClusterNode::start(cfg, poll.registry(), now_ms()).unwrap();
        let port = node.listen_addrs()[0].port();
        node.reconfigure(|cfg| {
            cfg.cluster.cport = port;
            cfg.cluster.port = port.wrapping_sub(10000).max(1);
        });
        Harness {
            poll,
            events: Events::with_capacity(64),
            node,
            dir,
        }
    }

    fn bus_port(&self) -> u16 {
        self.node.listen_addrs()[0].port()
    }

    fn turns(&mut self, n: usize) {
        for _ in 0..n {
            self.poll
                .poll(&mut self.events, Some(Duration::from_millis(5)))
                .unwrap();
            let ready: Vec<_> = self
                .events
                .iter()
                .map(|e| {
                    (
                        e.token(),
                        e.is_readable() || e.is_read_closed(),
                        e.is_writable(),
                    )
                })
                .collect();
            for (token, r, w) in ready {
                assert!(self.node.owns_token(token));
                self.node.ready(token, r, w, now_ms());
            }
        }
    }

    fn until(&mut self, what: &str, mut done: impl FnMut(&mut Harness) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            self.turns(1);
            if done(self) {
                return;
            }
        }
        panic!("timed out: {what}");
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.node.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// True once the peer sees EOF or a reset.
fn closed_by_node(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn bad_bytes_close_only_that_link() {
    let mut h = Harness::new("bad", |_| {});
    assert!(
        h.node.config().config_file.exists(),
        "a fresh node saves nodes.conf at start"
    );
    let port = h.bus_port();
    let mut http = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut huge = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut bad_body = TcpStream::connect(("127.0.0.1", port)).unwrap();
    h.until("three links accepted", |h| h.node.open_links() == 3);
    http.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // A header declaring a 4 GiB packet: refused from the first 8 bytes.
    huge.write_all(b"RCmb\xff\xff\xff\xff").unwrap();
    // A well-framed packet whose body is wrong: dropped, the link stays (as Redis).
    let header = Header::new(MsgType::Ping, [b'a'; 40]);
    let mut packet = Message {
        header,
        body: Body::Ping {
            gossip: Vec::new(),
            exts: Vec::new(),
        },
    }
    .to_bytes();
    packet[14..16].copy_from_slice(&5u16.to_be_bytes()); // count: 5 gossip entries that are not there
    bad_body.write_all(&packet).unwrap();
    let before = h.node.bytes();
    h.until("the two bad streams are closed", |h| {
        h.node.open_links() == 1
    });
    h.turns(5);
    assert!(closed_by_node(&mut http) && closed_by_node(&mut huge));
    assert!(
        !closed_by_node(&mut bad_body),
        "a packet that fails to decode keeps the link"
    );
    assert!(
        h.node.bytes() <= before + 64 * 1024,
        "no allocation from a declared length"
    );
    let events = h.node.take_events();
    let logged = |what: &str| {
        events
            .iter()
            .any(|e| matches!(e, Event::Log { text, .. } if text.contains(what)))
    };
    assert!(logged("Bad message signature"), "{events:?}");
    assert!(logged("Dropping cluster bus packet"), "{events:?}");
}

#[test]
fn token_range_bounds_the_links() {
    // One listener + 2 links.
    let mut h = Harness::new("tokens", |cfg| cfg.tokens_max = 3);
    let port = h.bus_port();
    let mut peers: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    h.until("two links accepted", |h| h.node.open_links() == 2);
    h.turns(10);
    assert_eq!(h.node.open_links(), 2);
    assert!(
        closed_by_node(&mut peers[2]),
        "the third connection is refused"
    );
    assert!(h
        .node
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::Log { text, .. } if text.contains("no token left"))));
}

#[test]
fn a_peer_that_does_not_read_is_dropped_at_the_send_buffer_limit() {
    let mut h = Harness::new("sendbuf", |cfg| cfg.sendbuf_bytes_max = 1 << 20);
    let port = h.bus_port();
    let _silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    h.until("link accepted", |h| h.node.open_links() == 1);
    let link = *h.node.by_link.keys().next().unwrap();
    let packet = vec![0u8; 64 << 10];
    for _ in 0..1024 {
        h.node.apply(
            vec![Action::Send {
                link,
                packet: packet.clone(),
            }],
            now_ms(),
        );
        if h.node.open_links() == 0 {
            break;
        }
        assert!(h.node.bytes() < 8 << 20, "the send buffer stays bounded");
    }
    assert_eq!(h.node.open_links(), 0, "the link is freed");
    assert!(h
        .node
        .state()
        .cluster_info()
        .contains("total_cluster_links_buffer_limit_exceeded:1\r\n"));
}

#[test]
fn meet_connects_and_saves() {
    let mut a = Harness::new("meet-a", |_| {});
    let mut b = Harness::new("meet-b", |_| {});
    let cport = b.bus_port();
    let mut ks = NoKeys;
    let mut ctx = CommandCtx {
        proto: zedis_resp::Protocol::Resp2,
        now_ms: now_ms(),
        keyspace: &mut ks,
    };
    let port = b.node.state().myself().port.to_string();
    let reply = a.node.command(
        &[
            b"CLUSTER",
            b"MEET",
            b"127.0.0.1",
            port.as_bytes(),
            cport.to_string().as_bytes(),
        ],
        &mut ctx,
    );
    assert_eq!(reply, b"+OK\r\n");
    let settled = |h: &Harness| {
        h.node.state().known_nodes() == 2
            && h.node.state().nodes().all(|(_, n)| !n.in_handshake())
            && std::fs::read_to_string(&h.node.config().config_file)
                .is_ok_and(|conf| conf.lines().count() == 3)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last_tick = 0;
    while Instant::now() < deadline && !(settled(&a) && settled(&b)) {
        a.turns(1);
        b.turns(1);
        if now_ms() >= last_tick + 100 {
            last_tick = now_ms();
            a.node.tick(last_tick);
            b.node.tick(last_tick);
        }
    }
    assert!(settled(&a), "{}", a.node.state().cluster_nodes());
    assert!(settled(&b), "{}", b.node.state().cluster_nodes());
}

struct NoKeys;

impl Keyspace for NoKeys {
    fn db_keys(&mut self) -> u64 {
        0
    }
    fn count_keys_in_slot(&mut self, _: u16) -> u64 {
        0
    }
    fn keys_in_slot(&mut self, _: u16, _: usize) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

#[test]
fn one_node_per_nodes_conf() {
    let h = Harness::new("lock", |_| {});
    let poll = Poll::new().unwrap();
    let mut cfg = NodeConfig {
        bind: vec!["127.0.0.1".into()],
        config_file: h.node.config().config_file.clone(),
        ..NodeConfig::default()
    };
    cfg.bus_port = 0;
    let err = ClusterNode::start(cfg, poll.registry(), now_ms()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Sorry, the cluster configuration file"),
        "{err}"
    );
}

#[test]
fn script_and_blocked_client_checks() {
    let mut h = Harness::new("script", |cfg| cfg.cluster.require_full_coverage = false);
    let mut ks = NoKeys;
    let mut ctx = CommandCtx {
        proto: zedis_resp::Protocol::Resp2,
        now_ms: now_ms(),
        keyspace: &mut ks,
    };
    let reply = h
        .node
        .command(&[b"CLUSTER", b"ADDSLOTSRANGE", b"0", b"8000"], &mut ctx);
    assert_eq!(reply, b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !h.node.state().is_ok() && Instant::now() < deadline {
        h.turns(1);
        h.node.tick(now_ms());
    }
    assert!(
        h.node.state().is_ok(),
        "a master of some slots, full coverage not required"
    );
    let local: Vec<String> = (0..)
        .map(|i| format!("k{i}"))
        .filter(|k| crate::key_hash_slot(k.as_bytes()) <= 8000)
        .take(2)
        .collect();
    let (a, b) = (local[0].as_bytes(), local[1].as_bytes());
    assert_ne!(crate::key_hash_slot(a), crate::key_hash_slot(b));
    let read = CommandKind::default();
    let client = ClientFlags::default();
    let mut slot = None;
    assert_eq!(
        h.node
            .check_script_call(&[a], read, client, |_| false, &mut slot, false),
        Ok(())
    );
    assert_eq!(slot, Some(crate::key_hash_slot(a)));
    assert_eq!(
        h.node
            .check_script_call(&[b], read, client, |_| false, &mut slot, false),
        Err("Script attempted to access keys that do not hash to the same slot")
    );
    assert_eq!(
        h.node
            .check_script_call(&[b], read, client, |_| false, &mut slot, true),
        Ok(())
    );
    assert_eq!(
        h.node
            .check_script_call(&[b"foo"], read, client, |_| false, &mut slot, false),
        Err("Script attempted to access a non local key in a cluster node")
    );
    assert_eq!(
        h.node.check_route(&[b"foo"], read, client, |_| false),
        Err(b"-CLUSTERDOWN Hash slot not served\r\n".to_vec())
    );
    assert_eq!(h.node.check_route(&[a, a], read, client, |_| false), Ok(()));
    assert_eq!(
        h.node.redirect_blocked(b"foo", false, client),
        Some(b"-CLUSTERDOWN Hash slot not served\r\n".to_vec())
    );
    assert_eq!(h.node.redirect_blocked(a, false, client), None);
    // ASKING lasts one command, or the whole transaction when sent inside MULTI.
    let mut flags = ClientFlags::default();
    let mut out = Vec::new();
    flags.asking_command(&mut out);
    flags.after_command(true, false);
    assert!(flags.asking);
    flags.after_command(false, true);
    assert!(flags.asking, "kept inside MULTI");
    flags.after_command(false, false);
    assert!(!flags.asking);
    flags.readonly_command(&mut out);
    flags.readwrite_command(&mut out);
    assert!(!flags.readonly);
    assert_eq!(out, b"+OK\r\n+OK\r\n+OK\r\n");
}

#[test]
fn corrupted_nodes_conf_is_refused_with_its_line() {
    let dir = std::env::temp_dir().join(format!("zedis-cluster-rt-corrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nodes.conf");
    std::fs::write(
        &path,
        "vars currentEpoch 1 lastVoteEpoch 0\nnot a node line\n",
    )
    .unwrap();
    let poll = Poll::new().unwrap();
    let mut cfg = NodeConfig {
        bind: vec!["127.0.0.1".into()],
        config_file: path.clone(),
        ..NodeConfig::default()
    };
    cfg.bus_port = 0;
    let err = ClusterNode::start(cfg, poll.registry(), now_ms())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nodes.conf") && err.contains("line 2"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "vars currentEpoch 1 lastVoteEpoch 0\nnot a node line\n",
        "a refused file is left as it was"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_flood_of_packets_is_read_in_shares_and_all_handled() {
    let mut h = Harness::new("flood", |_| {});
    let port = h.bus_port();
    let header = Header::new(MsgType::Ping, [b'b'; 40]);
    let ping = Message {
        header,
        body: Body::Ping {
            gossip: Vec::new(),
            exts: Vec::new(),
        },
    }
    .to_bytes();
    let count = 600; // about 1.35 MB: more than one event's share
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let writer = std::thread::spawn(move || {
        let all: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * count)
            .collect();
        stream.write_all(&all).unwrap();
        stream // kept open (and never read) until joined
    });
    let want = format!("cluster_stats_messages_ping_received:{count}\r\n");
    h.until("every PING handled", |h| {
        h.node.state().cluster_info().contains(&want)
    });
    let _stream = writer.join().unwrap();
    assert!(
        h.node.bytes() < 16 << 20,
        "buffers stay bounded: {}",
        h.node.bytes()
    );
}

mod random_commands {
    use proptest::prelude::*;

    use super::*;

    fn arg() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (-2i64..17000).prop_map(|n| n.to_string().into_bytes()),
            prop::sample::select(vec![
                "force",
                "takeover",
                "hard",
                "soft",
                "migrating",
                "importing",
                "stable",
                "node",
                "127.0.0.1",
                "::1",
                "",
                "x",
                "ffffffffffffffffffffffffffffffffffffffff",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..50),
        ]
    }

    fn command() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let sub = prop_oneof![
            prop::sample::select(super::super::SUBCOMMANDS.to_vec())
                .prop_map(|(name, _)| name.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..12),
        ];
        (sub, prop::collection::vec(arg(), 0..6)).prop_map(|(sub, mut rest)| {
            let mut argv = vec![b"CLUSTER".to_vec(), sub];
            argv.append(&mut rest);
            argv
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Whatever the arguments, CLUSTER answers one well-formed reply and never panics.
        #[test]
        fn any_cluster_command_gets_one_reply(cmds in prop::collection::vec(command(), 1..8)) {
            let mut h = Harness::new("random", |_| {});
            let mut ks = NoKeys;
            for argv in &cmds {
                let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
                let mut ctx = CommandCtx {
                    proto: zedis_resp::Protocol::Resp3,
                    now_ms: now_ms(),
                    keyspace: &mut ks,
                };
                let out = h.node.command(&args, &mut ctx);
                let (_, used) = zedis_resp::parse_frame(&out)
                    .expect("well-formed")
                    .expect("complete");
                prop_assert_eq!(used, out.len());
                h.node.tick(now_ms());
                h.turns(1);
            }
            h.node.take_events();
        }
    }
}
