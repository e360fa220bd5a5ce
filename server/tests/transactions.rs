//! MULTI/EXEC/WATCH across clients, AUTH and `requirepass`, protected mode, CLIENT PAUSE, idle `timeout`,
//! and the client buffer limits, against the real binary. (Single-connection transaction replies are
//! compared byte for byte with Redis in `tests/compat/multi.txt`.)

mod common;

use common::{cmd, err, Raw, Server};
use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

const NIL_EXEC: &str = "*-1\r\n";

fn info_field(conn: &mut redis::Connection, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("everything").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .parse()
        .unwrap()
}

/// `MULTI; SET <key> mine; EXEC` on `raw`, returning EXEC's reply.
fn exec_set(raw: &mut Raw, key: &str) -> String {
    raw.roundtrip("MULTI\r\n", "+OK\r\n");
    raw.roundtrip(&format!("SET {key} mine\r\n"), "+QUEUED\r\n");
    raw.send(b"EXEC\r\n");
    let first = raw.read_exact_len(4);
    if first == "*-1\r" {
        first + &raw.read_exact_len(1)
    } else {
        first + &raw.read_exact_len("+OK\r\n".len())
    }
}

/// Asserts the server closed `raw`'s connection (not just a read timeout).
fn assert_closed_by_server(raw: &mut Raw) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match raw.stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
            Err(e) => panic!("connection still open: {e}"),
        }
    }
}

#[test]
fn watch_is_invalidated_by_writes_from_other_clients() {
    let server = Server::start(&[]);
    let mut other = server.conn();
    let mut raw = server.raw();
    // (setup, change made by another client)
    let changes: &[(&[&str], &[&str])] = &[
        (&["SET", "k", "1"], &["SET", "k", "2"]),
        (&["SET", "k", "1"], &["DEL", "k"]),
        (&["SET", "k", "1"], &["UNLINK", "k"]),
        (&["SET", "k", "1"], &["INCR", "k"]),
        (&["SET", "k", "1"], &["APPEND", "k", "x"]),
        (&["SET", "k", "1"], &["EXPIRE", "k", "100"]),
        (&["SET", "k", "1"], &["GETDEL", "k"]),
        (&["SET", "k", "1"], &["GETEX", "k", "EX", "100"]),
        (&["SET", "k", "1"], &["SETRANGE", "k", "0", "x"]),
        (&["SET", "src", "1"], &["RENAME", "src", "k"]),
        (&["SET", "k", "1"], &["RENAME", "k", "dst"]),
        (&["SET", "k", "1"], &["MOVE", "k", "1"]),
        (&["SET", "src", "1"], &["COPY", "src", "k"]),
        (&["SET", "k", "1"], &["FLUSHDB"]),
        (&["SET", "k", "1"], &["FLUSHALL"]),
        (&["SET", "k", "1"], &["SWAPDB", "0", "1"]),
        (&["RPUSH", "k", "a", "b"], &["LPOP", "k"]),
        (&["RPUSH", "k", "a", "b"], &["LTRIM", "k", "0", "0"]),
        (
            &["RPUSH", "src", "a"],
            &["LMOVE", "src", "k", "LEFT", "LEFT"],
        ),
        (&["SADD", "k", "a"], &["SREM", "k", "a"]),
        (&["SADD", "src", "a"], &["SUNIONSTORE", "k", "src"]),
        (&["SADD", "src", "a"], &["SMOVE", "src", "k", "a"]),
        (&["HSET", "k", "f", "1"], &["HINCRBY", "k", "f", "1"]),
        (&["HSET", "k", "f", "1"], &["HDEL", "k", "f"]),
        (&["PING"], &["MSET", "a", "1", "k", "2"]),
    ];
    for (setup, change) in changes {
        cmd(&mut other, &["FLUSHALL"]).unwrap();
        cmd(&mut other, setup).unwrap();
        raw.roundtrip("WATCH k\r\n", "+OK\r\n");
        cmd(&mut other, change).unwrap();
        assert_eq!(exec_set(&mut raw, "k"), NIL_EXEC, "after {change:?}");
    }
    // Reads, no-op writes, and changes elsewhere leave the transaction alone.
    let harmless: &[(&[&str], &[&str])] = &[
        (&["SET", "k", "1"], &["GET", "k"]),
        (&["SET", "k", "1"], &["SET", "other", "1"]),
        (&["SET", "k", "1"], &["SET", "k", "2", "NX"]),
        (&["SET", "k", "1"], &["DEL", "nope"]),
        (&["SET", "k", "1"], &["EXPIRE", "nope", "10"]),
        (&["PING"], &["FLUSHALL"]),
        (&["SELECT", "0"], &["SWAPDB", "0", "1"]),
    ];
    for (setup, change) in harmless {
        cmd(&mut other, &["FLUSHALL"]).unwrap();
        cmd(&mut other, setup).unwrap();
        raw.roundtrip("WATCH k\r\n", "+OK\r\n");
        cmd(&mut other, change).unwrap();
        assert_eq!(exec_set(&mut raw, "k"), "*1\r\n+OK\r\n", "after {change:?}");
    }
}

#[test]
fn watch_sees_expiry_and_eviction() {
    let server = Server::start(&[]);
    let mut other = server.conn();
    let mut raw = server.raw();
    // A live key that expires (deleted by the active cycle or on access): EXEC fails.
    cmd(&mut other, &["SET", "k", "v", "PX", "100"]).unwrap();
    raw.roundtrip("WATCH k\r\n", "+OK\r\n");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(exec_set(&mut raw, "k"), NIL_EXEC);
    // Lazily deleted by another client's read.
    cmd(&mut other, &["SET", "k", "v", "PX", "50"]).unwrap();
    raw.roundtrip("WATCH k\r\n", "+OK\r\n");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(cmd(&mut other, &["GET", "k"]).unwrap(), redis::Value::Nil);
    assert_eq!(exec_set(&mut raw, "k"), NIL_EXEC);
    // Already expired when watched: its deletion is no change (Redis 7.0).
    cmd(&mut other, &["SET", "k", "v", "PX", "1"]).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    raw.roundtrip("WATCH k\r\n", "+OK\r\n");
    assert_eq!(cmd(&mut other, &["GET", "k"]).unwrap(), redis::Value::Nil);
    assert_eq!(exec_set(&mut raw, "k"), "*1\r\n+OK\r\n");

    // Eviction: allkeys-flush empties everything; allkeys-random evicts some of the watched keys.
    for policy in ["allkeys-flush", "allkeys-random"] {
        let server = Server::start(&["--maxmemory", "8mb", "--maxmemory-policy", policy]);
        let mut filler = server.conn();
        let mut raw = server.raw();
        let mut watch = String::from("WATCH");
        for i in 0..2000 {
            cmd(&mut filler, &["SET", &format!("w{i}"), "x"]).unwrap();
            watch.push_str(&format!(" w{i}"));
        }
        raw.roundtrip(&format!("{watch}\r\n"), "+OK\r\n");
        let value = "y".repeat(1000);
        let mut i = 0;
        while info_field(&mut filler, "evicted_keys") == 0 {
            for _ in 0..1000 {
                cmd(&mut filler, &["SET", &format!("fill{i}"), &value]).unwrap();
                i += 1;
            }
            assert!(i < 200_000, "{policy}: no eviction");
        }
        // Fill more so that random eviction surely reaches a watched key.
        for _ in 0..20_000 {
            cmd(&mut filler, &["SET", &format!("fill{i}"), &value]).unwrap();
            i += 1;
        }
        assert_eq!(exec_set(&mut raw, "w0"), NIL_EXEC, "{policy}");
    }
}

#[test]
fn multi_queue_is_charged_listed_and_bounded() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    let mut raw = server.raw();
    let before = info_field(&mut conn, "used_memory_clients");
    raw.roundtrip("MULTI\r\n", "+OK\r\n");
    let value = "v".repeat(1000);
    let mut batch = String::new();
    for i in 0..1000 {
        batch.push_str(&format!("SET k{i} {value}\r\n"));
    }
    raw.send(batch.as_bytes());
    let queued = raw.read_exact_len("+QUEUED\r\n".len() * 1000);
    assert_eq!(queued.matches("+QUEUED\r\n").count(), 1000);
    let during = info_field(&mut conn, "used_memory_clients");
    assert!(during >= before + 1_000_000, "{before} -> {during}");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut conn).unwrap();
    assert!(
        list.contains(" flags=x ") && list.contains(" multi=1000 "),
        "{list}"
    );
    raw.roundtrip("DISCARD\r\n", "+OK\r\n");
    // The queue goes at DISCARD; the query buffer that carried it is shrunk by the client cron against
    // its recent peak (as Redis's clientsCronResizeQueryBuffer), within a few cron ticks.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut after = info_field(&mut conn, "used_memory_clients");
    while after >= before + 600_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        after = info_field(&mut conn, "used_memory_clients");
    }
    assert!(after < before + 600_000, "{before} -> {after}");
    assert_eq!(cmd(&mut conn, &["DBSIZE"]).unwrap(), redis::Value::Int(0));

    // The queue is bounded like the query buffer: past client-query-buffer-limit the client is closed.
    cmd(
        &mut conn,
        &["CONFIG", "SET", "client-query-buffer-limit", "1mb"],
    )
    .unwrap();
    let mut raw = server.raw();
    raw.roundtrip("MULTI\r\n", "+OK\r\n");
    let big = "b".repeat(100_000);
    let mut request = String::new();
    for i in 0..20 {
        request.push_str(&format!("SET big{i} {big}\r\n"));
    }
    raw.send(request.as_bytes());
    let mut got = String::new();
    let _ = raw.stream.read_to_string(&mut got);
    assert!(got.matches("+QUEUED").count() < 20, "{}", got.len());
    assert_closed_by_server(&mut raw);
    assert_eq!(
        cmd(&mut conn, &["PING"]).unwrap(),
        redis::Value::SimpleString("PONG".into())
    );
}

#[test]
fn auth_and_requirepass() {
    let server = Server::start(&["--requirepass", "pw"]);
    let mut early = server.raw();
    let mut raw = server.raw();
    raw.roundtrip("PING\r\n", "-NOAUTH Authentication required.\r\n");
    raw.roundtrip("MULTI\r\n", "-NOAUTH Authentication required.\r\n");
    let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    raw.roundtrip("AUTH nope\r\n", wrongpass);
    raw.roundtrip("AUTH default nope\r\n", wrongpass);
    raw.roundtrip("AUTH someone pw\r\n", wrongpass);
    raw.roundtrip("AUTH a b c\r\n", "-ERR syntax error\r\n");
    raw.roundtrip("HELLO 3\r\n", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n");
    raw.roundtrip("AUTH pw\r\n", "+OK\r\n");
    raw.roundtrip("PING\r\n", "+PONG\r\n");
    raw.roundtrip("AUTH default pw\r\n", "+OK\r\n");
    // A failed AUTH does not log an authenticated client out.
    raw.roundtrip("AUTH nope\r\n", wrongpass);
    raw.roundtrip("PING\r\n", "+PONG\r\n");
    let mut hello = server.raw();
    hello.send(b"HELLO 2 AUTH default pw\r\n");
    assert!(hello.read_exact_len(4).starts_with("*14"));

    // Unauthenticated clients may only send small requests.
    let mut stranger = server.raw();
    stranger.send(b"*1\r\n$100000\r\n");
    assert_eq!(
        stranger.read_to_close(),
        "-ERR Protocol error: unauthenticated bulk length\r\n"
    );
    let mut stranger = server.raw();
    stranger.send(b"*1000\r\n");
    assert_eq!(
        stranger.read_to_close(),
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );

    // CONFIG SET requirepass applies to new connections; authenticated ones stay in.
    raw.roundtrip("CONFIG SET requirepass pw2\r\n", "+OK\r\n");
    raw.roundtrip("PING\r\n", "+PONG\r\n");
    let mut fresh = server.raw();
    fresh.roundtrip("AUTH pw\r\n", wrongpass);
    fresh.roundtrip("AUTH pw2\r\n", "+OK\r\n");
    // With the password cleared, everyone is in, including a client that never authenticated.
    early.roundtrip("PING\r\n", "-NOAUTH Authentication required.\r\n");
    raw.roundtrip(
        "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n$0\r\n\r\n",
        "+OK\r\n",
    );
    early.roundtrip("PING\r\n", "+PONG\r\n");
    early.roundtrip("AUTH x\r\n", "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n");
    early.roundtrip("AUTH default anything\r\n", "+OK\r\n");
}

/// This machine's address on a non-loopback interface, if it has one.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn protected_mode_refuses_remote_peers_without_a_password() {
    let Some(ip) = non_loopback_ip() else {
        eprintln!("SKIP protected mode: no non-loopback interface");
        return;
    };
    let connect = |port: u16| {
        let mut stream = std::net::TcpStream::connect((ip, port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        std::io::Write::write_all(&mut stream, b"PING\r\n").unwrap();
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let server = Server::start(&["--bind", "0.0.0.0"]);
    let got = connect(server.port);
    assert!(
        got.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.")
            && got.ends_with("NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n")
            && got.len() == 1067,
        "{got}"
    );
    // Loopback peers are served, and the refusal is counted.
    let mut conn = server.conn();
    assert_eq!(info_field(&mut conn, "rejected_connections"), 1);
    let server = Server::start(&["--bind", "0.0.0.0", "--protected-mode", "no"]);
    let stream = std::net::TcpStream::connect((ip, server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    Raw { stream }.roundtrip("PING\r\n", "+PONG\r\n");
    let server = Server::start(&["--bind", "0.0.0.0", "--requirepass", "pw"]);
    let stream = std::net::TcpStream::connect((ip, server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut raw = Raw { stream };
    raw.roundtrip("PING\r\n", "-NOAUTH Authentication required.\r\n");
}

/// Whether `raw` has any reply within `wait`.
fn has_reply(raw: &mut Raw, wait: Duration) -> bool {
    raw.stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    let got = match raw.stream.peek(&mut byte) {
        Ok(n) => n > 0,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(e) => panic!("{e}"),
    };
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    got
}

#[test]
fn client_pause_holds_commands_until_it_ends() {
    let server = Server::start(&[]);
    let mut admin = server.raw();
    let mut raw = server.raw();
    // WRITE: reads run, writes wait (with the input behind them), in order.
    admin.roundtrip("CLIENT PAUSE 100000 WRITE\r\n", "+OK\r\n");
    raw.roundtrip("GET x\r\n", "$-1\r\n");
    raw.send(b"SET x 1\r\nGET x\r\n");
    assert!(!has_reply(&mut raw, Duration::from_millis(300)));
    // Inside MULTI, queueing is not paused; EXEC of a writing transaction is.
    let mut tx = server.raw();
    tx.roundtrip("MULTI\r\n", "+OK\r\n");
    tx.roundtrip("SET y 2\r\n", "+QUEUED\r\n");
    tx.send(b"EXEC\r\n");
    assert!(!has_reply(&mut tx, Duration::from_millis(200)));
    admin.roundtrip("CLIENT UNPAUSE\r\n", "+OK\r\n");
    assert_eq!(raw.read_exact_len(12), "+OK\r\n$1\r\n1\r\n");
    assert_eq!(tx.read_exact_len(9), "*1\r\n+OK\r\n");

    // ALL: everything waits for the timeout, CLIENT UNPAUSE included.
    let started = Instant::now();
    admin.roundtrip("CLIENT PAUSE 700 ALL\r\n", "+OK\r\n");
    raw.send(b"PING\r\n");
    admin.send(b"CLIENT UNPAUSE\r\n");
    assert!(!has_reply(&mut raw, Duration::from_millis(200)));
    assert_eq!(raw.read_exact_len(7), "+PONG\r\n");
    assert_eq!(admin.read_exact_len(5), "+OK\r\n");
    assert!(started.elapsed() >= Duration::from_millis(500));

    // A second pause keeps the later end and the stricter mode.
    admin.roundtrip("CLIENT PAUSE 100000 WRITE\r\n", "+OK\r\n");
    admin.roundtrip("CLIENT PAUSE 10 ALL\r\n", "+OK\r\n");
    raw.send(b"PING\r\n");
    assert!(!has_reply(&mut raw, Duration::from_millis(300)));
    // A client that disconnects while its command waits is forgotten.
    drop(raw);
    drop(admin);
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = Server::start(&["--timeout", "1"]);
    let mut idle = server.raw();
    let mut busy = server.raw();
    idle.roundtrip("PING\r\n", "+PONG\r\n");
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        busy.roundtrip("PING\r\n", "+PONG\r\n");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_closed_by_server(&mut idle);
    busy.roundtrip("PING\r\n", "+PONG\r\n");
}

#[test]
fn output_buffer_limit_closes_clients_that_do_not_read() {
    let server = Server::start(&[]);
    let mut conn = server.conn();
    cmd(
        &mut conn,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1mb 0 0",
        ],
    )
    .unwrap();
    cmd(&mut conn, &["SET", "big", &"x".repeat(100_000)]).unwrap();
    let mut slow = server.raw();
    let request = "GET big\r\n".repeat(2000);
    slow.send(request.as_bytes());
    // Wait for the server to give up on it, then drain what reached the socket.
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&mut conn, "client_output_buffer_limit_disconnections") == 0 {
        assert!(Instant::now() < deadline, "the slow client was not closed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let got = slow.read_to_close();
    assert!(got.len() < 2000 * 100_000, "{}", got.len());
    assert_eq!(
        cmd(&mut conn, &["CLIENT", "LIST"]).map(|_| ()).ok(),
        Some(())
    );
    let text = err(
        &mut conn,
        &["CONFIG", "SET", "client-output-buffer-limit", "bogus 1 2 3"],
    );
    assert!(text.starts_with("ERR"), "{text}");
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let server = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut raw = server.raw();
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n");
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < 2_000_000 {
        if std::io::Write::write_all(&mut raw.stream, &chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert_closed_by_server(&mut raw);
    let mut conn = server.conn();
    assert_eq!(
        cmd(&mut conn, &["EXISTS", "k"]).unwrap(),
        redis::Value::Int(0)
    );
}
