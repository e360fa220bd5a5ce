//! The replies of DEBUG subcommands whose shape is fixed (`debug.c`): HELP, OBJECT's status line, PROTOCOL's
//! test values, ERROR, DIGEST's hex, POPULATE's key and value names, and the constant status texts.

use zedis_resp::{reply, Protocol};

use crate::debug::ProtocolType;
use crate::debug_help::DEBUG_HELP;
use crate::help::reply_help as reply_help_lines;
use crate::ObserveError;

/// DEBUG STRINGMATCH-TEST's reply (a status) once the fuzz run finished.
pub const STRINGMATCH_TEST_REPLY: &str = "Apparently Redis did not crash: test passed";
/// DEBUG LISTPACK's reply (a status) after the listpack was dumped to the log.
pub const LISTPACK_PRINTED: &str = "Listpack structure printed on stdout";
/// DEBUG LISTPACK's error for a value of another encoding.
pub const NOT_LISTPACK: &str = "ERR Not a listpack encoded object.";
/// DEBUG QUICKLIST's reply (a status) after the quicklist was dumped to the log.
pub const QUICKLIST_PRINTED: &str = "Quicklist structure printed on stdout";
/// DEBUG QUICKLIST's error for a value of another encoding.
pub const NOT_QUICKLIST: &str = "ERR Not a quicklist encoded object.";
/// DEBUG RELOAD's error when loading the file failed.
pub const RELOAD_LOAD_FAILED: &str = "ERR Error trying to load the RDB dump";
/// DEBUG OBJECT / LISTPACK / QUICKLIST for a missing key (Redis's `shared.nokeyerr`).
pub const NO_SUCH_KEY: &str = "ERR no such key";
/// Redis's `refcount` of shared objects (small integers), `OBJ_SHARED_REFCOUNT`.
pub const SHARED_REFCOUNT: i32 = i32::MAX;

/// DEBUG HELP: the header, Redis 7.0.15's lines, the footer (all status replies).
pub fn reply_help(out: &mut Vec<u8>) {
    reply_help_lines(out, "DEBUG", DEBUG_HELP);
}

/// What DEBUG OBJECT prints about a value.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo<'a> {
    /// The value's address (`%p`: `0x` and lower-case hex; 0 prints `(nil)`).
    pub address: usize,
    /// Reference count (`SHARED_REFCOUNT` for shared integers, 1 otherwise).
    pub refcount: i32,
    /// OBJECT ENCODING's name (`raw`, `int`, `embstr`, `listpack`, `quicklist`, `hashtable`, `intset`,
    /// `skiplist`, `stream`).
    pub encoding: &'a str,
    /// Bytes the value takes in an RDB file (`rdbSavedObjectLen`: type byte excluded, value only).
    pub serialized_len: u64,
    /// The 24-bit LRU clock (or LFU word) stored with the value.
    pub lru: u32,
    /// OBJECT IDLETIME's seconds.
    pub lru_seconds_idle: u64,
    /// For quicklist-encoded lists, the extra fields.
    pub quicklist: Option<QuicklistInfo>,
}

/// DEBUG OBJECT's extra fields for a quicklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuicklistInfo {
    /// Nodes (`ql_nodes`).
    pub nodes: u64,
    /// Elements over all nodes (`ql_avg_node` is `elements / nodes`, `%.2f`).
    pub elements: u64,
    /// The `list-max-listpack-size` fill (`ql_listpack_max`, may be negative).
    pub fill: i32,
    /// Whether `list-compress-depth` is not 0 (`ql_compressed`).
    pub compressed: bool,
    /// Sum of the nodes' uncompressed listpack bytes (`ql_uncompressed_size`).
    pub uncompressed_bytes: u64,
}

/// DEBUG OBJECT's status line, without `+` and CRLF.
pub fn object_line(info: &ObjectInfo<'_>) -> String {
    let address = if info.address == 0 {
        "(nil)".to_owned()
    } else {
        format!("{:#x}", info.address)
    };
    let mut line = format!(
        "Value at:{address} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        info.refcount, info.encoding, info.serialized_len, info.lru, info.lru_seconds_idle
    );
    if let Some(ql) = &info.quicklist {
        let avg = if ql.nodes == 0 {
            "-nan".to_owned()
        } else {
            format!("{:.2}", ql.elements as f64 / ql.nodes as f64)
        };
        let mut extra = format!(
            " ql_nodes:{} ql_avg_node:{avg} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
            ql.nodes,
            ql.fill,
            u8::from(ql.compressed),
            ql.uncompressed_bytes
        );
        // Redis formats these into `char extra[138]`.
        extra.truncate(137);
        line.push_str(&extra);
    }
    line
}

/// DEBUG OBJECT's reply (a status).
pub fn reply_object(out: &mut Vec<u8>, info: &ObjectInfo<'_>) {
    reply::simple(out, object_line(info).as_bytes());
}

/// A digest as DEBUG DIGEST / DIGEST-VALUE send it: a status of 40 lower-case hex digits.
pub fn reply_digest(out: &mut Vec<u8>, digest: &[u8; 20]) {
    let mut hex = [0u8; 40];
    for (i, byte) in digest.iter().enumerate() {
        hex[2 * i] = b"0123456789abcdef"[usize::from(byte >> 4)];
        hex[2 * i + 1] = b"0123456789abcdef"[usize::from(byte & 15)];
    }
    reply::simple(out, &hex);
}

/// DEBUG ERROR's reply: `-` and the text as given (no `ERR` added), CR and LF as spaces.
pub fn reply_error_as_is(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'-');
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// DEBUG PROTOCOL's test value; `Err` for PUSH from a RESP2 client (nothing written).
pub fn reply_protocol(
    out: &mut Vec<u8>,
    proto: Protocol,
    kind: ProtocolType,
) -> Result<(), ObserveError> {
    match kind {
        ProtocolType::String => reply::bulk(out, b"Hello World"),
        ProtocolType::Integer => reply::integer(out, 12345),
        // Redis's literal, not π.
        #[allow(clippy::approx_constant)]
        ProtocolType::Double => reply::double(out, proto, 3.141),
        ProtocolType::Bignum => {
            reply::big_number(out, proto, b"1234567999999999999999999999999999999")
        }
        ProtocolType::Null => reply::null(out, proto),
        ProtocolType::Array | ProtocolType::Set => {
            if kind == ProtocolType::Array {
                reply::array_len(out, 3);
            } else {
                reply::set_len(out, proto, 3);
            }
            (0..3).for_each(|j| reply::integer(out, j));
        }
        ProtocolType::Map => {
            reply::map_len(out, proto, 3);
            for j in 0..3 {
                reply::integer(out, j);
                reply::boolean(out, proto, j == 1);
            }
        }
        ProtocolType::Attrib => {
            if proto == Protocol::Resp3 {
                reply::attribute_len(out, 1);
                reply::bulk(out, b"key-popularity");
                reply::array_len(out, 2);
                reply::bulk(out, b"key:123");
                reply::integer(out, 90);
            }
            reply::bulk(out, b"Some real reply following the attribute");
        }
        ProtocolType::Push => {
            if proto == Protocol::Resp2 {
                return Err(ObserveError::Resp2NotSupported);
            }
            reply::push_len(out, proto, 2);
            reply::bulk(out, b"server-cpu-usage");
            reply::integer(out, 42);
            reply::bulk(out, b"Some real reply following the push reply");
        }
        ProtocolType::Verbatim => {
            reply::verbatim(out, proto, b"txt", b"This is a verbatim\nstring")
        }
        ProtocolType::True => reply::boolean(out, proto, true),
        ProtocolType::False => reply::boolean(out, proto, false),
    }
    Ok(())
}

/// DEBUG POPULATE's key number `n`: `<prefix>:<n>`, cut to 127 bytes as Redis's `char buf[128]` does.
pub fn populate_key(prefix: &[u8], n: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len().min(127) + 21);
    key.extend_from_slice(prefix);
    key.push(b':');
    key.extend_from_slice(n.to_string().as_bytes());
    key.truncate(127);
    key
}

/// DEBUG POPULATE's value number `n`: `value:<n>`, or with `size > 0` exactly `size` bytes starting with
/// that text and padded with zero bytes. Redis allocates whatever size was asked for; the caller checks
/// `size` against its budget (and `proto-max-bulk-len`) before calling.
pub fn populate_value(n: u64, size: u64) -> Vec<u8> {
    let mut value = format!("value:{n}").into_bytes();
    if size > 0 {
        value.resize(usize::try_from(size).unwrap_or(usize::MAX), 0);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_line_shapes() {
        let mut info = ObjectInfo {
            address: 0x7f12_3456_7890,
            refcount: 1,
            encoding: "quicklist",
            serialized_len: 7,
            lru: 123,
            lru_seconds_idle: 4,
            quicklist: Some(QuicklistInfo {
                nodes: 8,
                elements: 1,
                fill: -2,
                compressed: false,
                uncompressed_bytes: 70,
            }),
        };
        assert_eq!(
            object_line(&info),
            "Value at:0x7f1234567890 refcount:1 encoding:quicklist serializedlength:7 lru:123 \
             lru_seconds_idle:4 ql_nodes:8 ql_avg_node:0.12 ql_listpack_max:-2 ql_compressed:0 \
             ql_uncompressed_size:70"
        );
        info.quicklist = None;
        info.address = 0;
        assert!(object_line(&info).starts_with("Value at:(nil) refcount:1"));
    }

    #[test]
    fn digest_and_error() {
        let mut out = Vec::new();
        reply_digest(&mut out, &[0xab; 20]);
        assert_eq!(out, format!("+{}\r\n", "ab".repeat(20)).as_bytes());
        out.clear();
        reply_error_as_is(&mut out, b"WRONGTYPE a\r\nb");
        assert_eq!(out, b"-WRONGTYPE a  b\r\n");
    }

    #[test]
    fn populate_names() {
        assert_eq!(populate_key(b"key", 12), b"key:12");
        assert_eq!(populate_key(&[b'p'; 200], 1).len(), 127);
        assert_eq!(populate_value(3, 0), b"value:3");
        assert_eq!(populate_value(3, 3), b"val");
        assert_eq!(populate_value(3, 9), b"value:3\0\0");
    }
}
