//! The crate's errors. Each `Display` is the text Redis logs (or prints) for the same failure, so the
//! server can log it as it is and exit.

use std::io;

/// Why a deployment step failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// `logfile` cannot be opened for appending (Redis refuses the configuration with this text).
    #[error("Can't open the log file: {}", os_text(.0))]
    LogFile(io::Error),
    /// An unknown `loglevel` value.
    #[error("argument(s) must be one of the following: debug, verbose, notice, warning, nothing")]
    LogLevel,
    /// An unknown `syslog-facility` value.
    #[error("argument(s) must be one of the following: user, local0, local1, local2, local3, local4, local5, local6, local7")]
    SyslogFacility,
    /// `syslog-ident` contains a NUL byte.
    #[error("syslog-ident must not contain a NUL byte")]
    SyslogIdent,
    /// `daemonize` was asked for while the process already runs other threads (a fork would lose them).
    #[error("daemonize must run before any thread is started ({0} threads running)")]
    Threads(usize),
    /// A system call of the daemonizing sequence failed.
    #[error("Can't daemonize: {}", os_text(.0))]
    Daemonize(io::Error),
    /// The daemon child exited or closed its readiness pipe before saying it was up.
    #[error("the daemon exited before it was ready")]
    ChildFailed,
    /// A `bind` address that is not an IP address, `*`, `::*` or a resolvable host name.
    #[error("Invalid bind address '{0}'")]
    BindAddress(String),
    /// More than 16 `bind` addresses (Redis's `CONFIG_BINDADDR_MAX`).
    #[error("Too many bind addresses specified.")]
    TooManyBindAddresses,
    /// A TCP listening socket could not be created (Redis: "Could not create server TCP listening socket").
    #[error("Could not create server TCP listening socket {addr}:{port}: {}", os_text(.source))]
    TcpListen {
        /// The address as written in `bind` (without the `-` prefix).
        addr: String,
        /// The port.
        port: u16,
        /// What the system said.
        source: io::Error,
    },
    /// Neither a TCP port nor a Unix socket is configured, or no address could be bound.
    #[error("Configured to not listen anywhere, exiting.")]
    NotListening,
    /// The Unix socket could not be created.
    #[error("Failed opening Unix socket: {}", os_text(.0))]
    UnixSocket(io::Error),
    /// A `unixsocketperm` value that is not an octal number up to 0777.
    #[error("argument must be an octal number between 0 and 0777")]
    UnixSocketPerm,
    /// A socket option could not be set.
    #[error("setsockopt {what}: {}", os_text(.source))]
    SocketOption {
        /// The option (`SO_KEEPALIVE`, ...).
        what: &'static str,
        /// What the system said.
        source: io::Error,
    },
    /// A directive's value is not valid.
    #[error("Invalid argument for '{name}': {why}")]
    Setting {
        /// The directive.
        name: &'static str,
        /// Why, in Redis's words.
        why: &'static str,
    },
    /// `$NOTIFY_SOCKET` could not be written to.
    #[error("Can't notify the supervisor: {}", os_text(.0))]
    Notify(io::Error),
}

/// An I/O error as C's `strerror` words it (what Redis logs): std's text without its " (os error N)" tail.
pub fn os_text(err: &io::Error) -> String {
    let text = err.to_string();
    match (err.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(cut)) => text[..cut].to_string(),
        _ => text,
    }
}
