//! The AOF part of INFO persistence.

use super::Aof;

/// The AOF part of INFO persistence.
pub fn info(aof: &Aof, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        u8::from(aof.enabled()),
        u8::from(aof.rewrite_in_progress()),
        u8::from(aof.rewrite_scheduled),
        aof.last_rewrite_time_sec,
        aof.current_rewrite_time_sec(),
        if aof.last_bgrewrite_ok { "ok" } else { "err" },
        aof.rewrites,
        if aof.failure_errno().is_some() { "err" } else { "ok" },
    );
    if aof.enabled() {
        let _ = write!(
            out,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            aof.total_size(),
            aof.base_size,
            u8::from(aof.rewrite_scheduled),
            aof.buf.len(),
        );
    }
}
