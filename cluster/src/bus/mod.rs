//! The Redis Cluster bus wire format (`clusterMsg`, protocol version 1, as Redis 7.0.15's `cluster.h`):
//! a fixed 2,256-byte header followed by a body that depends on the type. Every integer is big-endian
//! except the MODULE message's module id, which Redis copies in host order (kept as raw bytes here).
//!
//! - `header`: [`Header`] and its byte offsets (pinned by Redis's `static_assert`s).
//! - `message`: [`Message`], [`Body`], [`Gossip`]: whole packets, encode and decode.
//! - `ext`: [`PingExt`], the extensions PING/PONG/MEET may carry (hostname in 7.0; 7.2's human nodename,
//!   forgotten node and shard id are decoded too and unknown types kept as bytes, so 7.2 peers interoperate).
//! - `frame`: [`FrameReader`], splitting a link's byte stream into packets with a bounded buffer.

mod ext;
mod frame;
mod header;
mod message;
#[cfg(test)]
mod tests;

pub use ext::PingExt;
pub use frame::{FrameReader, FRAME_BYTES_MAX_DEFAULT};
pub use header::{ip_to_field, Header, HEADER_BYTES, IP_BYTES};
pub use message::{Body, Gossip, Message, GOSSIP_BYTES};

/// A node name on the wire: 40 bytes (lowercase hex for every real node).
pub type NodeName = [u8; 40];

/// Bus protocol version Redis 7.0 speaks.
pub const PROTO_VER: u16 = 1;

/// Message types (`CLUSTERMSG_TYPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgType {
    /// PING (0).
    Ping,
    /// PONG (1), the reply to PING and MEET, also broadcast on configuration changes.
    Pong,
    /// MEET (2), a PING that makes the receiver add the sender.
    Meet,
    /// FAIL (3), a node is failing.
    Fail,
    /// PUBLISH (4).
    Publish,
    /// FAILOVER_AUTH_REQUEST (5).
    FailoverAuthRequest,
    /// FAILOVER_AUTH_ACK (6).
    FailoverAuthAck,
    /// UPDATE (7), another node's slot configuration.
    Update,
    /// MFSTART (8), pause clients for a manual failover.
    MfStart,
    /// MODULE (9).
    Module,
    /// PUBLISHSHARD (10).
    PublishShard,
    /// A type this version does not know (Redis accepts any length for it and ignores it).
    Unknown(u16),
}

impl MsgType {
    /// From the wire value.
    pub fn from_u16(v: u16) -> MsgType {
        match v {
            0 => MsgType::Ping,
            1 => MsgType::Pong,
            2 => MsgType::Meet,
            3 => MsgType::Fail,
            4 => MsgType::Publish,
            5 => MsgType::FailoverAuthRequest,
            6 => MsgType::FailoverAuthAck,
            7 => MsgType::Update,
            8 => MsgType::MfStart,
            9 => MsgType::Module,
            10 => MsgType::PublishShard,
            other => MsgType::Unknown(other),
        }
    }

    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            MsgType::Ping => 0,
            MsgType::Pong => 1,
            MsgType::Meet => 2,
            MsgType::Fail => 3,
            MsgType::Publish => 4,
            MsgType::FailoverAuthRequest => 5,
            MsgType::FailoverAuthAck => 6,
            MsgType::Update => 7,
            MsgType::MfStart => 8,
            MsgType::Module => 9,
            MsgType::PublishShard => 10,
            MsgType::Unknown(v) => v,
        }
    }

    /// The name Redis logs and shows in CLUSTER INFO's `cluster_stats_messages_<name>_sent`.
    pub fn name(self) -> &'static str {
        match self {
            MsgType::Ping => "ping",
            MsgType::Pong => "pong",
            MsgType::Meet => "meet",
            MsgType::Fail => "fail",
            MsgType::Publish => "publish",
            MsgType::PublishShard => "publishshard",
            MsgType::FailoverAuthRequest => "auth-req",
            MsgType::FailoverAuthAck => "auth-ack",
            MsgType::Update => "update",
            MsgType::MfStart => "mfstart",
            MsgType::Module => "module",
            MsgType::Unknown(_) => "unknown",
        }
    }
}

/// `mflags[0]` bit: master paused for a manual failover.
pub const MFLAG0_PAUSED: u8 = 1 << 0;
/// `mflags[0]` bit: vote for this AUTH_REQUEST even if the master is up (manual failover).
pub const MFLAG0_FORCEACK: u8 = 1 << 1;
/// `mflags[0]` bit: the PING/PONG/MEET carries extensions.
pub const MFLAG0_EXT_DATA: u8 = 1 << 2;
