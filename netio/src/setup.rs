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
/// issuer), falling back to cooperative task running (`COOP_TASKRUN | TASKRUN_FLAG`, kernel 5.19) and then
/// to the default mode on kernels without them.
pub(crate) fn setup(entries: u32, defer_taskrun: bool) -> Result<IoUring, NetioError> {
    let build = |mode: Mode| {
        let mut b = IoUring::builder();
        b.setup_cqsize(entries * 2);
        match mode {
            // Completions are processed only when we enter (no interrupts of the loop's thread).
            Mode::Defer => {
                b.setup_single_issuer().setup_defer_taskrun();
            }
            // Completion work waits for our next system call instead of interrupting us (no IPI).
            Mode::Coop => {
                b.setup_coop_taskrun().setup_taskrun_flag();
            }
            Mode::Plain => {}
        }
        b.build(entries)
    };
    let modes: &[Mode] = if defer_taskrun {
        &[Mode::Defer, Mode::Coop, Mode::Plain]
    } else {
        &[Mode::Coop, Mode::Plain]
    };
    let mut built = Err(io::Error::from_raw_os_error(libc::EINVAL));
    for &mode in modes {
        built = build(mode);
        match &built {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => continue,
            _ => break,
        }
    }
    let ring = built.map_err(unavailable)?;
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

/// How completion work is run (see `setup`).
#[derive(Clone, Copy)]
enum Mode {
    Defer,
    Coop,
    Plain,
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
