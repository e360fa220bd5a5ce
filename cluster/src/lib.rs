//! Redis Cluster's core, sans-IO: what a Zedis node needs to sit in a Redis 7.0 cluster.
#![deny(missing_docs)]

pub mod bus;
mod error;
pub mod slot;

pub use error::{ConfError, DecodeError, FrameError};
pub use slot::{crc16, key_hash_slot, SlotBitmap, SLOTS, SLOT_BITMAP_BYTES};
