//! Setting up the ring and the buffer ring, and [`probe`]: can io_uring run here?

use std::io;

use io_uring::{opcode, IoUring};

use crate::bufpool::BufPool;
use crate::NetioError;

/// The buffer group id of the pool.
pub(crate) const BUFFER_GROUP: u16 = 0;

/// Checks that io_uring can be set up here with what the driver needs (a ring, a buffer ring, the opcodes).
/// Call at startup for `--io uring`; on `Err`, tell the user to use `--io epoll`.
pub fn probe() -> Result<(), NetioError> {
    let ring = setup(8, true)?;
    let pool = BufPool::new(1, 64, BUFFER_GROUP)?;
    register_pool(&ring, &pool)?;
    let _ = ring.submitter().unregister_buf_ring(BUFFER_GROUP);
    Ok(())
}

/// A ring of `entries` SQEs; `defer_taskrun`: completions are processed only when the loop enters (single
/// issuer), falling back to the default mode on kernels without it.
pub(crate) fn setup(entries: u32, defer_taskrun: bool) -> Result<IoUring, NetioError> {
    let build = |tuned: bool| {
        let mut b = IoUring::builder();
        b.setup_cqsize(entries * 2);
        if tuned {
            // Completions are processed only when we enter (no interrupts of the loop's thread).
            b.setup_single_issuer().setup_defer_taskrun();
        }
        b.build(entries)
    };
    let ring = match build(defer_taskrun) {
        Ok(ring) => ring,
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => build(false).map_err(unavailable)?,
        Err(e) => return Err(unavailable(e)),
    };
    if !ring.params().is_feature_ext_arg() {
        return Err(NetioError::Unsupported("IORING_FEAT_EXT_ARG (kernel 5.11)"));
    }
    if !ring.params().is_feature_nodrop() {
        return Err(NetioError::Unsupported("IORING_FEAT_NODROP (kernel 5.5)"));
    }
    let mut probe = io_uring::Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(unavailable)?;
    for (code, name) in [
        (opcode::AcceptMulti::CODE, "accept"),
        (opcode::RecvMulti::CODE, "recv"),
        (opcode::Send::CODE, "send"),
        (opcode::Close::CODE, "close"),
        (opcode::AsyncCancel::CODE, "async cancel"),
        (opcode::Timeout::CODE, "timeout"),
        (opcode::Read::CODE, "read"),
    ] {
        if !probe.is_supported(code) {
            return Err(NetioError::Unsupported(name));
        }
    }
    Ok(ring)
}

fn unavailable(e: io::Error) -> NetioError {
    NetioError::Unavailable(e)
}

pub(crate) fn register_pool(ring: &IoUring, pool: &BufPool) -> Result<(), NetioError> {
    let (addr, entries) = pool.ring_addr();
    // SAFETY: the ring memory lives as long as the pool, which the driver holds until it unregisters.
    unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(addr, entries, pool.group, 0)
    }
    .map_err(|_| NetioError::Unsupported("provided buffer rings (kernel 5.19)"))
}
