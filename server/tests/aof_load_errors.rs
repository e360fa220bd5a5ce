//! Loading an AOF directory whose last incr file ends inside a MULTI, or names an unknown command, side by
//! side with redis-server 7.0.15 on the same files (Redis's `loadSingleAppendOnlyFile`): a transaction's
//! commands run at its EXEC only, an unfinished one is cut off with `aof-load-truncated yes` (the file
//! truncated before its MULTI) and refuses the start without it; an unknown command stops the start with
//! Redis's log line. Also DEBUG AOF-FLUSH-SLEEP's replies.

mod common;

use common::reference::RedisProcess;
use common::Server;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zedis_resp::Frame;
use zedis_testkit::{RespClient, TempDir};

fn command(argv: &[&str]) -> String {
    let mut out = format!("*{}\r\n", argv.len());
    for a in argv {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    out
}

/// `dir/appendonlydir` with one incr file holding `incr` and its manifest.
fn write_aof(dir: &Path, incr: &str) {
    let aof = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof).unwrap();
    std::fs::write(aof.join("appendonly.aof.1.incr.aof"), incr).unwrap();
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
}

fn incr_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("appendonlydir/appendonly.aof.1.incr.aof"))
        .unwrap()
        .len()
}

/// Runs `program` with `args` until it exits (killed after 30 s): its stdout.
fn run_to_exit(program: &str, args: &[String]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().ok()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    let mut err = String::new();
    child.stderr.take()?.read_to_string(&mut err).ok()?;
    Some(out + &err)
}

fn args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let port = zedis_testkit::free_port().to_string();
    let mut all: Vec<String> = [
        "--port",
        &port,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--dir",
        &dir.to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.extend(extra.iter().map(|s| s.to_string()));
    all
}

fn unfinished_multi() -> String {
    [
        command(&["SET", "foo", "hello"]),
        command(&["MULTI"]),
        command(&["SET", "bar", "world"]),
        command(&["INCR", "counter"]),
    ]
    .concat()
}

#[test]
fn unfinished_multi_is_cut_off_with_load_truncated_as_redis() {
    let (rdir, zdir) = (TempDir::new("multi-redis"), TempDir::new("multi-zedis"));
    for dir in [&rdir, &zdir] {
        write_aof(dir.path(), &unfinished_multi());
    }
    let cut_at = command(&["SET", "foo", "hello"]).len() as u64;
    let rdir_s = rdir.path().to_string_lossy().into_owned();
    let Some(redis) = RedisProcess::start(&[
        "--appendonly",
        "yes",
        "--aof-load-truncated",
        "yes",
        "--dir",
        &rdir_s,
    ]) else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let zedis = Server::start(&[
        "--save",
        "",
        "--appendonly",
        "yes",
        "--aof-load-truncated",
        "yes",
        "--dir",
        &zdir.path().to_string_lossy(),
    ]);
    let (mut r, mut z) = (
        RespClient::connect(redis.port),
        RespClient::connect(zedis.port),
    );
    for line in ["MGET foo bar counter", "DBSIZE"] {
        assert_eq!(z.line(line), r.line(line), "{line}");
    }
    assert_eq!(z.line("GET bar"), Frame::Null);
    // Both cut the file right before the MULTI, then append to it.
    assert_eq!(incr_len(zdir.path()), cut_at);
    assert_eq!(incr_len(rdir.path()), cut_at);
    for c in [&mut r, &mut z] {
        assert_eq!(c.line("SET after 1"), Frame::Simple(b"OK".to_vec()));
    }
    assert_eq!(incr_len(zdir.path()), incr_len(rdir.path()));
}

#[test]
fn transactions_in_the_aof_run_at_their_exec() {
    let dir = TempDir::new("multi-exec");
    write_aof(
        dir.path(),
        &[
            command(&["MULTI"]),
            command(&["SET", "a", "1"]),
            command(&["INCR", "a"]),
            command(&["EXEC"]),
            command(&["MULTI"]),
            command(&["SET", "b", "discarded"]),
            command(&["DISCARD"]),
            command(&["SET", "c", "3"]),
        ]
        .concat(),
    );
    let zedis = Server::start(&[
        "--save",
        "",
        "--appendonly",
        "yes",
        "--dir",
        &dir.path().to_string_lossy(),
    ]);
    let mut z = RespClient::connect(zedis.port);
    assert_eq!(
        z.line("MGET a b c"),
        Frame::Array(vec![
            Frame::Bulk(b"2".to_vec()),
            Frame::Null,
            Frame::Bulk(b"3".to_vec())
        ])
    );
}

#[test]
fn unfinished_multi_or_unknown_command_stop_the_start_with_redis_log_line() {
    if !zedis_testkit::installed("redis-server") {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let cases = [
        (
            unfinished_multi(),
            "Unexpected end of file reading the append only file",
        ),
        (
            [command(&["SET", "foo", "hello"]), command(&["bla", "x"])].concat(),
            "Unknown command 'bla' reading the append only file",
        ),
    ];
    for (incr, line) in cases {
        let (rdir, zdir) = (TempDir::new("aof-err-redis"), TempDir::new("aof-err-zedis"));
        write_aof(rdir.path(), &incr);
        write_aof(zdir.path(), &incr);
        let extra = ["--aof-load-truncated", "no"];
        let redis_log = run_to_exit("redis-server", &args(rdir.path(), &extra)).unwrap();
        let zedis_log = run_to_exit(
            env!("CARGO_BIN_EXE_zedis-server"),
            &args(zdir.path(), &extra),
        )
        .unwrap();
        assert!(redis_log.contains(line), "redis: {redis_log}");
        assert!(zedis_log.contains(line), "zedis: {zedis_log}");
        // Nothing was cut: the file is left for the operator to repair.
        assert_eq!(incr_len(zdir.path()), incr.len() as u64);
        assert_eq!(incr_len(rdir.path()), incr.len() as u64);
    }
}

#[test]
fn debug_aof_flush_sleep_replies_as_redis() {
    let Some(redis) = RedisProcess::start(&["--enable-debug-command", "yes"]) else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let zedis = Server::start(&["--save", "", "--enable-debug-command", "yes"]);
    let (mut r, mut z) = (
        RespClient::connect(redis.port),
        RespClient::connect(zedis.port),
    );
    for line in [
        "DEBUG AOF-FLUSH-SLEEP 1000",
        "DEBUG AOF-FLUSH-SLEEP nope",
        "DEBUG AOF-FLUSH-SLEEP",
        "DEBUG AOF-FLUSH-SLEEP 1 2",
        "SET k v",
        "DEBUG AOF-FLUSH-SLEEP 0",
    ] {
        let argv: Vec<&str> = line.split(' ').collect();
        assert_eq!(z.raw(&argv), r.raw(&argv), "{line}");
    }
}

#[test]
fn loadaof_without_any_aof_ends_the_process_as_redis() {
    let (rdir, zdir) = (TempDir::new("noaof-redis"), TempDir::new("noaof-zedis"));
    let rdir_s = rdir.path().to_string_lossy().into_owned();
    let Some(redis) = RedisProcess::start(&["--enable-debug-command", "yes", "--dir", &rdir_s])
    else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let zedis = Server::start(&[
        "--save",
        "",
        "--enable-debug-command",
        "yes",
        "--dir",
        &zdir.path().to_string_lossy(),
    ]);
    for port in [redis.port, zedis.port] {
        let mut c = RespClient::connect(port);
        assert_eq!(c.line("SET a 1"), Frame::Simple(b"OK".to_vec()));
        // The dataset is emptied, nothing can be loaded: Redis's `exit(1)`, no reply.
        c.send(&[b"DEBUG", b"LOADAOF"]);
        assert!(
            zedis_testkit::wait_until(Duration::from_secs(30), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            }),
            "port {port} still answers"
        );
    }
}
