//! [`Waker`]: wakes the loop from another thread.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

/// Wakes a [`crate::UringDriver`]'s loop from another thread (an eventfd the driver keeps a read armed on).
#[derive(Debug, Clone)]
pub struct Waker {
    pub(crate) fd: Arc<OwnedFd>,
}

impl Waker {
    /// Makes the driver's current or next turn return with [`crate::Event::Woken`]. One `write` system call.
    pub fn wake(&self) -> io::Result<()> {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to an eventfd we own.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if n == 8 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        // EAGAIN: the counter is saturated, so a wake is pending anyway.
        if err.kind() == io::ErrorKind::WouldBlock {
            Ok(())
        } else {
            Err(err)
        }
    }
}
