//! The per-run state of one Lua state, shared (in an `Rc`) by the Rust primitives (`redis.log`,
//! `redis.setresp`, ...), the instruction hook and the raw `redis.call`: plain cells, so the hot path reads
//! them without a lookup or a borrow guard.

use crate::flags::ScriptFlags;
use crate::host::{CallCtx, LogLevel};
use crate::interrupt::HostSlot;
use mlua::Function;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};
use zedis_resp::{Frame, Protocol};

/// `redis.log` lines kept per run before they are handed to the host.
pub(crate) const LOG_LINES_MAX: usize = 1024;

/// A function registered by `redis.register_function` during a FUNCTION LOAD.
pub(crate) struct Registered {
    pub name: String,
    pub description: Option<String>,
    pub callback: Function,
    pub flags: ScriptFlags,
}

/// The buffers `redis.call` reuses from one command to the next (no allocation per command once they
/// have grown).
#[derive(Default)]
pub(crate) struct CallBuffers {
    /// Number arguments formatted as `%.17g`, one after the other.
    pub numbers: Vec<u8>,
    /// Where each number argument lies in `numbers`, in argument order.
    pub ranges: Vec<(usize, usize)>,
    /// The argument vector's allocation; always empty between commands (the lifetime is erased there:
    /// see [`recycle`]).
    pub argv: Vec<&'static [u8]>,
}

/// Reuses an empty vector's allocation for slices of another lifetime (an in-place collect: no
/// allocation, and no slice survives the call).
pub(crate) fn recycle<'a, 'b>(mut v: Vec<&'a [u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| -> &'b [u8] { &[] }).collect()
}

/// Per-run state reachable from the Rust primitives and the raw C functions.
pub(crate) struct Runtime {
    /// The running script's flags (protocol and repl flags are the fields below).
    pub ctx: Cell<CallCtx>,
    /// `redis.setresp`: the protocol of the replies `redis.call` gets and of booleans in the script's reply.
    pub script_protocol: Cell<Protocol>,
    /// `redis.set_repl` flags.
    pub repl_flags: Cell<u8>,
    /// `redis.log` lines of this run (at most [`LOG_LINES_MAX`]).
    pub logs: RefCell<Vec<(LogLevel, Vec<u8>)>>,
    /// `Some` while FUNCTION LOAD runs a library's code: the functions it registered.
    pub registered: RefCell<Option<Vec<Registered>>>,
    /// When the running script (or FUNCTION LOAD) started.
    pub started: Cell<Instant>,
    /// The FUNCTION LOAD timeout while a library's top-level code runs.
    pub load_timeout: Cell<Option<Duration>>,
    /// The running script's host: installed exactly while a script runs (`redis.call` is refused otherwise).
    pub host: Rc<HostSlot>,
    /// `redis.call`'s reusable buffers.
    pub call_buffers: RefCell<CallBuffers>,
    /// The reply `redis.call` is turning into a Lua value. It lives here, not on the C function's frame,
    /// so that a Lua error raised while converting it (out of memory) skips no destructor.
    pub reply: RefCell<Option<Frame>>,
}

impl Runtime {
    /// A runtime with no run in progress.
    pub fn new(host: Rc<HostSlot>) -> Runtime {
        Runtime {
            ctx: Cell::new(CallCtx {
                protocol: Protocol::Resp2,
                flags: ScriptFlags::default(),
                compat_mode: true,
                read_only: false,
                repl_flags: 3,
            }),
            script_protocol: Cell::new(Protocol::Resp2),
            repl_flags: Cell::new(3),
            logs: RefCell::new(Vec::new()),
            registered: RefCell::new(None),
            started: Cell::new(Instant::now()),
            load_timeout: Cell::new(None),
            host,
            call_buffers: RefCell::new(CallBuffers::default()),
            reply: RefCell::new(None),
        }
    }

    /// Resets the per-run fields at the start of a run (or of FUNCTION LOAD, with its timeout).
    pub fn begin(&self, load_timeout: Option<Duration>) {
        self.script_protocol.set(Protocol::Resp2);
        self.repl_flags.set(3);
        self.logs.borrow_mut().clear();
        self.started.set(Instant::now());
        self.load_timeout.set(load_timeout);
    }

    /// Time since the running script (or FUNCTION LOAD) started.
    pub fn elapsed(&self) -> Duration {
        self.started.get().elapsed()
    }

    /// The [`CallCtx`] of the running script's next command: its flags, `redis.setresp` protocol and
    /// `redis.set_repl` flags.
    pub fn call_ctx(&self) -> CallCtx {
        CallCtx {
            protocol: self.script_protocol.get(),
            repl_flags: self.repl_flags.get(),
            ..self.ctx.get()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycle_keeps_the_allocation() {
        let data = [1u8, 2, 3];
        let mut v: Vec<&[u8]> = Vec::with_capacity(8);
        v.push(&data);
        let ptr = v.as_ptr() as usize;
        let back: Vec<&'static [u8]> = recycle(v);
        assert!(back.is_empty());
        assert_eq!(back.capacity(), 8);
        assert_eq!(back.as_ptr() as usize, ptr);
    }
}
