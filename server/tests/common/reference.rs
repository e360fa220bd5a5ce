//! A real `redis-server` (the reference) for side-by-side tests: testkit's [`RedisServer`] (127.0.0.1, a free
//! port, `--save '' --appendonly no`, its files and log in a temporary directory of its own, killed by PID on
//! drop) under the name these tests use.

use zedis_testkit::RedisServer;

/// A spawned `redis-server`, killed by PID on drop.
pub struct RedisProcess {
    /// Its port.
    pub port: u16,
    /// The process and its directory.
    server: RedisServer,
}

impl RedisProcess {
    /// Starts `redis-server --save '' --appendonly no` plus `args` (a `--dir` among them moves its files
    /// there); `None`, with a note, when it is missing or does not start.
    pub fn start(args: &[&str]) -> Option<RedisProcess> {
        let server = RedisServer::start(args)?;
        Some(RedisProcess {
            port: server.port,
            server,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }
}
