//! A PING/ECHO server on either I/O strategy, to compare system calls and throughput:
//!
//! ```sh
//! cargo run --release -p zedis-netio --example ping_server -- --io uring --port 7000
//! strace -c -f target/release/examples/ping_server --io epoll --port 7001
//! redis-benchmark -p 7000 -t ping_mbulk -n 100000 -c 50 -P 1
//! ```
//!
//! `--batch-wait-usec N` and `--defer-taskrun yes|no` set the `DriverConfig` fields of those names (defaults
//! 50 and yes), for comparing the io_uring variants.
//!
//! Both run the same application (`tests/support/app.rs`, RESP parsed with `zedis-resp`); `--io uring` runs
//! it on `zedis_netio::UringDriver`, `--io epoll` on a mio loop written as simply as the server's. SIGINT or
//! SIGTERM stops it (the default action); with `--requests N` it exits by itself once N commands ran and the
//! client went quiet, printing its system calls per command (counted where the loop makes them; `strace -c
//! -f` agrees).

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
    let mut config = zedis_netio::DriverConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--io" => io = value,
            "--port" => port = value.parse().unwrap_or(port),
            "--requests" => requests = value.parse().ok(),
            "--batch-wait-usec" => config.batch_wait_usec = value.parse().unwrap_or(0),
            "--defer-taskrun" => config.defer_taskrun = value == "yes",
            _ => {
                eprintln!(
                    "usage: ping_server [--io uring|epoll] [--port N] [--requests N] \
                     [--batch-wait-usec N] [--defer-taskrun yes|no]"
                );
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
        "uring" => run_uring(listener, config, requests),
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
        // At least n commands ran and none for half a second: the client is done (it may send a few
        // commands besides the n, such as CONFIG GET).
        let mut last = 0;
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = commands();
            if now >= n && now == last {
                break;
            }
            last = now;
        }
        stop();
        // Keep `stop` (and the mio waker it holds) alive: closing the waker's eventfd before the loop collected
        // the wake-up would drop the event from the epoll set.
        loop {
            std::thread::park();
        }
    });
}

fn run_uring(
    listener: std::net::TcpListener,
    config: zedis_netio::DriverConfig,
    requests: Option<u64>,
) -> Result<u64, String> {
    let shared = Arc::new(uring_server::Shared::default());
    let watcher = Arc::clone(&shared);
    let stopper = Arc::clone(&shared);
    // The server's cron rate (hz 10).
    let tick = Duration::from_millis(100);
    let result = uring_server::run(listener, config, tick, &shared, move |waker| {
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
    let commands = shared.commands.load(Ordering::Relaxed);
    let st = &snap.stats;
    // Per accepted connection: getpeername + setsockopt(TCP_NODELAY).
    let syscalls = st.enters + st.early_submits + 2 * st.accepted;
    eprintln!(
        "uring: {syscalls} syscalls ({:.3} per command): {} io_uring_enter ({} early), {} accepted; \
         {} completions, {} partial sends, {} starved receives, pool {} B",
        syscalls as f64 / commands.max(1) as f64,
        st.enters,
        st.early_submits,
        st.accepted,
        st.completions,
        st.partial_sends,
        st.recv_starved,
        snap.pool_bytes
    );
    Ok(commands)
}

fn run_epoll(listener: std::net::TcpListener, requests: Option<u64>) -> Result<u64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let commands = Arc::new(AtomicU64::new(0));
    let (c, s) = (Arc::clone(&commands), Arc::clone(&stop));
    let sys = epoll_server::run(listener, &stop, &commands, move |waker| {
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
    let commands = commands.load(Ordering::Relaxed);
    eprintln!(
        "epoll: {} syscalls ({:.3} per command): {} epoll_wait, {} read, {} write, {} other",
        sys.total(),
        sys.total() as f64 / commands.max(1) as f64,
        sys.polls,
        sys.reads,
        sys.writes,
        sys.other
    );
    Ok(commands)
}
