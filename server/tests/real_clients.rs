//! Real clients and tools against `zedis-server`, unchanged: redis-py (PyPI), `redis-cli --pipe` and `--scan`,
//! `redis-benchmark`, and twemproxy (`nutcracker`) sharding across two servers.
//!
//! `scripts/test.sh` installs what these need (a venv with redis-py in `target/pyenv`, passed as
//! `ZEDIS_PYTHON`; the Debian packages `redis-tools` and `nutcracker`). A test whose tool is missing prints
//! a `SKIP` note and passes, so `cargo test` works on a machine without them.

mod common;

use common::{cmd, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use zedis_testkit::{free_port, installed, python_with_redis, Proc, TempDir};

fn skip(what: &str) {
    eprintln!("SKIP {what} (run scripts/test.sh to install it)");
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn port_str(server: &Server) -> String {
    server.port.to_string()
}

fn integer(conn: &mut redis::Connection, args: &[&str]) -> i64 {
    match cmd(conn, args).unwrap() {
        redis::Value::Int(n) => n,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn redis_py_commands_pipelines_transactions_and_pubsub() {
    let Some(python) = python_with_redis() else {
        return skip("redis-py");
    };
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/compat/redis_py_check.py");
    let script = script.to_string_lossy();
    let server = Server::start(&[]);
    let out = run(&python, &[&script, &port_str(&server)]);
    let stdout = text(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("OK redis-py"),
        "{stdout}{}",
        text(&out.stderr)
    );
    // The same through AUTH (redis-py sends AUTH with the password on connect).
    let server = Server::start(&["--requirepass", "s3cret"]);
    let out = run(&python, &[&script, &port_str(&server), "s3cret"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("OK redis-py"),
        "{stdout}{}",
        text(&out.stderr)
    );
}

#[test]
fn redis_cli_pipe_mass_insertion() {
    if !installed("redis-cli") {
        return skip("redis-cli");
    }
    let server = Server::start(&[]);
    let mut input = Vec::new();
    for i in 0..10_000 {
        let key = format!("key:{i}");
        let value = format!("value:{i}");
        write!(
            input,
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
            key.len(),
            value.len()
        )
        .unwrap();
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &port_str(&server), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("errors: 0, replies: 10000"), "{stdout}");
    let mut conn = server.conn();
    assert_eq!(integer(&mut conn, &["DBSIZE"]), 10_000);
    assert_eq!(
        cmd(&mut conn, &["GET", "key:9999"]).unwrap(),
        redis::Value::BulkString(b"value:9999".to_vec())
    );
}

#[test]
fn redis_cli_scan_with_pattern() {
    if !installed("redis-cli") {
        return skip("redis-cli");
    }
    let server = Server::start(&[]);
    let mut conn = server.conn();
    for i in 0..300 {
        cmd(&mut conn, &["SET", &format!("user:{i}"), "x"]).unwrap();
    }
    for i in 0..50 {
        cmd(&mut conn, &["SET", &format!("other:{i}"), "x"]).unwrap();
    }
    let out = run(
        "redis-cli",
        &["-p", &port_str(&server), "--scan", "--pattern", "user:*"],
    );
    assert!(out.status.success());
    let mut keys: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 300);
    assert!(keys.iter().all(|k| k.starts_with("user:")));
}

#[test]
fn redis_benchmark_default_run() {
    if !installed("redis-benchmark") {
        return skip("redis-benchmark");
    }
    let server = Server::start(&[]);
    // The whole default test list, as `redis-benchmark` runs it with no `-t`.
    let port = port_str(&server);
    let out = run(
        "redis-benchmark",
        &["-p", &port, "-n", "1000", "-c", "10", "-q"],
    );
    let stdout = text(&out.stdout).replace('\r', "\n");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        !stdout.to_ascii_lowercase().contains("error") && !stderr.contains("rror"),
        "{stdout}{stderr}"
    );
    // PING_INLINE, PING_MBULK, SET, GET, INCR, LPUSH, RPUSH, LPOP, RPOP, SADD, HSET, SPOP, ZADD, ZPOPMIN,
    // LPUSH for LRANGE, LRANGE_100/300/500/600, MSET.
    let results = stdout.matches("requests per second").count();
    assert_eq!(results, 20, "{stdout}");
    let out = run(
        "redis-benchmark",
        &["-p", &port, "-n", "2000", "-P", "16", "-q", "-t", "set,get"],
    );
    let stdout = text(&out.stdout).replace('\r', "\n");
    assert!(!stdout.to_ascii_lowercase().contains("error"), "{stdout}");
    assert_eq!(stdout.matches("requests per second").count(), 2, "{stdout}");
}

/// Sends one RESP command and returns its reply (a status, error, integer, bulk or flat array of bulks).
fn request(writer: &mut TcpStream, reader: &mut BufReader<TcpStream>, args: &[&str]) -> String {
    let mut out = format!("*{}\r\n", args.len());
    for arg in args {
        out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    writer.write_all(out.as_bytes()).unwrap();
    read_reply(reader)
}

fn read_reply(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let count: i64 = line[1..].trim_end().parse().unwrap_or(0);
    match line.as_bytes().first() {
        Some(b'$') if count >= 0 => {
            let mut body = vec![0; count as usize + 2];
            reader.read_exact(&mut body).unwrap();
            line + &text(&body)
        }
        Some(b'*') => (0..count.max(0)).fold(line, |acc, _| acc + &read_reply(reader)),
        _ => line,
    }
}

/// A spawned `nutcracker` (killed by PID on drop) and its directory (configuration and log).
struct Nutcracker {
    process: Proc,
    _dir: TempDir,
}

/// Starts twemproxy sharding over `backends` and waits (20 s) until it accepts connections.
fn start_nutcracker(backends: &[u16]) -> Nutcracker {
    let (port, stats_port) = (free_port(), free_port());
    let dir = TempDir::new("nutcracker");
    let mut yaml = format!(
        "zedis:\n  listen: 127.0.0.1:{port}\n  hash: fnv1a_64\n  distribution: ketama\n  redis: true\n  \
         auto_eject_hosts: false\n  timeout: 5000\n  servers:\n"
    );
    for (i, backend) in backends.iter().enumerate() {
        yaml.push_str(&format!("    - 127.0.0.1:{backend}:1 shard{i}\n"));
    }
    let conf = dir.join("nutcracker.yml");
    std::fs::write(&conf, yaml).unwrap();
    let args = [
        "-c".to_string(),
        conf.to_string_lossy().into_owned(),
        "-s".into(),
        stats_port.to_string(),
        "-a".into(),
        "127.0.0.1".into(),
        "-o".into(),
        dir.join("nutcracker.log").to_string_lossy().into_owned(),
    ];
    let process = Proc::spawn("nutcracker", &args, port, dir.path()).expect("nutcracker starts");
    Nutcracker { process, _dir: dir }
}

#[test]
fn twemproxy_shards_keys_over_two_servers() {
    if !installed("nutcracker") {
        return skip("nutcracker (twemproxy)");
    }
    let (a, b) = (Server::start(&[]), Server::start(&[]));
    let proxy = start_nutcracker(&[a.port, b.port]);
    // Raw RESP: client libraries send connection setup commands (CLIENT SETINFO...) the proxy refuses.
    let stream = TcpStream::connect(("127.0.0.1", proxy.process.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    for i in 0..200 {
        let reply = request(
            &mut writer,
            &mut reader,
            &["SET", &format!("key:{i}"), &format!("value:{i}")],
        );
        assert_eq!(reply, "+OK\r\n");
    }
    for i in 0..200 {
        let reply = request(&mut writer, &mut reader, &["GET", &format!("key:{i}")]);
        let value = format!("value:{i}");
        assert_eq!(reply, format!("${}\r\n{value}\r\n", value.len()));
    }
    // MGET is split across the shards by the proxy and reassembled.
    let reply = request(
        &mut writer,
        &mut reader,
        &["MGET", "key:1", "key:2", "nope"],
    );
    assert_eq!(reply, "*3\r\n$7\r\nvalue:1\r\n$7\r\nvalue:2\r\n$-1\r\n");
    let on_a = integer(&mut a.conn(), &["DBSIZE"]);
    let on_b = integer(&mut b.conn(), &["DBSIZE"]);
    assert_eq!(on_a + on_b, 200);
    assert!(on_a > 0 && on_b > 0, "keys on a: {on_a}, on b: {on_b}");
}

#[test]
fn redis_py_lock_runs_its_lua_scripts() {
    let Some(python) = python_with_redis() else {
        return skip("redis-py");
    };
    let server = Server::start(&[]);
    // redis-py's Lock acquires with SET NX PX and releases, extends and reacquires with EVALSHA scripts
    // (falling back to EVAL on NOSCRIPT).
    let program = r#"
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
lock = r.lock("resource", timeout=10)
assert lock.acquire(blocking=False)
other = r.lock("resource", timeout=10)
assert not other.acquire(blocking=False), "second holder"
assert lock.owned()
assert lock.extend(5)
assert r.pttl("resource") > 10000
assert lock.reacquire()
lock.release()
assert r.get("resource") is None
try:
    lock.release()
    raise SystemExit("released twice")
except redis.exceptions.LockError:
    pass
with r.lock("ctx", timeout=5, blocking_timeout=5):
    assert r.exists("ctx") == 1
assert r.exists("ctx") == 0
# A lock whose key was taken over by someone else is not released by the stale holder (the script checks).
stale = r.lock("stolen", timeout=10)
assert stale.acquire(blocking=False)
r.set("stolen", "someone-else")
try:
    stale.do_release(stale.local.token)
    raise SystemExit("released a lock it does not own")
except redis.exceptions.LockNotOwnedError:
    pass
assert r.get("stolen") == b"someone-else"
print("OK lock")
"#;
    let out = run(&python, &["-c", program, &port_str(&server)]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("OK lock"),
        "{stdout}{}",
        text(&out.stderr)
    );
}
