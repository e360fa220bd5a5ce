//! Whole packets: [`Message`] = [`Header`] + [`Body`], encoded and decoded with Redis 7.0's length rules.

use super::ext::PingExt;
use super::header::{
    get_u16, get_u32, get_u64, name_at, put_u16, put_u32, put_u64, Header, HEADER_BYTES, IP_BYTES,
};
use super::{MsgType, NodeName, MFLAG0_EXT_DATA};
use crate::error::DecodeError;
use crate::slot::{SlotBitmap, SLOT_BITMAP_BYTES};

/// Size of one gossip entry (`clusterMsgDataGossip`).
pub const GOSSIP_BYTES: usize = 104;
const FAIL_BYTES: usize = 40;
const UPDATE_BYTES: usize = 8 + 40 + SLOT_BITMAP_BYTES;
const PUBLISH_FIXED_BYTES: usize = 8;
const MODULE_FIXED_BYTES: usize = 13;

/// One gossip entry: what the sender knows about another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gossip {
    /// The node described.
    pub name: NodeName,
    /// When the sender last pinged it, seconds.
    pub ping_sent_s: u32,
    /// When the sender last got its PONG, seconds.
    pub pong_received_s: u32,
    /// Its IP, NUL-padded.
    pub ip: [u8; IP_BYTES],
    /// Its client port.
    pub port: u16,
    /// Its bus port.
    pub cport: u16,
    /// Its flags as the sender sees them.
    pub flags: u16,
    /// Its plaintext port.
    pub pport: u16,
}

impl Gossip {
    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + GOSSIP_BYTES, 0);
        let g = &mut out[start..];
        g[..40].copy_from_slice(&self.name);
        put_u32(g, 40, self.ping_sent_s);
        put_u32(g, 44, self.pong_received_s);
        g[48..48 + IP_BYTES].copy_from_slice(&self.ip);
        put_u16(g, 94, self.port);
        put_u16(g, 96, self.cport);
        put_u16(g, 98, self.flags);
        put_u16(g, 100, self.pport);
    }

    fn decode(g: &[u8]) -> Gossip {
        let mut ip = [0u8; IP_BYTES];
        ip.copy_from_slice(&g[48..48 + IP_BYTES]);
        Gossip {
            name: name_at(g, 0),
            ping_sent_s: get_u32(g, 40),
            pong_received_s: get_u32(g, 44),
            ip,
            port: get_u16(g, 94),
            cport: get_u16(g, 96),
            flags: get_u16(g, 98),
            pport: get_u16(g, 100),
        }
    }

    /// The IP as text.
    pub fn ip_str(&self) -> String {
        super::header::ip_from_field(&self.ip)
    }
}

/// A packet's body; which variant goes with which [`MsgType`] is fixed by Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// PING, PONG, MEET: gossip entries then extensions.
    Ping {
        /// Gossip section.
        gossip: Vec<Gossip>,
        /// Extensions (sent with `MFLAG0_EXT_DATA`).
        exts: Vec<PingExt>,
    },
    /// FAIL: the failing node.
    Fail {
        /// The node flagged FAIL.
        about: NodeName,
    },
    /// PUBLISH, PUBLISHSHARD.
    Publish {
        /// Channel.
        channel: Vec<u8>,
        /// Message.
        message: Vec<u8>,
    },
    /// FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK, MFSTART: the header only.
    Empty,
    /// UPDATE: a node's config epoch and slots.
    Update {
        /// The node's configEpoch.
        config_epoch: u64,
        /// The node.
        name: NodeName,
        /// Its slots.
        slots: SlotBitmap,
    },
    /// MODULE.
    Module {
        /// Module id, raw bytes (Redis copies it in host order).
        module_id: [u8; 8],
        /// Message type chosen by the module.
        kind: u8,
        /// Payload.
        payload: Vec<u8>,
    },
    /// An unknown type's bytes after the header.
    Raw(Vec<u8>),
}

/// A cluster bus packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The body.
    pub body: Body,
}

impl Message {
    /// Total encoded length.
    pub fn encoded_len(&self) -> usize {
        HEADER_BYTES
            + match &self.body {
                Body::Ping { gossip, exts } => {
                    gossip.len() * GOSSIP_BYTES
                        + exts.iter().map(PingExt::encoded_len).sum::<usize>()
                }
                Body::Fail { .. } => FAIL_BYTES,
                Body::Publish { channel, message } => {
                    PUBLISH_FIXED_BYTES + channel.len() + message.len()
                }
                Body::Empty => 0,
                Body::Update { .. } => UPDATE_BYTES,
                Body::Module { payload, .. } => MODULE_FIXED_BYTES + payload.len(),
                Body::Raw(raw) => raw.len(),
            }
    }

    /// Appends the packet. Counts (`totlen`, gossip `count`, `extensions`) come from the body, and
    /// `MFLAG0_EXT_DATA` is set exactly when there are extensions. Gossip and extension counts above
    /// 65,535 are the caller's bug (the state machine sends at most a few hundred).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let totlen = self.encoded_len() as u32;
        let mut header = self.header.clone();
        let (count, extensions) = match &self.body {
            Body::Ping { gossip, exts } => {
                if exts.is_empty() {
                    header.mflags[0] &= !MFLAG0_EXT_DATA;
                } else {
                    header.mflags[0] |= MFLAG0_EXT_DATA;
                }
                (gossip.len() as u16, exts.len() as u16)
            }
            _ => (0, 0),
        };
        header.encode(out, totlen, count, extensions);
        match &self.body {
            Body::Ping { gossip, exts } => {
                gossip.iter().for_each(|g| g.encode(out));
                exts.iter().for_each(|e| e.encode(out));
            }
            Body::Fail { about } => out.extend_from_slice(about),
            Body::Publish { channel, message } => {
                out.extend_from_slice(&(channel.len() as u32).to_be_bytes());
                out.extend_from_slice(&(message.len() as u32).to_be_bytes());
                out.extend_from_slice(channel);
                out.extend_from_slice(message);
            }
            Body::Empty => {}
            Body::Update {
                config_epoch,
                name,
                slots,
            } => {
                let start = out.len();
                out.resize(start + 8, 0);
                put_u64(&mut out[start..], 0, *config_epoch);
                out.extend_from_slice(name);
                out.extend_from_slice(&slots.0[..]);
            }
            Body::Module {
                module_id,
                kind,
                payload,
            } => {
                out.extend_from_slice(module_id);
                out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                out.push(*kind);
                out.extend_from_slice(payload);
            }
            Body::Raw(raw) => out.extend_from_slice(raw),
        }
    }

    /// The packet as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// Decodes exactly one packet (`buf.len()` must equal its `totlen`), with the checks of Redis 7.0's
    /// `clusterProcessPacket`. Never panics and allocates at most about `buf.len()` bytes.
    pub fn decode(buf: &[u8]) -> Result<Message, DecodeError> {
        let (mut header, totlen, count, extensions) = Header::decode(buf)?;
        let kind = header.kind.name();
        let totlen = u64::from(totlen);
        let len = buf.len() as u64;
        if len < totlen {
            return Err(DecodeError::Truncated {
                len: buf.len(),
                needed: totlen,
            });
        }
        let length = |expected: u64| DecodeError::Length {
            kind,
            totlen,
            expected,
        };
        if len > totlen {
            return Err(length(len));
        }
        let hdr = HEADER_BYTES as u64;
        let rest = &buf[HEADER_BYTES..];
        let body = match header.kind {
            MsgType::Ping | MsgType::Pong | MsgType::Meet => {
                let gossip_end = hdr + GOSSIP_BYTES as u64 * u64::from(count);
                if gossip_end > totlen {
                    return Err(length(gossip_end));
                }
                let gossip_bytes = &rest[..(gossip_end - hdr) as usize];
                let gossip = gossip_bytes
                    .chunks_exact(GOSSIP_BYTES)
                    .map(Gossip::decode)
                    .collect();
                let exts = if header.mflags[0] & MFLAG0_EXT_DATA != 0 {
                    let (exts, used) =
                        PingExt::decode_all(&rest[gossip_bytes.len()..], extensions, kind)?;
                    if gossip_end + used as u64 != totlen {
                        return Err(length(gossip_end + used as u64));
                    }
                    exts
                } else if gossip_end != totlen {
                    return Err(length(gossip_end));
                } else {
                    Vec::new()
                };
                // The bit is derived from `exts` (the encoder sets it), so it is not kept in the header.
                header.mflags[0] &= !MFLAG0_EXT_DATA;
                Body::Ping { gossip, exts }
            }
            MsgType::Fail => {
                expect(totlen, hdr + FAIL_BYTES as u64, kind)?;
                Body::Fail {
                    about: name_at(rest, 0),
                }
            }
            MsgType::Publish | MsgType::PublishShard => {
                if totlen < hdr + PUBLISH_FIXED_BYTES as u64 {
                    return Err(length(hdr + PUBLISH_FIXED_BYTES as u64));
                }
                let channel_len = u64::from(get_u32(rest, 0));
                let message_len = u64::from(get_u32(rest, 4));
                expect(
                    totlen,
                    hdr + PUBLISH_FIXED_BYTES as u64 + channel_len + message_len,
                    kind,
                )?;
                let data = &rest[PUBLISH_FIXED_BYTES..];
                let (channel, message) = data.split_at(channel_len as usize);
                Body::Publish {
                    channel: channel.to_vec(),
                    message: message.to_vec(),
                }
            }
            MsgType::FailoverAuthRequest | MsgType::FailoverAuthAck | MsgType::MfStart => {
                expect(totlen, hdr, kind)?;
                Body::Empty
            }
            MsgType::Update => {
                expect(totlen, hdr + UPDATE_BYTES as u64, kind)?;
                let mut slots = SlotBitmap::default();
                slots.0.copy_from_slice(&rest[48..48 + SLOT_BITMAP_BYTES]);
                Body::Update {
                    config_epoch: get_u64(rest, 0),
                    name: name_at(rest, 8),
                    slots,
                }
            }
            MsgType::Module => {
                if totlen < hdr + MODULE_FIXED_BYTES as u64 {
                    return Err(length(hdr + MODULE_FIXED_BYTES as u64));
                }
                let payload_len = u64::from(get_u32(rest, 8));
                expect(totlen, hdr + MODULE_FIXED_BYTES as u64 + payload_len, kind)?;
                let mut module_id = [0u8; 8];
                module_id.copy_from_slice(&rest[..8]);
                Body::Module {
                    module_id,
                    kind: rest[12],
                    payload: rest[MODULE_FIXED_BYTES..].to_vec(),
                }
            }
            MsgType::Unknown(_) => Body::Raw(rest.to_vec()),
        };
        Ok(Message { header, body })
    }
}

fn expect(totlen: u64, expected: u64, kind: &'static str) -> Result<(), DecodeError> {
    if totlen == expected {
        Ok(())
    } else {
        Err(DecodeError::Length {
            kind,
            totlen,
            expected,
        })
    }
}
