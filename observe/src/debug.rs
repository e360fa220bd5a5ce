//! DEBUG: Redis 7.0.15's `debugCommand` argument rules as a typed request, and the `enable-debug-command`
//! guard of `processCommand`.
//!
//! # Format
//! ```text
//! DEBUG <subcommand> [<arg> ...]
//! ```
//! [`parse`] reads an argv (`argv[0]` is the command name) into a [`DebugRequest`] or the error Redis replies
//! with: an unknown subcommand or a known one with another argument count gets
//! `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try DEBUG HELP.`; bad numbers and
//! options get the texts of `debug.c`. Subcommands Redis has and Zedis does not carry out (crashes, jemalloc
//! tuning, AOF and cluster-link testing hooks) get [`ObserveError::DebugUnsupported`]. `DEBUG JMAP` is
//! Zedis's own (the allocator strategies' report, [`crate::allocator_report`]).
//!
//! Redis 7.0.15 has no `STRINGMATCH-LEN`; its subcommand is `STRINGMATCH-TEST` (a fuzz run of the glob
//! matcher), parsed here as [`DebugRequest::StringmatchTest`]; `STRINGMATCH-LEN` is an unknown subcommand,
//! as on Redis.

use std::net::IpAddr;
use std::time::Duration;

use crate::cnum::{atoi, c_eq, c_str, get_long, get_positive_long, memtoull, strtod_prefix};
use crate::ObserveError;

/// A parsed DEBUG call; byte slices borrow from the argv.
#[derive(Debug, Clone, PartialEq)]
pub enum DebugRequest<'a> {
    /// `DEBUG HELP`: reply [`crate::debug_reply::reply_help`].
    Help,
    /// `DEBUG SLEEP <seconds>`: block the server for `duration` (Redis reads the seconds with `strtod`, so
    /// garbage sleeps 0), then `+OK`.
    Sleep {
        /// How long; zero for negative, infinite or unreadable values, as Redis's `nanosleep` call ends.
        duration: Duration,
    },
    /// `DEBUG OBJECT <key>`: `-ERR no such key` or [`crate::debug_reply::reply_object`].
    Object {
        /// The key (looked up without touching it, logically expired keys included).
        key: &'a [u8],
    },
    /// `DEBUG SET-ACTIVE-EXPIRE <0|1>` (`atoi`), then `+OK`.
    SetActiveExpire {
        /// Whether the active expire cycle runs.
        enabled: bool,
    },
    /// `DEBUG DIGEST`: the dataset digest (`zedis_rdb::digest`) as a status reply of 40 hex digits.
    Digest,
    /// `DEBUG DIGEST-VALUE [<key> ...]`: an array of status replies, each key's value digest (40 zeros for a
    /// missing key).
    DigestValue {
        /// The keys, possibly none.
        keys: &'a [&'a [u8]],
    },
    /// `DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]`: save (unless NOSAVE), flush (unless NOFLUSH), load with
    /// duplicates allowed (MERGE); `+OK`, or `-ERR Error trying to load the RDB dump`.
    Reload {
        /// MERGE: keys in the file replace existing ones instead of being a fatal conflict.
        merge: bool,
        /// Not NOFLUSH: empty every database before loading.
        flush: bool,
        /// Not NOSAVE: write the RDB file before loading it.
        save: bool,
    },
    /// `DEBUG CHANGE-REPL-ID`: new replication ID, clear the secondary one, `+OK`.
    ChangeReplId,
    /// `DEBUG AOF-FLUSH-SLEEP <microsec>`: sleep that long before each AOF write that has data (`atoi`).
    AofFlushSleep {
        /// Microseconds (0: off; negative counts as 0).
        micros: u64,
    },
    /// `DEBUG LOADAOF`: write and fsync the AOF buffer, empty the dataset, reload the AOF directory (the
    /// server exits when it cannot, as Redis); `+OK`.
    LoadAof,
    /// `DEBUG JMAP` (Zedis): the per-strategy allocator report ([`crate::allocator_report`]).
    Jmap,
    /// `DEBUG QUICKLIST-PACKED-THRESHOLD <size>`: the new threshold in bytes, already checked (0 was mapped to
    /// Redis's default of 1 GiB); `+OK`.
    QuicklistPackedThreshold {
        /// Bytes; `1..=4 GiB - 1 MiB`.
        bytes: u64,
    },
    /// `DEBUG LISTPACK <key>`: `-ERR no such key`, `-ERR Not a listpack encoded object.`, or (after dumping it
    /// to the log) `+Listpack structure printed on stdout`.
    Listpack {
        /// The key.
        key: &'a [u8],
    },
    /// `DEBUG QUICKLIST <key> [<0|1>]`: like LISTPACK for quicklists.
    Quicklist {
        /// The key.
        key: &'a [u8],
        /// Level of detail (`atoi`).
        full: i32,
    },
    /// `DEBUG STRINGMATCH-TEST`: fuzz the glob matcher, reply [`crate::debug_reply::STRINGMATCH_TEST_REPLY`].
    StringmatchTest,
    /// `DEBUG PROTOCOL <type>`: [`crate::debug_reply::reply_protocol`].
    Protocol(ProtocolType),
    /// `DEBUG LOG <message>`: write `DEBUG LOG: <message>` to the log at warning level, `+OK`.
    Log {
        /// The message up to its first NUL, as Redis's `%s` prints it.
        message: &'a [u8],
    },
    /// `DEBUG ERROR <string>`: [`crate::debug_reply::reply_error_as_is`].
    Error {
        /// The error text.
        text: &'a [u8],
    },
    /// `DEBUG POPULATE <count> [<prefix>] [<size>]`: keys `<prefix>:<n>` for `n` in `0..count` that do not
    /// exist yet, valued `value:<n>` ([`crate::debug_reply::populate_key`], `populate_value`); `+OK`.
    Populate {
        /// How many names to try.
        count: u64,
        /// The key prefix (`key` by default), up to its first NUL.
        prefix: &'a [u8],
        /// Value size in bytes; 0: the plain `value:<n>` text.
        size: u64,
    },
    /// `DEBUG SET-DISABLE-DENY-SCRIPTS <0|1>` (`atoi`): allow `deny-script` commands in scripts; `+OK`.
    SetDisableDenyScripts {
        /// Whether the deny-script flag is ignored.
        disabled: bool,
    },
    /// `DEBUG SET-SKIP-CHECKSUM-VALIDATION <0|1>` (`atoi`); `+OK`.
    SetSkipChecksumValidation {
        /// Whether RDB/RESTORE checksums are skipped.
        skip: bool,
    },
    /// `DEBUG PAUSE-CRON <0|1>` (`atoi`); `+OK`.
    PauseCron {
        /// Whether the periodic cron is paused.
        paused: bool,
    },
    /// `DEBUG REPLYBUFFER PEAK-RESET-TIME <NEVER|RESET|ms>`; `+OK`.
    ReplyBufferPeakResetTime(PeakResetTime),
    /// `DEBUG REPLYBUFFER RESIZING <0|1>` (`atoi`); `+OK`.
    ReplyBufferResizing {
        /// Whether the reply buffer resize cron runs.
        enabled: bool,
    },
}

/// DEBUG REPLYBUFFER PEAK-RESET-TIME's argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeakResetTime {
    /// NEVER: the peak is never reset (Redis stores -1).
    Never,
    /// RESET: back to the default (5000 ms).
    Default,
    /// Milliseconds between resets, as given (any `long`; negative means never, as in Redis).
    Ms(i64),
}

/// DEBUG PROTOCOL's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolType {
    /// `Hello World` as a bulk string.
    String,
    /// `12345`.
    Integer,
    /// `3.141`.
    Double,
    /// `1234567999999999999999999999999999999`.
    Bignum,
    /// A null.
    Null,
    /// `[0, 1, 2]`.
    Array,
    /// `{0, 1, 2}` (an array in RESP2).
    Set,
    /// `{0: false, 1: true, 2: false}` (a flat array in RESP2).
    Map,
    /// An attribute (RESP3 only) then a bulk string.
    Attrib,
    /// A push (RESP3 only) then a bulk string.
    Push,
    /// A verbatim `txt` string.
    Verbatim,
    /// `true` (`:1` in RESP2).
    True,
    /// `false` (`:0` in RESP2).
    False,
}

impl ProtocolType {
    /// Every type with its name, in Redis's order.
    pub const ALL: [(&'static str, ProtocolType); 13] = [
        ("string", ProtocolType::String),
        ("integer", ProtocolType::Integer),
        ("double", ProtocolType::Double),
        ("bignum", ProtocolType::Bignum),
        ("null", ProtocolType::Null),
        ("array", ProtocolType::Array),
        ("set", ProtocolType::Set),
        ("map", ProtocolType::Map),
        ("attrib", ProtocolType::Attrib),
        ("push", ProtocolType::Push),
        ("verbatim", ProtocolType::Verbatim),
        ("true", ProtocolType::True),
        ("false", ProtocolType::False),
    ];
}

/// Redis's limit for QUICKLIST-PACKED-THRESHOLD: below 4 GiB by at least 1 MiB.
pub const PACKED_THRESHOLD_BYTES_MAX: u64 = (1 << 32) - (1 << 20);
/// What QUICKLIST-PACKED-THRESHOLD 0 restores.
pub const PACKED_THRESHOLD_BYTES_DEFAULT: u64 = 1 << 30;

/// Subcommands of Redis's DEBUG that Zedis refuses with [`ObserveError::DebugUnsupported`], with the
/// argument counts (argv length, `DEBUG` included) at which Redis accepts them; at other counts they get
/// Redis's syntax error like any unknown subcommand.
const UNSUPPORTED: &[(&str, usize, usize)] = &[
    ("segfault", 2, usize::MAX),
    ("panic", 2, usize::MAX),
    ("restart", 2, usize::MAX),
    ("crash-and-recover", 2, usize::MAX),
    ("oom", 2, usize::MAX),
    ("assert", 2, usize::MAX),
    ("leak", 3, 3),
    ("drop-cluster-packet-filter", 3, 3),
    ("sdslen", 3, 3),
    ("replicate", 3, usize::MAX),
    ("structsize", 2, 2),
    ("htstats", 3, 3),
    ("htstats-key", 3, 3),
    ("config-rewrite-force-all", 2, 2),
    ("client-eviction", 2, 2),
    ("mallctl", 3, usize::MAX),
    ("mallctl-str", 3, usize::MAX),
];

/// Reads a DEBUG argv (`argv[0]` = `DEBUG`) as Redis 7.0.15's `debugCommand` does.
pub fn parse<'a>(argv: &'a [&'a [u8]]) -> Result<DebugRequest<'a>, ObserveError> {
    let Some(&sub) = argv.get(1) else {
        return Err(ObserveError::WrongArity("debug".to_owned()));
    };
    let argc = argv.len();
    let name = c_str(sub).to_ascii_lowercase();
    let syntax = || subcommand_syntax(argv);
    let request = match (name.as_slice(), argc) {
        (b"help", 2) => DebugRequest::Help,
        (b"log", 3) => DebugRequest::Log {
            message: c_str(argv[2]),
        },
        (b"reload", _) => parse_reload(&argv[2..])?,
        (b"object", 3) => DebugRequest::Object { key: argv[2] },
        (b"listpack", 3) => DebugRequest::Listpack { key: argv[2] },
        (b"quicklist", 3 | 4) => DebugRequest::Quicklist {
            key: argv[2],
            full: argv.get(3).map_or(0, |a| atoi(a)),
        },
        (b"populate", 3..=5) => parse_populate(argv)?,
        (b"digest", 2) => DebugRequest::Digest,
        (b"digest-value", _) => DebugRequest::DigestValue { keys: &argv[2..] },
        (b"protocol", 3) => DebugRequest::Protocol(parse_protocol_type(argv[2])?),
        (b"sleep", 3) => DebugRequest::Sleep {
            duration: sleep_duration(strtod_prefix(argv[2])),
        },
        (b"set-active-expire", 3) => DebugRequest::SetActiveExpire {
            enabled: atoi(argv[2]) != 0,
        },
        (b"quicklist-packed-threshold", 3) => DebugRequest::QuicklistPackedThreshold {
            bytes: packed_threshold(argv[2])?,
        },
        (b"set-skip-checksum-validation", 3) => DebugRequest::SetSkipChecksumValidation {
            skip: atoi(argv[2]) != 0,
        },
        (b"error", 3) => DebugRequest::Error { text: argv[2] },
        (b"change-repl-id", 2) => DebugRequest::ChangeReplId,
        (b"stringmatch-test", 2) => DebugRequest::StringmatchTest,
        (b"set-disable-deny-scripts", 3) => DebugRequest::SetDisableDenyScripts {
            disabled: atoi(argv[2]) != 0,
        },
        (b"pause-cron", 3) => DebugRequest::PauseCron {
            paused: atoi(argv[2]) != 0,
        },
        (b"replybuffer", 4) => parse_replybuffer(argv).ok_or_else(syntax)??,
        (b"jmap", 2) => DebugRequest::Jmap,
        // Redis checks no argument count for LOADAOF.
        (b"loadaof", _) => DebugRequest::LoadAof,
        (b"aof-flush-sleep", 3) => DebugRequest::AofFlushSleep {
            micros: atoi(argv[2]).max(0) as u64,
        },
        (b"clusterlink", 5) if c_eq(argv[2], "kill") => {
            return Err(ObserveError::DebugUnsupported("clusterlink".to_owned()))
        }
        (other, _) => {
            let known = UNSUPPORTED
                .iter()
                .find(|(n, min, max)| n.as_bytes() == other && (*min..=*max).contains(&argc));
            return Err(match known {
                Some((n, _, _)) => ObserveError::DebugUnsupported((*n).to_owned()),
                None => syntax(),
            });
        }
    };
    Ok(request)
}

fn parse_reload<'a>(options: &[&'a [u8]]) -> Result<DebugRequest<'a>, ObserveError> {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for &option in options {
        if c_eq(option, "merge") {
            merge = true;
        } else if c_eq(option, "noflush") {
            flush = false;
        } else if c_eq(option, "nosave") {
            save = false;
        } else {
            return Err(ObserveError::ReloadOption);
        }
    }
    Ok(DebugRequest::Reload { merge, flush, save })
}

fn parse_populate<'a>(argv: &'a [&'a [u8]]) -> Result<DebugRequest<'a>, ObserveError> {
    // Redis reads the count, then the size (only with 5 arguments), then uses the prefix.
    let count = get_positive_long(argv[2])?;
    let size = match argv.get(4) {
        Some(size) => get_positive_long(size)?,
        None => 0,
    };
    Ok(DebugRequest::Populate {
        count: count.unsigned_abs(),
        prefix: argv.get(3).map_or(b"key".as_slice(), |p| c_str(p)),
        size: size.unsigned_abs(),
    })
}

/// The type DEBUG PROTOCOL names (case-insensitive), or Redis's error.
pub fn parse_protocol_type(name: &[u8]) -> Result<ProtocolType, ObserveError> {
    ProtocolType::ALL
        .iter()
        .find(|(n, _)| c_eq(name, n))
        .map(|&(_, t)| t)
        .ok_or(ObserveError::ProtocolType)
}

/// `None`: not a REPLYBUFFER option (syntax error); `Some(Err)`: a bad number.
fn parse_replybuffer<'a>(argv: &[&[u8]]) -> Option<Result<DebugRequest<'a>, ObserveError>> {
    if c_eq(argv[2], "peak-reset-time") {
        let time = if c_eq(argv[3], "never") {
            PeakResetTime::Never
        } else if c_eq(argv[3], "reset") {
            PeakResetTime::Default
        } else {
            match get_long(argv[3]) {
                Ok(ms) => PeakResetTime::Ms(ms),
                Err(e) => return Some(Err(e)),
            }
        };
        Some(Ok(DebugRequest::ReplyBufferPeakResetTime(time)))
    } else if c_eq(argv[2], "resizing") {
        Some(Ok(DebugRequest::ReplyBufferResizing {
            enabled: atoi(argv[3]) != 0,
        }))
    } else {
        None
    }
}

/// DEBUG SLEEP's `(long long)(seconds * 1e6)` microseconds; `nanosleep` returns at once for negative values
/// (and x86 turns out-of-range casts into a negative value).
fn sleep_duration(seconds: f64) -> Duration {
    let us = seconds * 1e6;
    if (1.0..9.2e18).contains(&us) {
        Duration::from_micros(us as u64)
    } else {
        Duration::ZERO
    }
}

fn packed_threshold(arg: &[u8]) -> Result<u64, ObserveError> {
    match memtoull(arg) {
        Some(0) => Ok(PACKED_THRESHOLD_BYTES_DEFAULT),
        Some(bytes) if bytes <= PACKED_THRESHOLD_BYTES_MAX => Ok(bytes),
        _ => Err(ObserveError::PackedThreshold),
    }
}

/// Redis's `addReplySubcommandSyntaxError` for `argv` (a command with a subcommand at `argv[1]`).
pub fn subcommand_syntax(argv: &[&[u8]]) -> ObserveError {
    let command = String::from_utf8_lossy(argv.first().copied().unwrap_or_default());
    let sub = c_str(argv.get(1).copied().unwrap_or_default());
    let sub = &sub[..sub.len().min(128)];
    ObserveError::SubcommandSyntax {
        command: String::from_utf8_lossy(&error_bytes(command.to_ascii_uppercase().as_bytes()))
            .into_owned(),
        subcommand: error_bytes(sub),
    }
}

/// Bytes as `addReplyErrorFormat` prints them: CR and LF as spaces.
fn error_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect()
}

/// `enable-debug-command` / `enable-module-command` (Redis's `protected_action_enum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtectedAction {
    /// `no` (the default): refused to everyone.
    #[default]
    No,
    /// `yes`: allowed to everyone.
    Yes,
    /// `local`: allowed to loopback and Unix-socket clients.
    Local,
}

impl ProtectedAction {
    /// Reads a config value (`no`, `yes`, `local`, any case).
    pub fn parse(value: &[u8]) -> Option<ProtectedAction> {
        [
            ("no", ProtectedAction::No),
            ("yes", ProtectedAction::Yes),
            ("local", ProtectedAction::Local),
        ]
        .into_iter()
        .find(|(n, _)| value.eq_ignore_ascii_case(n.as_bytes()))
        .map(|(_, v)| v)
    }

    /// The config value's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtectedAction::No => "no",
            ProtectedAction::Yes => "yes",
            ProtectedAction::Local => "local",
        }
    }

    /// Redis's `allowProtectedAction`: `yes`, or `local` and the client is local.
    pub fn allows(self, peer: ClientPeer) -> bool {
        match self {
            ProtectedAction::No => false,
            ProtectedAction::Yes => true,
            ProtectedAction::Local => peer.is_local(),
        }
    }
}

/// Where a client is connected from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientPeer {
    /// A Unix-domain socket.
    Unix,
    /// TCP from this address.
    Tcp(IpAddr),
}

impl ClientPeer {
    /// Redis's `islocalClient`: a Unix socket, or a TCP peer printed exactly as `127.0.0.1` or `::1` (other
    /// 127/8 addresses and IPv4-mapped `::ffff:127.0.0.1` are not local).
    pub fn is_local(self) -> bool {
        match self {
            ClientPeer::Unix => true,
            ClientPeer::Tcp(IpAddr::V4(ip)) => ip.octets() == [127, 0, 0, 1],
            ClientPeer::Tcp(IpAddr::V6(ip)) => ip.is_loopback(),
        }
    }
}

/// The check `processCommand` makes before running DEBUG: `Err` carries the refusal Redis sends (counted as
/// a rejected call).
pub fn check_debug_allowed(config: ProtectedAction, peer: ClientPeer) -> Result<(), ObserveError> {
    if config.allows(peer) {
        Ok(())
    } else {
        Err(ObserveError::ProtectedNotAllowed {
            command: "DEBUG",
            option: "enable-debug-command",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed<'a>(argv: &'a [&'a [u8]]) -> Result<DebugRequest<'a>, String> {
        parse(argv).map_err(|e| e.to_string())
    }

    #[test]
    fn subcommands_and_arity() {
        assert_eq!(parsed(&[b"debug", b"HeLp"]), Ok(DebugRequest::Help));
        assert_eq!(
            parsed(&[b"debug", b"help", b"x"]),
            Err(
                "ERR unknown subcommand or wrong number of arguments for 'help'. Try DEBUG HELP."
                    .into()
            )
        );
        assert_eq!(
            parsed(&[b"debug", b"object"]),
            Err(
                "ERR unknown subcommand or wrong number of arguments for 'object'. Try DEBUG HELP."
                    .into()
            )
        );
        assert_eq!(
            parsed(&[b"debug", b"digest-value"]),
            Ok(DebugRequest::DigestValue { keys: &[] })
        );
        assert_eq!(
            parsed(&[b"debug", b"reload", b"nosave", b"MERGE"]),
            Ok(DebugRequest::Reload {
                merge: true,
                flush: true,
                save: false
            })
        );
        assert_eq!(
            parsed(&[b"debug", b"reload", b"x"]),
            Err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.".into())
        );
        assert_eq!(
            parsed(&[b"debug", b"segfault"]),
            Err("ERR DEBUG segfault is not supported by Zedis".into())
        );
        assert_eq!(
            parsed(&[b"debug"]),
            Err("ERR wrong number of arguments for 'debug' command".into())
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            parse(&[b"debug", b"sleep", b"0.25"]),
            Ok(DebugRequest::Sleep {
                duration: Duration::from_millis(250)
            })
        );
        assert_eq!(
            parse(&[b"debug", b"sleep", b"-1"]),
            Ok(DebugRequest::Sleep {
                duration: Duration::ZERO
            })
        );
        assert_eq!(
            parse(&[b"debug", b"quicklist-packed-threshold", b"0"]),
            Ok(DebugRequest::QuicklistPackedThreshold { bytes: 1 << 30 })
        );
        assert_eq!(
            parse(&[b"debug", b"quicklist-packed-threshold", b"4gb"]),
            Err(ObserveError::PackedThreshold)
        );
        assert_eq!(
            parse(&[b"debug", b"populate", b"-1"]),
            Err(ObserveError::MustBePositive)
        );
    }

    #[test]
    fn protected_rule() {
        let lo = ClientPeer::Tcp("127.0.0.1".parse().unwrap());
        let other = ClientPeer::Tcp("127.0.0.2".parse().unwrap());
        let v6 = ClientPeer::Tcp("::1".parse().unwrap());
        let mapped = ClientPeer::Tcp("::ffff:127.0.0.1".parse().unwrap());
        assert!(ProtectedAction::Local.allows(lo));
        assert!(ProtectedAction::Local.allows(v6));
        assert!(ProtectedAction::Local.allows(ClientPeer::Unix));
        assert!(!ProtectedAction::Local.allows(other));
        assert!(!ProtectedAction::Local.allows(mapped));
        assert!(!ProtectedAction::No.allows(ClientPeer::Unix));
        assert!(ProtectedAction::Yes.allows(other));
        assert_eq!(
            ProtectedAction::parse(b"LOCAL"),
            Some(ProtectedAction::Local)
        );
        assert_eq!(
            check_debug_allowed(ProtectedAction::No, lo).unwrap_err().to_string(),
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
        );
    }
}
