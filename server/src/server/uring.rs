//! `--io uring` (`io uring` in a config file, fixed at startup): the clients of the main TCP listener (the
//! first `bind` address) are served through `zedis_netio::UringDriver` instead of the mio loop.
//!
//! # One loop for both
//! Everything the driver does not cover stays on mio: TLS clients, the Unix socket, the other `bind`
//! addresses, the cluster bus, the link to our master, the signals. The ring watches mio's epoll fd with a
//! one-shot poll SQE (`UringDriver::watch_readable`, re-armed every turn, so level-triggered): the loop
//! waits in one `io_uring_enter`, and only when that poll reports the epoll fd readable does it also call
//! `epoll_wait` with a zero timeout. No thread, no spinning, no added latency for either side; a turn
//! serving only io_uring clients costs one system call.
//!
//! # A client on the driver
//! Such a client has no `stream`; `Uring` maps its slot to the driver's `ConnId` and back. Input arrives as
//! `Event::Data` and is copied into the client's query buffer (the query-buffer limit applies as after a
//! read), then runs through the same `process_input`. Output is gathered exactly as for a socket and copied
//! into the driver (`write_client` hands all of it over; the driver sends it with the next turn's enter and
//! resubmits partial sends), so `client-output-buffer-limit` counts the client's buffers plus the driver's
//! queue for it. Close-after-reply (QUIT, a protocol error, CLIENT KILL of oneself) and a peer's EOF close
//! with `close_after_send` (the replies go out first); CLIENT KILL, output limits, timeouts and errors with
//! `close` (output dropped), as the mio path does. The driver's pool and per-connection buffers are charged
//! to the budget as client memory (`Component::Clients`).

use super::{Core, Server};
use crate::config::Config;
use crate::Strategy;
use mio::{Events, Poll};
use std::io::{self, IoSlice};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant};
use zedis_arena::RequestAlloc;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_netio::{CloseReason, ConnId, DriverConfig, Event, UringDriver};

/// Provided receive buffers: 256 × 2 KiB (512 KiB, fixed at startup, charged to the budget as client memory,
/// so kept small: a buffer goes back to the pool as soon as its bytes are copied into a query buffer, within
/// the turn, so the pool only has to cover one turn's receives; when it runs dry the rest waits in the
/// sockets for the next turn).
const BUFFERS_COUNT: u32 = 256;
/// Bytes per provided buffer.
const BUFFER_BYTES: u32 = 2 * 1024;
/// Connection slots the driver may hold (grown on demand; `maxclients` is enforced by the server, which
/// answers Redis's error to the extra connections, so the driver needs room past it).
const CONNECTIONS_MAX: u32 = 1 << 20;
/// How long a turn that answered requests waits for the next ones before it takes what has come (the
/// driver's `batch_wait_usec`, with `expect_replies`): measured against 0, 50 and 200 µs in the README
/// ("Measured: `--io epoll` against `--io uring`").
const BATCH_WAIT_USEC: u32 = 100;
/// How long the last replies may take to leave at shutdown.
const SHUTDOWN_FLUSH: Duration = Duration::from_millis(200);

/// The io_uring half of the network: the driver and the mapping between its connections and client slots.
pub struct Uring {
    /// The driver (owns the main TCP listener and its connections' sockets).
    pub driver: UringDriver,
    /// Client slot of each driver connection slot (`ConnId::index`).
    owner: Vec<Option<usize>>,
    /// Driver connection of each client slot.
    conns: Vec<Option<ConnId>>,
    /// This turn's events (reused).
    events: Vec<Event>,
    /// Events a busy script's passes kept for the event loop (the caller's input, closes), in order; the next
    /// loop turn handles them before its own.
    deferred: Vec<Event>,
    /// Bytes charged to the budget for the driver.
    charged: usize,
}

/// Whether `--io uring` was asked for.
pub fn wanted(config: &Config) -> bool {
    config.get("io") == "uring"
}

/// Probes io_uring and takes over `listener` (the main TCP listener) when `--io uring`; `Err` is the refusal
/// to print (it ends in "use --io epoll").
pub fn startup(
    config: &Config,
    listener: Option<std::net::TcpListener>,
    poll: &Poll,
) -> anyhow::Result<Option<Box<Uring>>> {
    if !wanted(config) {
        return Ok(None);
    }
    zedis_netio::probe().map_err(|e| anyhow::anyhow!("--io uring: {e}"))?;
    let Some(listener) = listener else {
        zedis_deploy::warning!("io uring: no TCP listener (port 0); every client is served by mio");
        return Ok(None);
    };
    let driver_config = DriverConfig {
        connections_max: CONNECTIONS_MAX,
        // The server's own limit (`client-output-buffer-limit`) counts the driver's queue: no second bound.
        output_bytes_max: usize::MAX / 4,
        buffers_count: BUFFERS_COUNT,
        buffer_bytes: BUFFER_BYTES,
        batch_wait_usec: BATCH_WAIT_USEC,
        expect_replies: true,
        ..Default::default()
    };
    let driver_config = experiment_knobs(driver_config);
    let mut driver = UringDriver::new(listener, driver_config)
        .map_err(|e| anyhow::anyhow!("--io uring: {e}"))?;
    driver.watch_readable(poll.as_raw_fd());
    zedis_deploy::notice!(
        "I/O: io_uring for the TCP clients of {} (mio for the rest)",
        driver
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string())
    );
    Ok(Some(Box::new(Uring {
        driver,
        owner: Vec::new(),
        conns: Vec::new(),
        events: Vec::new(),
        deferred: Vec::new(),
        charged: 0,
    })))
}

impl Uring {
    /// The driver connection of client `ck`, if it is served by io_uring.
    pub fn conn(&self, ck: usize) -> Option<ConnId> {
        self.conns.get(ck).copied().flatten()
    }

    fn client_of(&self, id: ConnId) -> Option<usize> {
        let ck = self.owner.get(id.index()).copied().flatten()?;
        (self.conn(ck) == Some(id)).then_some(ck)
    }

    fn bind(&mut self, id: ConnId, ck: usize) {
        if self.owner.len() <= id.index() {
            self.owner.resize(id.index() + 1, None);
        }
        if self.conns.len() <= ck {
            self.conns.resize(ck + 1, None);
        }
        self.owner[id.index()] = Some(ck);
        self.conns[ck] = Some(id);
    }

    /// Forgets client `ck`'s connection (the caller closes it); returns it.
    pub fn unbind(&mut self, ck: usize) -> Option<ConnId> {
        let id = self.conns.get_mut(ck)?.take()?;
        if let Some(owner) = self.owner.get_mut(id.index()) {
            *owner = None;
        }
        Some(id)
    }

    /// Bytes the mapping tables hold, on top of the driver's own.
    fn bytes(&self) -> usize {
        self.driver.bytes()
            + self.owner.capacity() * std::mem::size_of::<Option<usize>>()
            + self.conns.capacity() * std::mem::size_of::<Option<ConnId>>()
            + self.events.capacity() * std::mem::size_of::<Event>()
    }
}

impl super::Net {
    /// Waits for the next events: with `--io uring` one `io_uring_enter` (mio's `epoll_wait` only when the ring
    /// saw its fd readable, with no timeout), otherwise mio's `epoll_wait`.
    pub fn wait(&mut self, events: &mut Events, wait_ms: i64) -> io::Result<()> {
        let timeout = Duration::from_millis(wait_ms.max(0) as u64);
        let Some(uring) = self.uring.as_mut() else {
            return self.poll.poll(events, Some(timeout));
        };
        uring.events.clear();
        uring
            .driver
            .turn(Some(timeout), &mut uring.events)
            .map_err(|e| match e {
                zedis_netio::NetioError::Io(e) => e,
                other => io::Error::other(other.to_string()),
            })?;
        if !uring.deferred.is_empty() {
            let fresh = std::mem::take(&mut uring.events);
            uring.events = std::mem::take(&mut uring.deferred);
            uring.events.extend(fresh);
        }
        if uring.events.iter().any(|e| matches!(e, Event::Readable)) {
            self.poll.poll(events, Some(Duration::ZERO))
        } else {
            events.clear();
            Ok(())
        }
    }

    /// The io_uring connection of client `ck`, if any.
    pub fn uring_conn(&self, ck: usize) -> Option<ConnId> {
        self.uring.as_ref().and_then(|u| u.conn(ck))
    }

    /// At shutdown: gives the last replies a moment to leave (the loop will not turn again).
    pub fn uring_final_flush(&mut self) {
        let Some(uring) = self.uring.as_mut() else {
            return;
        };
        let deadline = Instant::now() + SHUTDOWN_FLUSH;
        let mut events = Vec::new();
        loop {
            events.clear();
            let turned = uring
                .driver
                .turn(Some(Duration::from_millis(10)), &mut events);
            let queued: usize = uring
                .conns
                .iter()
                .flatten()
                .map(|&id| uring.driver.queued_bytes(id))
                .sum();
            if turned.is_err() || queued == 0 || Instant::now() >= deadline {
                return;
            }
        }
    }
}

impl<S: Strategy> Server<S> {
    /// Handles the driver's events of this turn: new connections, input, ends of input.
    pub(super) fn uring_events(&mut self) {
        // The events stay in `Uring::events` while they are handled (each replaced by `Tick` once taken), so a
        // busy script's pass started by one of them sees which connections still have input queued before its
        // own (`uring_busy_pass` keeps theirs in order).
        let mut i = 0;
        loop {
            let Some(uring) = self.core.net.uring.as_mut() else {
                return;
            };
            let Some(slot) = uring.events.get_mut(i) else {
                uring.events.clear();
                return;
            };
            let event = std::mem::replace(slot, Event::Tick);
            i += 1;
            match event {
                Event::Accepted(id, peer) => self.core.uring_accept(id, peer),
                Event::Data(id, buf) => self.uring_data(id, &buf),
                Event::Closed(id, reason) => self.uring_closed(id, reason),
                Event::Tick | Event::Woken | Event::Readable => {}
            }
        }
    }

    /// Input for a driver connection: into the query buffer, then the same path as a read.
    fn uring_data(&mut self, id: ConnId, data: &[u8]) {
        let Some(ck) = self.core.net.uring.as_ref().and_then(|u| u.client_of(id)) else {
            return;
        };
        let limit = self.core.settings.query_buffer_bytes_max;
        let Some(input) = self.core.clients.get_mut(ck).and_then(|c| c.input.as_mut()) else {
            return;
        };
        input.query.spare(data.len())[..data.len()].copy_from_slice(data);
        input.query.filled(data.len());
        input.peak = input.peak.max(input.query.len());
        self.core.engine.stats.net_input_bytes += data.len() as u64;
        self.process_input(ck);
        self.arena.reset();
        let Some(client) = self.core.clients.get(ck) else {
            return;
        };
        if client.input.as_ref().is_some_and(|i| i.query.len() > limit) {
            zedis_deploy::warning!(
                "Closing client that reached max query buffer length (id={})",
                client.id
            );
            self.core.net.closing.push(ck);
        }
    }

    /// The peer ended its input (its last replies still go out) or the connection failed.
    fn uring_closed(&mut self, id: ConnId, reason: CloseReason) {
        let Some(ck) = self.core.net.uring.as_ref().and_then(|u| u.client_of(id)) else {
            return;
        };
        let Some(client) = self.core.clients.get_mut(ck) else {
            return;
        };
        client.peer_closed = true;
        if reason == CloseReason::PeerClosed {
            self.core.write_client(ck);
        } else {
            client.clear_output();
        }
        self.core.net.closing.push(ck);
    }
}

impl<S: Strategy> Core<S> {
    /// The busy-script loop's pass over the io_uring clients (`scripting_cmds/busy_loop.rs`, Redis's
    /// `processEventsWhileBlocked`): one non-waiting driver turn (which also sends what earlier passes
    /// replied), new connections accepted, and the input of each client `defers` does not hold back appended
    /// to its query buffer and run by `run` (the busy loop's runner, which answers `-BUSY`). Everything else
    /// (the deferred clients' input, ends of input) is kept, in order, for the event loop. Returns how many
    /// events were handled.
    pub(crate) fn uring_busy_pass(
        &mut self,
        defers: impl Fn(&Self, usize) -> bool,
        mut run: impl FnMut(&mut Self, usize),
    ) -> usize {
        let Some(uring) = self.net.uring.as_mut() else {
            return 0;
        };
        // First what the loop turn that started the script took and has not handled yet (as the mio sweep
        // does), then what earlier passes kept, then this pass's turn.
        let mut events: Vec<Event> = uring
            .events
            .iter_mut()
            .map(|e| std::mem::replace(e, Event::Tick))
            .filter(|e| !matches!(e, Event::Tick))
            .collect();
        events.append(&mut uring.deferred);
        if uring
            .driver
            .turn(Some(Duration::ZERO), &mut events)
            .is_err()
        {
            uring.deferred = events;
            return 0;
        }
        let limit = self.settings.query_buffer_bytes_max;
        let mut kept: Vec<Event> = Vec::new();
        let mut handled = 0;
        for event in events {
            let id = match &event {
                Event::Accepted(id, peer) => {
                    self.uring_accept(*id, *peer);
                    handled += 1;
                    continue;
                }
                Event::Data(id, _) | Event::Closed(id, _) => *id,
                Event::Tick | Event::Woken | Event::Readable => continue,
            };
            let ck = self.net.uring.as_ref().and_then(|u| u.client_of(id));
            let Some(ck) = ck else {
                continue;
            };
            let earlier = kept.iter().any(
                |e| matches!(e, Event::Data(other, _) | Event::Closed(other, _) if *other == id),
            );
            if earlier || defers(self, ck) {
                kept.push(event);
                continue;
            }
            let buf = match &event {
                Event::Data(_, buf) => buf,
                Event::Closed(_, reason) => {
                    // The peer went away while the script runs: the client is freed by the pass (the script
                    // sees it gone, as with mio); replies already handed to the driver still go out.
                    if let Some(client) = self.clients.get_mut(ck) {
                        client.peer_closed = true;
                        if *reason != CloseReason::PeerClosed {
                            client.clear_output();
                        }
                    }
                    self.net.closing.push(ck);
                    handled += 1;
                    continue;
                }
                _ => continue,
            };
            let Some(input) = self.clients.get_mut(ck).and_then(|c| c.input.as_mut()) else {
                kept.push(event);
                continue;
            };
            input.query.spare(buf.len())[..buf.len()].copy_from_slice(buf);
            input.query.filled(buf.len());
            input.peak = input.peak.max(input.query.len());
            self.engine.stats.net_input_bytes += buf.len() as u64;
            drop(event);
            handled += 1;
            run(self, ck);
            if let Some(client) = self.clients.get(ck) {
                if client.input.as_ref().is_some_and(|i| i.query.len() > limit) {
                    zedis_deploy::warning!(
                        "Closing client that reached max query buffer length (id={})",
                        client.id
                    );
                    self.net.closing.push(ck);
                }
            }
        }
        if let Some(uring) = self.net.uring.as_mut() {
            uring.deferred = kept;
        }
        handled
    }

    /// After a busy script's pass wrote its replies: submits them now (a non-waiting turn) rather than when the
    /// script ends; what that turn reports is kept for the next pass or the event loop.
    pub(crate) fn uring_busy_submit(&mut self) {
        if let Some(uring) = self.net.uring.as_mut() {
            let mut events = std::mem::take(&mut uring.deferred);
            let _ = uring.driver.turn(Some(Duration::ZERO), &mut events);
            uring.deferred = events;
        }
    }

    /// A connection accepted by the driver: protected mode, maxclients, then a client like any other.
    fn uring_accept(&mut self, id: ConnId, peer: SocketAddr) {
        self.engine.stats.connections_received += 1;
        let Some(fd) = self.net.uring.as_ref().and_then(|u| u.driver.conn_fd(id)) else {
            return;
        };
        let denied =
            self.settings.protected_mode && !is_loopback(peer.ip()) && self.default_user_nopass();
        if denied {
            self.engine.stats.rejected_connections += 1;
            if let Some(uring) = self.net.uring.as_mut() {
                refuse(uring, id, crate::auth::PROTECTED_MODE_DENIED);
            }
            return;
        }
        // Borrow the socket (the driver owns it) for the keepalive option and its local address.
        // SAFETY: fd is the driver's open socket; ManuallyDrop never closes it.
        let socket = std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
        let _ = zedis_deploy::listen::set_keepalive(&*socket, self.settings.tcp_keepalive_s);
        let laddr = socket
            .local_addr()
            .map(zedis_deploy::stream::redis_addr)
            .unwrap_or_default();
        let addr = zedis_deploy::stream::redis_addr(peer);
        match self.new_client(addr, laddr, false, fd) {
            Some(ck) => {
                if let Some(client) = self.clients.get_mut(ck) {
                    client.on_uring = true;
                }
                if let Some(uring) = self.net.uring.as_mut() {
                    uring.bind(id, ck);
                }
            }
            None => {
                self.engine.stats.rejected_connections += 1;
                if let Some(uring) = self.net.uring.as_mut() {
                    refuse(uring, id, b"-ERR max number of clients reached\r\n");
                }
            }
        }
    }

    /// `write_client` for a driver connection: hands all of the client's output to the driver.
    pub(super) fn write_client_uring(&mut self, ck: usize, id: ConnId) {
        let (Some(client), Some(uring)) = (self.clients.get_mut(ck), self.net.uring.as_mut())
        else {
            return;
        };
        client.out_peak = client.out_peak.max(client.out.len());
        let mut written = 0;
        let mut failed = false;
        while client.output_len() > 0 {
            let mut slices: [IoSlice<'_>; super::WRITEV_SLICES_MAX] =
                [IoSlice::new(&[]); super::WRITEV_SLICES_MAX];
            let count = super::net::gather(client, &mut slices);
            let n: usize = slices[..count].iter().map(|s| s.len()).sum();
            if uring.driver.send(id, &slices[..count]).is_err() {
                failed = true;
                break;
            }
            client.consume_output(n);
            written += n;
        }
        self.engine.stats.net_output_bytes += written as u64;
        if failed || client.close_after_reply {
            self.net.closing.push(ck);
        }
    }

    /// Releases client `ck`'s driver connection, if it has one: after its queued replies when it is closing
    /// after a reply or its peer ended input; at once (output dropped) otherwise.
    pub(super) fn uring_release(&mut self, ck: usize) {
        let Some(uring) = self.net.uring.as_mut() else {
            return;
        };
        let Some(id) = uring.unbind(ck) else {
            return;
        };
        let graceful = self
            .clients
            .get(ck)
            .is_some_and(|c| (c.close_after_reply || c.peer_closed) && !c.output_limit_hit);
        let _ = if graceful {
            uring.driver.close_after_send(id)
        } else {
            uring.driver.close(id)
        };
    }

    /// Output bytes the driver still holds for client `ck` (counted by the output limits).
    pub(super) fn uring_queued(&self, ck: usize) -> usize {
        self.net
            .uring
            .as_ref()
            .and_then(|u| u.conn(ck).map(|id| u.driver.queued_bytes(id)))
            .unwrap_or(0)
    }

    /// Charges the driver's memory (pool, connection buffers, tables) to the budget as client memory.
    pub(super) fn uring_recharge(&mut self) {
        let Some(uring) = self.net.uring.as_mut() else {
            return;
        };
        let bytes = uring.bytes();
        if bytes > uring.charged {
            self.budget
                .reserve(Component::Clients, bytes - uring.charged);
        } else {
            self.budget
                .release(Component::Clients, uring.charged - bytes);
        }
        uring.charged = bytes;
    }
}

/// Measurement knobs (issue 24's comparison of wait strategies), read once at startup from the environment:
/// `ZEDIS_URING_BATCH_USEC` (`batch_wait_usec`), `ZEDIS_URING_EXPECT` (`expect_replies`, 0/1),
/// `ZEDIS_URING_DEFER` (`defer_taskrun`, 0/1). Unset: the driver's defaults.
fn experiment_knobs(mut config: DriverConfig) -> DriverConfig {
    let knob = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    if let Some(usec) = knob("ZEDIS_URING_BATCH_USEC") {
        config.batch_wait_usec = usec;
    }
    if let Some(expect) = knob("ZEDIS_URING_EXPECT") {
        config.expect_replies = expect != 0;
    }
    if let Some(defer) = knob("ZEDIS_URING_DEFER") {
        config.defer_taskrun = defer != 0;
    }
    config
}

/// Sends `text` and closes after it.
fn refuse(uring: &mut Uring, id: ConnId, text: &[u8]) {
    let _ = uring.driver.send(id, &[IoSlice::new(text)]);
    let _ = uring.driver.close_after_send(id);
}

/// Whether a loopback address (IPv4, IPv6, or IPv4-mapped IPv6).
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}
