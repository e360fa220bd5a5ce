//! The ping application on `zedis_netio::UringDriver`: the loop the server's net half would run.

use std::io::IoSlice;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zedis_netio::{CloseReason, DriverConfig, DriverStats, Event, NetioError, UringDriver, Waker};

use super::app::Session;

/// What the loop publishes (on every tick and when it stops).
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// The driver's counters.
    pub stats: DriverStats,
    /// Connections not yet released.
    pub open: usize,
    /// `UringDriver::bytes()`.
    pub bytes: usize,
    /// `UringDriver::pool_bytes()`.
    pub pool_bytes: usize,
    /// Largest `queued_bytes` seen for one connection after a turn's sends were queued.
    pub queued_peak: usize,
    /// Connections closed because `send` hit `output_bytes_max`.
    pub output_limit_closes: u64,
    /// Connections the application released.
    pub released: u64,
}

/// State shared with the threads that observe or stop the loop.
#[derive(Debug, Default)]
pub struct Shared {
    /// Commands run.
    pub commands: AtomicU64,
    /// Set, then wake, to stop the loop.
    pub stop: AtomicBool,
    /// Published figures.
    pub snapshot: Mutex<Snapshot>,
}

/// Runs the loop until `shared.stop` (figures published every `tick`); `ready` gets the waker before the
/// first turn.
pub fn run(
    listener: TcpListener,
    config: DriverConfig,
    tick: Duration,
    shared: &Shared,
    ready: impl FnOnce(Waker),
) -> Result<(), NetioError> {
    let mut driver = UringDriver::new(listener, config)?;
    driver.set_tick(Some(tick))?;
    ready(driver.waker());
    let mut sessions: Vec<Option<Session>> = Vec::new();
    let mut events = Vec::with_capacity(1024);
    let mut with_output = Vec::new();
    let mut snapshot = Snapshot::default();
    while !shared.stop.load(Ordering::Relaxed) {
        driver.turn(None, &mut events)?;
        let mut ran = 0;
        let mut tick = false;
        for event in events.drain(..) {
            match event {
                Event::Accepted(id, _peer) => {
                    if sessions.len() <= id.index() {
                        sessions.resize_with(id.index() + 1, || None);
                    }
                    sessions[id.index()] = Some(Session::default());
                }
                Event::Data(id, buf) => {
                    let Some(session) = sessions.get_mut(id.index()).and_then(Option::as_mut)
                    else {
                        continue;
                    };
                    match session.input(&buf) {
                        Some(n) => ran += n,
                        None => {
                            sessions[id.index()] = None;
                            let _ = driver.close(id);
                            snapshot.released += 1;
                            continue;
                        }
                    }
                    if !session.out.is_empty() || session.close_after_reply {
                        with_output.push(id);
                    }
                }
                Event::Closed(id, reason) => {
                    // EOF: deliver the replies already produced, then close; otherwise close now.
                    let pending = sessions.get_mut(id.index()).and_then(Option::take);
                    if reason == CloseReason::PeerClosed {
                        if let Some(session) = pending.filter(|s| !s.out.is_empty()) {
                            let _ = driver.send(id, &[IoSlice::new(&session.out)]);
                        }
                        let _ = driver.close_after_send(id);
                    } else {
                        let _ = driver.close(id);
                    }
                    snapshot.released += 1;
                }
                Event::Tick => tick = true,
                Event::Woken | Event::Readable => {}
            }
        }
        shared.commands.fetch_add(ran, Ordering::Relaxed);
        for id in with_output.drain(..) {
            let Some(session) = sessions.get_mut(id.index()).and_then(Option::as_mut) else {
                continue;
            };
            let result = driver.send(id, &[IoSlice::new(&session.out)]);
            session.out.clear();
            snapshot.queued_peak = snapshot.queued_peak.max(driver.queued_bytes(id));
            let close_after = session.close_after_reply;
            match result {
                Ok(()) if close_after => {
                    sessions[id.index()] = None;
                    let _ = driver.close_after_send(id);
                    snapshot.released += 1;
                }
                Ok(()) => {}
                Err(NetioError::OutputLimit { .. }) => {
                    sessions[id.index()] = None;
                    let _ = driver.close(id);
                    snapshot.output_limit_closes += 1;
                    snapshot.released += 1;
                }
                Err(_) => {
                    sessions[id.index()] = None;
                    let _ = driver.close(id);
                    snapshot.released += 1;
                }
            }
        }
        if tick {
            publish(&driver, &mut snapshot, shared);
        }
    }
    // Replies queued by the last turn still go out.
    driver.turn(Some(Duration::ZERO), &mut events)?;
    publish(&driver, &mut snapshot, shared);
    Ok(())
}

fn publish(driver: &UringDriver, snapshot: &mut Snapshot, shared: &Shared) {
    snapshot.stats = driver.stats().clone();
    snapshot.open = driver.open_connections();
    snapshot.bytes = driver.bytes();
    snapshot.pool_bytes = driver.pool_bytes();
    if let Ok(mut s) = shared.snapshot.lock() {
        *s = snapshot.clone();
    }
}

/// A ping server on its own thread.
pub struct Handle {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its shared state.
    pub shared: Arc<Shared>,
    waker: Waker,
    thread: Option<std::thread::JoinHandle<Result<(), NetioError>>>,
}

impl Handle {
    /// Binds 127.0.0.1:0 and starts the loop; `Err(Unavailable)` if io_uring is refused here.
    pub fn start(config: DriverConfig) -> Result<Handle, NetioError> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let err_tx = tx.clone();
        let thread = std::thread::spawn(move || {
            let tick = Duration::from_millis(10);
            let result = run(listener, config, tick, &thread_shared, |w| {
                let _ = tx.send(Ok(w));
            });
            if let Err(e) = &result {
                let _ = err_tx.send(Err(e.to_string()));
            }
            result
        });
        match rx.recv() {
            Ok(Ok(waker)) => Ok(Handle {
                addr,
                shared,
                waker,
                thread: Some(thread),
            }),
            Ok(Err(_)) | Err(_) => match thread.join() {
                Ok(Err(e)) => Err(e),
                _ => Err(NetioError::Io(std::io::Error::other(
                    "ping server thread died",
                ))),
            },
        }
    }

    /// The latest published figures.
    pub fn snapshot(&self) -> Snapshot {
        self.shared
            .snapshot
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Stops the loop and returns its result.
    pub fn stop(mut self) -> Result<(), NetioError> {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = self.waker.wake();
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(NetioError::Io(std::io::Error::other(
                "ping server thread panicked",
            ))),
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
