//! A real `redis-server --cluster-enabled yes` for interop tests, started with `zedis-testkit` (free port P
//! with P+10000 free for its bus, its files in a private temp dir, killed by PID on drop); the raw RESP client
//! is testkit's.
#![allow(dead_code)]

pub mod bus_node;
pub mod zedis_node;

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
