//! What the driver holds and counts: per-connection queued output and memory, the pool, the counters.

use super::{Conn, ConnId, DriverStats, UringDriver};
use std::os::fd::RawFd;

impl UringDriver {
    /// Output bytes queued for `conn` and not yet sent (0 for an unknown id). Add it to the client's output
    /// length for `client-output-buffer-limit`.
    pub fn queued_bytes(&self, conn: ConnId) -> usize {
        self.conn_ref(conn).map_or(0, Conn::queued_bytes)
    }

    /// The connection's socket (for `CLIENT LIST fd=`, `getsockname` for `laddr`); the driver owns it: do not
    /// close it or read/write it directly.
    pub fn conn_fd(&self, conn: ConnId) -> Option<RawFd> {
        self.conn_ref(conn).map(|c| c.fd)
    }

    /// Heap bytes the driver holds for `conn` (its output buffers and slot), for the client's charge.
    pub fn conn_bytes(&self, conn: ConnId) -> usize {
        self.conn_ref(conn).map_or(0, Conn::bytes)
    }

    /// Bytes of the provided-buffer pool: fixed at startup (`DriverConfig::pool_bytes` plus ring alignment).
    pub fn pool_bytes(&self) -> usize {
        self.pool.bytes()
    }

    /// Everything the driver holds: the pool, every connection's buffers and the slot table (the ring's own
    /// kernel memory is not counted). Charge it to the budget.
    pub fn bytes(&self) -> usize {
        let conns: usize = self.conns.iter().flatten().map(Conn::bytes).sum();
        self.pool.bytes()
            + conns
            + self.conns.capacity() * std::mem::size_of::<Option<Conn>>()
            + (self.generations.capacity() + self.free_slots.capacity() + self.dirty.capacity()) * 4
            + self.starved.capacity() * 4
            + self.cqe_batch.capacity() * std::mem::size_of::<(u64, i32, u32)>()
    }

    /// Connections accepted and not yet released (including those closing).
    pub fn open_connections(&self) -> usize {
        self.open
    }

    /// Provided buffers currently held by the caller (as `RecvBuf`s).
    pub fn buffers_held(&self) -> usize {
        self.pool.held()
    }

    /// The counters.
    pub fn stats(&self) -> &DriverStats {
        &self.stats
    }
}
