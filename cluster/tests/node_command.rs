//! `ClusterNode::command` against redis-server 7.0.15 in cluster mode: the same CLUSTER commands on a
//! fresh Zedis node and a fresh redis-server give the same replies (errors byte for byte, RESP2 and RESP3),
//! with each node's own id and ports put back as placeholders.

mod common;

use std::time::Duration;

use common::zedis_node::ZedisNode;
use common::{Client, RedisNode};
use zedis_resp::{parse_frame, Frame, Protocol};

const OTHER: &str = "ffffffffffffffffffffffffffffffffffffffff";

/// Sends `args` to redis-server and returns the parsed reply.
fn redis_call(c: &mut Client, args: &[&[u8]]) -> Frame {
    c.call(args)
}

fn ours(z: &mut ZedisNode, args: &[&[u8]], proto: Protocol) -> Frame {
    let out = z.raw(args, proto);
    let (frame, used) = parse_frame(&out)
        .unwrap_or_else(|e| panic!("our reply to {args:?} does not parse: {e:?}"))
        .expect("complete reply");
    assert_eq!(used, out.len(), "exactly one reply to {args:?}");
    frame
}

/// Replaces a node's id and ports by placeholders everywhere in a reply.
fn normalise(frame: Frame, id: &str, port: u16) -> String {
    String::from_utf8_lossy(&frame.to_bytes())
        .replace(id, "<ID>")
        .replace(&(port + 10000).to_string(), "<CPORT>")
        .replace(&port.to_string(), "<PORT>")
}

struct Pair {
    z: ZedisNode,
    c: Client,
    rid: String,
    rport: u16,
    zid: String,
}

impl Pair {
    /// Runs `line` (split on spaces, `{id}` = each node's own id) on both and compares.
    fn same(&mut self, line: &str, proto: Protocol) {
        let theirs_line = line.replace("{id}", &self.rid);
        let our_line = line.replace("{id}", &self.zid);
        let targs: Vec<&[u8]> = theirs_line.split(' ').map(str::as_bytes).collect();
        let oargs: Vec<&[u8]> = our_line.split(' ').map(str::as_bytes).collect();
        let theirs = normalise(redis_call(&mut self.c, &targs), &self.rid, self.rport);
        let ours = normalise(ours(&mut self.z, &oargs, proto), &self.zid, self.z.port);
        assert_eq!(ours, theirs, "reply to `{line}` ({proto:?})");
    }
}

#[test]
fn cluster_replies_match_redis() {
    let Some(redis) = RedisNode::start(&[]) else {
        eprintln!("redis-server unavailable: skipped");
        return;
    };
    let mut c = redis.client();
    let rid = c.text("CLUSTER MYID");
    let z = ZedisNode::start(5000);
    let zid = z.id();
    let mut p = Pair {
        z,
        c,
        rid,
        rport: redis.port,
        zid,
    };
    let r2 = Protocol::Resp2;
    let fresh = [
        "CLUSTER",
        "CLUSTER FOO",
        "cluster help",
        "CLUSTER HELP x",
        "CLUSTER KEYSLOT foo",
        "CLUSTER KEYSLOT {user1000}.following",
        "CLUSTER KEYSLOT",
        "CLUSTER MYID x",
        "CLUSTER ADDSLOTS",
        "CLUSTER ADDSLOTS abc",
        "CLUSTER ADDSLOTS 16384",
        "CLUSTER ADDSLOTS -1",
        "CLUSTER ADDSLOTS 01",
        "CLUSTER ADDSLOTS 1 1",
        "CLUSTER ADDSLOTS 1 x",
        "CLUSTER DELSLOTS 5",
        "CLUSTER ADDSLOTSRANGE 1",
        "CLUSTER ADDSLOTSRANGE 1 2 3",
        "CLUSTER ADDSLOTSRANGE 5 1",
        "CLUSTER ADDSLOTSRANGE 1 3 2 4",
        "CLUSTER ADDSLOTSRANGE 1 3 x 4",
        "CLUSTER DELSLOTSRANGE 1 2",
        "CLUSTER SETSLOT 1",
        "CLUSTER SETSLOT x STABLE",
        "CLUSTER SETSLOT 1 FOO",
        "CLUSTER SETSLOT 1 STABLE x",
        "CLUSTER SETSLOT 1 MIGRATING ffffffffffffffffffffffffffffffffffffffff",
        "CLUSTER SETSLOT 1 IMPORTING ffffffffffffffffffffffffffffffffffffffff",
        "CLUSTER SETSLOT 1 IMPORTING {id}",
        "CLUSTER SETSLOT 1 NODE ffffffffffffffffffffffffffffffffffffffff",
        "CLUSTER SETSLOT 1 STABLE",
        "CLUSTER MEET 127.0.0.1",
        "CLUSTER MEET 127.0.0.1 abc",
        "CLUSTER MEET 127.0.0.1 1 abc",
        "CLUSTER MEET 1.2.3 5",
        "CLUSTER MEET 127.0.0.1 70000",
        "CLUSTER MEET 127.0.0.1 0",
        "CLUSTER MEET 127.0.0.1 1 2 3",
        "CLUSTER FAILOVER",
        "CLUSTER FAILOVER x",
        "CLUSTER FAILOVER FORCE",
        "CLUSTER FAILOVER takeover",
        "CLUSTER FAILOVER a b",
        "CLUSTER RESET x",
        "CLUSTER RESET a b",
        "CLUSTER SET-CONFIG-EPOCH abc",
        "CLUSTER SET-CONFIG-EPOCH -1",
        "CLUSTER COUNTKEYSINSLOT abc",
        "CLUSTER COUNTKEYSINSLOT 16384",
        "CLUSTER COUNTKEYSINSLOT 0",
        "CLUSTER GETKEYSINSLOT 0 abc",
        "CLUSTER GETKEYSINSLOT abc 1",
        "CLUSTER GETKEYSINSLOT 0 -1",
        "CLUSTER GETKEYSINSLOT 16384 1",
        "CLUSTER GETKEYSINSLOT 0 10",
        "CLUSTER FORGET ffffffffffffffffffffffffffffffffffffffff",
        "CLUSTER FORGET short",
        "CLUSTER FORGET {id}",
        "CLUSTER REPLICATE ffffffffffffffffffffffffffffffffffffffff",
        "CLUSTER REPLICATE {id}",
        "CLUSTER REPLICAS ffffffffffffffffffffffffffffffffffffffff",
        "CLUSTER REPLICAS {id}",
        "CLUSTER SLAVES {id}",
        "CLUSTER COUNT-FAILURE-REPORTS {id}",
        "CLUSTER COUNT-FAILURE-REPORTS ffffffffffffffffffffffffffffffffffffffff",
        "CLUSTER SLOTS",
        "CLUSTER SHARDS",
        "CLUSTER LINKS",
        "CLUSTER BUMPEPOCH",
        "CLUSTER BUMPEPOCH",
        "CLUSTER SET-CONFIG-EPOCH 5",
        "CLUSTER ADDSLOTS 7 9 8",
        "CLUSTER NODES",
        "CLUSTER DELSLOTSRANGE 7 8",
        "CLUSTER FLUSHSLOTS",
        "CLUSTER SAVECONFIG",
        "CLUSTER ADDSLOTSRANGE 0 100 101 16383",
        "CLUSTER SLOTS",
        "CLUSTER SHARDS",
        "CLUSTER NODES",
        "CLUSTER SETSLOT 5 MIGRATING {id}",
        "CLUSTER SETSLOT 5 IMPORTING {id}",
        "CLUSTER NODES",
        "CLUSTER SETSLOT 5 STABLE",
    ];
    assert_eq!(OTHER.len(), 40);
    for line in fresh {
        p.same(line, r2);
    }
    // The same topology in RESP3 (maps in SLOTS metadata and SHARDS, verbatim NODES / INFO).
    assert!(matches!(p.c.line("HELLO 3"), Frame::Map(_)));
    for line in [
        "CLUSTER SLOTS",
        "CLUSTER SHARDS",
        "CLUSTER NODES",
        "CLUSTER MYID",
        "CLUSTER LINKS",
    ] {
        p.same(line, Protocol::Resp3);
    }
    assert!(matches!(
        p.c.line("HELLO 2"),
        Frame::Map(_) | Frame::Array(_)
    ));
    // Once both say ok (Redis waits a little after start), CLUSTER INFO is the same text.
    let mut c2 = redis.client();
    let ok = p.z.run_until(Duration::from_secs(30), |z| {
        z.node.state().is_ok() && c2.text("CLUSTER INFO").contains("cluster_state:ok")
    });
    assert!(ok, "both nodes reach cluster_state:ok");
    p.same("CLUSTER INFO", r2);
    // With a key in slot 12182 ("foo").
    assert_eq!(p.c.line("SET foo bar"), Frame::Simple(b"OK".to_vec()));
    p.z.keyspace.keys.insert(b"foo".to_vec());
    for line in [
        "CLUSTER COUNTKEYSINSLOT 12182",
        "CLUSTER GETKEYSINSLOT 12182 10",
        "CLUSTER GETKEYSINSLOT 12182 0",
        "CLUSTER FLUSHSLOTS",
        "CLUSTER RESET",
        "CLUSTER RESET HARD",
        "CLUSTER REPLICATE ffffffffffffffffffffffffffffffffffffffff",
        "CLUSTER SETSLOT 12182 NODE {id}",
    ] {
        p.same(line, r2);
    }
    // Each change above reached nodes.conf.
    let conf = p.z.nodes_conf();
    assert!(
        conf.contains(&format!("{} ", p.zid)) && conf.contains(" 0-16383\n"),
        "{conf}"
    );
}
