//! Redis Cluster's core, sans-IO: what a Zedis node needs to sit in a Redis 7.0 cluster.
#![deny(missing_docs)]

pub mod bus;
mod error;
mod nodes_conf;
mod replies;
pub mod slot;
pub mod state;

pub use error::{ConfError, DecodeError, FrameError};
pub use slot::{crc16, key_hash_slot, SlotBitmap, SLOTS, SLOT_BITMAP_BYTES};
pub use state::admin::{AdminError, FailoverMode};
pub use state::{Action, ClusterState, Config, LinkId, Node, NodeIdx};
