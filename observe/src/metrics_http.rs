//! The `metrics-port` endpoint: a minimal HTTP/1.1 server on its own thread (std `TcpListener`, one
//! connection at a time, `Connection: close`) serving the last [`Snapshot`] the server published.
//!
//! The event loop never waits on it: [`MetricsPublisher::publish`] swaps an `Arc` under a mutex held for
//! a pointer copy, and the text is rendered on the HTTP thread. A request head is read up to
//! [`REQUEST_HEAD_BYTES_MAX`] with a timeout, so a slow or hostile peer costs at most that and delays
//! other scrapes by at most twice [`IO_TIMEOUT`] (reading, then draining at close).

use crate::metrics::Snapshot;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest request head accepted (request line and headers).
pub const REQUEST_HEAD_BYTES_MAX: usize = 8 * 1024;
/// Read/write timeout per connection.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes of unread request read and dropped when closing.
const LINGER_BYTES_MAX: usize = 64 * 1024;
/// The exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Where the server puts the latest snapshot; cheap to clone and share with the HTTP thread.
#[derive(Debug, Clone, Default)]
pub struct MetricsPublisher {
    latest: Arc<Mutex<Arc<Snapshot>>>,
}

impl MetricsPublisher {
    /// A publisher with an empty snapshot.
    pub fn new() -> MetricsPublisher {
        MetricsPublisher::default()
    }

    /// Replaces the served snapshot.
    pub fn publish(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        if let Ok(mut latest) = self.latest.lock() {
            *latest = snapshot;
        }
    }

    /// The snapshot served now.
    pub fn latest(&self) -> Arc<Snapshot> {
        self.latest
            .lock()
            .map(|l| Arc::clone(&l))
            .unwrap_or_default()
    }
}

/// The running endpoint; stopped (and its thread joined) by [`MetricsServer::stop`] or on drop.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` (port 0 picks a free port) and serves `publisher`'s snapshots on a new thread.
    pub fn start(addr: SocketAddr, publisher: MetricsPublisher) -> io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("zedis-metrics".to_owned())
            .spawn(move || serve(&listener, &publisher, &stop_flag))?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(listener: &TcpListener, publisher: &MetricsPublisher, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match stream {
            // A failed exchange only concerns that peer.
            Ok(mut stream) => {
                let _ = handle(&mut stream, publisher);
                linger_close(stream);
            }
            // Out of descriptors and the like: do not spin.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Reads the request head (until the blank line), bounded in size and time.
fn read_head(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > REQUEST_HEAD_BYTES_MAX {
            return Ok(None);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(head))
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// Closes after the response was written: our side first, then what the peer still sends is read and dropped
/// (bounded by [`LINGER_BYTES_MAX`] and the timeout), so unread request bytes do not turn the close into a
/// reset that could destroy the response before the peer reads it.
fn linger_close(stream: TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    let mut stream = stream;
    while drained < LINGER_BYTES_MAX {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

fn handle(stream: &mut TcpStream, publisher: &MetricsPublisher) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let Some(head) = read_head(stream)? else {
        return respond(
            stream,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
            false,
        );
    };
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let line = String::from_utf8_lossy(&head[..line_end]);
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return respond(
            stream,
            "400 Bad Request",
            "text/plain",
            b"bad request\n",
            false,
        );
    };
    if !version.starts_with("HTTP/1.") {
        return respond(
            stream,
            "505 HTTP Version Not Supported",
            "text/plain",
            b"HTTP/1.x only\n",
            false,
        );
    }
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return respond(
            stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET or HEAD\n",
            false,
        );
    }
    let path = target.split('?').next().unwrap_or_default();
    if path != "/metrics" && path != "/" {
        return respond(
            stream,
            "404 Not Found",
            "text/plain",
            b"try /metrics\n",
            head_only,
        );
    }
    let body = publisher.latest().render();
    respond(stream, "200 OK", CONTENT_TYPE, body.as_bytes(), head_only)
}
