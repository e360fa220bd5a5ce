//! A real `redis-server --cluster-enabled yes` for interop tests, started with `zedis-testkit` (free port P
//! with P+10000 free for its bus, its files in a private temp dir, killed by PID on drop); the raw RESP client
//! is testkit's.
#![allow(dead_code)]

pub mod bus_node;
pub mod zedis_node;

use zedis_resp::Frame;
use zedis_testkit::RedisServer;
pub use zedis_testkit::{free_port_pair as free_pair, RespClient as Client};

/// A spawned cluster-mode `redis-server`.
pub struct RedisNode {
    server: RedisServer,
    /// Client port; the bus listens on `port + 10000`.
    pub port: u16,
}

impl RedisNode {
    /// Starts a cluster-enabled node (`None` when redis-server is missing or does not come up).
    pub fn start(extra: &[&str]) -> Option<RedisNode> {
        Self::start_with_conf(extra, None)
    }

    /// As `start`, with `conf` written as its nodes.conf before it starts.
    pub fn start_with_conf(extra: &[&str], conf: Option<&str>) -> Option<RedisNode> {
        let mut builder = RedisServer::builder().bus_port().args(&[
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "{dir}/nodes.conf",
        ]);
        if let Some(conf) = conf {
            builder = builder.file("nodes.conf", conf);
        }
        let server = builder
            .args(extra)
            .start()
            .map_err(|e| eprintln!("note: cluster-mode redis-server unavailable: {e}"))
            .ok()?;
        Some(RedisNode {
            port: server.port,
            server,
        })
    }

    /// A client connection to its client port.
    pub fn client(&self) -> Client {
        self.server.client()
    }

    /// Its nodes.conf as written now.
    pub fn nodes_conf(&self) -> String {
        self.server.read_file("nodes.conf")
    }

    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

/// The line of node `id` in a CLUSTER NODES text.
pub fn line_of(nodes: &str, id: &str) -> Option<String> {
    nodes
        .lines()
        .find(|l| l.starts_with(id))
        .map(str::to_string)
}

/// `redis-cli --cluster`'s join signature: sorted `id:slots` of every node with slots.
pub fn signature(nodes: &str) -> String {
    let mut v: Vec<String> = nodes
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let slots: Vec<&str> = f
                .get(8..)?
                .iter()
                .copied()
                .filter(|s| !s.starts_with('['))
                .collect();
            (!slots.is_empty()).then(|| format!("{}:{}", f[0], slots.join(",")))
        })
        .collect();
    v.sort();
    v.join("|")
}

/// Gives the first `ranges.len()` nodes behind `clients` one range of slots each and config epochs 1, 2, ...,
/// has every other node meet the first (on `first_port`), and returns every node's id.
pub fn assign_and_meet(
    clients: &mut [Client],
    ranges: &[(u16, u16)],
    first_port: u16,
) -> Vec<String> {
    let ok = Frame::Simple(b"OK".to_vec());
    let mut ids = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        if let Some((start, end)) = ranges.get(i) {
            assert_eq!(c.line(&format!("CLUSTER ADDSLOTSRANGE {start} {end}")), ok);
            assert_eq!(c.line(&format!("CLUSTER SET-CONFIG-EPOCH {}", i + 1)), ok);
        }
        ids.push(c.text("CLUSTER MYID"));
    }
    for c in clients.iter_mut().skip(1) {
        assert_eq!(c.line(&format!("CLUSTER MEET 127.0.0.1 {first_port}")), ok);
    }
    ids
}

/// Thirds of the slot space, as `redis-cli --cluster create` assigns them to three masters.
pub const THIRDS: [(u16, u16); 3] = [(0, 5460), (5461, 10922), (10923, 16383)];
