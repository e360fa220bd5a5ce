//! [`DriverConfig`]: every bound of the driver, fixed at startup.

use crate::NetioError;

/// Bounds of a [`crate::UringDriver`]. All memory the driver holds follows from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverConfig {
    /// Submission queue entries (power of two, 8..=32768); the completion queue gets twice as many. A turn
    /// that queues more SQEs than this submits early (one extra `io_uring_enter`).
    pub ring_entries: u32,
    /// Provided receive buffers (power of two, 1..=32768), shared by all connections. When every buffer is
    /// held, receives stop with `ENOBUFS` and are re-armed once buffers come back: no data is lost, it waits
    /// in the socket.
    pub buffers_count: u32,
    /// Bytes per provided buffer (64..=1 MiB). One `Event::Data` carries at most this many bytes.
    pub buffer_bytes: u32,
    /// Connections open at once; accepts beyond it are closed at once (counted in
    /// [`crate::DriverStats::refused`]).
    pub connections_max: u32,
    /// Output bytes queued per connection (staged plus in flight). `send` past it fails with
    /// [`NetioError::OutputLimit`] and queues nothing.
    pub output_bytes_max: usize,
    /// A connection's drained output buffers keep at most this capacity (larger ones are given back).
    pub output_keep_bytes_max: usize,
    /// After submitting N sends, a turn waits for N + 1 completions (the sends, which usually complete during
    /// the submission, and some input; more with `expect_replies`) for at most this long, then for any
    /// completion: one enter per request batch instead of two. 0 waits for one completion. Needs kernel 6.12
    /// (ignored before).
    pub batch_wait_usec: u32,
    /// With `batch_wait_usec`: a turn that sent N replies waits (for at most `batch_wait_usec`) for N more
    /// completions besides the sends, one request from each connection it answered, instead of one: at
    /// pipeline 1 with many clients a turn then serves many requests per sleep. `false`: wait for one.
    pub expect_replies: bool,
    /// Set the ring up with `IORING_SETUP_DEFER_TASKRUN | SINGLE_ISSUER`: completion work (copying received
    /// bytes, posting CQEs) runs only inside the loop's `io_uring_enter`, never interrupting it. Without it
    /// (or on kernels before 6.1) the ring uses `COOP_TASKRUN | TASKRUN_FLAG`: completion work still never
    /// interrupts the loop with an IPI, it runs at its next system call.
    pub defer_taskrun: bool,
}

/// The largest ring the kernel accepts for buffer rings.
const RING_ENTRIES_LIMIT: u32 = 32768;
/// The largest provided buffer.
const BUFFER_BYTES_LIMIT: u32 = 1024 * 1024;

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            ring_entries: 4096,
            buffers_count: 1024,
            buffer_bytes: 16 * 1024,
            connections_max: 10_000,
            output_bytes_max: 1024 * 1024 * 1024,
            output_keep_bytes_max: 16 * 1024,
            batch_wait_usec: 50,
            expect_replies: true,
            defer_taskrun: true,
        }
    }
}

impl DriverConfig {
    /// Checks every bound; the error names the field.
    pub fn validate(&self) -> Result<(), NetioError> {
        let bad = |what: &str| Err(NetioError::Config(what.to_string()));
        if !self.ring_entries.is_power_of_two()
            || !(8..=RING_ENTRIES_LIMIT).contains(&self.ring_entries)
        {
            return bad("ring_entries must be a power of two in 8..=32768");
        }
        if !self.buffers_count.is_power_of_two() || self.buffers_count > RING_ENTRIES_LIMIT {
            return bad("buffers_count must be a power of two in 1..=32768");
        }
        if !(64..=BUFFER_BYTES_LIMIT).contains(&self.buffer_bytes) {
            return bad("buffer_bytes must be in 64..=1048576");
        }
        if self.connections_max == 0 || self.connections_max >= 1 << 31 {
            return bad("connections_max must be in 1..2^31");
        }
        if self.output_bytes_max == 0 {
            return bad("output_bytes_max must be positive");
        }
        Ok(())
    }

    /// Bytes of the provided-buffer pool (buffers plus the ring of descriptors), held from startup.
    pub fn pool_bytes(&self) -> usize {
        self.buffers_count as usize * (self.buffer_bytes as usize + 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bounds_are_checked() {
        assert!(DriverConfig::default().validate().is_ok());
        let c = DriverConfig {
            buffers_count: 3,
            ..Default::default()
        };
        assert!(matches!(c.validate(), Err(NetioError::Config(m)) if m.contains("buffers_count")));
        let c = DriverConfig {
            buffer_bytes: 2 << 20,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = DriverConfig {
            ring_entries: 4,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = DriverConfig {
            connections_max: 0,
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }
}
