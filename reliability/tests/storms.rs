//! Connection storms and hostile protocol input: thousands of connections opened and closed, half-sent commands
//! closed with RST, clients declaring huge bulks or multibulk counts and then stalling, `maxclients`. The server
//! must stay up, keep serving others, keep memory bounded and give its fds back; reply texts are Redis's.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use zedis_reliability::wire::Outcome;
use zedis_reliability::{info_field, Kind, Raw, RssSampler, ServerProcess, TempDir};

fn clients(conn: &mut redis::Connection) -> u64 {
    info_field(conn, "clients", "connected_clients")
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Waits until `connected_clients` is `want` (a closed socket is noticed on the server's next turn).
fn wait_clients(conn: &mut redis::Connection, want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = clients(conn);
        if now == want || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn used_memory(conn: &mut redis::Connection) -> u64 {
    info_field(conn, "memory", "used_memory")
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// One storm connection, by number: a PING answered, a plain close, or a SET then RST; false if it could not
/// connect.
fn storm_connection(port: u16, n: usize) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    match n % 3 {
        0 => {
            let _ = stream.write_all(b"PING\r\n");
            let mut buf = [0u8; 7];
            let _ = stream.read_exact(&mut buf);
        }
        1 => {}
        _ => {
            // A whole command, then RST before its reply is read. (Half a command then RST is
            // `half_sent_command_then_close_frees_the_client`.)
            let _ = stream.write_all(b"*3\r\n$3\r\nSET\r\n$5\r\nrst-k\r\n$1\r\nv\r\n");
            Raw::from_stream(stream).reset();
        }
    }
    true
}

/// `8 * per_thread` connections from 8 threads while `conn` keeps being served; returns how many connected.
fn storm(server: &ServerProcess, conn: &mut redis::Connection, per_thread: usize) -> u64 {
    let port = server.port;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                (0..per_thread)
                    .filter(|i| storm_connection(port, t * per_thread + i))
                    .count() as u64
            })
        })
        .collect();
    for _ in 0..20 {
        let pong: String = redis::cmd("PING").query(conn).unwrap();
        assert_eq!(pong, "PONG");
        std::thread::sleep(Duration::from_millis(20));
    }
    threads.into_iter().map(|t| t.join().unwrap()).sum()
}

#[test]
fn connection_storm_leaves_no_fd_or_memory_behind() {
    for kind in Kind::available() {
        let dir = TempDir::new("storm");
        let server = ServerProcess::start(kind, dir.path(), &[]).unwrap();
        let mut conn = server.conn();
        let fds = server.fd_count();
        let rss = server.rss_bytes();
        let sampler = RssSampler::start(server.pid());
        // Two storms: what the first leaves (pool growth, allocator caches) the second must not add to.
        let mut memory = Vec::new();
        let mut connected = 0;
        for _ in 0..2 {
            memory.push(used_memory(&mut conn));
            connected += storm(&server, &mut conn, 250);
            let left = wait_clients(&mut conn, 1);
            if left != 1 {
                let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut conn).unwrap();
                panic!("{}: {left} clients left:\n{list}", kind.name());
            }
        }
        let peak = sampler.finish();
        let received: u64 = info_field(&mut conn, "stats", "total_connections_received")
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(
            connected >= 3000,
            "{}: only {connected} connected",
            kind.name()
        );
        let rejected = info_field(&mut conn, "stats", "rejected_connections").unwrap();
        // Redis 7.0 counts a connection already reset when it accepts it as rejected, not received: the
        // protected-mode check in `clientAcceptHandler` cannot read a reset socket's peer address, so it takes it
        // as non-local. Zedis counts it as received.
        if kind == Kind::Zedis {
            assert!(received > connected, "{received} received");
            assert_eq!(rejected, "0");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.fd_count() > fds && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(server.fd_count() <= fds, "{}: fds leaked", kind.name());
        let after = used_memory(&mut conn);
        eprintln!(
            "{}: {connected} connections; used_memory {memory:?} -> {after}, peak RSS +{} KB, fds {fds} -> {}",
            kind.name(),
            peak.saturating_sub(rss) >> 10,
            server.fd_count()
        );
        let memory = memory[1];
        assert!(after < memory + (1 << 20), "{}: memory kept", kind.name());
        assert!(
            peak < rss + (64 << 20),
            "{}: RSS grew by {}",
            kind.name(),
            peak - rss
        );
    }
}

/// The exact bytes a connection gets for `request` and whether the server then closes it.
fn refusal(server: &ServerProcess, request: &[u8]) -> (String, bool) {
    let mut raw = server.raw();
    raw.send(request).unwrap();
    match raw.watch(Duration::from_secs(5)) {
        Outcome::Closed(bytes) => (String::from_utf8_lossy(&bytes).into_owned(), true),
        Outcome::Open(bytes) => (String::from_utf8_lossy(&bytes).into_owned(), false),
    }
}

#[test]
fn protocol_limit_errors_are_redis_texts() {
    let cases: [(&[&str], &[u8]); 5] = [
        (&[], b"*2\r\n$3\r\nGET\r\n$1073741824\r\n"),
        (&[], b"*2147483648\r\n"),
        (&[], b"*2\r\n$3\r\nGET\r\n$-5\r\n"),
        (&["--requirepass", "pw"], b"*11\r\n"),
        (&["--requirepass", "pw"], b"*2\r\n$3\r\nGET\r\n$16385\r\n"),
    ];
    let mut seen = Vec::new();
    for kind in Kind::available() {
        let dir = TempDir::new("proto");
        let mut per_kind = Vec::new();
        for (args, request) in cases {
            let server = ServerProcess::start(kind, dir.path(), args).unwrap();
            per_kind.push(refusal(&server, request));
        }
        eprintln!("{}: {per_kind:?}", kind.name());
        seen.push(per_kind);
    }
    assert_eq!(
        seen[0][0],
        (
            "-ERR Protocol error: invalid bulk length\r\n".to_string(),
            true
        )
    );
    assert_eq!(
        seen[0][1],
        (
            "-ERR Protocol error: invalid multibulk length\r\n".to_string(),
            true
        )
    );
    if let Some(redis) = seen.get(1) {
        assert_eq!(&seen[0], redis);
    }
}

/// `count` clients each send `header` and stall: the server stays up, serves others, and its memory stays
/// bounded; when they leave, used_memory is back. Returns (peak RSS growth, used_memory growth while stalled).
fn stalled_clients(kind: Kind, header: &[u8], count: usize) -> (u64, u64) {
    let dir = TempDir::new("stall");
    let server = ServerProcess::start(kind, dir.path(), &[]).unwrap();
    let mut conn = server.conn();
    let memory = used_memory(&mut conn);
    let rss = server.rss_bytes();
    let sampler = RssSampler::start(server.pid());
    let mut stalled: Vec<Raw> = (0..count).map(|_| server.raw()).collect();
    for raw in &mut stalled {
        raw.send(header).unwrap();
    }
    assert_eq!(wait_clients(&mut conn, count as u64 + 1), count as u64 + 1);
    redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query::<()>(&mut conn)
        .unwrap();
    let got: String = redis::cmd("GET").arg("k").query(&mut conn).unwrap();
    assert_eq!(got, "v", "{}: others served", kind.name());
    let held = used_memory(&mut conn).saturating_sub(memory);
    for raw in &mut stalled {
        // Still open and silent: waiting for the rest, as Redis does.
        assert_eq!(
            raw.watch(Duration::from_millis(10)),
            Outcome::Open(Vec::new())
        );
    }
    drop(stalled);
    assert_eq!(wait_clients(&mut conn, 1), 1);
    let peak = sampler.finish();
    let after = used_memory(&mut conn);
    assert!(
        after < memory + (1 << 20),
        "{}: {memory} -> {after}",
        kind.name()
    );
    (peak.saturating_sub(rss), held)
}

#[test]
fn stalled_huge_bulk_headers_keep_memory_bounded() {
    // 512 MB is proto-max-bulk-len: a legal header; 1000 bytes of it arrive, then nothing.
    let mut header = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n".to_vec();
    header.extend_from_slice(&[b'z'; 1000]);
    for kind in Kind::available() {
        let (rss, held) = stalled_clients(kind, &header, 20);
        eprintln!(
            "{}: 20 stalled 512 MB bulks: peak RSS +{} MB, used_memory +{} KB",
            kind.name(),
            rss >> 20,
            held >> 10
        );
        assert!(
            rss < 128 << 20,
            "{}: RSS grew by {} MB",
            kind.name(),
            rss >> 20
        );
    }
}

#[test]
fn stalled_huge_multibulk_counts_keep_memory_bounded() {
    for kind in Kind::available() {
        let (rss, held) = stalled_clients(kind, b"*2147483647\r\n$3\r\nSET\r\n", 200);
        eprintln!(
            "{}: 200 stalled 2^31-1 multibulks: peak RSS +{} MB, used_memory +{} KB",
            kind.name(),
            rss >> 20,
            held >> 10
        );
        assert!(
            rss < 128 << 20,
            "{}: RSS grew by {} MB",
            kind.name(),
            rss >> 20
        );
    }
}

#[test]
fn maxclients_refuses_with_redis_text() {
    let mut seen = Vec::new();
    for kind in Kind::available() {
        let dir = TempDir::new("maxclients");
        let server = ServerProcess::start(kind, dir.path(), &["--maxclients", "10"]).unwrap();
        // This connection and 9 more fill the 10 slots (once the startup probe's close is seen).
        let mut conn = server.conn();
        assert_eq!(wait_clients(&mut conn, 1), 1);
        let mut held: Vec<Raw> = (0..9).map(|_| server.raw()).collect();
        for raw in &mut held {
            assert_eq!(raw.call("PING\r\n"), "+PONG\r\n");
        }
        let refused: Vec<(String, bool)> = (0..3)
            .map(|_| {
                let mut raw = server.raw();
                let _ = raw.send(b"PING\r\n");
                match raw.watch(Duration::from_secs(5)) {
                    Outcome::Closed(b) => (String::from_utf8_lossy(&b).into_owned(), true),
                    Outcome::Open(b) => (String::from_utf8_lossy(&b).into_owned(), false),
                }
            })
            .collect();
        drop(held);
        let rejected = info_field(&mut conn, "stats", "rejected_connections").unwrap();
        let outcome = (refused, rejected);
        eprintln!("{}: {outcome:?}", kind.name());
        seen.push(outcome);
    }
    let expected = ("-ERR max number of clients reached\r\n".to_string(), true);
    assert_eq!(seen[0].0, vec![expected; 3]);
    assert_eq!(seen[0].1, "3");
    if let Some(redis) = seen.get(1) {
        assert_eq!(&seen[0], redis);
    }
}

/// 90 connections that send data and close at once, so the data and the close arrive together: half a
/// command then RST, half a command then close (FIN), a whole PING then `shutdown(SHUT_WR)`. Returns (clients
/// left after the server had 60 s to notice, whether the half command ran).
fn data_then_close(kind: Kind) -> (u64, bool) {
    let dir = TempDir::new("half");
    let server = ServerProcess::start(kind, dir.path(), &[]).unwrap();
    let mut conn = server.conn();
    let mut half_closed = Vec::new();
    for i in 0..90 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        if i % 3 == 2 {
            stream.write_all(b"PING\r\n").unwrap();
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            half_closed.push(stream);
            continue;
        }
        stream
            .write_all(b"*3\r\n$3\r\nSET\r\n$5\r\nhalf-\r\n$100\r\nonly part of it")
            .unwrap();
        if i % 3 == 0 {
            Raw::from_stream(stream).reset();
        } else {
            drop(stream);
        }
    }
    let left = wait_clients(&mut conn, 1) - 1;
    let half: Option<String> = redis::cmd("GET").arg("half-").query(&mut conn).unwrap();
    (left, half.is_some())
}

/// Redis reads until EOF or an error and frees the client. Zedis (at this commit) keeps every one of these
/// clients (`connected_clients` stays at 91, their fds and query buffers held) because `read_client` stops at a
/// short read and, with edge-triggered polling, the EOF/RST that came with the data raises no further event.
#[test]
fn data_then_close_frees_the_client() {
    for kind in Kind::available() {
        let (left, ran) = data_then_close(kind);
        eprintln!("{}: {left} of 90 clients left", kind.name());
        assert_eq!((left, ran), (0, false), "{}", kind.name());
    }
}

/// 20 storms of 2,000 connections against Zedis (heavy on the machine's ports: `scripts/faults.sh` runs it):
/// clients, fds and used_memory come back to where they were after the first storm, every time.
#[test]
#[ignore = "heavy (40,000 connections): run by scripts/faults.sh"]
fn soak_connection_storms() {
    let dir = TempDir::new("soak-storm");
    let server = ServerProcess::start(Kind::Zedis, dir.path(), &[]).unwrap();
    let mut conn = server.conn();
    let fds = server.fd_count();
    let rss = server.rss_bytes();
    let sampler = RssSampler::start(server.pid());
    storm(&server, &mut conn, 250);
    assert_eq!(wait_clients(&mut conn, 1), 1);
    let settled = used_memory(&mut conn);
    let mut connected = 0;
    for round in 0..20 {
        connected += storm(&server, &mut conn, 250);
        assert_eq!(wait_clients(&mut conn, 1), 1, "round {round}");
        let now = used_memory(&mut conn);
        assert!(
            now <= settled + (256 << 10),
            "round {round}: {settled} -> {now}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.fd_count() > fds && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.fd_count() <= fds, "fds leaked");
    let peak = sampler.finish();
    eprintln!(
        "{connected} connections: used_memory {settled} after the first storm, {} at the end; peak RSS +{} KB",
        used_memory(&mut conn),
        peak.saturating_sub(rss) >> 10
    );
}

/// 200 connections held at once against `maxclients 50`: (answered PONG, refused with Redis's text then closed,
/// rejected_connections, clients after all closed, fds back to the baseline).
fn over_maxclients(kind: Kind) -> (usize, usize, String, u64, bool) {
    let dir = TempDir::new("maxclients-storm");
    let server = ServerProcess::start(kind, dir.path(), &["--maxclients", "50"]).unwrap();
    let mut conn = server.conn();
    assert_eq!(wait_clients(&mut conn, 1), 1);
    let fds = server.fd_count();
    let mut held: Vec<Raw> = (0..200).map(|_| server.raw()).collect();
    let (mut served, mut refused) = (0, 0);
    for raw in &mut held {
        let _ = raw.send(b"PING\r\n");
        let refusal = b"-ERR max number of clients reached\r\n";
        match raw.watch_for(7, Duration::from_secs(10)) {
            Outcome::Open(bytes) if bytes == b"+PONG\r\n" => served += 1,
            // The refusal, then the close.
            Outcome::Open(bytes) | Outcome::Closed(bytes) if refusal.starts_with(&bytes) => {
                let rest = match raw.watch(Duration::from_secs(10)) {
                    Outcome::Closed(rest) => rest,
                    Outcome::Open(rest) => panic!("{}: left open after {rest:?}", kind.name()),
                };
                assert_eq!([bytes, rest].concat(), refusal, "{}", kind.name());
                refused += 1;
            }
            other => panic!("{}: {other:?}", kind.name()),
        }
    }
    let rejected = info_field(&mut conn, "stats", "rejected_connections").unwrap();
    drop(held);
    let left = wait_clients(&mut conn, 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.fd_count() > fds && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    (served, refused, rejected, left, server.fd_count() <= fds)
}

#[test]
fn maxclients_storm_refuses_the_excess_and_recovers_as_redis() {
    let mut seen = Vec::new();
    for kind in Kind::available() {
        let outcome = over_maxclients(kind);
        eprintln!("{}: {outcome:?}", kind.name());
        seen.push(outcome);
    }
    assert_eq!(seen[0], (49, 151, "151".to_string(), 1, true));
    if let Some(redis) = seen.get(1) {
        assert_eq!(&seen[0], redis);
    }
}
