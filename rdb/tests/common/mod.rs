//! A real `redis-server` on a free loopback port, a minimal RESP client, and canonical text forms of
//! a key's data (from Redis's replies and from the codec's values) so they can be compared.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use zedis_rdb::{RdbValue, StreamId};

pub mod fill;
pub mod legacy;

use zedis_testkit::RedisServer;
pub use zedis_testkit::{have, TempDir};

/// A running redis-server (testkit's [`RedisServer`]), stopped by its PID on drop.
pub struct Redis {
    /// The process.
    server: RedisServer,
    /// Its port.
    pub port: u16,
}

impl Redis {
    /// Starts redis-server with `dir` as its data directory, `dbfilename` and `extra` arguments, and waits
    /// until it answers PING (a server loading its RDB answers `-LOADING` until it is done).
    ///
    /// # Panics
    /// When it does not start or does not answer within a minute.
    pub fn start(dir: &Path, dbfilename: &str, extra: &[&str]) -> Redis {
        let server = RedisServer::builder()
            .dir(dir)
            .args(&["--dbfilename", dbfilename])
            .args(extra)
            .start()
            .unwrap_or_else(|e| panic!("redis-server did not start: {e}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !pings(server.port) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Redis {
            port: server.port,
            server,
        }
    }

    /// A new connection.
    pub fn client(&self) -> Client {
        Client::from(TcpStream::connect(("127.0.0.1", self.port)).expect("connect"))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }
}

/// Whether a server on `port` answers PING with PONG (any error, a reset included, is a no).
fn pings(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line == "+PONG\r\n"
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+...`
    Status(String),
    /// `-...`
    Error(String),
    /// `:...`
    Int(i64),
    /// `$...` (None = nil)
    Bulk(Option<Vec<u8>>),
    /// `*...` (None = nil)
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// Bulk bytes (panics otherwise: a test helper).
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Reply::Bulk(Some(b)) => b.clone(),
            Reply::Status(s) => s.as_bytes().to_vec(),
            Reply::Int(i) => i.to_string().into_bytes(),
            other => panic!("expected bulk, got {other:?}"),
        }
    }

    /// Array items.
    pub fn items(&self) -> Vec<Reply> {
        match self {
            Reply::Array(Some(v)) => v.clone(),
            other => panic!("expected array, got {other:?}"),
        }
    }

    /// Text of a bulk/status/int.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

/// A blocking RESP2 client.
pub struct Client {
    r: BufReader<TcpStream>,
}

impl From<TcpStream> for Client {
    fn from(s: TcpStream) -> Self {
        s.set_read_timeout(Some(Duration::from_secs(120))).ok();
        Client {
            r: BufReader::new(s),
        }
    }
}

impl Client {
    /// Sends a command of string arguments.
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes(&args)
    }

    /// Sends a command of binary arguments.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Reply {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.r.get_mut().write_all(&out).expect("write");
        self.read()
    }

    /// Sends a command and asserts the reply is not an error.
    pub fn ok(&mut self, args: &[&str]) -> Reply {
        let r = self.cmd(args);
        assert!(!matches!(r, Reply::Error(_)), "{args:?} -> {r:?}");
        r
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).expect("read");
        l.trim_end_matches("\r\n").to_string()
    }

    fn read(&mut self) -> Reply {
        let l = self.line();
        let (t, rest) = l.split_at(1);
        match t {
            "+" => Reply::Status(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Int(rest.parse().expect("int")),
            "$" => {
                let n: i64 = rest.parse().expect("len");
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut b = vec![0u8; n as usize + 2];
                self.r.read_exact(&mut b).expect("bulk");
                b.truncate(n as usize);
                Reply::Bulk(Some(b))
            }
            "*" => {
                let n: i64 = rest.parse().expect("len");
                if n < 0 {
                    return Reply::Array(None);
                }
                Reply::Array(Some((0..n).map(|_| self.read()).collect()))
            }
            other => panic!("bad reply type {other}"),
        }
    }
}

fn esc(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// A score's text. Zero's sign is not compared: Redis keeps -0 in a skiplist and in a RESTOREd
/// listpack, but turns it into 0 when a sorted set moves into a listpack (`zzlInsertAt`).
fn score(s: f64) -> String {
    if s == 0.0 {
        return "0.0".into();
    }
    format!("{s:?}")
}

fn id_text(id: StreamId) -> String {
    id.to_string()
}

/// Canonical text of a key's data as redis-server reports it.
pub fn describe_redis(c: &mut Client, key: &str) -> String {
    let ty = c.ok(&["TYPE", key]).text();
    match ty.as_str() {
        "string" => format!("string {}", esc(&c.ok(&["GET", key]).bytes())),
        "list" => {
            let items: Vec<String> = c
                .ok(&["LRANGE", key, "0", "-1"])
                .items()
                .iter()
                .map(|r| esc(&r.bytes()))
                .collect();
            format!("list {items:?}")
        }
        "set" => {
            let mut items: Vec<String> = c
                .ok(&["SMEMBERS", key])
                .items()
                .iter()
                .map(|r| esc(&r.bytes()))
                .collect();
            items.sort();
            format!("set {items:?}")
        }
        "hash" => {
            let flat = c.ok(&["HGETALL", key]).items();
            let mut pairs: Vec<(String, String)> = flat
                .chunks(2)
                .map(|p| (esc(&p[0].bytes()), esc(&p[1].bytes())))
                .collect();
            pairs.sort();
            format!("hash {pairs:?}")
        }
        "zset" => {
            let flat = c.ok(&["ZRANGE", key, "0", "-1", "WITHSCORES"]).items();
            let mut pairs: Vec<(String, String)> = flat
                .chunks(2)
                .map(|p| {
                    (
                        esc(&p[0].bytes()),
                        score(p[1].text().parse::<f64>().expect("score")),
                    )
                })
                .collect();
            pairs.sort();
            format!("zset {pairs:?}")
        }
        "stream" => describe_redis_stream(c, key),
        other => panic!("unexpected type {other}"),
    }
}

fn ok_bytes(c: &mut Client, args: &[&[u8]]) -> Reply {
    let r = c.cmd_bytes(args);
    assert!(!matches!(r, Reply::Error(_)), "{r:?}");
    r
}

fn map_of(flat: Vec<Reply>) -> std::collections::BTreeMap<String, Reply> {
    flat.chunks(2)
        .map(|p| (p[0].text(), p[1].clone()))
        .collect()
}

fn describe_redis_stream(c: &mut Client, key: &str) -> String {
    let mut out = String::from("stream");
    for e in c.ok(&["XRANGE", key, "-", "+"]).items() {
        let e = e.items();
        let fields: Vec<String> = e[1].items().iter().map(|f| esc(&f.bytes())).collect();
        out += &format!(" [{} {fields:?}]", e[0].text());
    }
    let info = map_of(c.ok(&["XINFO", "STREAM", key]).items());
    for k in [
        "length",
        "last-generated-id",
        "max-deleted-entry-id",
        "entries-added",
        "recorded-first-entry-id",
    ] {
        out += &format!(" {k}={}", info[k].text());
    }
    let mut groups: Vec<_> = c
        .ok(&["XINFO", "GROUPS", key])
        .items()
        .into_iter()
        .map(|g| map_of(g.items()))
        .collect();
    groups.sort_by_key(|g| g["name"].bytes());
    for g in groups {
        let name = g["name"].bytes();
        let shown = esc(&name);
        let read = match &g["entries-read"] {
            Reply::Bulk(None) => "nil".to_string(),
            r => r.text(),
        };
        out += &format!(
            " group {shown} last={} read={read}",
            g["last-delivered-id"].text()
        );
        for p in ok_bytes(
            c,
            &[b"XPENDING", key.as_bytes(), &name, b"-", b"+", b"100000"],
        )
        .items()
        {
            let p = p.items();
            out += &format!(
                " pel {} {} {}",
                p[0].text(),
                esc(&p[1].bytes()),
                p[3].text()
            );
        }
        let mut cons: Vec<_> = c
            .cmd_bytes(&[b"XINFO", b"CONSUMERS", key.as_bytes(), &name])
            .items()
            .into_iter()
            .map(|x| map_of(x.items()))
            .collect();
        cons.sort_by_key(|x| x["name"].bytes());
        for x in cons {
            out += &format!(
                " consumer {} {}",
                esc(&x["name"].bytes()),
                x["pending"].text()
            );
        }
    }
    out
}

/// Canonical text of a decoded value, in the same form as [`describe_redis`].
pub fn describe_value(v: &RdbValue) -> String {
    match v {
        RdbValue::String(s) => format!("string {}", esc(s)),
        RdbValue::List(items) => {
            let items: Vec<String> = items.iter().map(|i| esc(i)).collect();
            format!("list {items:?}")
        }
        RdbValue::Set(m) => {
            let mut items: Vec<String> = m.iter().map(|i| esc(i)).collect();
            items.sort();
            format!("set {items:?}")
        }
        RdbValue::Hash(p) => {
            let mut pairs: Vec<(String, String)> =
                p.iter().map(|(f, v)| (esc(f), esc(v))).collect();
            pairs.sort();
            format!("hash {pairs:?}")
        }
        RdbValue::ZSet(p) => {
            let mut pairs: Vec<(String, String)> =
                p.iter().map(|(m, s)| (esc(m), score(*s))).collect();
            pairs.sort();
            format!("zset {pairs:?}")
        }
        RdbValue::Stream(s) => {
            let mut out = String::from("stream");
            for e in &s.entries {
                let fields: Vec<String> = e
                    .fields
                    .iter()
                    .flat_map(|(f, v)| [esc(f), esc(v)])
                    .collect();
                out += &format!(" [{} {fields:?}]", e.id);
            }
            out += &format!(
                " length={} last-generated-id={} max-deleted-entry-id={} entries-added={} recorded-first-entry-id={}",
                s.entries.len(),
                id_text(s.last_id),
                id_text(s.max_deleted_id),
                s.entries_added as i64, // XINFO replies it signed
                id_text(s.first_id)
            );
            let mut groups: Vec<_> = s.groups.iter().collect();
            groups.sort_by_key(|g| g.name.clone());
            for g in groups {
                let read = if g.entries_read == -1 {
                    "nil".to_string()
                } else {
                    g.entries_read.to_string()
                };
                out += &format!(" group {} last={} read={read}", esc(&g.name), g.last_id);
                let mut pel = g.pending.clone();
                pel.sort_by_key(|p| p.id);
                for p in pel {
                    let owner = g
                        .consumers
                        .iter()
                        .find(|c| c.pending.contains(&p.id))
                        .map(|c| esc(&c.name))
                        .unwrap_or_default();
                    // Redis replies with the count as a signed integer.
                    out += &format!(" pel {} {owner} {}", p.id, p.delivery_count as i64);
                }
                let mut cons: Vec<_> = g.consumers.iter().collect();
                cons.sort_by_key(|c| c.name.clone());
                for c in cons {
                    out += &format!(" consumer {} {}", esc(&c.name), c.pending.len());
                }
            }
            out
        }
    }
}

fn parse_id(r: &Reply) -> StreamId {
    let t = r.text();
    let (ms, seq) = t.split_once('-').expect("stream ID");
    StreamId {
        ms: ms.parse().expect("ms"),
        seq: seq.parse().expect("seq"),
    }
}

fn pairs(flat: &[Reply]) -> Vec<(Vec<u8>, Vec<u8>)> {
    flat.chunks(2)
        .map(|p| (p[0].bytes(), p[1].bytes()))
        .collect()
}

/// The value of `key` rebuilt only from redis-server's replies, in its reply order (for listpack
/// encodings that is the stored order).
pub fn value_from_redis(c: &mut Client, key: &str) -> RdbValue {
    use zedis_rdb::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry};
    let ty = c.ok(&["TYPE", key]).text();
    match ty.as_str() {
        "string" => RdbValue::String(c.ok(&["GET", key]).bytes()),
        "list" => RdbValue::List(
            c.ok(&["LRANGE", key, "0", "-1"])
                .items()
                .iter()
                .map(Reply::bytes)
                .collect(),
        ),
        "set" => RdbValue::Set(
            c.ok(&["SMEMBERS", key])
                .items()
                .iter()
                .map(Reply::bytes)
                .collect(),
        ),
        "hash" => RdbValue::Hash(pairs(&c.ok(&["HGETALL", key]).items())),
        "zset" => {
            let flat = c.ok(&["ZRANGE", key, "0", "-1", "WITHSCORES"]).items();
            RdbValue::ZSet(
                flat.chunks(2)
                    .map(|p| (p[0].bytes(), p[1].text().parse::<f64>().expect("score")))
                    .collect(),
            )
        }
        "stream" => {
            let info = map_of(
                c.ok(&["XINFO", "STREAM", key, "FULL", "COUNT", "0"])
                    .items(),
            );
            let entries = info["entries"]
                .items()
                .iter()
                .map(|e| {
                    let e = e.items();
                    StreamEntry {
                        id: parse_id(&e[0]),
                        fields: pairs(&e[1].items()),
                    }
                })
                .collect();
            let groups = info["groups"]
                .items()
                .iter()
                .map(|g| {
                    let g = map_of(g.items());
                    let pending = g["pending"]
                        .items()
                        .iter()
                        .map(|p| {
                            let p = p.items();
                            let n = |r: &Reply| match r {
                                Reply::Int(v) => *v,
                                other => panic!("{other:?}"),
                            };
                            PendingEntry {
                                id: parse_id(&p[0]),
                                delivery_time_ms: n(&p[2]),
                                delivery_count: n(&p[3]) as u64,
                            }
                        })
                        .collect();
                    let consumers = g["consumers"]
                        .items()
                        .iter()
                        .map(|x| {
                            let x = map_of(x.items());
                            let seen = match x["seen-time"] {
                                Reply::Int(v) => v,
                                ref other => panic!("{other:?}"),
                            };
                            let pending = x["pending"]
                                .items()
                                .iter()
                                .map(|p| parse_id(&p.items()[0]))
                                .collect();
                            Consumer {
                                name: x["name"].bytes(),
                                seen_time_ms: seen,
                                active_time_ms: None,
                                pending,
                            }
                        })
                        .collect();
                    let entries_read = match &g["entries-read"] {
                        Reply::Int(v) => *v,
                        _ => -1,
                    };
                    ConsumerGroup {
                        name: g["name"].bytes(),
                        last_id: parse_id(&g["last-delivered-id"]),
                        entries_read,
                        pending,
                        consumers,
                    }
                })
                .collect();
            RdbValue::Stream(Box::new(Stream {
                entries,
                last_id: parse_id(&info["last-generated-id"]),
                first_id: parse_id(&info["recorded-first-entry-id"]),
                max_deleted_id: parse_id(&info["max-deleted-entry-id"]),
                entries_added: info["entries-added"].text().parse().expect("entries-added"),
                groups,
            }))
        }
        other => panic!("unexpected type {other}"),
    }
}
