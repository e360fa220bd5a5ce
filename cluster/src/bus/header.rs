//! The fixed 2,256-byte `clusterMsg` header.

use super::{MsgType, NodeName, PROTO_VER};
use crate::error::DecodeError;
use crate::slot::{SlotBitmap, SLOT_BITMAP_BYTES};

/// Size of the header (`CLUSTERMSG_MIN_LEN`, `offsetof(clusterMsg, data)`).
pub const HEADER_BYTES: usize = 2256;
/// Size of an IP field (`NET_IP_STR_LEN`), NUL-padded.
pub const IP_BYTES: usize = 46;

const OFF_TOTLEN: usize = 4;
const OFF_VER: usize = 8;
const OFF_PORT: usize = 10;
const OFF_TYPE: usize = 12;
const OFF_COUNT: usize = 14;
const OFF_CURRENT_EPOCH: usize = 16;
const OFF_CONFIG_EPOCH: usize = 24;
const OFF_OFFSET: usize = 32;
const OFF_SENDER: usize = 40;
const OFF_MYSLOTS: usize = 80;
const OFF_SLAVEOF: usize = 2128;
const OFF_MYIP: usize = 2168;
const OFF_EXTENSIONS: usize = 2214;
const OFF_PPORT: usize = 2246;
const OFF_CPORT: usize = 2248;
const OFF_FLAGS: usize = 2250;
const OFF_STATE: usize = 2252;
const OFF_MFLAGS: usize = 2253;
const _: () = assert!(OFF_MYSLOTS + SLOT_BITMAP_BYTES == OFF_SLAVEOF);
const _: () = assert!(OFF_MFLAGS + 3 == HEADER_BYTES);

/// The header fields a sender fills; `totlen`, `count` and `extensions` are derived from the body when
/// encoding and checked when decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Message type.
    pub kind: MsgType,
    /// Sender's client port (TLS port when TLS is on).
    pub port: u16,
    /// Sender's currentEpoch.
    pub current_epoch: u64,
    /// Sender's configEpoch, or its master's when it is a replica.
    pub config_epoch: u64,
    /// Replication offset.
    pub offset: u64,
    /// Sender's node name.
    pub sender: NodeName,
    /// Slots the sender (or its master) serves.
    pub myslots: SlotBitmap,
    /// The sender's master, `None` when the field is all zeroes (a master).
    pub slaveof: Option<NodeName>,
    /// Announced IP, NUL-padded; all zeroes means "use the address of the connection".
    pub myip: [u8; IP_BYTES],
    /// Plaintext client port when `port` is TLS.
    pub pport: u16,
    /// Sender's bus port.
    pub cport: u16,
    /// Sender's node flags (`CLUSTER_NODE_*`).
    pub flags: u16,
    /// Cluster state from the sender's view: 0 ok, 1 fail.
    pub state: u8,
    /// Message flags (`MFLAG0_*` in byte 0). `MFLAG0_EXT_DATA` is set by the encoder when extensions exist.
    pub mflags: [u8; 3],
}

impl Header {
    /// A header of type `kind` from `sender` with every other field zero.
    pub fn new(kind: MsgType, sender: NodeName) -> Header {
        Header {
            kind,
            port: 0,
            current_epoch: 0,
            config_epoch: 0,
            offset: 0,
            sender,
            myslots: SlotBitmap::default(),
            slaveof: None,
            myip: [0; IP_BYTES],
            pport: 0,
            cport: 0,
            flags: 0,
            state: 0,
            mflags: [0; 3],
        }
    }

    /// The announced IP as text (up to the first NUL), empty when none is announced.
    pub fn myip_str(&self) -> String {
        ip_from_field(&self.myip)
    }

    /// Appends the header with the given derived fields.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, totlen: u32, count: u16, extensions: u16) {
        let start = out.len();
        out.resize(start + HEADER_BYTES, 0);
        let h = &mut out[start..];
        h[..4].copy_from_slice(b"RCmb");
        put_u32(h, OFF_TOTLEN, totlen);
        put_u16(h, OFF_VER, PROTO_VER);
        put_u16(h, OFF_PORT, self.port);
        put_u16(h, OFF_TYPE, self.kind.to_u16());
        put_u16(h, OFF_COUNT, count);
        put_u64(h, OFF_CURRENT_EPOCH, self.current_epoch);
        put_u64(h, OFF_CONFIG_EPOCH, self.config_epoch);
        put_u64(h, OFF_OFFSET, self.offset);
        h[OFF_SENDER..OFF_SENDER + 40].copy_from_slice(&self.sender);
        h[OFF_MYSLOTS..OFF_SLAVEOF].copy_from_slice(&self.myslots.0[..]);
        if let Some(master) = &self.slaveof {
            h[OFF_SLAVEOF..OFF_SLAVEOF + 40].copy_from_slice(master);
        }
        h[OFF_MYIP..OFF_MYIP + IP_BYTES].copy_from_slice(&self.myip);
        put_u16(h, OFF_EXTENSIONS, extensions);
        put_u16(h, OFF_PPORT, self.pport);
        put_u16(h, OFF_CPORT, self.cport);
        put_u16(h, OFF_FLAGS, self.flags);
        h[OFF_STATE] = self.state;
        h[OFF_MFLAGS..OFF_MFLAGS + 3].copy_from_slice(&self.mflags);
    }

    /// Reads the header from a buffer of at least [`HEADER_BYTES`]; returns it with `(totlen, count,
    /// extensions)`.
    pub(crate) fn decode(h: &[u8]) -> Result<(Header, u32, u16, u16), DecodeError> {
        if h.len() < HEADER_BYTES {
            return Err(DecodeError::Truncated {
                len: h.len(),
                needed: HEADER_BYTES as u64,
            });
        }
        if &h[..4] != b"RCmb" {
            return Err(DecodeError::BadSignature);
        }
        let ver = get_u16(h, OFF_VER);
        if ver != PROTO_VER {
            return Err(DecodeError::BadVersion(ver));
        }
        let mut myslots = SlotBitmap::default();
        myslots.0.copy_from_slice(&h[OFF_MYSLOTS..OFF_SLAVEOF]);
        let slaveof = name_at(h, OFF_SLAVEOF);
        let mut myip = [0u8; IP_BYTES];
        myip.copy_from_slice(&h[OFF_MYIP..OFF_MYIP + IP_BYTES]);
        let header = Header {
            kind: MsgType::from_u16(get_u16(h, OFF_TYPE)),
            port: get_u16(h, OFF_PORT),
            current_epoch: get_u64(h, OFF_CURRENT_EPOCH),
            config_epoch: get_u64(h, OFF_CONFIG_EPOCH),
            offset: get_u64(h, OFF_OFFSET),
            sender: name_at(h, OFF_SENDER),
            myslots,
            slaveof: if slaveof == [0; 40] {
                None
            } else {
                Some(slaveof)
            },
            myip,
            pport: get_u16(h, OFF_PPORT),
            cport: get_u16(h, OFF_CPORT),
            flags: get_u16(h, OFF_FLAGS),
            state: h[OFF_STATE],
            mflags: [h[OFF_MFLAGS], h[OFF_MFLAGS + 1], h[OFF_MFLAGS + 2]],
        };
        Ok((
            header,
            get_u32(h, OFF_TOTLEN),
            get_u16(h, OFF_COUNT),
            get_u16(h, OFF_EXTENSIONS),
        ))
    }
}

/// Text of a NUL-padded IP field.
pub(crate) fn ip_from_field(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// A NUL-padded IP field from text (truncated to 45 bytes so a NUL always ends it, as Redis's strncpy).
pub fn ip_to_field(ip: &str) -> [u8; IP_BYTES] {
    let mut field = [0u8; IP_BYTES];
    let len = ip.len().min(IP_BYTES - 1);
    field[..len].copy_from_slice(&ip.as_bytes()[..len]);
    field
}

pub(crate) fn name_at(b: &[u8], off: usize) -> NodeName {
    let mut name = [0u8; 40];
    name.copy_from_slice(&b[off..off + 40]);
    name
}

pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}
pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}
pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_be_bytes(a)
}
