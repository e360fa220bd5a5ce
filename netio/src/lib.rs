//! `zedis-netio`: an io_uring network driver for zedis-server's `--io uring` strategy (issue 24).
//!
//! The mio loop costs, per request at pipeline 1, an `epoll_wait`, a `read` and a `write` (plus an
//! `epoll_ctl` when a reply does not fit the socket). This driver replaces all of them with a share of one
//! `io_uring_enter` per loop turn:
//! - **accept**: one multishot accept on the listener;
//! - **receive**: one multishot receive per connection, into a bounded pool of provided buffers
//!   (`buffers_count` × `buffer_bytes`, a registered buffer ring) shared by all connections; a buffer comes
//!   back when the caller drops the [`RecvBuf`]; when the pool runs dry the receive stops with `ENOBUFS` and is
//!   re-armed once buffers come back (the bytes wait in the socket, none are lost);
//! - **send**: [`UringDriver::send`] copies output into the connection's own buffer; each turn submits one Send
//!   per connection with output; partial sends are resubmitted for the rest; queued output per connection is
//!   bounded (`output_bytes_max`) and measured ([`UringDriver::queued_bytes`]);
//! - **timers**: a multishot timeout SQE yields [`Event::Tick`] (the cron); `turn(timeout)` bounds one wait;
//! - **wake-up**: a [`Waker`] (eventfd) wakes the loop from another thread.
//!
//! It is sans-server: it knows nothing of RESP or clients. The server's net half maps [`ConnId`]s to its
//! clients, copies `Data` into their query buffers, and passes replies to `send` once per turn.
//!
//! Non-goals: TLS (the TLS transport works on readiness; it stays on the mio loop), several listeners,
//! zero-copy sends, registered files.
//!
//! Layout: `driver.rs` (API, submission side, syscall accounting), `complete.rs` (completions to events),
//! `event.rs` (events, counters), `bufpool.rs` (provided buffers), `conn.rs` (per-connection state),
//! `setup.rs` (ring setup, [`probe`]), `waker.rs`, `config.rs`, `error.rs`.

#![deny(missing_docs)]

mod bufpool;
mod complete;
mod config;
mod conn;
mod driver;
mod error;
mod event;
mod setup;
mod waker;

pub use bufpool::RecvBuf;
pub use config::DriverConfig;
pub use conn::{CloseReason, ConnId};
pub use driver::UringDriver;
pub use error::NetioError;
pub use event::{DriverStats, Event};
pub use setup::probe;
pub use waker::Waker;
