//! A real `redis-server` (the reference) for side-by-side tests, started on a free port and stopped by PID.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A spawned `redis-server`, killed by PID on drop.
pub struct RedisProcess {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl RedisProcess {
    /// Starts `redis-server --save '' --appendonly no` plus `args`; `None` when it is missing or fails.
    pub fn start(args: &[&str]) -> Option<RedisProcess> {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args(["--bind", "127.0.0.1"])
                // Never a file in a working directory a zedis-server test instance might read.
                .args(["--dir", &std::env::temp_dir().to_string_lossy()])
                .args(["--dbfilename", &format!("zedis-test-redis-{port}.rdb")])
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let mut process = RedisProcess { child, port };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(process);
                }
                if let Ok(Some(_)) = process.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        None
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
