//! A Zedis cluster node for tests: the sans-IO `ClusterState` driven over real TCP sockets by a tiny
//! nonblocking loop, the way the server's event loop is meant to drive it.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use zedis_cluster::bus::FrameReader;
use zedis_cluster::{Action, ClusterState, Config, LinkId};

/// Unix time in ms.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Conn {
    stream: TcpStream,
    reader: FrameReader,
    out: Vec<u8>,
}

/// One Zedis bus endpoint.
pub struct BusNode {
    /// The state machine.
    pub state: ClusterState,
    listener: TcpListener,
    conns: HashMap<LinkId, Conn>,
    last_tick_ms: u64,
    /// Every packet received, raw (for byte-exact codec checks).
    pub received: Vec<Vec<u8>>,
    /// Every non-network action, in order.
    pub events: Vec<Action>,
    /// Packets that failed to decode.
    pub bad_packets: usize,
}

impl BusNode {
    /// Listens on a free bus port; announces client port `port` (nobody connects to it here).
    pub fn start(node_timeout_ms: u64) -> BusNode {
        Self::start_with(node_timeout_ms, "")
    }

    /// As `start`, announcing `hostname` (the hostname ping extension) when not empty.
    pub fn start_with(node_timeout_ms: u64, hostname: &str) -> BusNode {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind bus port");
        listener.set_nonblocking(true).expect("nonblocking");
        let cport = listener.local_addr().expect("addr").port();
        let port = cport.wrapping_sub(10000).max(1);
        let cfg = Config {
            node_timeout_ms,
            port,
            cport,
            // Distinct per node even when several start in the same millisecond (the seed makes the name).
            seed: now_ms() ^ (u64::from(cport) << 40) ^ u64::from(std::process::id()),
            announce_hostname: hostname.to_string(),
            ..Config::default()
        };
        BusNode {
            state: ClusterState::new(cfg, now_ms()),
            listener,
            conns: HashMap::new(),
            last_tick_ms: 0,
            received: Vec::new(),
            events: Vec::new(),
            bad_packets: 0,
        }
    }

    /// Restarts a node from its nodes.conf on bus port `cport` (as the server would after a restart).
    pub fn restart(conf: &str, cport: u16, node_timeout_ms: u64) -> BusNode {
        let listener = TcpListener::bind(("127.0.0.1", cport)).expect("bind the same bus port");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = cport.wrapping_sub(10000).max(1);
        let cfg = Config {
            node_timeout_ms,
            port,
            cport,
            seed: now_ms() ^ (u64::from(cport) << 40),
            ..Config::default()
        };
        let mut state =
            ClusterState::from_nodes_conf(cfg, conf, now_ms()).expect("our own nodes.conf loads");
        let startup = state.startup_actions();
        let mut node = BusNode {
            state,
            listener,
            conns: HashMap::new(),
            last_tick_ms: 0,
            received: Vec::new(),
            events: Vec::new(),
            bad_packets: 0,
        };
        node.apply(startup);
        node
    }

    /// Performs the actions a call returned.
    pub fn apply(&mut self, actions: Vec<Action>) {
        let mut queue: std::collections::VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Connect { link, ip, cport } => {
                    let addr: Option<SocketAddr> = format!("{ip}:{cport}").parse().ok();
                    let stream = addr
                        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok());
                    let more = match stream {
                        Some(stream) => {
                            let local = stream
                                .local_addr()
                                .map(|a| a.ip().to_string())
                                .unwrap_or_default();
                            stream.set_nonblocking(true).expect("nonblocking");
                            let _ = stream.set_nodelay(true);
                            self.conns.insert(
                                link,
                                Conn {
                                    stream,
                                    reader: FrameReader::default(),
                                    out: Vec::new(),
                                },
                            );
                            self.state.link_connected(link, &local, now_ms())
                        }
                        None => self.state.link_closed(link, now_ms()),
                    };
                    queue.extend(more);
                }
                Action::Send { link, packet } => {
                    if let Some(c) = self.conns.get_mut(&link) {
                        c.out.extend_from_slice(&packet);
                    }
                }
                Action::Close { link } => {
                    self.conns.remove(&link);
                }
                other => self.events.push(other),
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        let mut dead = Vec::new();
        for (&link, c) in self.conns.iter_mut() {
            while !c.out.is_empty() {
                match c.stream.write(&c.out) {
                    Ok(0) => {
                        dead.push(link);
                        break;
                    }
                    Ok(n) => {
                        c.out.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        dead.push(link);
                        break;
                    }
                }
            }
        }
        for link in dead {
            self.conns.remove(&link);
            let more = self.state.link_closed(link, now_ms());
            self.apply(more);
        }
    }

    /// One turn: accept, read and handle packets, tick every 100 ms.
    pub fn poll(&mut self) {
        while let Ok((stream, peer)) = self.listener.accept() {
            let local = stream
                .local_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default();
            stream.set_nonblocking(true).expect("nonblocking");
            let link = self
                .state
                .accept_link(&peer.ip().to_string(), &local, now_ms());
            self.conns.insert(
                link,
                Conn {
                    stream,
                    reader: FrameReader::default(),
                    out: Vec::new(),
                },
            );
        }
        let links: Vec<LinkId> = self.conns.keys().copied().collect();
        for link in links {
            let mut frames = Vec::new();
            let mut closed = false;
            if let Some(c) = self.conns.get_mut(&link) {
                let mut buf = [0u8; 16384];
                loop {
                    match c.stream.read(&mut buf) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(n) => c.reader.push(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
                loop {
                    match c.reader.next_frame() {
                        Ok(Some(frame)) => frames.push(frame.to_vec()),
                        Ok(None) => break,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
            }
            for frame in frames {
                if zedis_cluster::bus::Message::decode(&frame).is_err() {
                    self.bad_packets += 1;
                }
                let actions = self.state.handle_frame(link, &frame, now_ms());
                self.received.push(frame);
                self.apply(actions);
            }
            if closed {
                self.conns.remove(&link);
                let more = self.state.link_closed(link, now_ms());
                self.apply(more);
            }
        }
        let now = now_ms();
        if now >= self.last_tick_ms + 100 {
            self.last_tick_ms = now;
            let actions = self.state.tick(now);
            self.apply(actions);
        }
        self.flush();
    }

    /// Polls until `done` holds or `timeout` passes; returns whether it held.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&mut BusNode) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.poll();
            if done(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// The bus port we listen on.
    pub fn cport(&self) -> u16 {
        self.state.config().cport
    }

    /// Open links (sockets) right now.
    pub fn open_links(&self) -> usize {
        self.conns.len()
    }

    /// Our node id.
    pub fn name(&self) -> String {
        self.state.myself().name_str().to_string()
    }
}

/// How long a cluster may take to converge on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(90);

/// Polls `node` until `check` (run every ~200 ms) holds; panics with `what`, our view and our events after
/// [`WAIT`].
pub fn wait(node: &mut BusNode, what: &str, mut check: impl FnMut(&mut BusNode) -> bool) {
    let mut last = Instant::now() - Duration::from_secs(1);
    let ok = node.run_until(WAIT, |n| {
        if last.elapsed() < Duration::from_millis(200) {
            return false;
        }
        last = Instant::now();
        check(n)
    });
    assert!(
        ok,
        "timed out waiting for: {what}\nour view:\n{}\nour events: {:?}",
        node.state.cluster_nodes(),
        node.events
    );
}
