//! The event loop served from inside a busy script's hook (Redis's `processEventsWhileBlocked`): up to four
//! passes over the poller without waiting, each accepting connections, reading and running other clients'
//! commands (through `Core::call`, where `-BUSY` is answered), answering the cluster bus, then writing the
//! replies and closing the clients that went away. Nothing else of the loop turn runs (no cron, no AOF or
//! replication flush, no expiry, no blocked-client service): the script's own effects are still being
//! gathered.
//!
//! Events this cannot handle are kept for the event loop: the calling client's input (Redis's
//! `protectClient`), our master's stream (Redis lets it accumulate), the master link's handshake, signals.
//! mio's polling is edge-triggered, so a deferred client goes to the loop's re-read list and a deferred
//! signal or master-link event is remembered in `Busy`.

use crate::server::{listeners, tls, Core, CLIENT_TOKEN_BASE, MASTER_LINK, SIGNALS};
use crate::Strategy;
use mio::Token;
use std::io::ErrorKind;
use std::time::Duration;
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;

/// Passes over the poller per hook call while events keep coming (Redis's 4 iterations).
const PASSES_MAX: usize = 4;
/// Bytes read per read call.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Reads per client per pass before others get a turn.
const READS_PER_PASS_MAX: usize = 16;

impl<S: Strategy> Core<S> {
    /// One hook call's worth of event loop while a script is busy; `caller` runs the script.
    pub(crate) fn serve_while_busy(&mut self, caller: usize) {
        crate::server::refresh_clock();
        let Some(mut events) = self.engine.busy.events.take() else {
            return;
        };
        // The script may run inside its caller's EXEC: other clients' commands are top-level ones.
        let executing = std::mem::replace(&mut self.engine.tx.executing, false);
        if !std::mem::replace(&mut self.engine.busy.swept, true) {
            self.busy_sweep(caller);
        }
        for _ in 0..PASSES_MAX {
            match self.net.poll.poll(&mut events, Some(Duration::ZERO)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
            let mut processed = 0;
            for (ck, hup) in std::mem::take(&mut self.engine.busy.rereads) {
                processed += 1;
                self.busy_read(ck, hup, caller);
            }
            for event in events.iter() {
                processed += 1;
                let hup = event.is_read_closed() || event.is_error();
                self.busy_event(
                    event.token(),
                    event.is_readable() || hup,
                    event.is_writable(),
                    hup,
                    caller,
                );
            }
            self.busy_hold_caller_output(caller);
            // `--io uring`: the driver's clients, through the same runner (`server/uring.rs`).
            processed += self.uring_busy_pass(
                |core, ck| core.busy_defers(ck, caller),
                |core, ck| core.busy_process_input(ck),
            );
            processed += self.net.pending_writes.len();
            self.flush_pending_writes();
            self.uring_busy_submit();
            processed += self.busy_close(caller);
            if processed == 0 {
                break;
            }
        }
        self.engine.busy.events = Some(events);
        self.engine.tx.executing = executing;
    }

    /// The first pass of a busy script: the event loop's poll that started the script may already have
    /// taken (edge-triggered) events it has not handled yet, for listeners and for clients whose commands
    /// came in the same batch as the script's. Those raise no new event: accept, read and write every
    /// one once.
    fn busy_sweep(&mut self, caller: usize) {
        for i in 0..self.net.listeners.len() {
            self.accept_all(i);
        }
        if self.net.tls.listener.is_some() {
            self.accept_all_tls();
        }
        for ck in self.clients.keys() {
            if self.busy_defers(ck, caller) {
                continue;
            }
            if self
                .clients
                .get(ck)
                .is_some_and(|c| c.output_len() > 0 && !c.pending_write)
            {
                self.write_client(ck);
            }
            self.busy_read(ck, false, caller);
        }
    }

    /// Handles one event while busy.
    fn busy_event(
        &mut self,
        token: Token,
        readable: bool,
        writable: bool,
        hup: bool,
        caller: usize,
    ) {
        match token {
            Token(t) if listeners::is_listener(t) => self.accept_all(t - listeners::LISTENER_BASE),
            tls::TLS_LISTENER => self.accept_all_tls(),
            SIGNALS => self.engine.busy.signals_deferred = true,
            MASTER_LINK => self.engine.busy.master_link_deferred = true,
            // The cluster bus is read and answered (PING gets its PONG), as Redis's file events while busy.
            token if self.cluster_ready(token, readable, writable) => {}
            Token(t) if t >= CLIENT_TOKEN_BASE => {
                let ck = t - CLIENT_TOKEN_BASE;
                if readable {
                    self.busy_read(ck, hup, caller);
                }
                if writable && ck != caller && self.busy_may_write(ck) {
                    self.write_client(ck);
                }
            }
            _ => {}
        }
    }

    /// Whether client `ck`'s output may be written outside the pass's flush: not when it waits in the list
    /// of replies held back until the loop turn's AOF write (see `Busy`).
    fn busy_may_write(&self, ck: usize) -> bool {
        self.clients.get(ck).is_some_and(|c| !c.pending_write)
    }

    /// Whether client `ck`'s input waits for the script's end: the caller itself, our master (its stream
    /// accumulates, as Redis's), and a client whose input is being processed.
    fn busy_defers(&self, ck: usize, caller: usize) -> bool {
        ck == caller
            || self
                .clients
                .get(ck)
                .is_some_and(|c| c.is_master || c.input.is_none())
    }

    /// Reads what client `ck`'s socket has and runs its complete commands (`-BUSY` for most).
    fn busy_read(&mut self, ck: usize, peer_hup: bool, caller: usize) {
        if self.clients.get(ck).is_none() {
            return;
        }
        if self.busy_defers(ck, caller) {
            if !self.net.rereads.iter().any(|r| r.0 == ck) {
                self.net.rereads.push((ck, peer_hup));
            }
            return;
        }
        let limit = self.settings.query_buffer_bytes_max;
        let (mut total, mut drained, mut over_limit) = (0, false, false);
        for _ in 0..READS_PER_PASS_MAX {
            let Some(client) = self.clients.get_mut(ck) else {
                return;
            };
            let (Some(stream), Some(input)) = (client.stream.as_mut(), client.input.as_mut())
            else {
                return;
            };
            let spare = input.query.spare(READ_CHUNK_BYTES);
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
                        over_limit = true;
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    drained = true;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    client.peer_closed = true;
                    drained = true;
                    break;
                }
            }
        }
        self.engine.stats.net_input_bytes += total as u64;
        self.busy_process_input(ck);
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        if over_limit && client.input.as_ref().is_some_and(|i| i.query.len() > limit) {
            zedis_deploy::warning!(
                "Closing client that reached max query buffer length (id={})",
                client.id
            );
            self.net.closing.push(ck);
            return;
        }
        let buffered = client
            .stream
            .as_ref()
            .is_some_and(|s| s.has_buffered_input());
        if client.peer_closed {
            if self.busy_may_write(ck) {
                self.write_client(ck);
            }
            self.net.closing.push(ck);
        } else if !drained || buffered {
            self.engine.busy.rereads.push((ck, peer_hup));
        }
    }

    /// Runs every complete command in client `ck`'s buffer (as the event loop's `process_input`, with argument
    /// vectors from the heap: the request allocator belongs to the loop turn the script runs in).
    fn busy_process_input(&mut self, ck: usize) {
        let Some(client) = self.clients.get_mut(ck) else {
            return;
        };
        client.last_interaction_ms = crate::server::cached_ms();
        let Some(mut input) = client.input.take() else {
            return;
        };
        let mut pos = 0;
        loop {
            let stopped = self.clients.get(ck).is_none_or(|c| {
                c.close_after_reply
                    || c.blocked.is_some()
                    || c.output_limit_hit
                    || c.waiting_acks
                    || c.tx.is_postponed()
            });
            if stopped || pos >= input.query.len() {
                break;
            }
            match input.parser.parse(&mut input.query.data_mut()[pos..]) {
                Ok(None) => break,
                Ok(Some(consumed)) => {
                    let base = pos;
                    pos += consumed;
                    let spans = input.parser.args();
                    if spans.is_empty() {
                        continue;
                    }
                    let data = &input.query.data()[base..];
                    let argv: Vec<&[u8]> = spans.iter().map(|s| &data[s.clone()]).collect();
                    let replica = self
                        .clients
                        .get(ck)
                        .is_some_and(crate::repl::is_online_replica);
                    let before = self.clients.get(ck).map_or(0, |c| c.out.len());
                    self.call(ck, &argv);
                    if replica {
                        self.repl_replica_replied(ck, before);
                    }
                    if self.shutdown {
                        self.busy_exit();
                    }
                }
                Err(err) => {
                    if let Some(client) = self.clients.get_mut(ck) {
                        reply::error(client.out.vec_mut(), err.reply_text().as_bytes());
                        client.out.recharge();
                        client.close_after_reply = true;
                    }
                    self.queue_write(ck);
                    pos = input.query.len();
                    break;
                }
            }
        }
        input.query.consume(pos);
        if let Some(client) = self.clients.get_mut(ck) {
            client.input = Some(input);
        }
    }

    /// Frees the clients that went away, except the caller (freed by the event loop after the script).
    /// Returns how many were freed.
    fn busy_close(&mut self, caller: usize) -> usize {
        let mut freed = 0;
        let mut keep_caller = false;
        while let Some(ck) = self.net.closing.pop() {
            if ck == caller {
                keep_caller = true;
            } else {
                self.free_client(ck);
                freed += 1;
            }
        }
        if keep_caller {
            self.net.closing.push(caller);
        }
        freed
    }

    /// SHUTDOWN NOSAVE finished while the script was busy: Redis exits from the command itself.
    fn busy_exit(&mut self) -> ! {
        self.flush_pending_writes();
        self.net.uring_final_flush();
        self.cluster_shutdown();
        zedis_deploy::warning!("Zedis is now ready to exit, bye bye...");
        std::process::exit(0)
    }
}
