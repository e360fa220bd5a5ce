//! What Zedis's integration tests share, so each crate's tests do not carry their own copy.
//!
//! A dev-dependency only; nothing here is used by a production binary. Every server a test starts listens on
//! 127.0.0.1, on a free port, keeps its files in a temporary directory and is killed by PID on drop; every
//! wait has a wide margin (the machine is loaded).
//!
//! Layout:
//! - [`ports`]: [`free_port`], [`free_port_pair`] (a cluster node's client and bus ports).
//! - [`tempdir`]: [`TempDir`], removed on drop.
//! - [`process`]: [`Proc`] (any program, killed by PID on drop), [`run_with_input`] (a program run to its end
//!   with a deadline), [`have`] / [`installed`] (is a tool on the PATH), [`wait_until`], [`wait_exit`],
//!   [`wait_listening`], [`args`], [`python_with_redis`].
//! - [`redis`]: [`RedisServer`], a reference `redis-server` (builder for a bus port, a given directory, files
//!   written first, a port the arguments open, a fixed port).
//! - [`client`]: [`RespClient`], a blocking raw RESP client (exact reply bytes and decoded [`Frame`]s).
//! - [`diff`]: the differential fuzzer's runner, normalisation and generator core (its seeded PRNG, [`Rng`],
//!   serves other tests too).
#![deny(missing_docs)]

pub mod client;
pub mod diff;
pub mod ports;
pub mod process;
pub mod redis;
pub mod tempdir;

pub use client::RespClient;
pub use diff::Rng;
pub use ports::{free_port, free_port_pair, BUS_PORT_OFFSET};
pub use process::{
    args, have, installed, python_with_redis, run_with_input, wait_exit, wait_listening,
    wait_until, Output, Proc,
};
pub use redis::{RedisBuilder, RedisServer};
pub use tempdir::TempDir;
pub use zedis_resp::Frame;
