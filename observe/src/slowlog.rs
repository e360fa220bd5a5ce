//! The slow log: Redis 7.0's `slowlog.c` as data. The server times each command and calls
//! [`SlowLog::push_if_needed`]; SLOWLOG GET/LEN/RESET/HELP replies come from here.
//!
//! An entry keeps at most [`SLOWLOG_ENTRY_ARGS_MAX`] arguments (the last one then says
//! `... (N more arguments)`) and at most [`SLOWLOG_ENTRY_ARG_BYTES_MAX`] bytes of each argument (then
//! `... (N more bytes)`), so one entry is bounded whatever the client sent; the log holds at most
//! `slowlog-max-len` entries.

use crate::error::ObserveError;
use std::collections::VecDeque;
use zedis_resp::{reply, Protocol};

/// Redis's `SLOWLOG_ENTRY_MAX_ARGC`: arguments kept per entry.
pub const SLOWLOG_ENTRY_ARGS_MAX: usize = 32;
/// Redis's `SLOWLOG_ENTRY_MAX_STRING`: bytes kept per argument.
pub const SLOWLOG_ENTRY_ARG_BYTES_MAX: usize = 128;
/// `slowlog-log-slower-than` default, in microseconds.
pub const SLOWLOG_LOG_SLOWER_THAN_US_DEFAULT: i64 = 10_000;
/// `slowlog-max-len` default.
pub const SLOWLOG_MAX_LEN_DEFAULT: u64 = 128;
/// SLOWLOG GET's count when none is given.
const GET_COUNT_DEFAULT: usize = 10;

/// One logged command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowlogEntry {
    /// Unique, increasing id (not reset by SLOWLOG RESET).
    pub id: u64,
    /// Unix time in seconds when the command was logged.
    pub time_unix_s: i64,
    /// How long the command ran, in microseconds.
    pub duration_us: i64,
    /// The argv as trimmed by [`trim_argv`]: at most [`SLOWLOG_ENTRY_ARGS_MAX`] elements.
    pub argv: Vec<Vec<u8>>,
    /// The client's `ip:port` (Redis's `getClientPeerId`).
    pub peer: Vec<u8>,
    /// The client's name, empty when it has none.
    pub client_name: Vec<u8>,
}

impl SlowlogEntry {
    /// The heap bytes this entry owns (its own struct lives in the log's slots, counted by [`SlowLog::bytes`]).
    pub fn bytes(&self) -> usize {
        self.argv.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.argv.iter().map(Vec::capacity).sum::<usize>()
            + self.peer.capacity()
            + self.client_name.capacity()
    }
}

/// Redis's `slowlogCreateEntry` argv rule: at most [`SLOWLOG_ENTRY_ARGS_MAX`] arguments, the last replaced by
/// `... (N more arguments)` when some were dropped; an argument over [`SLOWLOG_ENTRY_ARG_BYTES_MAX`] bytes
/// cut there and followed by `... (N more bytes)`.
pub fn trim_argv(argv: &[&[u8]]) -> Vec<Vec<u8>> {
    let kept = argv.len().min(SLOWLOG_ENTRY_ARGS_MAX);
    let mut trimmed = Vec::with_capacity(kept);
    for (j, arg) in argv.iter().take(kept).enumerate() {
        if kept != argv.len() && j == kept - 1 {
            let more = argv.len() - kept + 1;
            trimmed.push(format!("... ({more} more arguments)").into_bytes());
        } else if arg.len() > SLOWLOG_ENTRY_ARG_BYTES_MAX {
            let mut cut = arg[..SLOWLOG_ENTRY_ARG_BYTES_MAX].to_vec();
            let more = arg.len() - SLOWLOG_ENTRY_ARG_BYTES_MAX;
            cut.extend_from_slice(format!("... ({more} more bytes)").as_bytes());
            trimmed.push(cut);
        } else {
            trimmed.push(arg.to_vec());
        }
    }
    trimmed
}

/// The slow log: newest entry first, bounded by `slowlog-max-len`.
#[derive(Debug)]
pub struct SlowLog {
    /// Newest first. May exceed `max_len` only between a `set_max_len` and the next push, as in Redis.
    entries: VecDeque<SlowlogEntry>,
    /// The id the next entry gets.
    next_id: u64,
    /// `slowlog-log-slower-than` in µs; negative disables logging, 0 logs every command.
    log_slower_than_us: i64,
    /// `slowlog-max-len`.
    max_len: u64,
    /// Sum of `entries[i].bytes()`.
    bytes: usize,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog::new(SLOWLOG_LOG_SLOWER_THAN_US_DEFAULT, SLOWLOG_MAX_LEN_DEFAULT)
    }
}

impl SlowLog {
    /// An empty log with the given `slowlog-log-slower-than` (µs) and `slowlog-max-len`.
    pub fn new(log_slower_than_us: i64, max_len: u64) -> SlowLog {
        SlowLog {
            entries: VecDeque::new(),
            next_id: 0,
            log_slower_than_us,
            max_len,
            bytes: 0,
        }
    }

    /// CONFIG SET slowlog-log-slower-than.
    pub fn set_log_slower_than_us(&mut self, us: i64) {
        self.log_slower_than_us = us;
    }

    /// The current `slowlog-log-slower-than`.
    pub fn log_slower_than_us(&self) -> i64 {
        self.log_slower_than_us
    }

    /// CONFIG SET slowlog-max-len. As in Redis, the log is trimmed at the next push, not now.
    pub fn set_max_len(&mut self, max_len: u64) {
        self.max_len = max_len;
    }

    /// Redis's `slowlogPushEntryIfNeeded`: logs the command when logging is on and `duration_us` reaches the
    /// threshold, then trims the log to `slowlog-max-len`. Returns whether an entry was added.
    pub fn push_if_needed(
        &mut self,
        argv: &[&[u8]],
        duration_us: i64,
        peer: &[u8],
        client_name: &[u8],
        now_unix_s: i64,
    ) -> bool {
        if self.log_slower_than_us < 0 {
            return false;
        }
        let logged = duration_us >= self.log_slower_than_us;
        if logged {
            let entry = SlowlogEntry {
                id: self.next_id,
                time_unix_s: now_unix_s,
                duration_us,
                argv: trim_argv(argv),
                peer: peer.to_vec(),
                client_name: client_name.to_vec(),
            };
            self.next_id += 1;
            self.bytes += entry.bytes();
            self.entries.push_front(entry);
        }
        while self.entries.len() as u64 > self.max_len {
            if let Some(old) = self.entries.pop_back() {
                self.bytes -= old.bytes();
            }
        }
        logged
    }

    /// SLOWLOG LEN.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, newest first.
    pub fn entries(&self) -> impl Iterator<Item = &SlowlogEntry> {
        self.entries.iter()
    }

    /// SLOWLOG RESET: drops every entry (ids keep counting).
    pub fn reset(&mut self) {
        self.entries.clear();
        self.entries.shrink_to_fit();
        self.bytes = 0;
    }

    /// Bytes held, for the budget (entries and the deque's slots).
    pub fn bytes(&self) -> usize {
        self.bytes + self.entries.capacity() * std::mem::size_of::<SlowlogEntry>()
    }

    /// `SLOWLOG GET [count]`: `count_arg` is the raw argument if given. On a bad count nothing is appended and
    /// Redis's error is returned.
    pub fn reply_get(
        &self,
        out: &mut Vec<u8>,
        count_arg: Option<&[u8]>,
    ) -> Result<(), ObserveError> {
        let count = match count_arg {
            None => GET_COUNT_DEFAULT,
            Some(arg) => match zedis_util::num::parse_i64_exact(arg) {
                Some(-1) => self.entries.len(),
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(ObserveError::SlowlogCount),
            },
        };
        let sent = count.min(self.entries.len());
        reply::array_len(out, sent);
        for entry in self.entries.iter().take(sent) {
            reply::array_len(out, 6);
            reply::integer(out, entry.id as i64);
            reply::integer(out, entry.time_unix_s);
            reply::integer(out, entry.duration_us);
            reply::array_len(out, entry.argv.len());
            for arg in &entry.argv {
                reply::bulk(out, arg);
            }
            reply::bulk(out, &entry.peer);
            reply::bulk(out, &entry.client_name);
        }
        Ok(())
    }

    /// SLOWLOG LEN's reply.
    pub fn reply_len(&self, out: &mut Vec<u8>) {
        reply::integer(out, self.entries.len() as i64);
    }

    /// SLOWLOG HELP's reply.
    pub fn reply_help(out: &mut Vec<u8>) {
        crate::help::reply_help(out, "slowlog", HELP);
    }

    /// The whole SLOWLOG command (`args` after `SLOWLOG`), for callers without a subcommand table: GET, LEN,
    /// RESET, HELP with Redis's argument counts, else Redis's subcommand syntax error.
    pub fn command(&mut self, out: &mut Vec<u8>, _proto: Protocol, args: &[&[u8]]) {
        let sub = args.first().copied().unwrap_or_default();
        let result = match (sub.to_ascii_lowercase().as_slice(), args.len()) {
            (b"help", 1) => {
                SlowLog::reply_help(out);
                Ok(())
            }
            (b"reset", 1) => {
                self.reset();
                reply::ok(out);
                Ok(())
            }
            (b"len", 1) => {
                self.reply_len(out);
                Ok(())
            }
            (b"get", 1 | 2) => self.reply_get(out, args.get(1).copied()),
            _ => {
                let text = format!(
                    "ERR unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
                    String::from_utf8_lossy(&sub[..sub.len().min(128)])
                );
                reply::error(out, text.as_bytes());
                Ok(())
            }
        };
        if let Err(e) = result {
            reply::error(out, &e.reply_text());
        }
    }
}

/// SLOWLOG HELP's lines (Redis 7.0.15's text).
const HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_arguments_and_long_strings() {
        let long = [b'x'; 200];
        let args: Vec<&[u8]> = std::iter::repeat_n(&long[..], 40).collect();
        let trimmed = trim_argv(&args);
        assert_eq!(trimmed.len(), 32);
        assert_eq!(trimmed[31], b"... (9 more arguments)");
        assert_eq!(&trimmed[0][..128], &long[..128]);
        assert_eq!(&trimmed[0][128..], b"... (72 more bytes)");
        let exact: Vec<&[u8]> = std::iter::repeat_n(&b"a"[..], 32).collect();
        assert_eq!(trim_argv(&exact).len(), 32);
        assert_eq!(trim_argv(&exact)[31], b"a");
    }

    #[test]
    fn threshold_disable_and_max_len() {
        let mut log = SlowLog::new(100, 2);
        assert!(!log.push_if_needed(&[b"get", b"k"], 99, b"1.2.3.4:5", b"", 1));
        assert!(log.push_if_needed(&[b"get", b"k"], 100, b"1.2.3.4:5", b"n", 1));
        log.set_log_slower_than_us(-1);
        assert!(!log.push_if_needed(&[b"get"], 1_000_000, b"", b"", 1));
        log.set_log_slower_than_us(0);
        for _ in 0..5 {
            log.push_if_needed(&[b"ping"], 0, b"", b"", 2);
        }
        assert_eq!(log.len(), 2);
        assert_eq!(log.entries().next().map(|e| e.id), Some(5));
        log.set_max_len(0);
        assert_eq!(log.len(), 2, "trimmed only at the next push");
        log.set_log_slower_than_us(10);
        log.push_if_needed(&[b"ping"], 0, b"", b"", 2);
        assert_eq!(log.len(), 0);
        assert_eq!(
            log.bytes(),
            log.entries.capacity() * std::mem::size_of::<SlowlogEntry>()
        );
    }

    #[test]
    fn get_replies_and_count_errors() {
        let mut log = SlowLog::new(0, 10);
        log.push_if_needed(&[b"set", b"k", b"v"], 7, b"127.0.0.1:1", b"me", 42);
        let mut out = Vec::new();
        log.reply_get(&mut out, None).unwrap();
        assert_eq!(
            out,
            b"*1\r\n*6\r\n:0\r\n:42\r\n:7\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n$11\r\n127.0.0.1:1\r\n$2\r\nme\r\n"
        );
        for bad in [&b"-2"[..], b"x", b"", b"1.5"] {
            assert_eq!(
                log.reply_get(&mut Vec::new(), Some(bad)),
                Err(ObserveError::SlowlogCount)
            );
        }
        let mut out = Vec::new();
        log.reply_get(&mut out, Some(b"0")).unwrap();
        assert_eq!(out, b"*0\r\n");
    }

    proptest! {
        /// The log against a model: a vector of (id, duration) newest first, trimmed to max_len at each push.
        #[test]
        fn log_matches_model(ops in proptest::collection::vec((0i64..50, 0u64..6, any::<bool>()), 1..80)) {
            let mut log = SlowLog::new(10, 3);
            let mut model: Vec<(u64, i64)> = Vec::new();
            let mut next = 0;
            for (duration, max_len, reset) in ops {
                if reset && duration % 7 == 0 {
                    log.reset();
                    model.clear();
                    continue;
                }
                log.set_max_len(max_len);
                log.push_if_needed(&[b"cmd"], duration, b"", b"", 0);
                if duration >= 10 {
                    model.insert(0, (next, duration));
                    next += 1;
                }
                model.truncate(max_len as usize);
                let got: Vec<(u64, i64)> = log.entries().map(|e| (e.id, e.duration_us)).collect();
                prop_assert_eq!(&got, &model);
                let expected: usize = log.entries().map(SlowlogEntry::bytes).sum();
                prop_assert_eq!(log.bytes, expected);
            }
        }

        /// Trimming keeps at most 32 arguments of at most 128 bytes plus the suffix.
        #[test]
        fn trim_is_bounded(lens in proptest::collection::vec(0usize..300, 0..60)) {
            let owned: Vec<Vec<u8>> = lens.iter().map(|&n| vec![b'a'; n]).collect();
            let args: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            let trimmed = trim_argv(&args);
            prop_assert_eq!(trimmed.len(), args.len().min(SLOWLOG_ENTRY_ARGS_MAX));
            for t in &trimmed {
                prop_assert!(t.len() <= SLOWLOG_ENTRY_ARG_BYTES_MAX + 32);
            }
        }
    }
}
