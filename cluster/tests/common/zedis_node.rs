//! A Zedis cluster node as the server will run it: the real `ClusterNode` (bus listener, links, nodes.conf,
//! CLUSTER command) inside a small mio loop, with a toy keyspace standing in for the server's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};
use zedis_cluster::{ClusterNode, CommandCtx, Event, Keyspace, NodeConfig};
use zedis_resp::{parse_frame, Frame, Protocol};

use super::bus_node::now_ms;

/// The keys of db 0, for COUNTKEYSINSLOT / GETKEYSINSLOT / emptiness checks.
#[derive(Default)]
pub struct TestKeyspace {
    /// Keys.
    pub keys: BTreeSet<Vec<u8>>,
}

impl Keyspace for TestKeyspace {
    fn db_keys(&mut self) -> u64 {
        self.keys.len() as u64
    }
    fn count_keys_in_slot(&mut self, slot: u16) -> u64 {
        self.keys
            .iter()
            .filter(|k| zedis_cluster::key_hash_slot(k) == slot)
            .count() as u64
    }
    fn keys_in_slot(&mut self, slot: u16, count: usize) -> Vec<Vec<u8>> {
        self.keys
            .iter()
            .filter(|k| zedis_cluster::key_hash_slot(k) == slot)
            .take(count)
            .cloned()
            .collect()
    }
}

/// Tokens the "server" of this harness keeps for itself below the bus's range (as a real server would
/// for its listener and clients).
const BUS_TOKEN_BASE: usize = 1000;

/// One Zedis node: a mio poll, the `ClusterNode`, a keyspace.
pub struct ZedisNode {
    poll: Poll,
    events: Events,
    /// The cluster node.
    pub node: ClusterNode,
    /// Keys of the stand-in keyspace.
    pub keyspace: TestKeyspace,
    /// Every event the node reported, in order.
    pub seen: Vec<Event>,
    /// Client port announced (nobody connects to it here).
    pub port: u16,
    /// Directory of nodes.conf.
    pub dir: PathBuf,
    last_tick_ms: u64,
    owns_dir: bool,
}

impl ZedisNode {
    /// A node on a free port pair, with its nodes.conf in a fresh temp dir.
    pub fn start(node_timeout_ms: u64) -> ZedisNode {
        let port = super::free_pair().expect("a free port pair");
        let dir =
            std::env::temp_dir().join(format!("zedis-cluster-node-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut node = Self::start_in(&dir, port, node_timeout_ms).expect("node starts");
        node.owns_dir = true;
        node
    }

    /// A node on `port` (bus on port + 10000) using `dir/nodes.conf` (loaded when present).
    pub fn start_in(dir: &Path, port: u16, node_timeout_ms: u64) -> Result<ZedisNode, String> {
        let poll = Poll::new().map_err(|e| e.to_string())?;
        let mut cfg = NodeConfig {
            bind: vec!["127.0.0.1".to_string()],
            config_file: dir.join("nodes.conf"),
            token_base: BUS_TOKEN_BASE,
            tokens_max: 64,
            ..NodeConfig::default()
        };
        cfg.cluster.node_timeout_ms = node_timeout_ms;
        cfg.cluster.port = port;
        cfg.cluster.cport = port + 10000;
        cfg.bus_port = port + 10000;
        cfg.cluster.seed = now_ms() ^ (u64::from(port) << 40) ^ u64::from(std::process::id());
        let node = ClusterNode::start(cfg, poll.registry(), now_ms()).map_err(|e| e.to_string())?;
        let mut z = ZedisNode {
            poll,
            events: Events::with_capacity(256),
            node,
            keyspace: TestKeyspace::default(),
            seen: Vec::new(),
            port,
            dir: dir.to_path_buf(),
            last_tick_ms: 0,
            owns_dir: false,
        };
        z.drain();
        Ok(z)
    }

    fn drain(&mut self) {
        self.seen.extend(self.node.take_events());
    }

    /// One loop turn: poll (up to 10 ms), hand bus events to the node, tick every 100 ms.
    pub fn turn(&mut self) {
        let _ = self
            .poll
            .poll(&mut self.events, Some(Duration::from_millis(10)));
        let ready: Vec<(Token, bool, bool)> = self
            .events
            .iter()
            .map(|e| {
                (
                    e.token(),
                    e.is_readable() || e.is_read_closed() || e.is_error(),
                    e.is_writable() || e.is_write_closed(),
                )
            })
            .collect();
        for (token, readable, writable) in ready {
            assert!(
                self.node.owns_token(token),
                "only bus tokens are registered"
            );
            self.node.ready(token, readable, writable, now_ms());
        }
        let now = now_ms();
        if now >= self.last_tick_ms + 100 {
            self.last_tick_ms = now;
            self.node.tick(now);
        }
        self.drain();
    }

    /// Runs turns until `done` (checked every ~200 ms) holds or `timeout` passes.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&mut ZedisNode) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut last = Instant::now() - Duration::from_secs(1);
        while Instant::now() < deadline {
            self.turn();
            if last.elapsed() >= Duration::from_millis(200) {
                last = Instant::now();
                if done(self) {
                    return true;
                }
            }
        }
        false
    }

    /// Runs CLUSTER (or any command the node answers) and returns the raw reply.
    pub fn raw(&mut self, args: &[&[u8]], proto: Protocol) -> Vec<u8> {
        let mut ctx = CommandCtx {
            proto,
            now_ms: now_ms(),
            keyspace: &mut self.keyspace,
        };
        let out = self.node.command(args, &mut ctx);
        self.drain();
        out
    }

    /// A command line split on spaces, RESP2, parsed.
    pub fn line(&mut self, line: &str) -> Frame {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let out = self.raw(&args, Protocol::Resp2);
        let (frame, used) = parse_frame(&out).expect("valid").expect("complete");
        assert_eq!(used, out.len(), "one reply");
        frame
    }

    /// A bulk / simple / verbatim reply as text.
    pub fn text(&mut self, line: &str) -> String {
        match self.line(line) {
            Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(&b).into_owned(),
            Frame::Verbatim { text, .. } => String::from_utf8_lossy(&text).into_owned(),
            other => panic!("unexpected reply to {line}: {other:?}"),
        }
    }

    /// Our node id.
    pub fn id(&self) -> String {
        self.node.state().myself().name_str().to_string()
    }

    /// nodes.conf as on disk.
    pub fn nodes_conf(&self) -> String {
        std::fs::read_to_string(self.dir.join("nodes.conf")).unwrap_or_default()
    }

    /// Closes the node's sockets, keeping its directory (a restart follows).
    pub fn stop(mut self) -> (PathBuf, u16) {
        self.node.shutdown();
        self.owns_dir = false;
        (self.dir.clone(), self.port)
    }
}

impl Drop for ZedisNode {
    fn drop(&mut self) {
        self.node.shutdown();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// How long a cluster may take to converge on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(90);

/// Runs `z` until `check` holds; panics with `what`, our view and our events after [`WAIT`].
pub fn wait(z: &mut ZedisNode, what: &str, check: impl FnMut(&mut ZedisNode) -> bool) {
    let ok = z.run_until(WAIT, check);
    assert!(
        ok,
        "timed out waiting for: {what}\nour view:\n{}\nour events: {:?}",
        z.node.state().cluster_nodes(),
        z.seen
    );
}
