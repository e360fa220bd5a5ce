//! INFO `errorstats`: error replies counted by their code (`ERR`, `WRONGTYPE`, ...), as Redis's
//! `afterErrorReply` and `incrementErrorCount` do.
//!
//! Deviation from 7.0.15, taken from later Redis (7.2.5+/7.4, "Prevent lua error_reply abuse from causing
//! errorstats to become larger"): at most [`ERROR_PREFIXES_MAX`] distinct codes are kept; a new code beyond
//! that empties the table, leaves the single `ERRORSTATS_DISABLED` entry and stops counting until CONFIG
//! RESETSTAT. Redis 7.0.15 grows without bound, which a script returning `redis.error_reply` with ever new
//! codes turns into unbounded server memory.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Distinct error codes kept before errorstats disables itself.
pub const ERROR_PREFIXES_MAX: usize = 128;
/// Redis looks for the code's end within this many bytes of the error (`-` included).
const ERROR_PREFIX_SEARCH_BYTES: usize = 32;
/// The entry left when errorstats disables itself.
const DISABLED_ENTRY: &[u8] = b"ERRORSTATS_DISABLED";

/// What the server must log when errorstats disables itself (Redis logs both lines at WARNING level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorStatsDisabled {
    /// The warning and the list of codes counted until then.
    pub log_lines: [String; 2],
}

/// Error counts per code, plus the total of error replies.
#[derive(Debug, Clone)]
pub struct ErrorStats {
    /// Code -> count, in byte order (Redis's rax order). At most `ERROR_PREFIXES_MAX` entries.
    counts: BTreeMap<Vec<u8>, u64>,
    /// False once the cap was hit, until [`ErrorStats::reset`].
    enabled: bool,
    /// INFO stats `total_error_replies`.
    total_error_replies: u64,
}

impl Default for ErrorStats {
    fn default() -> Self {
        ErrorStats {
            counts: BTreeMap::new(),
            enabled: true,
            total_error_replies: 0,
        }
    }
}

/// The code Redis counts for an error reply `text` (as written after `-`: `ERR ...`, `WRONGTYPE ...`; a
/// leading `-` is ignored): the bytes before the first space when that space is within the first 31 bytes,
/// else `ERR`.
pub fn error_code(text: &[u8]) -> &[u8] {
    let text = text.strip_prefix(b"-").unwrap_or(text);
    let window = &text[..text.len().min(ERROR_PREFIX_SEARCH_BYTES - 1)];
    match window.iter().position(|&b| b == b' ') {
        Some(space) => &text[..space],
        None => b"ERR",
    }
}

impl ErrorStats {
    /// Counts one error reply (Redis's `afterErrorReply` without `ERR_REPLY_FLAG_NO_STATS_UPDATE`). Returns
    /// what to log when this reply made errorstats disable itself.
    pub fn record(&mut self, text: &[u8]) -> Option<ErrorStatsDisabled> {
        self.total_error_replies += 1;
        if !self.enabled {
            return None;
        }
        let code = error_code(text);
        if let Some(count) = self.counts.get_mut(code) {
            *count += 1;
            return None;
        }
        if self.counts.len() >= ERROR_PREFIXES_MAX {
            let codes: Vec<String> = self.counts.keys().map(|k| safe_info_name(k)).collect();
            let disabled = ErrorStatsDisabled {
                log_lines: [
                    "Errorstats stopped adding new errors because the number of errors reached the limit, may be misuse of lua error_reply, please check INFO ERRORSTATS, this can be re-enabled via CONFIG RESETSTAT.".to_owned(),
                    format!("Current errors code list: {}", codes.join(", ")),
                ],
            };
            self.counts.clear();
            self.counts.insert(DISABLED_ENTRY.to_vec(), 1);
            self.enabled = false;
            return Some(disabled);
        }
        self.counts.insert(code.to_vec(), 1);
        None
    }

    /// Whether new codes are still counted.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// INFO stats `total_error_replies`.
    pub fn total_error_replies(&self) -> u64 {
        self.total_error_replies
    }

    /// Every code and its count, in byte order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.counts.iter().map(|(k, v)| (k.as_slice(), *v))
    }

    /// The count for `code`.
    pub fn count(&self, code: &[u8]) -> u64 {
        self.counts.get(code).copied().unwrap_or(0)
    }

    /// CONFIG RESETSTAT: empty, enabled, total zeroed.
    pub fn reset(&mut self) {
        *self = ErrorStats::default();
    }

    /// Bytes held, for the budget (keys plus a per-node estimate of the B-tree).
    pub fn bytes(&self) -> usize {
        self.counts.keys().map(|k| k.capacity() + 48).sum()
    }

    /// INFO `errorstats`: the header and `errorstat_<CODE>:count=<n>` per code in byte order.
    pub fn write_errorstats(&self, out: &mut String) {
        out.push_str("# Errorstats\r\n");
        for (code, count) in &self.counts {
            let _ = write!(out, "errorstat_{}:count={count}\r\n", safe_info_name(code));
        }
    }
}

/// Redis's `getSafeInfoString` on bytes.
fn safe_info_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name).replace(['#', ':', '\n', '\r'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_as_redis_extracts_them() {
        assert_eq!(error_code(b"ERR unknown command"), b"ERR");
        assert_eq!(error_code(b"-WRONGTYPE Operation against"), b"WRONGTYPE");
        assert_eq!(error_code(b"NOSPACEHERE"), b"ERR");
        assert_eq!(
            error_code(b"ABCDEFGHIJKLMNOPQRSTUVWXYZABCD x"),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZABCD"
        );
        assert_eq!(error_code(b"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDE x"), b"ERR");
    }

    #[test]
    fn cap_disables_until_reset() {
        let mut stats = ErrorStats::default();
        for i in 0..ERROR_PREFIXES_MAX {
            assert!(stats.record(format!("E{i} x").as_bytes()).is_none());
        }
        assert!(stats.record(b"E0 again").is_none());
        let disabled = stats.record(b"NEW x").expect("cap reached");
        assert!(disabled.log_lines[1].starts_with("Current errors code list: E0, E1, E10"));
        assert!(!stats.enabled());
        assert!(stats.record(b"OTHER x").is_none());
        let mut out = String::new();
        stats.write_errorstats(&mut out);
        assert_eq!(
            out,
            "# Errorstats\r\nerrorstat_ERRORSTATS_DISABLED:count=1\r\n"
        );
        assert_eq!(stats.total_error_replies(), ERROR_PREFIXES_MAX as u64 + 3);
        stats.reset();
        assert!(stats.enabled());
        assert_eq!(stats.total_error_replies(), 0);
    }

    proptest! {
        /// Against a model map: counts per code, never more than the cap while enabled.
        #[test]
        fn counts_match_model(codes in proptest::collection::vec(0u8..20, 0..200)) {
            let mut stats = ErrorStats::default();
            let mut model: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
            for c in codes {
                let text = format!("C{c} message");
                stats.record(text.as_bytes());
                *model.entry(format!("C{c}").into_bytes()).or_default() += 1;
            }
            prop_assert_eq!(&stats.counts, &model);
            prop_assert_eq!(stats.total_error_replies(), model.values().sum::<u64>());
        }
    }
}
