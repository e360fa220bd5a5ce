//! Redis's *soft* `maxmemory`, side by side with a real redis-server: a write admitted at or under the limit
//! may allocate past it (SETBIT far past a string's end), reads go on, the next write evicts first or is
//! refused with `-OOM`, and the invalidations of keys evicted before a command reach a tracking client
//! before that command's reply (Redis's `unit/tracking` "invalidation message of eviction keys should be
//! before response").

mod common;

use common::reference::RedisProcess;
use common::tools::skip;
use common::Server;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A RESP2/RESP3 connection that renders each reply as text (`[a, b]` for aggregates, `>[...]` for pushes).
struct Resp {
    reader: BufReader<TcpStream>,
}

impl Resp {
    fn connect(port: u16) -> Resp {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Resp {
            reader: BufReader::new(stream),
        }
    }

    /// Sends `args` as a command; does not read.
    fn send(&mut self, args: &[&str]) {
        let mut out = format!("*{}\r\n", args.len());
        for arg in args {
            out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.reader.get_mut().write_all(out.as_bytes()).unwrap();
    }

    /// Sends `args` and reads one reply.
    fn call(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.read()
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        assert!(line.ends_with("\r\n"), "truncated reply line {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    /// Reads one reply.
    fn read(&mut self) -> String {
        let line = self.line();
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" | "-" | ":" | "_" | "," | "#" => line,
            "$" | "=" | "!" => {
                let len: i64 = rest.parse().unwrap();
                if len < 0 {
                    return "(nil)".into();
                }
                let mut body = vec![0u8; len as usize + 2];
                std::io::Read::read_exact(&mut self.reader, &mut body).unwrap();
                body.truncate(len as usize);
                String::from_utf8_lossy(&body).into_owned()
            }
            "*" | ">" | "%" | "~" => {
                let len: i64 = rest.parse().unwrap();
                let items = if kind == "%" { len * 2 } else { len };
                let parts: Vec<String> = (0..items.max(0)).map(|_| self.read()).collect();
                let prefix = if kind == ">" { ">" } else { "" };
                format!("{prefix}[{}]", parts.join(", "))
            }
            _ => panic!("unexpected reply {line:?}"),
        }
    }

    /// INFO memory's `used_memory` less `mem_not_counted_for_evict` (what eviction compares to the limit).
    fn used_for_eviction(&mut self) -> u64 {
        let info = self.call(&["INFO", "memory"]);
        let field = |name: &str| -> u64 {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .unwrap_or_else(|| panic!("no {name} in INFO memory"))
                .trim()
                .parse()
                .unwrap()
        };
        field("used_memory") - field("mem_not_counted_for_evict")
    }
}

/// Under `noeviction` with 100 KB left: a 200 KB SETBIT is admitted and takes usage past the limit, the next
/// write is refused, reads are served, and a DEL that brings usage back lets writes in again.
fn admitted_write_overshoots(port: u16) -> Vec<String> {
    let mut c = Resp::connect(port);
    let mut seen = vec![c.call(&["CONFIG", "SET", "maxmemory-policy", "noeviction"])];
    let limit = c.used_for_eviction() + 100 * 1024;
    seen.push(c.call(&["CONFIG", "SET", "maxmemory", &limit.to_string()]));
    seen.push(c.call(&["SETBIT", "big", "1600000", "1"]));
    let used = c.used_for_eviction();
    seen.push(format!("over the limit: {}", used > limit));
    seen.push(c.call(&["SET", "x", "y"]));
    seen.push(c.call(&["GETBIT", "big", "1600000"]));
    seen.push(c.call(&["DEL", "big"]));
    seen.push(c.call(&["SET", "x", "y"]));
    seen.push(c.call(&["CONFIG", "SET", "maxmemory", "0"]));
    seen
}

#[test]
fn a_write_admitted_under_the_limit_may_go_past_it_as_in_redis() {
    let server = Server::start(&[]);
    let zedis = admitted_write_overshoots(server.port);
    assert_eq!(
        zedis,
        [
            "+OK",
            "+OK",
            ":0",
            "over the limit: true",
            "-OOM command not allowed when used memory > 'maxmemory'.",
            ":1",
            ":1",
            "+OK",
            "+OK",
        ]
    );
    let Some(reference) = RedisProcess::start(&[]) else {
        return skip("redis-server");
    };
    assert_eq!(zedis, admitted_write_overshoots(reference.port));
}

/// The `unit/tracking` scenario: a tracked volatile key is evicted (volatile-random) once a SETBIT took usage
/// past the limit; the tracking client gets its invalidation before the next command's reply, and with
/// nothing volatile left the next write is refused.
fn eviction_invalidation_order(port: u16) -> Vec<String> {
    let mut c = Resp::connect(port);
    c.call(&["HELLO", "3"]);
    let mut seen = vec![c.call(&["CLIENT", "TRACKING", "on"])];
    let limit = c.used_for_eviction() + 100 * 1024;
    seen.push(c.call(&["CONFIG", "SET", "maxmemory", &limit.to_string()]));
    seen.push(c.call(&["CONFIG", "SET", "maxmemory-policy", "volatile-random"]));
    seen.push(c.call(&["SETEX", "volatile-key", "10000", "x"]));
    seen.push(c.call(&["GET", "volatile-key"]));
    seen.push(c.call(&["SETBIT", "big-key", "1600000", "0"]));
    c.send(&["GETBIT", "big-key", "0"]);
    seen.push(c.read());
    seen.push(c.read());
    seen.push(c.call(&["SET", "other", "x"]));
    seen.push(c.call(&["CONFIG", "SET", "maxmemory", "0"]));
    seen
}

#[test]
fn keys_evicted_before_a_command_are_invalidated_before_its_reply_as_in_redis() {
    let server = Server::start(&[]);
    let zedis = eviction_invalidation_order(server.port);
    assert_eq!(
        zedis,
        [
            "+OK",
            "+OK",
            "+OK",
            "+OK",
            "x",
            ":0",
            ">[invalidate, [volatile-key]]",
            ":0",
            "-OOM command not allowed when used memory > 'maxmemory'.",
            "+OK",
        ]
    );
    let Some(reference) = RedisProcess::start(&[]) else {
        return skip("redis-server");
    };
    assert_eq!(zedis, eviction_invalidation_order(reference.port));
}

/// Where eviction can make room, the limit stays hard: a cache filled far past its `maxmemory` under
/// allkeys-lru never shows usage past the limit between writes (each write evicts for its size first).
#[test]
fn eviction_keeps_a_cache_under_its_limit() {
    let limit: u64 = 4 << 20;
    let server = Server::start(&[
        "--maxmemory",
        &limit.to_string(),
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let mut c = Resp::connect(server.port);
    let value = "v".repeat(2000);
    for i in 0..6_000 {
        assert_eq!(c.call(&["SET", &format!("k{i}"), &value]), "+OK");
        if i % 500 == 0 {
            let used = c.used_for_eviction();
            assert!(used <= limit, "after {i} writes: used {used} > {limit}");
        }
    }
    let used = c.used_for_eviction();
    assert!(used <= limit, "used {used} > {limit}");
}
