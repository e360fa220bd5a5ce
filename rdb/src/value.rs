//! The storage-independent value model: what one key holds, with its metadata.

/// A key's value as RDB carries it, whatever the encoding it came in.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    /// A string (HyperLogLogs and bitmaps are strings too).
    String(Vec<u8>),
    /// A list, head first.
    List(Vec<Vec<u8>>),
    /// A set's members, in the order of the file (or as given to the writer).
    Set(Vec<Vec<u8>>),
    /// A hash's (field, value) pairs.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// A sorted set's (member, score) pairs.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A stream with its consumer groups.
    Stream(Box<Stream>),
}

impl RdbValue {
    /// Redis's type name (`TYPE` reply).
    pub fn type_name(&self) -> &'static str {
        match self {
            RdbValue::String(_) => "string",
            RdbValue::List(_) => "list",
            RdbValue::Set(_) => "set",
            RdbValue::Hash(_) => "hash",
            RdbValue::ZSet(_) => "zset",
            RdbValue::Stream(_) => "stream",
        }
    }
}

/// Per-key metadata stored before the value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyMeta {
    /// Absolute expiry, Unix time in milliseconds.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (`RDB_OPCODE_IDLE`), written under an LRU policy.
    pub idle_secs: Option<u64>,
    /// LFU logarithmic frequency counter (`RDB_OPCODE_FREQ`), written under an LFU policy.
    pub lfu_freq: Option<u8>,
}

/// A stream entry ID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// The 16-byte big-endian form Redis uses as radix-tree key and in PELs.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// Parses the 16-byte big-endian form.
    pub fn from_be_bytes(b: [u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId {
            ms: u64::from_be_bytes(ms),
            seq: u64::from_be_bytes(seq),
        }
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One stream entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// Its ID; entries are in ascending ID order.
    pub id: StreamId,
    /// Its (field, value) pairs, in order.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A pending (delivered, not acknowledged) entry of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEntry {
    /// The entry ID.
    pub id: StreamId,
    /// Last delivery, Unix ms.
    pub delivery_time_ms: i64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Consumer name.
    pub name: Vec<u8>,
    /// Last time it was seen, Unix ms.
    pub seen_time_ms: i64,
    /// Last successful read (only in Redis 7.2's `STREAM_LISTPACKS_3`; `None` when absent).
    pub active_time_ms: Option<i64>,
    /// IDs of the group's pending entries owned by this consumer (each is in the group's PEL).
    pub pending: Vec<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroup {
    /// Group name.
    pub name: Vec<u8>,
    /// Last delivered ID.
    pub last_id: StreamId,
    /// Logical read counter; -1 when unknown (Redis's `SCG_INVALID_ENTRIES_READ`).
    pub entries_read: i64,
    /// The group's pending entries list, ascending by ID.
    pub pending: Vec<PendingEntry>,
    /// Its consumers.
    pub consumers: Vec<Consumer>,
}

/// A whole stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stream {
    /// Live entries, ascending by ID.
    pub entries: Vec<StreamEntry>,
    /// The greatest ID ever added.
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty).
    pub first_id: StreamId,
    /// The greatest ID ever deleted.
    pub max_deleted_id: StreamId,
    /// How many entries were ever added.
    pub entries_added: u64,
    /// Consumer groups.
    pub groups: Vec<ConsumerGroup>,
}

/// One item of an RDB file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbItem {
    /// An AUX field (`redis-ver`, `ctime`, ...).
    Aux {
        /// Field name.
        key: Vec<u8>,
        /// Field value.
        value: Vec<u8>,
    },
    /// A function library's code (`RDB_OPCODE_FUNCTION2`).
    Function(Vec<u8>),
    /// The following keys belong to this database.
    SelectDb(u64),
    /// Size hints for the current database.
    ResizeDb {
        /// Keys in the database.
        db_size: u64,
        /// Keys with an expiry.
        expires_size: u64,
    },
    /// A key with its value and metadata.
    Key {
        /// The key.
        key: Vec<u8>,
        /// Its value.
        value: RdbValue,
        /// Expiry, idle time, frequency.
        meta: KeyMeta,
    },
}
