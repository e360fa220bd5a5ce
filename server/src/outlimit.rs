//! `client-output-buffer-limit <class> <hard> <soft> <soft-seconds>`: when a client's pending output passes
//! `hard`, or stays above `soft` for `soft-seconds`, the client is disconnected (Redis's
//! `checkClientOutputBufferLimits`), so a client that never reads cannot grow server memory without bound.

use crate::config::parse_memory;

/// One class's limits (0 = no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limit {
    /// Disconnect at once above this many pending bytes.
    pub hard_bytes: u64,
    /// Disconnect when above this for `soft_seconds`.
    pub soft_bytes: u64,
    /// How long the soft limit may be exceeded.
    pub soft_seconds: u64,
}

/// The limits of the three classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Ordinary clients.
    pub normal: Limit,
    /// Replicas once they sync (their stream and RDB payload).
    pub replica: Limit,
    /// Clients subscribed to any channel or pattern.
    pub pubsub: Limit,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            normal: Limit::default(),
            replica: Limit {
                hard_bytes: 256 << 20,
                soft_bytes: 64 << 20,
                soft_seconds: 60,
            },
            pubsub: Limit {
                hard_bytes: 32 << 20,
                soft_bytes: 8 << 20,
                soft_seconds: 60,
            },
        }
    }
}

/// A malformed limit specification, in Redis's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError(&'static str);

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for LimitError {}

impl OutputLimits {
    /// Applies `spec` (one or more `class hard soft seconds` groups) on top of `base`.
    pub fn parse(spec: &str, base: &OutputLimits) -> Result<OutputLimits, LimitError> {
        let words: Vec<&str> = spec.split_whitespace().collect();
        if words.len() % 4 != 0 {
            return Err(LimitError(
                "Wrong number of arguments in buffer limit configuration.",
            ));
        }
        let mut limits = *base;
        for group in words.chunks(4) {
            let bad = LimitError(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            );
            let hard_bytes = parse_memory(group[1]).ok_or(bad.clone())?;
            let soft_bytes = parse_memory(group[2]).ok_or(bad.clone())?;
            let soft_seconds = group[3].parse::<u64>().map_err(|_| bad)?;
            let limit = Limit {
                hard_bytes,
                soft_bytes,
                soft_seconds,
            };
            match group[0].to_ascii_lowercase().as_str() {
                "normal" => limits.normal = limit,
                "replica" | "slave" => limits.replica = limit,
                "pubsub" => limits.pubsub = limit,
                _ => {
                    return Err(LimitError(
                        "Invalid client class specified in buffer limit configuration.",
                    ))
                }
            }
        }
        Ok(limits)
    }

    /// CONFIG GET's form.
    pub fn to_config_string(self) -> String {
        let part = |name: &str, l: &Limit| {
            format!(
                "{name} {} {} {}",
                l.hard_bytes, l.soft_bytes, l.soft_seconds
            )
        };
        format!(
            "{} {} {}",
            part("normal", &self.normal),
            part("slave", &self.replica),
            part("pubsub", &self.pubsub)
        )
    }
}

impl Limit {
    /// Whether `pending` bytes, above the soft limit since `soft_since_ms` (if so), warrant a disconnect now.
    /// Updates `soft_since_ms` as Redis does.
    pub fn exceeded(&self, pending: u64, soft_since_ms: &mut Option<i64>, now_ms: i64) -> bool {
        if self.hard_bytes != 0 && pending >= self.hard_bytes {
            return true;
        }
        if self.soft_bytes != 0 && pending >= self.soft_bytes {
            let since = *soft_since_ms.get_or_insert(now_ms);
            return (now_ms - since) / 1000 > self.soft_seconds as i64;
        }
        *soft_since_ms = None;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_redis() {
        let limits = OutputLimits::parse("pubsub 1mb 512kb 10", &OutputLimits::default()).unwrap();
        assert_eq!(
            limits.pubsub,
            Limit {
                hard_bytes: 1 << 20,
                soft_bytes: 512 << 10,
                soft_seconds: 10
            }
        );
        assert_eq!(
            OutputLimits::default().to_config_string(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert!(OutputLimits::parse("pubsub 1mb 2 3x", &OutputLimits::default()).is_err());
        assert!(OutputLimits::parse("bogus 1 2 3", &OutputLimits::default()).is_err());
    }

    #[test]
    fn soft_limit_needs_time() {
        let limit = Limit {
            hard_bytes: 100,
            soft_bytes: 10,
            soft_seconds: 2,
        };
        let mut since = None;
        assert!(!limit.exceeded(20, &mut since, 0));
        assert!(!limit.exceeded(20, &mut since, 2000));
        assert!(limit.exceeded(20, &mut since, 3001));
        assert!(limit.exceeded(100, &mut None, 0));
        let mut since = Some(5);
        assert!(!limit.exceeded(1, &mut since, 10));
        assert_eq!(since, None);
    }
}
