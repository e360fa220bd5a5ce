//! Per-connection state. Lives in a slot of the client pool (`--client-allocator pool`: preallocated slots
//! whose buffers are kept, bounded, across connections) or on the heap (`heap`).

use std::collections::VecDeque;
use std::rc::Rc;
use zedis_budget::{Component, GlobalBudget};
use zedis_client_pool::{IoBuf, Recycle};
use zedis_deploy::stream::ClientStream;
use zedis_resp::{ParserLimits, Protocol, RequestParser};
use zedis_tls::Transport;

/// Query buffers above this are shrunk back when idle (Redis's shrinking of idle query buffers).
pub const QUERY_KEEP_BYTES_MAX: usize = 32 * 1024;
/// Output buffers above this are shrunk back once drained.
pub const OUTPUT_KEEP_BYTES_MAX: usize = 64 * 1024;

/// The bytes read but not yet executed, and the parser's resume state. Taken out of the client while its
/// commands run, so that argument slices can borrow it while the client is mutated.
pub struct Input {
    /// Unprocessed bytes.
    pub query: IoBuf,
    /// Resume state of the request being parsed.
    pub parser: RequestParser,
    /// The most bytes buffered since the cron last looked (Redis's `querybuf_peak`): a buffer much larger
    /// than its recent peak is shrunk by the cron, not after every batch, so a client sending large
    /// arguments keeps its buffer instead of faulting fresh pages for each one.
    pub peak: usize,
}

impl Default for Input {
    fn default() -> Self {
        Input {
            query: IoBuf::new(),
            parser: RequestParser::new(ParserLimits::default()),
            peak: 0,
        }
    }
}

/// Output bytes held outside the client's `out` buffer, charged to the budget while they live.
pub struct Frame {
    bytes: Box<[u8]>,
    component: Component,
}

impl Frame {
    /// Takes `bytes` and charges them to `component`.
    pub fn new(bytes: Vec<u8>, component: Component) -> Frame {
        let bytes = bytes.into_boxed_slice();
        zedis_budget::current().reserve(component, bytes.len());
        Frame { bytes, component }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        zedis_budget::current().release(self.component, self.bytes.len());
    }
}

/// Queued output that precedes the client's `out` buffer.
pub enum Chunk {
    /// Reply bytes that were in `out` when a shared frame arrived (keeps the order).
    Owned(Frame),
    /// A published message encoded once and shared by every recipient (charged once, as Pubsub).
    Shared(Rc<Frame>),
}

impl Chunk {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Owned(frame) => frame.bytes(),
            Chunk::Shared(frame) => frame.bytes(),
        }
    }
}

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyMode {
    /// Replies are sent.
    #[default]
    On,
    /// Replies are discarded.
    Off,
    /// CLIENT REPLY SKIP was just given: the next command's reply is discarded.
    Skip,
    /// This command's reply is discarded, then replies resume.
    SkipThis,
}

/// One connected client.
#[derive(Default)]
pub struct Client {
    /// Unique, increasing id (CLIENT ID).
    pub id: u64,
    /// The socket, plain or TLS; `None` in a recycled slot.
    pub stream: Option<Transport<ClientStream>>,
    /// Connected through `unixsocket` (CLIENT LIST flag `U`).
    pub unix_socket: bool,
    /// Peer address.
    pub addr: String,
    /// Local address.
    pub laddr: String,
    /// Socket file descriptor (CLIENT LIST's fd).
    pub fd: i32,
    /// Served by the io_uring driver (`--io uring`): a live connection without a mio `stream`.
    pub on_uring: bool,
    /// CLIENT SETNAME.
    pub name: Vec<u8>,
    /// Selected database.
    pub db: usize,
    /// RESP2 or RESP3 (HELLO).
    pub proto: Protocol,
    /// Unprocessed input; `None` only while its commands run.
    pub input: Option<Input>,
    /// While the event loop runs this client's commands (its `input` taken out): the query bytes from the
    /// running command on, and the buffer's spare room (CLIENT LIST `qbuf`/`qbuf-free`, as Redis shows the
    /// command being run still in the buffer).
    pub running_query: (usize, usize),
    /// Pending reply bytes (written after every chunk of `pending`).
    pub out: IoBuf,
    /// The most reply bytes `out` held since the cron last looked (Redis's `buf_peak`): the cron, not each
    /// write, shrinks a buffer much larger than that.
    pub out_peak: usize,
    /// Output queued before `out`: shared pub/sub frames, in arrival order.
    pub pending: VecDeque<Chunk>,
    /// Unwritten bytes in `pending` (the front chunk's written prefix excluded).
    pub pending_bytes: usize,
    /// Bytes of the front chunk already written.
    pub pending_offset: usize,
    /// Connection time (unix ms).
    pub created_ms: i64,
    /// Last command or read (unix ms), for `timeout` and CLIENT LIST idle.
    pub last_interaction_ms: i64,
    /// Last command's full name.
    pub last_cmd: &'static str,
    /// Close once the pending output is written (QUIT, protocol error).
    pub close_after_reply: bool,
    /// The peer closed its side: finish what was read, write, then close.
    pub peer_closed: bool,
    /// Passed AUTH (or no password is set).
    pub authenticated: bool,
    /// The ACL user (`None`: the `default` user).
    pub user: Option<zedis_acl::UserId>,
    /// Registered for writable events.
    pub want_write: bool,
    /// In the server's pending-writes list.
    pub pending_write: bool,
    /// CLIENT REPLY.
    pub reply_mode: ReplyMode,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
    /// When the soft output limit was first exceeded (unix ms).
    pub soft_limit_since_ms: Option<i64>,
    /// Subscriptions to channels + patterns (RESP2 subscribed mode when > 0).
    pub subscriptions: usize,
    /// Subscriptions to shard channels.
    pub shard_subscriptions: usize,
    /// Passed its output buffer limit: scheduled for closing, its output dropped.
    pub output_limit_hit: bool,
    /// Parked by a blocking command.
    pub blocked: Option<crate::blocking::Blocked>,
    /// MULTI/WATCH state and a command postponed by CLIENT PAUSE (`multi.rs`).
    pub tx: crate::multi::ClientTx,
    /// This client is a replica of ours (REPLCONF/PSYNC/SYNC; `repl/master.rs`).
    pub replica: Option<crate::repl::ReplicaLink>,
    /// This client is our master (`repl/replica.rs`): its replies are dropped, its commands are the stream.
    pub is_master: bool,
    /// In WAIT: its further input waits for the replicas' acknowledgements.
    pub waiting_acks: bool,
    /// READONLY and ASKING (cluster mode).
    pub cluster: zedis_cluster::ClientFlags,
}

impl Client {
    /// Queues a shared frame after everything already pending.
    pub fn push_shared(&mut self, frame: &Rc<Frame>) {
        if !self.out.is_empty() {
            let moved = self.out.data().to_vec();
            self.out.consume(moved.len());
            self.out.recharge();
            self.pending_bytes += moved.len();
            self.pending
                .push_back(Chunk::Owned(Frame::new(moved, Component::Clients)));
        }
        self.pending_bytes += frame.bytes().len();
        self.pending.push_back(Chunk::Shared(Rc::clone(frame)));
    }

    /// All unwritten output.
    pub fn output_len(&self) -> usize {
        self.pending_bytes + self.out.len()
    }

    /// Marks `n` bytes of the queued chunks (then of `out`) as written.
    pub fn consume_output(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.pending.front() else {
                break;
            };
            let left = front.bytes().len() - self.pending_offset;
            if n < left {
                self.pending_offset += n;
                self.pending_bytes -= n;
                return;
            }
            n -= left;
            self.pending_bytes -= left;
            self.pending_offset = 0;
            self.pending.pop_front();
        }
        self.out.consume(n);
    }

    /// Drops all unwritten output.
    pub fn clear_output(&mut self) {
        self.pending.clear();
        self.pending_bytes = 0;
        self.pending_offset = 0;
        self.out.clear();
    }

    /// Whether the client is in RESP2 subscribed mode (only pub/sub commands allowed).
    pub fn in_subscribed_mode(&self) -> bool {
        self.proto == Protocol::Resp2 && (self.subscriptions + self.shard_subscriptions) > 0
    }
}

impl Recycle for Client {
    fn recycle(&mut self) {
        let mut input = self.input.take().unwrap_or_default();
        input.query.consume(input.query.len());
        input.query.shrink_to(QUERY_KEEP_BYTES_MAX);
        input.parser.reset();
        let mut out = std::mem::take(&mut self.out);
        out.consume(out.len());
        out.shrink_to(OUTPUT_KEEP_BYTES_MAX);
        *self = Client {
            input: Some(input),
            out,
            ..Client::default()
        };
    }
}
