//! A PING/ECHO server on either I/O strategy, to compare system calls and throughput:
//!
//! ```sh
//! cargo run --release -p zedis-netio --example ping_server -- --io uring --port 7000
//! strace -c -f target/release/examples/ping_server --io epoll --port 7001
//! redis-benchmark -p 7000 -t ping_mbulk -n 100000 -c 50 -P 1
//! ```
//!
//! Both run the same application (`tests/support/app.rs`, RESP parsed with `zedis-resp`); `--io uring` runs
//! it on `zedis_netio::UringDriver`, `--io epoll` on a mio loop written as simply as the server's. SIGINT or
//! SIGTERM stops it (the default action); with `--requests N` it exits by itself after N commands, printing
//! its figures.

#[path = "../tests/support/app.rs"]
mod app;
#[path = "../tests/support/epoll_server.rs"]
mod epoll_server;
#[path = "../tests/support/uring_server.rs"]
#[allow(dead_code)] // the test harness's thread handle
mod uring_server;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let mut io = "uring".to_string();
    let mut port = 7000u16;
    let mut requests: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--io" => io = value,
            "--port" => port = value.parse().unwrap_or(port),
            "--requests" => requests = value.parse().ok(),
            _ => {
                eprintln!("usage: ping_server [--io uring|epoll] [--port N] [--requests N]");
                std::process::exit(2);
            }
        }
    }
    let listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("binding 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let result = match io.as_str() {
        "uring" => run_uring(listener, requests),
        "epoll" => run_epoll(listener, requests),
        other => Err(format!("unknown --io {other}: use uring or epoll")),
    };
    match result {
        Ok(commands) => {
            let secs = started.elapsed().as_secs_f64();
            eprintln!("{io}: {commands} commands in {secs:.2}s");
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

/// Stops the loop from a watcher thread once `requests` commands ran.
fn watch(
    requests: Option<u64>,
    commands: impl Fn() -> u64 + Send + 'static,
    stop: impl Fn() + Send + 'static,
) {
    let Some(n) = requests else { return };
    std::thread::spawn(move || {
        while commands() < n {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop();
    });
}

fn run_uring(listener: std::net::TcpListener, requests: Option<u64>) -> Result<u64, String> {
    let config = zedis_netio::DriverConfig::default();
    let shared = Arc::new(uring_server::Shared::default());
    let watcher = Arc::clone(&shared);
    let stopper = Arc::clone(&shared);
    let result = uring_server::run(listener, config, &shared, move |waker| {
        watch(
            requests,
            move || watcher.commands.load(Ordering::Relaxed),
            move || {
                stopper.stop.store(true, Ordering::Relaxed);
                let _ = waker.wake();
            },
        );
    });
    result.map_err(|e| e.to_string())?;
    let snap = shared
        .snapshot
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    eprintln!(
        "uring: {} enters, {} completions, {} partial sends, {} starved receives, pool {} B",
        snap.stats.enters,
        snap.stats.completions,
        snap.stats.partial_sends,
        snap.stats.recv_starved,
        snap.pool_bytes
    );
    Ok(shared.commands.load(Ordering::Relaxed))
}

fn run_epoll(listener: std::net::TcpListener, requests: Option<u64>) -> Result<u64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let commands = Arc::new(AtomicU64::new(0));
    let (c, s) = (Arc::clone(&commands), Arc::clone(&stop));
    epoll_server::run(listener, &stop, &commands, move |waker| {
        watch(
            requests,
            move || c.load(Ordering::Relaxed),
            move || {
                s.store(true, Ordering::Relaxed);
                let _ = waker.wake();
            },
        );
    })
    .map_err(|e| e.to_string())?;
    Ok(commands.load(Ordering::Relaxed))
}
