//! `timeout N`: which idle clients the server closes, compared with redis-server.
//!
//! Redis's rule (7.0.15 `clientsCronHandleTimeout`, src/timeout.c): a client is closed when it has not
//! interacted for more than `timeout` seconds, unless it is a replica or master, blocked (BLPOP and the like,
//! also a command postponed by CLIENT PAUSE), or has any channel, pattern or shard-channel subscription (`CLIENT_PUBSUB`, set in RESP2
//! and RESP3 alike). A client inside MULTI is not exempt. The connection is closed without a reply.

use std::time::Duration;
use zedis_reliability::wire::Outcome;
use zedis_reliability::{Kind, Raw, ServerProcess, TempDir};

/// A client set up in some state, and whether Redis's rule exempts it from the idle timeout.
struct Case {
    name: &'static str,
    raw: Raw,
    exempt: bool,
}

fn case(server: &ServerProcess, name: &'static str, setup: &[&str], exempt: bool) -> Case {
    let mut raw = server.raw();
    for request in setup {
        raw.call(request);
    }
    Case { name, raw, exempt }
}

/// (case, closed by the server) for every case, in order.
fn idle_outcomes(kind: Kind) -> Vec<(&'static str, bool)> {
    let dir = TempDir::new("idle");
    let server = ServerProcess::start(kind, dir.path(), &["--timeout", "2"]).unwrap();
    let mut cases = vec![
        case(&server, "plain idle", &["PING\r\n"], false),
        case(&server, "never sent anything", &[], false),
        case(
            &server,
            "inside MULTI",
            &["MULTI\r\n", "SET k v\r\n"],
            false,
        ),
        case(
            &server,
            "unsubscribed again",
            &["SUBSCRIBE c\r\n", "UNSUBSCRIBE c\r\n"],
            false,
        ),
        case(&server, "SUBSCRIBE", &["SUBSCRIBE c\r\n"], true),
        case(&server, "PSUBSCRIBE", &["PSUBSCRIBE p*\r\n"], true),
        case(
            &server,
            "RESP3 SUBSCRIBE",
            &["HELLO 3\r\n", "SUBSCRIBE c\r\n"],
            true,
        ),
    ];
    // Blocked: no reply yet, so they are sent without waiting.
    for (name, request) in [
        ("BLPOP forever", "BLPOP blocked 0\r\n"),
        ("BLPOP 60 s", "BLPOP blocked2 60\r\n"),
        ("BZPOPMIN forever", "BZPOPMIN zblocked 0\r\n"),
        (
            "XREAD BLOCK forever",
            "XREAD BLOCK 0 STREAMS sblocked $\r\n",
        ),
    ] {
        let mut raw = server.raw();
        raw.send(request.as_bytes()).unwrap();
        cases.push(Case {
            name,
            raw,
            exempt: true,
        });
    }
    // Postponed by CLIENT PAUSE WRITE (Redis blocks it with BLOCKED_POSTPONE, so it is exempt).
    let mut pauser = server.raw();
    assert_eq!(pauser.call("CLIENT PAUSE 120000 WRITE\r\n"), "+OK\r\n");
    let mut raw = server.raw();
    raw.send(b"SET paused v\r\n").unwrap();
    cases.push(Case {
        name: "postponed by CLIENT PAUSE",
        raw,
        exempt: true,
    });
    cases.push(Case {
        name: "the pausing client",
        raw: pauser,
        exempt: false,
    });
    let mut outcomes = vec![None; cases.len()];
    // The ones Redis closes go first (each wait ends as soon as the close arrives)...
    for (i, case) in cases.iter_mut().enumerate().filter(|(_, c)| !c.exempt) {
        let closed = case.raw.closed_within(Duration::from_secs(30));
        outcomes[i] = Some(closed);
    }
    // ...then the exempt ones have had well over `timeout` idle seconds too.
    std::thread::sleep(Duration::from_secs(3));
    for (i, case) in cases.iter_mut().enumerate().filter(|(_, c)| c.exempt) {
        outcomes[i] = Some(matches!(
            case.raw.watch(Duration::from_millis(50)),
            Outcome::Closed(_)
        ));
    }
    // A blocked client served by a push is idle from then on, and is closed.
    let mut pusher = server.raw();
    assert_eq!(pusher.call("CLIENT UNPAUSE\r\n"), "+OK\r\n");
    assert_eq!(pusher.call("LPUSH blocked v\r\n"), ":1\r\n");
    let served = cases
        .iter_mut()
        .find(|c| c.name == "BLPOP forever")
        .unwrap();
    let after_push = match served.raw.watch(Duration::from_secs(30)) {
        Outcome::Closed(bytes) => bytes == b"*2\r\n$7\r\nblocked\r\n$1\r\nv\r\n",
        Outcome::Open(_) => false,
    };
    cases
        .iter()
        .zip(outcomes)
        .map(|(c, closed)| (c.name, closed.unwrap()))
        .chain([("BLPOP served, then idle", after_push)])
        .collect()
}

#[test]
fn idle_timeout_closes_the_clients_redis_closes() {
    let mut seen = Vec::new();
    for kind in Kind::available() {
        let outcomes = idle_outcomes(kind);
        eprintln!("{}: {outcomes:?}", kind.name());
        seen.push(outcomes);
    }
    let expected: Vec<(&str, bool)> = vec![
        ("plain idle", true),
        ("never sent anything", true),
        ("inside MULTI", true),
        ("unsubscribed again", true),
        ("SUBSCRIBE", false),
        ("PSUBSCRIBE", false),
        ("RESP3 SUBSCRIBE", false),
        ("BLPOP forever", false),
        ("BLPOP 60 s", false),
        ("BZPOPMIN forever", false),
        ("XREAD BLOCK forever", false),
        ("postponed by CLIENT PAUSE", false),
        ("the pausing client", true),
        ("BLPOP served, then idle", true),
    ];
    if let Some(redis) = seen.get(1) {
        assert_eq!(redis, &expected, "the reference itself");
    }
    assert_eq!(seen[0], expected);
}

/// A client that keeps talking is never closed, however long it stays connected.
#[test]
fn active_client_is_never_timed_out() {
    let dir = TempDir::new("active");
    let server = ServerProcess::start(Kind::Zedis, dir.path(), &["--timeout", "1"]).unwrap();
    let mut raw = server.raw();
    for _ in 0..20 {
        assert_eq!(raw.call("PING\r\n"), "+PONG\r\n");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Redis exempts a client whose only subscriptions are shard channels (`CLIENT_PUBSUB` is set by SSUBSCRIBE
/// too). Zedis (at this commit) closes it: its idle check (`cron_clients` in server/src/server/net.rs) tests
/// `subscriptions == 0` and ignores `shard_subscriptions`.
#[test]
fn idle_timeout_spares_shard_subscribers() {
    for kind in Kind::available() {
        let dir = TempDir::new("idle-shard");
        let server = ServerProcess::start(kind, dir.path(), &["--timeout", "2"]).unwrap();
        let mut plain = server.raw();
        let mut shard = server.raw();
        assert_eq!(
            shard.call("SSUBSCRIBE s\r\n"),
            "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n"
        );
        assert!(
            plain.closed_within(Duration::from_secs(30)),
            "{}",
            kind.name()
        );
        std::thread::sleep(Duration::from_secs(3));
        let outcome = shard.watch(Duration::from_millis(50));
        assert_eq!(outcome, Outcome::Open(Vec::new()), "{}", kind.name());
    }
}
