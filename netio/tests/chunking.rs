//! Proptest: a random stream of requests, cut into random chunks written one by one, gets the same replies
//! from the io_uring driver as from the model (and as from the epoll loop): however the bytes arrive in
//! provided buffers, they are parsed identically.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::{bulk, command, connect, read_n, start};
use zedis_netio::DriverConfig;

#[derive(Debug, Clone)]
enum Req {
    Ping,
    PingMsg(Vec<u8>),
    Echo(Vec<u8>),
    InlineEcho(String),
}

impl Req {
    fn encode(&self) -> Vec<u8> {
        match self {
            Req::Ping => command(&[b"PING"]),
            Req::PingMsg(m) => command(&[b"PING", m]),
            Req::Echo(m) => command(&[b"ECHO", m]),
            Req::InlineEcho(w) => format!("ECHO {w}\r\n").into_bytes(),
        }
    }

    /// The model's reply.
    fn reply(&self) -> Vec<u8> {
        match self {
            Req::Ping => b"+PONG\r\n".to_vec(),
            Req::PingMsg(m) | Req::Echo(m) => bulk(m),
            Req::InlineEcho(w) => bulk(w.as_bytes()),
        }
    }
}

fn req() -> impl Strategy<Value = Req> {
    prop_oneof![
        Just(Req::Ping),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Req::PingMsg),
        prop::collection::vec(any::<u8>(), 0..2000).prop_map(Req::Echo),
        "[a-z0-9]{1,40}".prop_map(Req::InlineEcho),
    ]
}

/// Writes `stream` cut at `cuts` (fractions of its length), pausing briefly between chunks so they arrive
/// as separate receives, then reads the expected number of reply bytes.
fn exchange(addr: SocketAddr, stream: &[u8], cuts: &[u16], reply_len: usize) -> Vec<u8> {
    let mut c = connect(addr);
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|&f| f as usize * stream.len() / 65536)
        .collect();
    points.push(stream.len());
    points.sort_unstable();
    let mut start = 0;
    for p in points {
        if p > start {
            c.write_all(&stream[start..p]).unwrap();
            std::thread::sleep(Duration::from_micros(300));
            start = p;
        }
    }
    read_n(&mut c, reply_len)
}

#[test]
fn any_chunking_parses_like_the_model_on_both_loops() {
    let Some(uring) = start(DriverConfig {
        buffer_bytes: 256,
        buffers_count: 64,
        ..Default::default()
    }) else {
        return;
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let epoll_addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let thread_stop = Arc::clone(&stop);
    let epoll = std::thread::spawn(move || {
        let commands = AtomicU64::new(0);
        support::epoll_server::run(listener, &thread_stop, &commands, |w| tx.send(w).unwrap())
    });
    let epoll_waker = rx.recv().unwrap();

    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(req(), 1..20),
        prop::collection::vec(any::<u16>(), 0..30),
    );
    runner
        .run(&strategy, |(reqs, cuts)| {
            let stream: Vec<u8> = reqs.iter().flat_map(Req::encode).collect();
            let expected: Vec<u8> = reqs.iter().flat_map(Req::reply).collect();
            let got = exchange(uring.addr, &stream, &cuts, expected.len());
            prop_assert!(got == expected, "io_uring replies differ from the model");
            let got = exchange(epoll_addr, &stream, &cuts, expected.len());
            prop_assert!(got == expected, "epoll replies differ from the model");
            Ok(())
        })
        .unwrap();

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    epoll_waker.wake().unwrap();
    epoll.join().unwrap().unwrap();
    // (the syscall counts are for the example)
    uring.stop().unwrap();
}
