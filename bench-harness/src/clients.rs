//! Connection workloads: memory per idle connection, and connect/PING/disconnect churn.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::server::{info_u64, ServerProcess};

/// Memory before and after opening idle connections.
#[derive(Debug, Clone, Copy)]
pub struct IdleResult {
    /// Connections opened and answered.
    pub connections: u64,
    /// Server RSS before, bytes.
    pub rss_before: u64,
    /// Server RSS with the connections open, bytes.
    pub rss_after: u64,
    /// INFO used_memory before.
    pub used_before: u64,
    /// INFO used_memory with the connections open.
    pub used_after: u64,
    /// INFO connected_clients with the connections open (includes the control connection).
    pub connected_clients: u64,
}

/// Opens `count` connections, has each answer one PING, and measures the server's memory with them open
/// (each reading `settle` after the last change).
pub fn idle_connections(
    server: &ServerProcess,
    count: usize,
    settle: Duration,
) -> Result<IdleResult> {
    let mut control = server.conn()?;
    std::thread::sleep(settle);
    let rss_before = server.sample()?.rss_bytes;
    let used_before = info_u64(&control.info()?, "used_memory");
    let mut conns = Vec::with_capacity(count);
    for i in 0..count {
        let stream = TcpStream::connect(("127.0.0.1", server.port)).with_context(|| {
            format!("opening idle connection {i} (check ulimit -n and maxclients)")
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        conns.push(stream);
    }
    for stream in &mut conns {
        stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
    }
    for stream in &mut conns {
        expect_pong(stream)?;
    }
    std::thread::sleep(settle);
    let rss_after = server.sample()?.rss_bytes;
    let info = control.info()?;
    let result = IdleResult {
        connections: conns.len() as u64,
        rss_before,
        rss_after,
        used_before,
        used_after: info_u64(&info, "used_memory"),
        connected_clients: info_u64(&info, "connected_clients"),
    };
    drop(conns);
    Ok(result)
}

fn expect_pong(stream: &mut TcpStream) -> Result<()> {
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply)?;
    if &reply != b"+PONG\r\n" {
        bail!("expected +PONG, got {:?}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}

/// Connect/PING/close cycles over `threads` threads for `duration`; returns completed cycles.
///
/// Sockets close with `SO_LINGER` 0 (a reset), so the client side leaves no TIME_WAIT entries and a long run
/// cannot exhaust ephemeral ports.
pub fn connect_churn(port: u16, threads: usize, duration: Duration) -> Result<u64> {
    let cycles = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + duration;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let cycles = Arc::clone(&cycles);
            std::thread::spawn(move || -> Result<()> {
                while Instant::now() < end {
                    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                    stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
                    expect_pong(&mut stream)?;
                    set_linger_zero(&stream);
                    drop(stream);
                    cycles.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("churn thread panicked"))??;
    }
    Ok(cycles.load(Ordering::Relaxed))
}

fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads `linger` (a live local of the size we pass) on a socket we own.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
