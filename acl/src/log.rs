//! ACL LOG: recent denials, newest first, with Redis's grouping of repeats (same reason, context,
//! object and user within 60 s among the 10 newest entries bump a counter instead of adding an entry).

use std::collections::VecDeque;

use crate::check::DenialReason;

/// Repeats this close (ms) are grouped.
const GROUPING_DELTA_MS_MAX: u64 = 60_000;
/// How many recent entries are searched for a repeat.
const GROUPING_SCAN_MAX: usize = 10;
/// Redis's default `acllog-max-len`.
pub const ACLLOG_MAX_LEN_DEFAULT: usize = 128;

/// Where the denied command ran (ACL LOG's `context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogContext {
    /// Sent by the client.
    Toplevel,
    /// From a script or function (`redis.call`).
    Lua,
    /// Queued in MULTI (or run by EXEC).
    Multi,
    /// From a module.
    Module,
}

impl LogContext {
    /// The field's text.
    pub fn name(self) -> &'static str {
        match self {
            LogContext::Toplevel => "toplevel",
            LogContext::Lua => "lua",
            LogContext::Multi => "multi",
            LogContext::Module => "module",
        }
    }
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Times it happened (grouped).
    pub count: u64,
    /// Why.
    pub reason: DenialReason,
    /// Where.
    pub context: LogContext,
    /// The command's full name, the key, the channel, or for `auth` the command as typed (`AUTH`).
    pub object: Vec<u8>,
    /// The user (for `auth`, the name tried).
    pub username: Vec<u8>,
    /// Unix time of the last occurrence, ms.
    pub time_ms: u64,
    /// CLIENT LIST line of the last client (the script's caller for scripts).
    pub client_info: Vec<u8>,
}

impl LogEntry {
    /// ACL LOG's `age-seconds` (a double) at `now_ms`.
    pub fn age_seconds(&self, now_ms: u64) -> f64 {
        (now_ms as i64).wrapping_sub(self.time_ms as i64) as f64 / 1000.0
    }

    fn same_event(&self, other: &LogEntry) -> bool {
        self.reason == other.reason
            && self.context == other.context
            && self.time_ms.abs_diff(other.time_ms) <= GROUPING_DELTA_MS_MAX
            && self.object == other.object
            && self.username == other.username
    }

    fn bytes(&self) -> usize {
        std::mem::size_of::<LogEntry>()
            + self.object.capacity()
            + self.username.capacity()
            + self.client_info.capacity()
    }
}

/// The log. Invariant: at most `len_max` entries, newest first.
#[derive(Debug, Clone)]
pub struct AclLog {
    entries: VecDeque<LogEntry>,
    len_max: usize,
}

impl Default for AclLog {
    fn default() -> Self {
        AclLog::new(ACLLOG_MAX_LEN_DEFAULT)
    }
}

impl AclLog {
    /// An empty log keeping `len_max` entries (`acllog-max-len`).
    pub fn new(len_max: usize) -> AclLog {
        AclLog {
            entries: VecDeque::new(),
            len_max,
        }
    }

    /// Changes `acllog-max-len` (trims at the next addition, as Redis).
    pub fn set_len_max(&mut self, len_max: usize) {
        self.len_max = len_max;
    }

    /// Records an event (`count` is ignored: 1 for a new entry, bumped for a repeat).
    pub fn add(&mut self, mut entry: LogEntry) {
        let scan = self.entries.len().min(GROUPING_SCAN_MAX);
        if let Some(idx) = (0..scan).find(|&idx| self.entries[idx].same_event(&entry)) {
            if let Some(mut existing) = self.entries.remove(idx) {
                existing.client_info = entry.client_info;
                existing.time_ms = entry.time_ms;
                existing.count += 1;
                self.entries.push_front(existing);
            }
            return;
        }
        entry.count = 1;
        self.entries.push_front(entry);
        self.entries.truncate(self.len_max);
    }

    /// ACL LOG [count]: up to `count` newest entries (Redis's default 10; a negative count shows none).
    pub fn newest(&self, count: i64) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter().take(count.max(0) as usize)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// ACL LOG RESET.
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Heap bytes held.
    pub fn bytes(&self) -> usize {
        self.entries.iter().map(LogEntry::bytes).sum::<usize>()
            + (self.entries.capacity() - self.entries.len()) * std::mem::size_of::<LogEntry>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(object: &str, time_ms: u64) -> LogEntry {
        LogEntry {
            count: 0,
            reason: DenialReason::Key,
            context: LogContext::Toplevel,
            object: object.as_bytes().to_vec(),
            username: b"u".to_vec(),
            time_ms,
            client_info: format!("id={time_ms}").into_bytes(),
        }
    }

    #[test]
    fn groups_repeats_and_trims() {
        let mut log = AclLog::new(3);
        log.add(entry("a", 1000));
        log.add(entry("b", 1000));
        log.add(entry("a", 2000));
        let first = log.newest(10).next().unwrap();
        assert_eq!(
            (
                first.count,
                first.object.as_slice(),
                first.client_info.as_slice()
            ),
            (2, b"a".as_slice(), b"id=2000".as_slice())
        );
        assert_eq!(log.len(), 2);
        log.add(entry("a", 70_000));
        assert_eq!(log.len(), 3, "older than 60 s: a new entry");
        log.add(entry("c", 70_000));
        assert_eq!(log.len(), 3);
        assert_eq!(log.newest(-1).count(), 0);
        assert!(log.bytes() > 0);
        log.reset();
        assert!(log.is_empty());
    }
}
