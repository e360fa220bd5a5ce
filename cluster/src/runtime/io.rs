//! The bus's socket work inside the server's loop: accepting, reading frames into the state machine,
//! writing, nonblocking connects with a deadline, closing; and performing the state machine's
//! [`Action`]s (the ones about sockets and nodes.conf here, the rest passed on as [`Event`]s).

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};

use mio::{Interest, Token};

use super::link::{self, BusLink, ReadOutcome, IDLE_BUFFER_BYTES};
use super::{ClusterNode, Event, LogLevel, SENDBUF_BYTES_HARD_MAX};
use crate::state::{Action, LinkId};

/// Bytes read from one link per event before the others get a turn (the rest is read on the next call).
const READ_BYTES_PER_EVENT_MAX: usize = 1 << 20;

impl ClusterNode {
    fn link_token(&self, key: usize) -> Token {
        Token(self.cfg.token_base + self.listeners.len() + key)
    }

    /// Slots left for links in the token range.
    fn link_room(&self) -> bool {
        self.listeners.len() + self.links.vacant_key() < self.cfg.tokens_max
    }

    pub(super) fn accept(&mut self, listener: usize, now_ms: u64) {
        // Until WouldBlock: the poller is edge-triggered, so connections left in the backlog would wait
        // for the next one.
        loop {
            let (mut stream, peer) = match self.listeners[listener].accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.log(
                        LogLevel::Verbose,
                        format!("Error accepting cluster node: {e}"),
                    );
                    return;
                }
            };
            if !self.link_room() {
                self.log(
                    LogLevel::Warning,
                    format!(
                        "Refusing cluster bus connection from {}: no token left for links",
                        peer.ip()
                    ),
                );
                continue;
            }
            let _ = stream.set_nodelay(true);
            let key = self.links.vacant_key();
            let token = self.link_token(key);
            if let Err(e) = self
                .registry
                .register(&mut stream, token, Interest::READABLE)
            {
                self.log(
                    LogLevel::Warning,
                    format!("Cannot register a cluster bus connection: {e}"),
                );
                continue;
            }
            let local = stream
                .local_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            let peer_ip = peer.ip().to_string();
            let id = self.state.accept_link(&peer_ip, &local, now_ms);
            self.log(
                LogLevel::Verbose,
                format!(
                    "Accepting cluster node connection from {peer_ip}:{}",
                    peer.port()
                ),
            );
            let link = BusLink::new(id, stream, false, self.cfg.frame_bytes_max, now_ms);
            self.links.insert(link);
            self.by_link.insert(id, key);
        }
    }

    pub(super) fn link_ready(&mut self, key: usize, readable: bool, writable: bool, now_ms: u64) {
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        let id = link.id;
        if link.connecting {
            if !readable && !writable {
                return;
            }
            match link.finish_connect() {
                Ok(None) => return,
                Ok(Some(local_ip)) => {
                    let actions = self.state.link_connected(id, &local_ip, now_ms);
                    self.apply(actions, now_ms);
                }
                Err(e) => {
                    self.log(
                        LogLevel::Verbose,
                        format!("Connection with cluster node (link {id}) failed: {e}"),
                    );
                    self.drop_link(id, now_ms);
                    return;
                }
            }
        }
        let mut pending = Vec::new();
        let mut closed = false;
        if readable {
            let mut read_bytes = 0usize;
            // Until WouldBlock (the poller is edge-triggered), taking the frames after every read so the
            // receive buffer stays one partial packet plus one read; a link that keeps sending is read
            // again on the next call (`rereads`) after READ_BYTES_PER_EVENT_MAX.
            'read: loop {
                let Some(link) = self.links.get_mut(key).filter(|l| l.id == id) else {
                    return;
                };
                let outcome = link.read_chunk();
                if let ReadOutcome::Data(n) = outcome {
                    read_bytes += n;
                }
                loop {
                    match link.reader.next_frame() {
                        Ok(Some(frame)) => {
                            pending.extend(self.state.handle_frame(id, frame, now_ms))
                        }
                        Ok(None) => break,
                        Err(e) => {
                            self.events.push(Event::Log {
                                level: LogLevel::Warning,
                                text: format!("{e}; closing the link"),
                            });
                            closed = true;
                            break 'read;
                        }
                    }
                }
                if !closed && link.reader.bytes() > 4 * IDLE_BUFFER_BYTES {
                    link.reader.shrink(IDLE_BUFFER_BYTES);
                }
                // Replies go out as we go, so what a busy peer makes us send stays bounded too.
                if pending.len() >= 64 {
                    self.apply(std::mem::take(&mut pending), now_ms);
                }
                match outcome {
                    ReadOutcome::Data(_) if read_bytes >= READ_BYTES_PER_EVENT_MAX => {
                        self.rereads.push((key, id));
                        break;
                    }
                    ReadOutcome::Data(_) => {}
                    ReadOutcome::Drained => break,
                    ReadOutcome::Closed => {
                        closed = true;
                        break;
                    }
                }
            }
        }
        self.apply(pending, now_ms);
        if closed {
            self.drop_link(id, now_ms);
        } else if writable {
            self.flush_link(id, now_ms);
        }
    }

    /// Links whose input was cut short by READ_BYTES_PER_EVENT_MAX: read them again now.
    pub(super) fn reread(&mut self, now_ms: u64) {
        for (key, id) in std::mem::take(&mut self.rereads) {
            if self.links.get(key).is_some_and(|l| l.id == id) {
                self.link_ready(key, true, false, now_ms);
            }
        }
    }

    /// Closes outbound links whose connect has not completed within the node timeout (at least 1 s).
    pub(super) fn expire_connects(&mut self, now_ms: u64) {
        let deadline_ms = self.state.config().node_timeout_ms.max(1000);
        let late: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, l)| l.connecting && now_ms.saturating_sub(l.ctime_ms) > deadline_ms)
            .map(|(_, l)| l.id)
            .collect();
        for id in late {
            self.log(
                LogLevel::Verbose,
                format!("Connection with cluster node (link {id}) timed out"),
            );
            self.drop_link(id, now_ms);
        }
    }

    /// Performs the state machine's actions: sockets and nodes.conf here, the rest as events.
    pub(super) fn apply(&mut self, actions: Vec<Action>, now_ms: u64) {
        let mut queue: VecDeque<Action> = actions.into();
        let mut to_flush: Vec<LinkId> = Vec::new();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Connect { link, ip, cport } => {
                    if let Some(more) = self.connect(link, &ip, cport, now_ms) {
                        queue.extend(more);
                    }
                }
                Action::Send { link, packet } => {
                    if self.enqueue(link, &packet) {
                        to_flush.push(link);
                    } else if self.by_link.contains_key(&link) {
                        self.sendbuf_limit_exceeded += 1;
                        self.state
                            .set_links_buffer_limit_exceeded(self.sendbuf_limit_exceeded);
                        self.log(
                            LogLevel::Warning,
                            format!(
                                "Freeing cluster link {link}: its send buffer is over the limit"
                            ),
                        );
                        self.close_socket(link);
                        queue.extend(self.state.link_closed(link, now_ms));
                    }
                }
                Action::Close { link } => self.close_socket(link),
                // Saved before any packet of this call leaves (a vote is on disk before it is sent).
                Action::SaveConfig { fsync } => {
                    self.save_config(fsync);
                }
                Action::Deliver {
                    channel,
                    message,
                    shard,
                } => self.events.push(Event::Deliver {
                    channel,
                    message,
                    shard,
                }),
                Action::PauseWrites { until_ms } => {
                    self.events.push(Event::PauseWrites { until_ms })
                }
                Action::UnpauseWrites => self.events.push(Event::UnpauseWrites),
                Action::ReplicateFrom { ip, port, .. } => {
                    self.events.push(Event::ReplicateFrom { ip, port })
                }
                Action::BecomeMaster => self.events.push(Event::BecomeMaster),
                Action::EmptyData => self.events.push(Event::EmptyData),
                Action::DeleteKeysInSlot { slot } => {
                    self.events.push(Event::DeleteKeysInSlot { slot })
                }
                Action::UnsubscribeShardSlot { slot } => {
                    self.events.push(Event::UnsubscribeShardSlot { slot })
                }
                Action::Log(text) => self.log(LogLevel::Notice, text),
                Action::ModuleMessage { .. } | Action::StateChanged { .. } => {}
            }
        }
        to_flush.sort_unstable();
        to_flush.dedup();
        for id in to_flush {
            self.flush_link(id, now_ms);
        }
    }

    /// Appends a packet to a link's send buffer; false when the link is unknown or over its limit.
    fn enqueue(&mut self, id: LinkId, packet: &[u8]) -> bool {
        let limit = match self.cfg.sendbuf_bytes_max {
            0 => SENDBUF_BYTES_HARD_MAX,
            n => n.min(SENDBUF_BYTES_HARD_MAX),
        };
        let Some(link) = self.by_link.get(&id).and_then(|&k| self.links.get_mut(k)) else {
            return false;
        };
        if link.pending() > 0 && link.pending() + packet.len() > limit {
            return false;
        }
        link.out.extend_from_slice(packet);
        true
    }

    fn flush_link(&mut self, id: LinkId, now_ms: u64) {
        let Some(&key) = self.by_link.get(&id) else {
            return;
        };
        let token = self.link_token(key);
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        let result = link
            .flush()
            .and_then(|()| link.update_interest(&self.registry, token));
        if let Err(e) = result {
            self.log(
                LogLevel::Verbose,
                format!("I/O error writing to cluster link {id}: {e}"),
            );
            self.drop_link(id, now_ms);
        }
    }

    /// Starts a nonblocking connect for `link`; on immediate failure returns the state machine's reaction.
    fn connect(&mut self, id: LinkId, ip: &str, cport: u16, now_ms: u64) -> Option<Vec<Action>> {
        let addr = ip
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, cport));
        let started = match addr {
            Some(_) if !self.link_room() => Err(std::io::Error::other("no token left for links")),
            Some(addr) => link::connect(addr, self.cfg.bind_source_addr),
            None => Err(std::io::Error::other("not an IP address")),
        };
        let registered = started.and_then(|mut stream| {
            let key = self.links.vacant_key();
            let token = self.link_token(key);
            self.registry
                .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                .map(|()| (key, stream))
        });
        match registered {
            Ok((key, stream)) => {
                let link = BusLink::new(id, stream, true, self.cfg.frame_bytes_max, now_ms);
                let inserted = self.links.insert(link);
                debug_assert_eq!(inserted, key);
                self.by_link.insert(id, key);
                None
            }
            Err(e) => {
                self.log(
                    LogLevel::Verbose,
                    format!("Unable to connect to Cluster Node [{ip}]:{cport} -> {e}"),
                );
                Some(self.state.link_closed(id, now_ms))
            }
        }
    }

    /// Forgets the socket of a link the state machine already dropped.
    fn close_socket(&mut self, id: LinkId) {
        if let Some(key) = self.by_link.remove(&id) {
            if self.links.contains(key) {
                let mut link = self.links.remove(key);
                let _ = self.registry.deregister(&mut link.stream);
            }
        }
    }

    /// A link died from our side of the socket: close it and tell the state machine.
    pub(super) fn drop_link(&mut self, id: LinkId, now_ms: u64) {
        self.close_socket(id);
        let actions = self.state.link_closed(id, now_ms);
        self.apply(actions, now_ms);
    }

    /// Per link: `(events, send buffer allocated, send buffer used)` for CLUSTER LINKS.
    pub(super) fn link_io(&self, id: LinkId) -> (&'static str, u64, u64) {
        let Some(link) = self.by_link.get(&id).and_then(|&k| self.links.get(k)) else {
            return ("", 0, 0);
        };
        let events = if link.writable_interest { "rw" } else { "r" };
        (events, link.out.capacity() as u64, link.pending() as u64)
    }
}
