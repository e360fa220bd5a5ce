//! The network half of the event loop: accepting, reading and parsing client input, output limits, writing
//! replies, closing clients. It touches sockets and buffers, never data: complete commands go to `Core::call`
//! (`crate::dispatch`).

use super::{
    cached_ms, unix_ms, Core, Server, CLIENT_TOKEN_BASE, IDLE_BUFFER_RELEASE_MS,
    READS_PER_EVENT_MAX, READ_CHUNK_BYTES, READ_CHUNK_MIN_BYTES, WRITEV_SLICES_MAX,
};
use crate::Strategy;
use allocator_api2::vec::Vec as AVec;
use mio::{Interest, Poll, Token};
use std::io::{ErrorKind, IoSlice, Write};
use zedis_arena::RequestAlloc;
use zedis_client_pool::ClientSlots;
use zedis_deploy::stream::{ClientStream, Listener};
use zedis_resp::reply;

/// The network half's own state: the poller, the listener and the per-turn queues of clients to write to and
/// to close. (The clients themselves stay on `Core` for now: every handler replies through them.)
pub struct Net {
    /// The poller.
    pub poll: Poll,
    /// The plain listeners: one per `bind` address (none with `port 0`), then `unixsocket`
    /// (`server/listeners.rs`); listener `i` is polled as `listeners::LISTENER_BASE + i`.
    pub listeners: Vec<Listener>,
    /// Pidfile, supervisor notifications, the Unix socket file (zedis-deploy).
    pub service: zedis_deploy::service::Service,
    /// The `tls-port` listener and the TLS configuration (`server/tls.rs`).
    pub tls: super::tls::Tls,
    /// Clients with output to write at the end of this loop turn.
    pub pending_writes: Vec<usize>,
    /// Clients to close at the end of this loop turn.
    pub closing: Vec<usize>,
    /// Clients whose socket may hold more input than one event's reads took (edge-triggered polling raises
    /// no new event for it), with whether the peer had closed: read again next turn without waiting.
    pub rereads: Vec<(usize, bool)>,
    /// Next CLIENT ID.
    pub next_client_id: u64,
    /// `--io uring`: the driver serving the main TCP listener's clients (`server/uring.rs`).
    pub uring: Option<Box<super::uring::Uring>>,
}

impl<S: Strategy> Server<S> {
    /// Reads what the socket has, then runs every complete command.
    pub(super) fn read_client(&mut self, ck: usize, peer_hup: bool) {
        let limit = self.core.settings.query_buffer_bytes_max;
        let mut total = 0;
        // Whether the socket was read until it had nothing more for now (WouldBlock, EOF, an error, or a short
        // read when the event did not also report a close: a close that arrives with data raises no second
        // edge, so then the socket is read until it says so itself).
        let mut drained = false;
        let mut over_limit = false;
        for _ in 0..READS_PER_EVENT_MAX {
            let Some(client) = self.core.clients.get_mut(ck) else {
                return;
            };
            let (Some(stream), Some(input)) = (client.stream.as_mut(), client.input.as_mut())
            else {
                return;
            };
            let wanted = input
                .parser
                .bytes_wanted()
                .map_or(0, |w| w.saturating_sub(input.query.len()));
            // Start small (an idle or chatty connection should not touch 16 KiB it never uses) and grow with
            // the buffer while reads keep filling it; a large announced bulk gets what it needs at once.
            let adaptive =
                (2 * input.query.capacity()).clamp(READ_CHUNK_MIN_BYTES, READ_CHUNK_BYTES);
            let chunk = wanted.clamp(adaptive, 1024 * 1024);
            let spare = input.query.spare(chunk);
            match stream.read_plain(spare) {
                Ok(0) => {
                    client.peer_closed = true;
                    drained = true;
                    break;
                }
                Ok(n) => {
                    input.query.filled(n);
                    input.peak = input.peak.max(input.query.len());
                    total += n;
                    if input.query.len() > limit {
                        // Judged after the commands already complete are run (as Redis, which reads one chunk
                        // and runs it): a long pipeline of small commands is not a big query.
                        over_limit = true;
                        break;
                    }
                    if n < spare_len_hint(chunk) && !peer_hup {
                        drained = true;
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    drained = true;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    client.peer_closed = true;
                    drained = true;
                    break;
                }
            }
        }
        self.core.engine.stats.net_input_bytes += total as u64;
        self.process_input(ck);
        self.arena.reset();
        let Some(client) = self.core.clients.get_mut(ck) else {
            return;
        };
        if over_limit && client.input.as_ref().is_some_and(|i| i.query.len() > limit) {
            zedis_deploy::warning!(
                "Closing client that reached max query buffer length (id={})",
                client.id
            );
            self.core.net.closing.push(ck);
            return;
        }
        // TLS: records rustls already took off the socket raise no readable event; handshake replies wait
        // for a flush even when no command produced output.
        let (buffered, tls_output) = client.stream.as_ref().map_or((false, false), |s| {
            (s.has_buffered_input(), s.wants_write())
        });
        if client.peer_closed {
            // Deliver what was produced for the last commands, then close.
            self.core.write_client(ck);
            self.core.net.closing.push(ck);
        } else {
            if !drained || buffered {
                self.core.net.rereads.push((ck, peer_hup));
            }
            if tls_output {
                self.core.write_client(ck);
            }
        }
    }

    /// Parses and runs every complete command in the client's buffer.
    pub fn process_input(&mut self, ck: usize) {
        let Some(client) = self.core.clients.get_mut(ck) else {
            return;
        };
        client.last_interaction_ms = cached_ms();
        let is_master = client.is_master;
        let Some(mut input) = client.input.take() else {
            return;
        };
        let mut pos = 0;
        // Where the next batch of pipelined commands gets its keys prefetched (`Core::prefetch_pipeline`).
        let mut prefetch_at = 0;
        while pos < input.query.len() {
            if pos >= prefetch_at {
                prefetch_at = self
                    .core
                    .prefetch_pipeline(ck, &input.query.data()[pos..])
                    .map_or(usize::MAX, |len| pos + len);
            }
            // One look at the client per command: whether it may run one now (not closing, blocked, over its
            // output limit, in WAIT or postponed by CLIENT PAUSE, see pause.rs), and what CLIENT LIST shows of
            // the query buffer while it runs.
            let Some(c) = self.core.clients.get_mut(ck) else {
                break;
            };
            if c.close_after_reply
                || c.blocked.is_some()
                || c.output_limit_hit
                || c.waiting_acks
                || c.tx.is_postponed()
            {
                break;
            }
            let parsed = input.parser.parse(&mut input.query.data_mut()[pos..]);
            match parsed {
                Ok(None) => break,
                Ok(Some(consumed)) => {
                    let base = pos;
                    pos += consumed;
                    // CLIENT LIST shows the running command still in the query buffer, as Redis does.
                    let free = input.query.capacity() - input.query.len();
                    c.running_query = (input.query.len() - base, free);
                    let replica = !is_master && crate::repl::is_online_replica(c);
                    let spans = input.parser.args();
                    if spans.is_empty() {
                        if is_master {
                            let raw = &input.query.data()[base..pos];
                            self.core.repl_master_applied(ck, usize::MAX, raw);
                        }
                        continue;
                    }
                    let data = &input.query.data()[base..];
                    let mut argv: AVec<&[u8], _> = AVec::new_in(self.arena.allocator());
                    if argv.try_reserve_exact(spans.len()).is_err() {
                        break;
                    }
                    argv.extend(spans.iter().map(|span| &data[span.clone()]));
                    if is_master {
                        let before = self.core.clients.get(ck).map_or(0, |c| c.out.len());
                        // The master decided its commands apply: keys expired by our clock are alive for them.
                        self.core.engine.ks.expiry =
                            zedis_keyspace::ExpiryRole::ReplicaApplyingMaster;
                        self.core.call(ck, &argv);
                        self.core.engine.ks.expiry = zedis_keyspace::ExpiryRole::Replica;
                        let raw = &input.query.data()[base..pos];
                        self.core.repl_master_applied(ck, before, raw);
                    } else if replica {
                        let before = self.core.clients.get(ck).map_or(0, |c| c.out.len());
                        self.core.call(ck, &argv);
                        self.core.repl_replica_replied(ck, before);
                    } else {
                        self.core.call(ck, &argv);
                    }
                }
                Err(err) => {
                    let text = err.reply_text();
                    zedis_deploy::verbose!(
                        "Protocol error ({text}) from client id={}",
                        self.core.clients.get(ck).map_or(0, |c| c.id)
                    );
                    if let Some(client) = self.core.clients.get_mut(ck) {
                        reply::error(client.out.vec_mut(), text.as_bytes());
                        client.out.recharge();
                        client.close_after_reply = true;
                    }
                    self.core.queue_write(ck);
                    pos = input.query.len();
                    break;
                }
            }
        }
        input.query.consume(pos);
        if let Some(client) = self.core.clients.get_mut(ck) {
            client.input = Some(input);
        }
    }
}

/// Gathers a client's queued shared frames and its reply buffer into `slices` (one writev or one send);
/// returns how many were filled.
pub(super) fn gather<'a>(
    client: &'a crate::client::Client,
    slices: &mut [IoSlice<'a>; WRITEV_SLICES_MAX],
) -> usize {
    let mut count = 0;
    for (i, chunk) in client
        .pending
        .iter()
        .enumerate()
        .take(WRITEV_SLICES_MAX - 1)
    {
        let skip = if i == 0 { client.pending_offset } else { 0 };
        slices[count] = IoSlice::new(&chunk.bytes()[skip..]);
        count += 1;
    }
    if count < WRITEV_SLICES_MAX - 1 || client.pending.len() == count {
        slices[count] = IoSlice::new(client.out.data());
        count += 1;
    }
    count
}

/// Whether `client` is past its `client-output-buffer-limit` (or already scheduled for closing for it; a
/// pipelined batch checks after every command). `queued`: its output handed to the io_uring driver and not
/// yet sent, which counts; a replica's RDB payload does not, in Redis's accounting.
fn over_output_limit(
    client: &mut crate::client::Client,
    settings: &crate::settings::Settings,
    queued: usize,
    now_ms: i64,
) -> bool {
    if client.output_limit_hit {
        return true;
    }
    let limit = if client.replica.as_ref().is_some_and(|r| r.online) {
        settings.output_limits.replica
    } else if client.subscriptions + client.shard_subscriptions > 0 {
        settings.output_limits.pubsub
    } else {
        settings.output_limits.normal
    };
    let counted = client.output_len() - crate::repl::rdb_unsent_bytes(client) + queued;
    limit.exceeded(counted as u64, &mut client.soft_limit_since_ms, now_ms)
}

/// Drops the output of a client past its output limit and marks it (the caller counts it and queues the close).
fn close_for_output_limit(client: &mut crate::client::Client) {
    zedis_deploy::warning!(
        "Client id={} closed for overcoming of output buffer limits.",
        client.id
    );
    client.clear_output();
    client.output_limit_hit = true;
}

/// A short read means the socket is drained.
fn spare_len_hint(chunk: usize) -> usize {
    chunk
}

impl<S: Strategy> Core<S> {
    /// Sets up a connection accepted on the plain or (`tls`) the TLS listener.
    /// `addr` and `laddr` are CLIENT LIST's texts (`<unixsocket>:0` for a Unix socket client).
    pub(super) fn accept(
        &mut self,
        mut stream: ClientStream,
        addr: String,
        laddr: String,
        tls: bool,
    ) {
        self.engine.stats.connections_received += 1;
        if crate::auth::protected_mode_denies(self, &mut stream, tls) {
            return;
        }
        let _ = stream.set_nodelay();
        let unix = stream.is_unix();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let Some(ck) = self.new_client(addr, laddr, unix, fd) else {
            self.engine.stats.rejected_connections += 1;
            // A TLS client is closed without the message: it would have to wait for the handshake.
            if !tls {
                let _ = stream.write(b"-ERR max number of clients reached\r\n");
            }
            return;
        };
        let Some(mut stream) = self.net.transport(stream, tls) else {
            self.clients.remove(ck);
            return;
        };
        if self
            .net
            .poll
            .registry()
            .register(
                &mut stream,
                Token(ck + CLIENT_TOKEN_BASE),
                Interest::READABLE,
            )
            .is_err()
        {
            self.clients.remove(ck);
            return;
        }
        if let Some(client) = self.clients.get_mut(ck) {
            client.stream = Some(stream);
        }
    }

    /// Takes a client slot for a new connection (mio or io_uring) and gives it its CLIENT ID; `None` at
    /// `maxclients`. `addr` and `laddr` are CLIENT LIST's texts.
    pub(super) fn new_client(
        &mut self,
        addr: String,
        laddr: String,
        unix: bool,
        fd: i32,
    ) -> Option<usize> {
        let id = self.net.next_client_id;
        let now = unix_ms();
        let authenticated = self.default_user_open();
        let limits = self.settings.parser_limits;
        let inserted = self.clients.insert_with(|client| {
            let mut input = client.input.take().unwrap_or_default();
            input.parser.set_limits(limits);
            input.parser.set_authenticated(authenticated);
            client.input = Some(input);
            client.id = id;
            client.addr = addr;
            client.laddr = laddr;
            client.unix_socket = unix;
            client.fd = fd;
            client.on_uring = false;
            client.created_ms = now;
            client.last_interaction_ms = now;
            client.authenticated = authenticated;
            client.last_cmd = "NULL";
        });
        let ck = inserted.ok()?;
        self.net.next_client_id += 1;
        Some(ck)
    }

    /// Applies `client-output-buffer-limit` to client `ck`; true if it was scheduled for closing.
    fn output_limit_reached(&mut self, ck: usize, now_ms: i64) -> bool {
        let queued = self.uring_queued(ck);
        let Some(client) = self.clients.get_mut(ck) else {
            return false;
        };
        if !over_output_limit(client, &self.settings, queued, now_ms) {
            return false;
        }
        if !client.output_limit_hit {
            close_for_output_limit(client);
            self.engine.stats.client_output_limit_disconnections += 1;
            self.net.closing.push(ck);
        }
        true
    }

    /// Marks a client as having output to write this loop turn (after applying its output limit).
    pub fn queue_write(&mut self, ck: usize) {
        let queued = self.uring_queued(ck);
        // One look at the client for the limit and the queueing: this runs after every command.
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        if over_output_limit(client, &self.settings, queued, cached_ms()) {
            if !client.output_limit_hit {
                close_for_output_limit(client);
                self.engine.stats.client_output_limit_disconnections += 1;
                self.net.closing.push(ck);
            }
            return;
        }
        if !client.pending_write && client.output_len() > 0 {
            client.pending_write = true;
            self.net.pending_writes.push(ck);
        }
    }

    pub(crate) fn flush_pending_writes(&mut self) {
        let pending = std::mem::take(&mut self.net.pending_writes);
        for &ck in &pending {
            if let Some(client) = self.clients.get_mut(ck) {
                client.pending_write = false;
            }
            self.write_client(ck);
        }
        let mut pending = pending;
        pending.clear();
        if self.net.pending_writes.is_empty() {
            self.net.pending_writes = pending;
        }
    }

    /// Writes as much pending output as the socket takes; asks for writable events if some is left.
    pub fn write_client(&mut self, ck: usize) {
        if let Some(id) = self.net.uring_conn(ck) {
            return self.write_client_uring(ck, id);
        }
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        let Some(mut stream) = client.stream.take() else {
            return;
        };
        let mut written = 0;
        let mut failed = false;
        client.out_peak = client.out_peak.max(client.out.len());
        while client.output_len() > 0 {
            // Gather queued shared frames and the reply buffer into one writev.
            let mut slices: [IoSlice<'_>; WRITEV_SLICES_MAX] =
                [IoSlice::new(&[]); WRITEV_SLICES_MAX];
            let count = gather(client, &mut slices);
            // A lone reply buffer (the usual case) goes out with send(2): writev(2) also copies and checks
            // an iovec array in the kernel.
            let result = if count == 1 {
                stream.write_plain(&slices[0])
            } else {
                stream.write_plain_vectored(&slices[..count])
            };
            match result {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => {
                    client.consume_output(n);
                    written += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        // TLS: push the encrypted records (and handshake messages) rustls holds to the socket.
        if !failed {
            match stream.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => failed = true,
            }
        }
        self.engine.stats.net_output_bytes += written as u64;
        let drained = client.output_len() == 0 && !stream.wants_write();
        let closable = drained && client.close_after_reply && !stream.is_handshaking();
        let token = Token(ck + CLIENT_TOKEN_BASE);
        let mut interest = None;
        if failed || closable {
            self.net.closing.push(ck);
        } else if drained {
            client.soft_limit_since_ms = None;
            if client.want_write {
                client.want_write = false;
                interest = Some(Interest::READABLE);
            }
        } else if !client.want_write {
            client.want_write = true;
            interest = Some(Interest::READABLE | Interest::WRITABLE);
        }
        if let Some(interest) = interest {
            let _ = self
                .net
                .poll
                .registry()
                .reregister(&mut stream, token, interest);
        }
        client.stream = Some(stream);
    }

    pub(super) fn close_pending(&mut self) {
        while let Some(ck) = self.net.closing.pop() {
            self.free_client(ck);
        }
    }

    /// Forgets a client's transaction, watches, subscriptions and blocking state (RESET, disconnect).
    pub fn reset_client_state(&mut self, ck: usize) {
        self.unsubscribe_all(ck);
        self.unblock_client(ck);
        if let Some(client) = self.clients.get_mut(ck) {
            client.subscriptions = 0;
            client.shard_subscriptions = 0;
        }
        crate::multi::forget_client(self, ck);
        self.tracking_forget(ck);
    }

    /// Disconnects and forgets a client.
    pub fn free_client(&mut self, ck: usize) {
        self.repl_forget_client(ck);
        self.reset_client_state(ck);
        self.tracking_disconnected(ck);
        self.uring_release(ck);
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        if let Some(mut stream) = client.stream.take() {
            stream.close();
            let _ = self.net.poll.registry().deregister(&mut stream);
        }
        self.clients.remove(ck);
    }

    /// Per-client housekeeping: output limits, idle buffers, idle timeouts.
    pub(super) fn cron_clients(&mut self, now_ms: i64) {
        self.cron_tls();
        self.uring_recharge();
        for ck in self.clients.keys() {
            if self.output_limit_reached(ck, now_ms) {
                continue;
            }
            // Redis's clientsCronResizeQueryBuffer/OutputBuffer: a client idle for a while gives its empty
            // buffers back, so idle connections cost only their slot.
            if let Some(client) = self.clients.get_mut(ck) {
                // Redis's clientsCronResizeQueryBuffer: an empty buffer above 32 KiB that held less than
                // half its size since the last look goes back to its peak; the peak starts over.
                if let Some(input) = client.input.as_mut() {
                    let capacity = input.query.capacity();
                    if input.query.is_empty()
                        && capacity > crate::client::QUERY_KEEP_BYTES_MAX
                        && input.peak < capacity / 2
                    {
                        input
                            .query
                            .shrink_to(input.peak.max(crate::client::QUERY_KEEP_BYTES_MAX));
                    }
                    input.peak = input.query.len();
                }
                let capacity = client.out.capacity();
                if client.output_len() == 0
                    && capacity > crate::client::OUTPUT_KEEP_BYTES_MAX
                    && client.out_peak < capacity / 2
                {
                    client
                        .out
                        .shrink_to(client.out_peak.max(crate::client::OUTPUT_KEEP_BYTES_MAX));
                }
                client.out_peak = client.out.len();
                if now_ms - client.last_interaction_ms >= IDLE_BUFFER_RELEASE_MS {
                    if let Some(input) = client.input.as_mut().filter(|i| i.query.is_empty()) {
                        input.query.shrink_to(0);
                    }
                    if client.output_len() == 0 {
                        client.out.shrink_to(0);
                    }
                }
            }
        }
        let timeout_s = self.settings.idle_timeout_s;
        if timeout_s > 0 {
            for ck in self.clients.keys() {
                let idle = self.clients.get(ck).is_some_and(|c| {
                    // As in Redis: subscribers, blocked clients and paused ones are not idle.
                    c.subscriptions + c.shard_subscriptions == 0
                        && c.blocked.is_none()
                        && !crate::repl::is_online_replica(c)
                        && !c.is_master
                        && !c.waiting_acks
                        && !c.tx.is_postponed()
                        && now_ms - c.last_interaction_ms > timeout_s * 1000
                });
                if idle {
                    self.net.closing.push(ck);
                }
            }
        }
    }
}
