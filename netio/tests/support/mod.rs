//! Shared by the integration tests: the ping application on both I/O strategies, and client helpers.
#![allow(dead_code)]

pub mod app;
pub mod epoll_server;
pub mod uring_server;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use zedis_netio::{DriverConfig, NetioError};

/// Generous: the machine is shared and loaded.
pub const WAIT: Duration = Duration::from_secs(30);

/// Starts the io_uring ping server; `None` (with a note) only where io_uring is refused.
pub fn start(config: DriverConfig) -> Option<uring_server::Handle> {
    match uring_server::Handle::start(config) {
        Ok(h) => Some(h),
        Err(NetioError::Unavailable(e)) => {
            eprintln!("note: io_uring unavailable here ({e}); skipping");
            None
        }
        Err(e) => panic!("starting the io_uring ping server: {e}"),
    }
}

/// A connected client with read/write timeouts.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    let _ = s.set_nodelay(true);
    s
}

/// Reads exactly `n` bytes.
pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf)
        .expect("reading the expected reply bytes");
    buf
}

/// Sends `req` and checks the reply bytes.
pub fn roundtrip(s: &mut TcpStream, req: &[u8], expected: &[u8]) {
    s.write_all(req).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read_n(s, expected.len())),
        String::from_utf8_lossy(expected)
    );
}

/// A RESP multibulk command.
pub fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    zedis_resp::encode_command(&mut out, args);
    out
}

/// The bulk reply for `b`.
pub fn bulk(b: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", b.len()).into_bytes();
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
    out
}

/// Polls `f` until it holds or `WAIT` passes.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sets SO_LINGER 0 so that dropping the socket sends a RST.
pub fn set_linger_zero(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a correctly sized option value.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

/// A client socket with a small receive buffer (set before connecting), so large replies need many sends.
pub fn connect_small_rcvbuf(addr: SocketAddr, bytes: i32) -> TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a fresh fd we own; sockaddr built from a v4 address.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
        let SocketAddr::V4(v4) = addr else {
            panic!("v4 only")
        };
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(v4.ip().octets()),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        let s = TcpStream::from_raw_fd(fd);
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_write_timeout(Some(WAIT)).unwrap();
        s
    }
}
