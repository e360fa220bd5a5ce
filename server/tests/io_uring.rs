//! `--io uring`: the main TCP listener's clients on the io_uring driver, everything else on mio, one loop.
//! Real clients only: redis-cli, redis-benchmark, the `redis` crate, raw sockets, a Zedis replica.
//! Every test skips (printing why) where `zedis_netio::probe()` refuses io_uring.

mod common;

use common::launch::Launch;
use common::tools::{cli_out, tool_exists};
use common::{cmd, connect_when_ready, err, wait_for_within, Server, TempDir};
use redis::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Whether io_uring works here; prints the reason when it does not.
fn uring_available() -> bool {
    match zedis_netio::probe() {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skipped: io_uring unavailable here: {e}");
            false
        }
    }
}

fn start(args: &[&str]) -> Server {
    let mut all = vec!["--io", "uring"];
    all.extend_from_slice(args);
    Server::start(&all)
}

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> String {
    let Ok(Value::BulkString(text)) = cmd(conn, &["INFO", section]) else {
        panic!("INFO {section}");
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} not in INFO {section}"))
        .to_string()
}

/// Reads until the peer closes or 20 s pass; whether it closed.
fn closed_within(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 65536];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn io_is_fixed_at_startup_shown_by_config_get_and_read_from_a_file() {
    if !uring_available() {
        return;
    }
    let server = start(&[]);
    let mut c = server.conn();
    assert_eq!(
        cmd(&mut c, &["CONFIG", "GET", "io"]).unwrap(),
        Value::Array(vec![
            Value::BulkString(b"io".to_vec()),
            Value::BulkString(b"uring".to_vec())
        ])
    );
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "io", "epoll"]),
        "ERR CONFIG SET failed (possibly related to argument 'io') - can't set immutable config"
    );
    // Its current value is accepted and changes nothing (Redis's "CONFIG sanity" sets every value back).
    assert_eq!(
        cmd(&mut c, &["CONFIG", "SET", "io", "uring"]).unwrap(),
        Value::Okay
    );
    // `port 0` would leave the driver without a listener: refused, nothing changes.
    let e = err(&mut c, &["CONFIG", "SET", "port", "0"]);
    assert!(e.contains("Unable to listen on this port"), "{e}");
    assert_eq!(
        cmd(&mut c, &["PING"]).unwrap(),
        Value::SimpleString("PONG".into())
    );
    // Another port: the driver takes the new listener, the old port closes, this connection stays.
    let new_port = zedis_testkit::free_port();
    assert_eq!(
        cmd(&mut c, &["CONFIG", "SET", "port", &new_port.to_string()]).unwrap(),
        Value::Okay
    );
    let mut n = connect_when_ready(new_port);
    assert_eq!(
        cmd(&mut n, &["PING"]).unwrap(),
        Value::SimpleString("PONG".into())
    );
    assert!(TcpStream::connect(("127.0.0.1", server.port)).is_err());
    assert_eq!(
        cmd(&mut c, &["PING"]).unwrap(),
        Value::SimpleString("PONG".into())
    );

    // `io uring` in a configuration file.
    let dir = TempDir::new("uring-conf");
    let port = zedis_testkit::free_port();
    let conf = format!("{}/zedis.conf", dir.path());
    std::fs::write(&conf, format!("port {port}\nsave \"\"\nio uring\n")).unwrap();
    let _proc = Launch::new(&[conf.as_str()]).dir(&dir.0).spawn(port);
    let mut c = connect_when_ready(port);
    assert_eq!(
        cmd(&mut c, &["CONFIG", "GET", "io"]).unwrap(),
        Value::Array(vec![
            Value::BulkString(b"io".to_vec()),
            Value::BulkString(b"uring".to_vec())
        ])
    );
    // A bad value is refused at startup.
    let (ok, log) =
        Launch::new(&["--port", "0", "--io", "kqueue"]).exit_output(Duration::from_secs(30));
    assert!(!ok, "{log}");
    assert!(log.contains("io"), "{log}");
}

#[test]
fn raw_pipelines_inline_commands_protocol_errors_and_quit() {
    if !uring_available() {
        return;
    }
    let server = start(&[]);
    let mut raw = server.raw();
    // 200 commands in one write, replies in order.
    let mut req = String::new();
    let mut want = String::new();
    for i in 0..100 {
        req.push_str(&format!(
            "*3\r\n$3\r\nSET\r\n$4\r\nk{i:03}\r\n$2\r\nv{}\r\n",
            i % 10
        ));
        req.push_str(&format!("*2\r\n$3\r\nGET\r\n$4\r\nk{i:03}\r\n"));
        want.push_str(&format!("+OK\r\n$2\r\nv{}\r\n", i % 10));
    }
    raw.roundtrip(&req, &want);
    // A command split across many tiny writes.
    for b in b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n" {
        raw.send(&[*b]);
        std::thread::sleep(Duration::from_millis(2));
    }
    raw.expect("$5\r\nhello\r\n");
    raw.roundtrip("PING\r\n", "+PONG\r\n");
    // A large value arrives in many receive buffers.
    let big = "x".repeat(300_000);
    raw.roundtrip(
        &format!(
            "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n{big}\r\n",
            big.len()
        ),
        "+OK\r\n",
    );
    raw.roundtrip("STRLEN big\r\n", ":300000\r\n");
    raw.send(b"GET big\r\n");
    raw.expect(&format!("${}\r\n{big}\r\n", big.len()));
    // QUIT: +OK, then the server closes.
    raw.send(b"PING\r\nQUIT\r\nPING\r\n");
    assert_eq!(raw.read_to_close(), "+PONG\r\n+OK\r\n");
    // A protocol error: the error, then the close.
    let mut raw = server.raw();
    raw.send(b"*1\r\n$x\r\n");
    let got = raw.read_to_close();
    assert!(got.starts_with("-ERR Protocol error"), "{got:?}");
    // A half-closed client still gets its replies.
    let mut raw = server.raw();
    raw.send(b"SET half 1\r\nGET half\r\n");
    raw.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(raw.read_to_close(), "+OK\r\n$1\r\n1\r\n");
}

#[test]
fn redis_cli_and_redis_benchmark() {
    if !uring_available() || !tool_exists("redis-benchmark") || !tool_exists("redis-cli") {
        eprintln!("skipped: redis-cli / redis-benchmark not installed or no io_uring");
        return;
    }
    let server = start(&[]);
    let port = server.port.to_string();
    assert_eq!(cli_out(&["-p", &port, "SET", "greeting", "hi"]), "OK");
    assert_eq!(cli_out(&["-p", &port, "GET", "greeting"]), "hi");
    for pipeline in ["1", "16"] {
        let out = std::process::Command::new("redis-benchmark")
            .args([
                "-p",
                &port,
                "-t",
                "set,get,lpush,lpop,incr",
                "-n",
                "5000",
                "-c",
                "20",
                "-P",
                pipeline,
                "-r",
                "1000",
                "-q",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(!text.to_lowercase().contains("error"), "{text}");
        assert_eq!(text.matches("requests per second").count(), 5, "{text}");
    }
    let mut c = server.conn();
    let Value::Int(keys) = cmd(&mut c, &["DBSIZE"]).unwrap() else {
        panic!("DBSIZE");
    };
    assert!(keys > 1, "{keys}");
    assert_eq!(
        info_field(&mut c, "clients", "connected_clients"),
        "1",
        "the benchmark's clients are gone"
    );
}

#[test]
fn blocking_pubsub_and_monitor_are_pushed() {
    if !uring_available() {
        return;
    }
    let server = start(&[]);
    let mut blocked = server.raw();
    blocked.send(b"BLPOP q 0\r\n");
    let mut subscriber = server.raw();
    subscriber.roundtrip(
        "SUBSCRIBE news\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    );
    let mut monitor = server.raw();
    monitor.roundtrip("MONITOR\r\n", "+OK\r\n");
    let mut c = server.conn();
    wait_for_within("the BLPOP to block", Duration::from_secs(20), || {
        info_field(&mut c, "clients", "blocked_clients") == "1"
    });
    assert_eq!(cmd(&mut c, &["LPUSH", "q", "job"]).unwrap(), Value::Int(1));
    blocked.expect("*2\r\n$1\r\nq\r\n$3\r\njob\r\n");
    assert_eq!(
        cmd(&mut c, &["PUBLISH", "news", "flash"]).unwrap(),
        Value::Int(1)
    );
    subscriber.expect("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nflash\r\n");
    // MONITOR saw the LPUSH (and the PUBLISH) from the other client.
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    monitor
        .stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    while !seen.contains("\"PUBLISH\" \"news\" \"flash\"") {
        let n = match monitor.stream.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => other.unwrap(),
        };
        assert!(n > 0, "monitor closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("\"LPUSH\" \"q\" \"job\""), "{seen}");
    // A timed BLPOP is answered by the timeout.
    blocked.roundtrip("BLPOP none 0.2\r\n", "*-1\r\n");
}

#[test]
fn client_kill_output_limit_query_limit_maxclients_and_timeout() {
    if !uring_available() {
        return;
    }
    let server = start(&[]);
    let mut c = server.conn();
    // CLIENT KILL ID.
    let mut victim = server.raw();
    victim.send(b"CLIENT ID\r\n");
    let reply = victim.read_exact_len(3);
    let mut id = reply.trim_start_matches(':').to_string();
    let mut byte = [0u8; 1];
    while !id.ends_with("\r\n") {
        victim.stream.read_exact(&mut byte).unwrap();
        id.push(byte[0] as char);
    }
    let id = id.trim().to_string();
    assert_eq!(
        cmd(&mut c, &["CLIENT", "KILL", "ID", &id]).unwrap(),
        Value::Int(1)
    );
    assert!(closed_within(&mut victim.stream), "killed client closed");

    // An output limit: a client that never reads while its replies pile up.
    cmd(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1mb 0 0",
        ],
    )
    .unwrap();
    cmd(&mut c, &["SET", "big", &"v".repeat(100_000)]).unwrap();
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let gets = "GET big\r\n".repeat(400);
    let _ = slow.write_all(gets.as_bytes());
    wait_for_within(
        "the output limit to close the client",
        Duration::from_secs(30),
        || info_field(&mut c, "stats", "client_output_buffer_limit_disconnections") != "0",
    );
    assert!(closed_within(&mut slow), "the slow client was closed");

    // A query buffer limit.
    cmd(
        &mut c,
        &["CONFIG", "SET", "client-query-buffer-limit", "1mb"],
    )
    .unwrap();
    let mut greedy = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let _ = greedy.write_all(b"*2\r\n$3\r\nGET\r\n$3000000\r\n");
    let _ = greedy.write_all(&vec![b'a'; 1_500_000]);
    assert!(
        closed_within(&mut greedy),
        "over the query buffer limit: closed"
    );

    // maxclients: the connection past it gets Redis's error, then the close.
    let connected: usize = info_field(&mut c, "clients", "connected_clients")
        .parse()
        .unwrap();
    cmd(
        &mut c,
        &["CONFIG", "SET", "maxclients", &(connected + 1).to_string()],
    )
    .unwrap();
    let mut one_more = server.raw();
    one_more.roundtrip("PING\r\n", "+PONG\r\n");
    let mut refused = server.raw();
    assert_eq!(
        refused.read_to_close(),
        "-ERR max number of clients reached\r\n"
    );
    drop(one_more);
    cmd(&mut c, &["CONFIG", "SET", "maxclients", "10000"]).unwrap();
    assert_ne!(info_field(&mut c, "stats", "rejected_connections"), "0");

    // timeout: an idle client is closed, an active one is not.
    cmd(&mut c, &["CONFIG", "SET", "timeout", "1"]).unwrap();
    let mut idle = server.raw();
    idle.roundtrip("PING\r\n", "+PONG\r\n");
    assert!(
        closed_within(&mut idle.stream),
        "idle client closed by timeout"
    );
}

#[test]
fn info_client_list_and_memory_count_the_driver() {
    if !uring_available() {
        return;
    }
    let server = start(&[]);
    let mut c = server.conn();
    let raws: Vec<_> = (0..5).map(|_| server.raw()).collect();
    for mut r in raws.iter().map(|r| r.stream.try_clone().unwrap()) {
        r.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 7];
        r.read_exact(&mut buf).unwrap();
    }
    assert_eq!(info_field(&mut c, "clients", "connected_clients"), "6");
    let Value::BulkString(list) = cmd(&mut c, &["CLIENT", "LIST"]).unwrap() else {
        panic!("CLIENT LIST");
    };
    let list = String::from_utf8_lossy(&list).into_owned();
    assert_eq!(list.lines().count(), 6, "{list}");
    let laddr = format!("laddr=127.0.0.1:{}", server.port);
    for line in list.lines() {
        assert!(line.contains(&laddr), "{line}");
        assert!(line.contains("addr=127.0.0.1:"), "{line}");
        assert!(
            !line.contains(" fd=-1 ") && !line.contains(" fd=0 "),
            "{line}"
        );
    }
    // The receive pool (512 KiB) is client memory from the first cron on.
    wait_for_within(
        "the driver's bytes charged",
        Duration::from_secs(20),
        || {
            info_field(&mut c, "memory", "used_memory_clients")
                .parse::<u64>()
                .unwrap()
                >= 1 << 19
        },
    );
    let received: u64 = info_field(&mut c, "stats", "total_net_input_bytes")
        .parse()
        .unwrap();
    assert!(received > 0);
}

#[test]
fn a_replica_connects_over_tcp_and_unix_socket_and_signals_stay_on_mio() {
    if !uring_available() {
        return;
    }
    let dir = TempDir::new("uring-unix");
    let sock = format!("{}/z.sock", dir.path());
    let mut master = start(&["--unixsocket", &sock]);
    let mut m = master.conn();
    cmd(&mut m, &["SET", "before", "1"]).unwrap();
    let replica = Server::start(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    let mut r = replica.conn();
    wait_for_within("the replica to sync", Duration::from_secs(60), || {
        cmd(&mut r, &["GET", "before"]).ok() == Some(Value::BulkString(b"1".to_vec()))
    });
    for i in 0..200 {
        cmd(&mut m, &["SET", &format!("k{i}"), &i.to_string()]).unwrap();
    }
    wait_for_within(
        "the stream to reach the replica",
        Duration::from_secs(60),
        || cmd(&mut r, &["GET", "k199"]).ok() == Some(Value::BulkString(b"199".to_vec())),
    );
    assert_eq!(cmd(&mut m, &["WAIT", "1", "10000"]).unwrap(), Value::Int(1));
    assert_eq!(info_field(&mut m, "replication", "connected_slaves"), "1");
    // The Unix socket is a mio listener in the same loop.
    let mut unix = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    unix.write_all(b"GET k5\r\n").unwrap();
    let mut buf = [0u8; 7];
    unix.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"$1\r\n5\r\n");
    // SIGTERM reaches the loop through mio's poller, watched by the ring: a clean exit.
    let pid = master.pid().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(
        master.wait_exit(Duration::from_secs(30)),
        "SIGTERM ends the server"
    );
}
