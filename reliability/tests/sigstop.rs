//! SIGSTOP/SIGCONT: of the server under write load (clients wait and resume, nothing acknowledged is lost), and
//! of clients that stop reading (a `redis-cli` subscriber stopped with SIGSTOP, a pipelining client that never
//! reads): the server keeps serving others and applies `client-output-buffer-limit` as Redis does.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zedis_reliability::{info_field, Kind, RssSampler, ServerProcess, TempDir, Writers};

#[test]
fn server_sigstop_under_load_then_sigcont_loses_nothing() {
    for kind in Kind::available() {
        let dir = TempDir::new("sigstop");
        let args = ["--appendonly", "yes", "--appendfsync", "everysec"];
        let mut server = ServerProcess::start(kind, dir.path(), &args).unwrap();
        let writers = Writers::start(server.port, 4, "w");
        std::thread::sleep(Duration::from_millis(1000));
        server.signal(libc::SIGSTOP);
        // Each writer has at most one command in flight: after a moment nothing more can be acknowledged.
        std::thread::sleep(Duration::from_millis(1000));
        let frozen = writers.total();
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            writers.total(),
            frozen,
            "{}: acks while stopped",
            kind.name()
        );
        server.signal(libc::SIGCONT);
        let resumed = Instant::now() + Duration::from_secs(60);
        while writers.total() < frozen + 100 && Instant::now() < resumed {
            std::thread::sleep(Duration::from_millis(50));
        }
        let acked = writers.finish();
        let total = acked.total();
        assert!(
            total >= frozen + 100,
            "{}: clients did not resume",
            kind.name()
        );
        assert_eq!(acked.errors, 0, "{}: a client saw an error", kind.name());
        assert_eq!(acked.missing(&mut server.conn()), 0, "{}", kind.name());
        server.restart().unwrap();
        let lost = acked.missing(&mut server.conn());
        assert_eq!(
            lost,
            0,
            "{}: {lost} of {total} lost after kill -9",
            kind.name()
        );
    }
}

/// A `redis-cli` subscribed to `channel`, stopped with SIGSTOP once subscribed; killed on drop.
struct StoppedSubscriber(Child);

impl StoppedSubscriber {
    fn start(server: &ServerProcess, channel: &str) -> Option<StoppedSubscriber> {
        let child = Command::new("redis-cli")
            .args(["-p", &server.port.to_string(), "SUBSCRIBE", channel])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            eprintln!("note: redis-cli not found: stopped-subscriber test skipped");
            return None;
        };
        let mut conn = server.conn();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let numsub: (String, u64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(channel)
                .query(&mut conn)
                .unwrap();
            if numsub.1 == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "redis-cli did not subscribe");
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGSTOP) };
        Some(StoppedSubscriber(child))
    }
}

impl Drop for StoppedSubscriber {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pings in the background; counts the replies (the server must keep serving others).
struct Pinger {
    served: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<bool>,
}

impl Pinger {
    fn start(server: &ServerProcess) -> Pinger {
        let served = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut conn = server.conn();
        let thread = {
            let (served, stop) = (Arc::clone(&served), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let pong: redis::RedisResult<String> = redis::cmd("PING").query(&mut conn);
                    if pong.as_deref() != Ok("PONG") {
                        return false;
                    }
                    served.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
                true
            })
        };
        Pinger {
            served,
            stop,
            thread,
        }
    }

    /// Stops; (all replies were PONG, how many).
    fn finish(self) -> (bool, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let ok = self.thread.join().unwrap_or(false);
        (ok, self.served.load(Ordering::Relaxed))
    }
}

fn used_memory(conn: &mut redis::Connection) -> u64 {
    info_field(conn, "memory", "used_memory")
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// What happened to a stopped subscriber under a flood: (disconnected, PUBSUB NUMSUB afterwards,
/// connected_clients afterwards, published MB before the disconnect, peak RSS growth MB).
fn stopped_subscriber_flood(kind: Kind) -> Option<(bool, u64, String, u64, u64)> {
    let dir = TempDir::new("stopped-sub");
    let args = ["--client-output-buffer-limit", "pubsub", "4mb", "0", "0"];
    let server = ServerProcess::start(kind, dir.path(), &args).unwrap();
    let subscriber = StoppedSubscriber::start(&server, "ch")?;
    let mut conn = server.conn();
    let rss_before = server.rss_bytes();
    let sampler = RssSampler::start(server.pid());
    let pinger = Pinger::start(&server);
    let payload = "p".repeat(16 * 1024);
    let mut published = 0u64;
    let mut disconnected = false;
    while published < 400 << 20 {
        let mut pipe = redis::pipe();
        for _ in 0..64 {
            pipe.cmd("PUBLISH").arg("ch").arg(&payload);
        }
        let receivers: Vec<u64> = pipe.query(&mut conn).unwrap();
        published += 64 * payload.len() as u64;
        if receivers.last() == Some(&0) {
            disconnected = true;
            break;
        }
    }
    let (pings_ok, pings) = pinger.finish();
    let peak = sampler.finish();
    assert!(pings_ok && pings > 0, "{}: others not served", kind.name());
    let numsub: (String, u64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("ch")
        .query(&mut conn)
        .unwrap();
    // The pinger's connection is closing: wait (with a wide margin) until only this one is left.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut clients = info_field(&mut conn, "clients", "connected_clients").unwrap();
    while clients != "1" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        clients = info_field(&mut conn, "clients", "connected_clients").unwrap();
    }
    if kind == Kind::Zedis {
        let counted = info_field(
            &mut conn,
            "stats",
            "client_output_buffer_limit_disconnections",
        );
        assert_eq!(counted.as_deref(), Some("1"));
    }
    drop(subscriber);
    Some((
        disconnected,
        numsub.1,
        clients,
        published >> 20,
        peak.saturating_sub(rss_before) >> 20,
    ))
}

#[test]
fn stopped_subscriber_is_disconnected_at_the_pubsub_limit_as_redis() {
    let mut outcomes = Vec::new();
    for kind in Kind::available() {
        let Some(outcome) = stopped_subscriber_flood(kind) else {
            return;
        };
        eprintln!(
            "{}: disconnected {}, numsub {}, clients {}, {} MB published before, peak RSS +{} MB",
            kind.name(),
            outcome.0,
            outcome.1,
            outcome.2,
            outcome.3,
            outcome.4
        );
        outcomes.push(outcome);
    }
    let zedis = &outcomes[0];
    assert!(zedis.0, "the stopped subscriber was never disconnected");
    assert_eq!(zedis.1, 0);
    // Socket buffers plus the 4 MB limit: far less than what was published when unbounded.
    assert!(
        zedis.3 < 200,
        "{} MB published before the disconnect",
        zedis.3
    );
    assert!(zedis.4 < 100, "peak RSS grew by {} MB", zedis.4);
    if let Some(redis) = outcomes.get(1) {
        assert_eq!((zedis.0, zedis.1, &zedis.2), (redis.0, redis.1, &redis.2));
    }
}

/// A client pipelines `GET big` (1 MB) without reading: (closed by the server, others served, used_memory back
/// within 2 MB of before and the fd count back, peak RSS growth MB).
fn non_reading_pipeline(kind: Kind, limit: &[&str], requests: usize) -> (bool, bool, bool, u64) {
    let dir = TempDir::new("no-read");
    let mut args = vec!["--client-output-buffer-limit"];
    args.extend_from_slice(limit);
    let server = ServerProcess::start(kind, dir.path(), &args).unwrap();
    let mut conn = server.conn();
    redis::cmd("SET")
        .arg("big")
        .arg("b".repeat(1 << 20))
        .query::<()>(&mut conn)
        .unwrap();
    let before = used_memory(&mut conn);
    let fds = server.fd_count();
    let rss_before = server.rss_bytes();
    let sampler = RssSampler::start(server.pid());
    let pinger = Pinger::start(&server);
    let mut raw = server.raw();
    let sender = {
        let mut stream = raw.stream.try_clone().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            for _ in 0..requests {
                if stream.write_all(b"GET big\r\n").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    // Never read: the server either closes us (limit) or its buffers keep the replies.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut closed = false;
    while Instant::now() < deadline {
        let clients: u64 = info_field(&mut conn, "clients", "connected_clients")
            .and_then(|v| v.parse().ok())
            .unwrap();
        if clients <= 2 {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = sender.join();
    let (pings_ok, pings) = pinger.finish();
    let peak = sampler.finish();
    let after = used_memory(&mut conn);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.fd_count() > fds && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = raw.send(b"PING\r\n");
    (
        closed,
        pings_ok && pings > 0,
        after < before + (2 << 20) && server.fd_count() <= fds,
        peak.saturating_sub(rss_before) >> 20,
    )
}

#[test]
fn non_reading_client_is_disconnected_at_the_normal_hard_limit_as_redis() {
    let mut outcomes = Vec::new();
    for kind in Kind::available() {
        let outcome = non_reading_pipeline(kind, &["normal", "8mb", "0", "0"], 400);
        eprintln!("{} hard: {outcome:?}", kind.name());
        outcomes.push(outcome);
    }
    assert!(
        outcomes[0].0 && outcomes[0].1 && outcomes[0].2,
        "{:?}",
        outcomes[0]
    );
    assert!(outcomes[0].3 < 150, "peak RSS grew by {} MB", outcomes[0].3);
    if let Some(redis) = outcomes.get(1) {
        assert_eq!(outcomes[0].0, redis.0);
    }
}

#[test]
fn non_reading_client_is_disconnected_at_the_normal_soft_limit_as_redis() {
    let mut outcomes = Vec::new();
    for kind in Kind::available() {
        // 30 MB of replies: far past the 2 MB soft limit once the socket buffers are full, for over 2 s.
        let outcome = non_reading_pipeline(kind, &["normal", "0", "2mb", "2"], 30);
        eprintln!("{} soft: {outcome:?}", kind.name());
        outcomes.push(outcome);
    }
    assert!(
        outcomes[0].0 && outcomes[0].1 && outcomes[0].2,
        "{:?}",
        outcomes[0]
    );
    if let Some(redis) = outcomes.get(1) {
        assert_eq!(outcomes[0].0, redis.0);
    }
}

/// Subscribers that never read, in the forms Redis classes as `pubsub` (RESP2 SUBSCRIBE, RESP3 SUBSCRIBE, RESP2
/// SSUBSCRIBE only, PSUBSCRIBE): each is disconnected at the pubsub hard limit while the normal class is
/// unlimited. Returns, per form, whether it was disconnected.
fn non_reading_subscribers(kind: Kind) -> Vec<(&'static str, bool)> {
    let dir = TempDir::new("sub-classes");
    let args = ["--client-output-buffer-limit", "pubsub", "2mb", "0", "0"];
    let server = ServerProcess::start(kind, dir.path(), &args).unwrap();
    let forms: [(&str, &[&str]); 4] = [
        ("RESP2 SUBSCRIBE", &["SUBSCRIBE ch\r\n"]),
        ("RESP3 SUBSCRIBE", &["HELLO 3\r\n", "SUBSCRIBE ch\r\n"]),
        ("SSUBSCRIBE only", &["SSUBSCRIBE ch\r\n"]),
        ("PSUBSCRIBE", &["PSUBSCRIBE c*\r\n"]),
    ];
    let mut subscribers: Vec<zedis_reliability::Raw> = forms
        .iter()
        .map(|(_, setup)| {
            let mut raw = server.raw();
            for request in *setup {
                raw.call(request);
            }
            raw
        })
        .collect();
    let mut conn = server.conn();
    let payload = "p".repeat(16 * 1024);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut published = 0u64;
    // Until every subscriber is gone (at most 400 MB to each kind of channel).
    while published < 400 << 20 && Instant::now() < deadline {
        let mut pipe = redis::pipe();
        for _ in 0..32 {
            pipe.cmd("PUBLISH").arg("ch").arg(&payload);
            pipe.cmd("SPUBLISH").arg("ch").arg(&payload);
        }
        let receivers: Vec<u64> = pipe.query(&mut conn).unwrap();
        published += 32 * payload.len() as u64;
        if receivers[receivers.len() - 2..] == [0, 0] {
            break;
        }
    }
    forms
        .iter()
        .zip(&mut subscribers)
        .map(|((name, _), raw)| {
            // Whatever was in the socket buffers arrives, then the close.
            let closed = raw.closed_within(Duration::from_secs(30));
            (*name, closed)
        })
        .collect()
}

#[test]
fn every_kind_of_subscriber_is_held_to_the_pubsub_limit_as_redis() {
    let mut seen = Vec::new();
    for kind in Kind::available() {
        let outcome = non_reading_subscribers(kind);
        eprintln!("{}: {outcome:?}", kind.name());
        seen.push(outcome);
    }
    assert!(seen[0].iter().all(|(_, closed)| *closed), "{:?}", seen[0]);
    if let Some(redis) = seen.get(1) {
        assert_eq!(&seen[0], redis);
    }
}
