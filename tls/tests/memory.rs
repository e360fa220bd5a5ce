//! Heap held by the TLS transport under many connections, measured on the responder's thread alone with a
//! counting allocator, against what `Transport::bytes()` reports (the figure the server charges its budget).
//! One test in this binary, so nothing else allocates on that thread meanwhile.

mod common;

use common::pki::Pki;
use common::resp_server::RespServer;
use common::{client_hello, roundtrip, send_raw, tls_client, WAIT};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::TcpStream;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;
use zedis_tls::StreamLimits;

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

/// Live heap bytes allocated and freed on counted threads.
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

struct Counting;

fn count(delta: isize) {
    if COUNTED.try_with(|c| c.get()).unwrap_or(false) {
        LIVE_BYTES.fetch_add(delta, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mark_thread() {
    COUNTED.with(|c| c.set(true));
}

/// Waits until the responder holds `open` connections and its heap stops changing; returns (heap, reported).
fn settle(server: &RespServer, open: usize, before: isize) -> (usize, usize) {
    let stats = server.wait_for(WAIT, |s| s.open == open);
    assert_eq!(stats.open, open, "{stats:?}");
    let mut last = isize::MIN;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        let now = LIVE_BYTES.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
    (
        (last - before).max(0) as usize,
        server.stats().transport_bytes,
    )
}

#[test]
fn many_connections_hold_bounded_and_reported_memory() {
    const CLIENTS: usize = 200;
    let pki = Pki::new("memory");
    let configs = pki.settings("no").build().unwrap();
    let limits = StreamLimits {
        handshake_timeout: Duration::from_secs(600),
        ..StreamLimits::default()
    };
    let server = RespServer::start_with_hook(configs.server, limits, mark_thread);
    let hello = client_hello(&pki);
    // Half send all but the last byte of a real ClientHello; half send a record announcing a full 16 KiB and
    // a handshake message announcing 60000 bytes, then 8 KiB of it.
    let mut big = vec![
        0x16, 0x03, 0x03, 0x40, 0x00, 0x01, 0x00, 0xea, 0x60, 0x03, 0x03,
    ];
    big.resize(8 * 1024, 0x41);
    std::thread::sleep(Duration::from_millis(200));
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut socks = Vec::new();
    for i in 0..CLIENTS {
        let mut sock = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        send_raw(
            &mut sock,
            if i % 2 == 0 {
                &hello[..hello.len() - 1]
            } else {
                &big
            },
        );
        socks.push(sock);
    }
    let (held, reported) = settle(&server, CLIENTS, before);
    eprintln!(
        "{CLIENTS} unfinished handshakes: heap {held} B ({} B/conn), reported {reported} B ({} B/conn)",
        held / CLIENTS,
        reported / CLIENTS
    );
    // rustls's bounds: one record or a 64 KiB handshake message being joined, plus its state.
    assert!(
        held / CLIENTS < 96 * 1024,
        "{} bytes per unfinished handshake",
        held / CLIENTS
    );
    assert!(reported >= held, "reported {reported} < held {held}");
    drop(socks);
    let (after_close, _) = settle(&server, 0, before);
    eprintln!("after closing them: {after_close} B still held");
    // What stays is the responder's own tables (map capacity), not per-connection state.
    assert!(
        after_close < 256 * 1024,
        "{after_close} bytes left after every connection closed"
    );

    let client_config = pki.settings("no").build_client().unwrap();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut client = tls_client(server.port, client_config.clone(), "localhost");
        assert_eq!(
            roundtrip(&mut client, b"PING\r\n", 7).unwrap(),
            b"+PONG\r\n"
        );
        clients.push(client);
    }
    let (held, reported) = settle(&server, CLIENTS, before);
    eprintln!(
        "{CLIENTS} established idle connections: heap {held} B ({} B/conn), reported {reported} B ({} B/conn)",
        held / CLIENTS,
        reported / CLIENTS
    );
    assert!(
        held / CLIENTS < 64 * 1024,
        "{} bytes per idle connection",
        held / CLIENTS
    );
    assert!(reported >= held, "reported {reported} < held {held}");
}
