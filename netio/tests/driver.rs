//! The driver on its own, without the ping application: probe, tick, waker, ids, output limit.

mod support;

use std::io::{IoSlice, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use support::{connect, WAIT};
use zedis_netio::{probe, CloseReason, DriverConfig, Event, NetioError, UringDriver};

fn driver(config: DriverConfig) -> Option<UringDriver> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    match UringDriver::new(listener, config) {
        Ok(d) => Some(d),
        Err(NetioError::Unavailable(e)) => {
            eprintln!("note: io_uring unavailable here ({e}); skipping");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// Turns until `pick` finds something in the events, or WAIT passes.
fn turn_until<T>(d: &mut UringDriver, mut pick: impl FnMut(&mut Vec<Event>) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    let mut events = Vec::new();
    loop {
        d.turn(Some(Duration::from_millis(50)), &mut events)
            .unwrap();
        if let Some(found) = pick(&mut events) {
            return found;
        }
        events.clear();
        assert!(Instant::now() < deadline, "nothing came");
    }
}

#[test]
fn probe_succeeds_or_names_the_refusal() {
    match probe() {
        Ok(()) => assert!(driver(DriverConfig::default()).is_some()),
        Err(e @ NetioError::Unavailable(_)) | Err(e @ NetioError::Unsupported(_)) => {
            assert!(e.to_string().contains("use --io epoll"), "{e}");
        }
        Err(e) => panic!("unexpected probe error: {e}"),
    }
}

#[test]
fn bad_config_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = DriverConfig {
        buffers_count: 1000,
        ..Default::default()
    };
    assert!(matches!(
        UringDriver::new(listener, config),
        Err(NetioError::Config(_))
    ));
}

#[test]
fn tick_and_waker_wake_the_turn() {
    let Some(mut d) = driver(DriverConfig::default()) else {
        return;
    };
    d.set_tick(Some(Duration::from_millis(20))).unwrap();
    let mut events = Vec::new();
    // No timeout: only the tick can end these waits.
    for _ in 0..3 {
        d.turn(None, &mut events).unwrap();
    }
    assert!(
        events.iter().any(|e| matches!(e, Event::Tick)),
        "{events:?}"
    );
    d.set_tick(None).unwrap();
    events.clear();
    let waker = d.waker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        waker.wake().unwrap();
    });
    while !events.iter().any(|e| matches!(e, Event::Woken)) {
        d.turn(None, &mut events).unwrap();
    }
    t.join().unwrap();
    // A bounded wait with nothing to do returns.
    events.clear();
    d.turn(Some(Duration::from_millis(30)), &mut events)
        .unwrap();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Tick)),
        "tick was stopped: {events:?}"
    );
}

#[test]
fn accept_data_send_close_and_stale_ids() {
    let config = DriverConfig {
        output_bytes_max: 1000,
        ..Default::default()
    };
    let Some(mut d) = driver(config) else { return };
    let addr = d.local_addr().unwrap();
    let mut client = connect(addr);
    let (id, peer) = turn_until(&mut d, |ev| {
        ev.drain(..).find_map(|e| match e {
            Event::Accepted(id, peer) => Some((id, peer)),
            _ => None,
        })
    });
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(d.open_connections(), 1);
    let fd = d.conn_fd(id).unwrap();
    assert!(fd >= 0);
    client.write_all(b"hello").unwrap();
    let got = turn_until(&mut d, |ev| {
        ev.drain(..).find_map(|e| match e {
            Event::Data(c, buf) if c == id => Some(buf.to_vec()),
            _ => None,
        })
    });
    assert_eq!(got, b"hello");
    assert_eq!(d.buffers_held(), 0, "the RecvBuf went back when dropped");
    // Output limit: refused whole, nothing queued.
    let big = vec![b'x'; 1001];
    match d.send(id, &[IoSlice::new(&big)]) {
        Err(NetioError::OutputLimit {
            queued_bytes: 0,
            wanted_bytes: 1001,
            limit_bytes: 1000,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(d.queued_bytes(id), 0);
    d.send(id, &[IoSlice::new(b"wor"), IoSlice::new(b"ld")])
        .unwrap();
    assert_eq!(d.queued_bytes(id), 5);
    let mut events = Vec::new();
    d.turn(Some(Duration::ZERO), &mut events).unwrap();
    let mut buf = [0u8; 5];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"world");
    // Peer EOF is reported once; the id stays usable until released.
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let reason = turn_until(&mut d, |ev| {
        ev.drain(..).find_map(|e| match e {
            Event::Closed(c, r) if c == id => Some(r),
            _ => None,
        })
    });
    assert_eq!(reason, CloseReason::PeerClosed);
    d.send(id, &[IoSlice::new(b"bye")]).unwrap();
    d.close_after_send(id).unwrap();
    assert!(matches!(
        d.send(id, &[IoSlice::new(b"x")]),
        Err(NetioError::UnknownConn)
    ));
    assert!(matches!(d.close(id), Err(NetioError::UnknownConn)));
    assert_eq!(d.conn_fd(id), None);
    assert_eq!(d.queued_bytes(id), 0);
    let deadline = Instant::now() + WAIT;
    while d.open_connections() > 0 {
        assert!(Instant::now() < deadline, "the connection was not released");
        d.turn(Some(Duration::from_millis(50)), &mut events)
            .unwrap();
    }
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, Event::Data(..) | Event::Closed(..))),
        "{events:?}"
    );
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"bye");
}

#[test]
fn idle_turns_complete_nothing_even_with_a_nonblocking_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut d = match UringDriver::new(listener, DriverConfig::default()) {
        Ok(d) => d,
        Err(NetioError::Unavailable(_)) => return,
        Err(e) => panic!("{e}"),
    };
    let mut events = Vec::new();
    for _ in 0..5 {
        d.turn(Some(Duration::from_millis(20)), &mut events)
            .unwrap();
    }
    // No EAGAIN completions from the accept or the eventfd read re-armed in a busy loop.
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(d.stats().completions, 0);
    let mut c = connect(d.local_addr().unwrap());
    let id = turn_until(&mut d, |ev| {
        ev.drain(..).find_map(|e| match e {
            Event::Accepted(id, _) => Some(id),
            _ => None,
        })
    });
    c.write_all(b"x").unwrap();
    turn_until(&mut d, |ev| {
        ev.drain(..)
            .find(|e| matches!(e, Event::Data(i, _) if *i == id))
    });
}

#[test]
fn a_watched_descriptor_reports_readable_while_it_is() {
    let Some(mut d) = driver(DriverConfig::default()) else {
        return;
    };
    let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    d.watch_readable(std::os::fd::AsRawFd::as_raw_fd(&b));
    let mut events = Vec::new();
    d.turn(Some(Duration::from_millis(30)), &mut events)
        .unwrap();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Readable)),
        "nothing written yet: {events:?}"
    );
    a.write_all(b"x").unwrap();
    turn_until(&mut d, |ev| {
        ev.iter()
            .any(|e| matches!(e, Event::Readable))
            .then_some(())
    });
    // Level-triggered: still unread, it reports again.
    turn_until(&mut d, |ev| {
        ev.iter()
            .any(|e| matches!(e, Event::Readable))
            .then_some(())
    });
    let mut byte = [0u8; 1];
    b.read_exact(&mut byte).unwrap();
    // The poll re-armed after the last report may still be the one that fired; after one more turn, quiet.
    events.clear();
    d.turn(Some(Duration::from_millis(30)), &mut events)
        .unwrap();
    events.clear();
    d.turn(Some(Duration::from_millis(30)), &mut events)
        .unwrap();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Readable)),
        "drained: {events:?}"
    );
}

#[test]
fn a_replaced_listener_closes_and_the_new_one_accepts() {
    let Some(mut d) = driver(DriverConfig::default()) else {
        return;
    };
    let old_addr = d.local_addr().unwrap();
    let mut events = Vec::new();
    d.turn(Some(Duration::from_millis(10)), &mut events)
        .unwrap();
    let kept = connect(old_addr);
    let first = turn_until(&mut d, |ev| {
        ev.iter().find_map(|e| match e {
            Event::Accepted(id, _) => Some(*id),
            _ => None,
        })
    });
    let fresh = TcpListener::bind("127.0.0.1:0").unwrap();
    let new_addr = fresh.local_addr().unwrap();
    drop(d.replace_listener(fresh).unwrap());
    events.clear();
    d.turn(Some(Duration::from_millis(10)), &mut events)
        .unwrap();
    assert!(
        std::net::TcpStream::connect(old_addr).is_err(),
        "old port closed"
    );
    let _client = connect(new_addr);
    turn_until(&mut d, |ev| {
        ev.iter()
            .any(|e| matches!(e, Event::Accepted(id, _) if *id != first))
            .then_some(())
    });
    // The connection accepted before the swap still works.
    d.send(first, &[IoSlice::new(b"still here")]).unwrap();
    events.clear();
    d.turn(Some(Duration::from_millis(10)), &mut events)
        .unwrap();
    let mut kept = kept;
    let mut buf = [0u8; 10];
    kept.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"still here");
}
