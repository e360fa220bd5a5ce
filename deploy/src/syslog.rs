//! `syslog-enabled`, `syslog-ident`, `syslog-facility` through libc's `openlog`/`syslog`, as Redis uses them:
//! `openlog(ident, LOG_PID | LOG_NDELAY | LOG_NOWAIT, facility)` once at startup, then one `syslog` call per
//! log line with the level mapped to `LOG_DEBUG`/`LOG_INFO`/`LOG_NOTICE`/`LOG_WARNING`.

use crate::DeployError;
use std::ffi::CString;

/// The facilities Redis 7.0 accepts for `syslog-facility`, by name.
pub const FACILITIES: &[(&str, libc::c_int)] = &[
    ("user", libc::LOG_USER),
    ("local0", libc::LOG_LOCAL0),
    ("local1", libc::LOG_LOCAL1),
    ("local2", libc::LOG_LOCAL2),
    ("local3", libc::LOG_LOCAL3),
    ("local4", libc::LOG_LOCAL4),
    ("local5", libc::LOG_LOCAL5),
    ("local6", libc::LOG_LOCAL6),
    ("local7", libc::LOG_LOCAL7),
];

/// A `syslog-facility` value (Redis's default is `local0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(libc::c_int);

impl Default for Facility {
    fn default() -> Self {
        Facility(libc::LOG_LOCAL0)
    }
}

impl Facility {
    /// Parses a facility name, case-insensitively (`user`, `local0`..`local7`).
    pub fn parse(name: &str) -> Result<Facility, DeployError> {
        FACILITIES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, code)| Facility(code))
            .ok_or(DeployError::SyslogFacility)
    }

    /// The facility's name as CONFIG GET shows it.
    pub fn name(self) -> &'static str {
        FACILITIES
            .iter()
            .find(|(_, code)| *code == self.0)
            .map_or("local0", |(n, _)| n)
    }

    /// The libc constant.
    pub fn code(self) -> libc::c_int {
        self.0
    }
}

/// Opens the connection to the system logger with `ident` and `facility`. libc keeps the `ident` pointer,
/// so the string is leaked: this is meant to run once at startup (a few bytes per call).
pub fn open(ident: &str, facility: Facility) -> Result<(), DeployError> {
    let ident = CString::new(ident).map_err(|_| DeployError::SyslogIdent)?;
    let ident: &'static std::ffi::CStr = Box::leak(ident.into_boxed_c_str());
    // SAFETY: `ident` lives for the rest of the process, as openlog requires.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY | libc::LOG_NOWAIT,
            facility.code(),
        )
    };
    Ok(())
}

/// Sends one message at a libc priority (`LOG_NOTICE`...). Bytes after a NUL in `message` are dropped.
pub fn send(priority: libc::c_int, message: &[u8]) {
    let end = message
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(message.len());
    let mut buf = [0u8; crate::log::MESSAGE_BYTES_MAX + 1];
    let len = end.min(crate::log::MESSAGE_BYTES_MAX);
    buf[..len].copy_from_slice(&message[..len]);
    // SAFETY: `buf` is NUL-terminated within its bounds; the format string is a literal "%s".
    unsafe {
        libc::syslog(
            priority,
            c"%s".as_ptr(),
            buf.as_ptr().cast::<libc::c_char>(),
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_names() {
        assert_eq!(Facility::parse("LOCAL7").unwrap().code(), libc::LOG_LOCAL7);
        assert_eq!(Facility::parse("user").unwrap().name(), "user");
        assert_eq!(Facility::default().name(), "local0");
        let err = Facility::parse("daemon").unwrap_err().to_string();
        assert!(err.starts_with("argument(s) must be one of the following: user, local0"));
    }
}
