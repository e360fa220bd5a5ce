//! The differential harness: a `redis-server` started on a free port (killed by PID on drop), raw RESP
//! connections, and a [`Host`] forwarding each `redis.call` to that server.

#![allow(dead_code)]

pub mod corpus;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zedis_resp::{encode_command, parse_frame, Protocol};
use zedis_scripting::{CallCtx, Host, RunOptions, Scripting};

/// A `redis-server` child, killed by PID when dropped.
pub struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_server() -> Option<Server> {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("note: redis-server not found; differential scripting test skipped");
        return None;
    }
    // Tests run in parallel and each picks a free port that it then releases: two may pick the same one.
    // The server that lost the race exits, and a readiness check by connecting alone would then find the
    // other test's server (and share it until one test kills it). So the server that answers must be ours.
    for _ in 0..20 {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--enable-debug-command",
                "yes",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(server.child.try_wait(), Ok(Some(_))) {
                break; // lost the port: try another
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let pid = format!("process_id:{}", server.child.id());
                if Conn::open(port).info_server().contains(&pid) {
                    return Some(server);
                }
                break; // another test's server holds this port
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("redis-server did not start on a free port");
}

/// A raw RESP connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream.write_all(&out).expect("write");
        loop {
            if let Some(used) = frame_len(&self.buf) {
                return self.buf.drain(..used).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// `INFO server`'s text (its `process_id` tells which server answered).
    pub fn info_server(&mut self) -> String {
        String::from_utf8_lossy(&self.cmd(&[b"INFO", b"server"])).into_owned()
    }

    pub fn hello(&mut self, p: Protocol) {
        let v: &[u8] = if p == Protocol::Resp3 { b"3" } else { b"2" };
        self.cmd(&[b"HELLO", v]);
    }
}

/// Length of the first complete RESP2/RESP3 value in `buf`, scanned iteratively (the `resp` crate's
/// decoder bounds nesting; deeply nested script replies are part of the corpus).
fn frame_len(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let mut remaining: u64 = 1;
    while remaining > 0 {
        let kind = *buf.get(pos)?;
        let end = pos + buf[pos..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&buf[pos + 1..end]).ok()?;
        pos = end + 2;
        remaining -= 1;
        match kind {
            b'$' | b'=' | b'!' => {
                let len: i64 = line.parse().ok()?;
                if len >= 0 {
                    pos += len as usize + 2;
                    if pos > buf.len() {
                        return None;
                    }
                }
            }
            b'*' | b'~' | b'>' => remaining += line.parse::<i64>().ok()?.max(0) as u64,
            b'%' | b'|' => {
                remaining += 2 * line.parse::<i64>().ok()?.max(0) as u64 + u64::from(kind == b'|')
            }
            _ => {}
        }
    }
    Some(pos)
}

/// Forwards each `redis.call` to the real server, in the protocol the script asked for.
pub struct Forward {
    pub conn: Conn,
    pub protocol: Protocol,
}

impl Host for Forward {
    fn acl_check_cmd(&mut self, argv: &[&[u8]]) -> Option<bool> {
        // The default user may run everything; whether the command exists is the server's table's answer.
        let reply = self.conn.cmd(&[b"COMMAND", b"INFO", argv[0]]);
        let unknown = [&b"*1\r\n*-1"[..], b"*1\r\n$-1", b"*1\r\n_"]
            .iter()
            .any(|p| reply.starts_with(p));
        (!unknown).then_some(true)
    }

    fn call(&mut self, argv: &[&[u8]], ctx: &CallCtx) -> Vec<u8> {
        if ctx.protocol != self.protocol {
            self.conn.hello(ctx.protocol);
            self.protocol = ctx.protocol;
        }
        let reply = self.conn.cmd(argv);
        // A script's client may not run some commands; the real server decides those from its table.
        rewrite_script_errors(argv, reply)
    }
}

/// Redis refuses these from scripts before running them; a plain connection would run them.
fn rewrite_script_errors(argv: &[&[u8]], reply: Vec<u8>) -> Vec<u8> {
    let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
    if reply.starts_with(b"-ERR unknown command") {
        return b"-ERR Unknown Redis command called from script\r\n".to_vec();
    }
    if reply.starts_with(b"-ERR wrong number of arguments") {
        return b"-ERR Wrong number of args calling Redis command from script\r\n".to_vec();
    }
    if [
        "multi",
        "exec",
        "subscribe",
        "blpop_deny",
        "eval",
        "evalsha",
        "fcall",
    ]
    .contains(&name.as_str())
    {
        return b"-ERR This Redis command is not allowed from script\r\n".to_vec();
    }
    reply
}

pub struct Harness {
    _server: Server,
    /// Setup and FUNCTION/SCRIPT commands.
    pub admin: Conn,
    /// The client whose EVAL/FCALL replies are the reference.
    pub caller: Conn,
    /// The connection Zedis's scripts run their commands on.
    pub host: Forward,
    /// The engine under test.
    pub mine: Scripting,
    failures: Vec<String>,
}

impl Harness {
    pub fn new() -> Option<Harness> {
        let server = start_server()?;
        let port = server.port;
        Some(Harness {
            admin: Conn::open(port),
            caller: Conn::open(port),
            host: Forward {
                conn: Conn::open(port),
                protocol: Protocol::Resp2,
            },
            mine: Scripting::new(Default::default()).expect("lua"),
            failures: Vec::new(),
            _server: server,
        })
    }

    pub fn reset(&mut self, setup: &[&[&[u8]]]) {
        self.admin.cmd(&[b"FLUSHALL"]);
        for cmd in setup {
            self.admin.cmd(cmd);
        }
        self.host.conn.hello(Protocol::Resp2);
        self.host.protocol = Protocol::Resp2;
    }

    /// FUNCTION LIST replies with each library's functions sorted (Redis lists them in dict order).
    pub fn check_list(&mut self, label: &str, expected: &[u8], got: &[u8]) {
        let (expected, got) = (sort_functions(expected), sort_functions(got));
        self.check(label, &expected, &got);
    }

    pub fn check(&mut self, label: &str, expected: &[u8], got: &[u8]) {
        if expected != got {
            self.failures.push(format!(
                "{label}\n  redis: {:?}\n  zedis: {:?}",
                String::from_utf8_lossy(expected),
                String::from_utf8_lossy(got)
            ));
        }
    }

    pub fn eval_case(&mut self, script: &str, keys: &[&str], args: &[&str], setup: &[&[&[u8]]]) {
        for p in [Protocol::Resp2, Protocol::Resp3] {
            let numkeys = keys.len().to_string();
            let mut cmd: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), numkeys.as_bytes()];
            cmd.extend(keys.iter().map(|k| k.as_bytes()));
            cmd.extend(args.iter().map(|a| a.as_bytes()));
            self.reset(setup);
            self.caller.hello(p);
            let expected = self.caller.cmd(&cmd);
            self.reset(setup);
            let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let opts = RunOptions {
                protocol: p,
                read_only: false,
            };
            let got = self
                .mine
                .eval(script.as_bytes(), &keys, &args, opts, &mut self.host);
            self.check(&format!("EVAL {script:?} ({p:?})"), &expected, &got);
        }
    }

    pub fn report(&self) {
        if !self.failures.is_empty() {
            panic!(
                "{} mismatches:\n{}",
                self.failures.len(),
                self.failures.join("\n")
            );
        }
    }
}

pub fn sort_functions(reply: &[u8]) -> Vec<u8> {
    use zedis_resp::Frame;
    let Ok(Some((Frame::Array(mut libs), _))) = parse_frame(reply) else {
        return reply.to_vec();
    };
    for lib in &mut libs {
        let fields = match lib {
            Frame::Array(items) => items,
            Frame::Map(pairs) => {
                for (_, v) in pairs.iter_mut() {
                    if let Frame::Array(fs) = v {
                        fs.sort_by_key(|f| f.to_bytes());
                    }
                }
                continue;
            }
            _ => continue,
        };
        for v in fields.iter_mut() {
            if let Frame::Array(fs) = v {
                fs.sort_by_key(|f| f.to_bytes());
            }
        }
    }
    Frame::Array(libs).to_bytes()
}

pub fn lua_bytes(v: &[u8]) -> Vec<u8> {
    v.to_vec()
}
