//! Ping extensions: `[u32 length][u16 type][u16 unused][body padded to 8 bytes]` after the gossip section.

use super::header::{get_u16, get_u32, get_u64, name_at, put_u16, put_u32};
use super::NodeName;
use crate::error::DecodeError;

/// `CLUSTERMSG_EXT_TYPE_HOSTNAME` (7.0).
pub const EXT_HOSTNAME: u16 = 0;
/// `CLUSTERMSG_EXT_TYPE_HUMAN_NODENAME` (7.2).
pub const EXT_HUMAN_NODENAME: u16 = 1;
/// `CLUSTERMSG_EXT_TYPE_FORGOTTEN_NODE` (7.2).
pub const EXT_FORGOTTEN_NODE: u16 = 2;
/// `CLUSTERMSG_EXT_TYPE_SHARDID` (7.2).
pub const EXT_SHARDID: u16 = 3;

/// One ping extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingExt {
    /// The sender's announced hostname (no NUL inside; a NUL ends it on decode).
    Hostname(Vec<u8>),
    /// The sender's human-readable node name (7.2).
    HumanNodename(Vec<u8>),
    /// A node the sender forgot, to be banned for `ttl_s` seconds (7.2).
    ForgottenNode {
        /// The forgotten node.
        name: NodeName,
        /// Remaining ban, seconds.
        ttl_s: u64,
    },
    /// The sender's shard id (7.2).
    ShardId(NodeName),
    /// A type this node does not know: kept (body with its padding) and ignored, as Redis 7.0 does.
    Unknown {
        /// Extension type.
        ext_type: u16,
        /// Body bytes after the 8-byte extension header.
        data: Vec<u8>,
    },
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

impl PingExt {
    /// Encoded size including the 8-byte header.
    pub fn encoded_len(&self) -> usize {
        8 + match self {
            PingExt::Hostname(s) | PingExt::HumanNodename(s) => align8(s.len() + 1),
            PingExt::ForgottenNode { .. } => 48,
            PingExt::ShardId(_) => 40,
            PingExt::Unknown { data, .. } => align8(data.len()),
        }
    }

    /// Appends the extension.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let len = self.encoded_len();
        out.resize(start + len, 0);
        let b = &mut out[start..];
        let ext_type = match self {
            PingExt::Hostname(_) => EXT_HOSTNAME,
            PingExt::HumanNodename(_) => EXT_HUMAN_NODENAME,
            PingExt::ForgottenNode { .. } => EXT_FORGOTTEN_NODE,
            PingExt::ShardId(_) => EXT_SHARDID,
            PingExt::Unknown { ext_type, .. } => *ext_type,
        };
        put_u32(b, 0, len as u32);
        put_u16(b, 4, ext_type);
        match self {
            PingExt::Hostname(s) | PingExt::HumanNodename(s) => {
                b[8..8 + s.len()].copy_from_slice(s)
            }
            PingExt::ForgottenNode { name, ttl_s } => {
                b[8..48].copy_from_slice(name);
                b[48..56].copy_from_slice(&ttl_s.to_be_bytes());
            }
            PingExt::ShardId(id) => b[8..48].copy_from_slice(id),
            PingExt::Unknown { data, .. } => b[8..8 + data.len()].copy_from_slice(data),
        }
    }

    /// Reads `count` extensions from `b`, the bytes after the gossip section up to `totlen` (Redis 7.0's
    /// checks: each length a multiple of 8 that fits in what is left); returns them and the bytes used.
    pub(crate) fn decode_all(
        b: &[u8],
        count: u16,
        kind: &'static str,
    ) -> Result<(Vec<PingExt>, usize), DecodeError> {
        let totlen = b.len() as u64;
        let mut exts = Vec::with_capacity(usize::from(count).min(b.len() / 8));
        let mut at = 0usize;
        for _ in 0..count {
            if b.len() - at < 8 {
                return Err(DecodeError::ExtOverflow { kind, totlen });
            }
            let len = get_u32(b, at);
            if len % 8 != 0 || len < 8 {
                return Err(DecodeError::ExtPadding { kind, len });
            }
            if (len as usize) > b.len() - at {
                return Err(DecodeError::ExtOverflow { kind, totlen });
            }
            let ext_type = get_u16(b, at + 4);
            let body = &b[at + 8..at + len as usize];
            exts.push(Self::decode_one(ext_type, body, len)?);
            at += len as usize;
        }
        Ok((exts, at))
    }

    fn decode_one(ext_type: u16, body: &[u8], len: u32) -> Result<PingExt, DecodeError> {
        let short = DecodeError::ExtBody { ext_type, len };
        let text = |body: &[u8]| {
            let end = body.iter().position(|&c| c == 0).unwrap_or(body.len());
            body[..end].to_vec()
        };
        Ok(match ext_type {
            EXT_HOSTNAME => PingExt::Hostname(text(body)),
            EXT_HUMAN_NODENAME => PingExt::HumanNodename(text(body)),
            EXT_FORGOTTEN_NODE if body.len() >= 48 => PingExt::ForgottenNode {
                name: name_at(body, 0),
                ttl_s: get_u64(body, 40),
            },
            EXT_SHARDID if body.len() >= 40 => PingExt::ShardId(name_at(body, 0)),
            EXT_FORGOTTEN_NODE | EXT_SHARDID => return Err(short),
            _ => PingExt::Unknown {
                ext_type,
                data: body.to_vec(),
            },
        })
    }
}
