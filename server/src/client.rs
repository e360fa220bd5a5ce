//! Per-connection state. Lives in a slot of the client pool (`--client-allocator pool`: preallocated slots
//! whose buffers are kept, bounded, across connections) or on the heap (`heap`).

use mio::net::TcpStream;
use zedis_client_pool::{IoBuf, Recycle};
use zedis_resp::{ParserLimits, Protocol, RequestParser};

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
}

impl Default for Input {
    fn default() -> Self {
        Input {
            query: IoBuf::new(),
            parser: RequestParser::new(ParserLimits::default()),
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
    /// The socket; `None` in a recycled slot.
    pub stream: Option<TcpStream>,
    /// Peer address.
    pub addr: String,
    /// Local address.
    pub laddr: String,
    /// Socket file descriptor (CLIENT LIST's fd).
    pub fd: i32,
    /// CLIENT SETNAME.
    pub name: Vec<u8>,
    /// Selected database.
    pub db: usize,
    /// RESP2 or RESP3 (HELLO).
    pub proto: Protocol,
    /// Unprocessed input; `None` only while its commands run.
    pub input: Option<Input>,
    /// Pending reply bytes.
    pub out: IoBuf,
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
    /// MULTI/WATCH state and a command postponed by CLIENT PAUSE (`multi.rs`).
    pub tx: crate::multi::ClientTx,
}

impl Client {
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
