//! `zedis-deploy`: the parts of a Redis deployment that are not the event loop (issue 27).
//!
//! Everything a redis.conf user relies on to run the server as a service, built so the server can call it
//! from its startup code and its event loop without knowing how it works:
//!
//! - [`log`](mod@log): Redis 7.0's log lines (`pid:role dd Mon yyyy hh:mm:ss.mmm <level-char> message`), `loglevel`,
//!   `logfile` (empty = stdout) with reopening for log rotation, `syslog-enabled` / `syslog-ident` /
//!   `syslog-facility`. A global logger: the [`notice!`], [`warning!`], [`verbose!`] and [`debug!`] macros
//!   work from any thread and from a forked child, take no lock and write each line with one `write(2)`.
//! - [`daemon`]: `daemonize yes` (fork, setsid, stdio to /dev/null; the parent waits for the child to say
//!   it is up).
//! - [`pidfile`]: written at start, removed at a clean exit, Redis's default path rule.
//! - [`listen`]: `bind` (several addresses, IPv6, `*`, `::*`, the `-` optional prefix, Redis's rules for
//!   addresses that cannot be bound), `port 0`, `tcp-backlog`, and `tcp-keepalive` applied to an accepted
//!   socket.
//! - [`unix`]: `unixsocket` + `unixsocketperm` (a `mio` listener, a stale socket file replaced).
//! - [`stream`]: [`stream::ClientStream`] (TCP or Unix client: Read/Write/mio Source/fd, Redis's `addr=`
//!   texts) and [`stream::Listener`] (accept from either, `tcp-keepalive` applied).
//! - [`service`]: the startup/shutdown sequence in four calls ([`service::Service`]: start, listen, ready,
//!   shutdown).
//! - [`settings`]: all of the above typed from the server's configuration in one call ([`DeploySettings`]).
//! - [`shutdown`]: `shutdown-on-sigterm`/`-sigint` flags with Redis's texts, and `prepareForShutdown`'s
//!   save / wait-for-replicas decisions.
//! - [`notify`]: `supervised systemd` (`sd_notify` READY/STATUS/STOPPING over `$NOTIFY_SOCKET`).
//!
//! Non-goals: the event loop, config parsing (the server's `config.rs` owns the directive table; this crate
//! takes typed values), the shutdown itself (saving and closing the AOF on SIGTERM are the server's).
//!
//! Layout: `log.rs` (the global logger and its macros), `logtime.rs` (lock-free local time for the line
//! prefix), `syslog.rs`, `daemon.rs`, `pidfile.rs`, `listen.rs` (bind and TCP), `unix.rs` (Unix socket),
//! `notify.rs`, `stream.rs`, `service.rs`, `settings.rs`, `shutdown.rs`, `error.rs`.

#![deny(missing_docs)]

pub mod daemon;
mod error;
pub mod listen;
pub mod log;
pub mod logo;
mod logtime;
pub mod notify;
pub mod pidfile;
pub mod proctitle;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod stream;
pub mod syslog;
pub mod unix;

pub use error::{os_text, DeployError};
pub use settings::DeploySettings;
