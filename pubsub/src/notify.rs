//! Keyspace notifications: the `notify-keyspace-events` flags and the channels an event is published to.
//!
//! Ports of Redis 7.0's `keyspaceEventsStringToFlags`, `keyspaceEventsFlagsToString` and the channel
//! naming of `notifyKeyspaceEvent` (`notify.c`).

use std::fmt;
use std::ops::BitOr;
use zedis_util::notify;

use crate::PubSubError;

/// A set of `notify-keyspace-events` flags. The bit values are Redis's `NOTIFY_*`, so an event class
/// (the `type` argument of `notifyKeyspaceEvent`) is one of these constants too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NotifyFlags(u32);

impl NotifyFlags {
    /// No flag: notifications off (the default).
    pub const NONE: NotifyFlags = NotifyFlags(0);
    /// `K`: publish to `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: NotifyFlags = NotifyFlags(notify::KEYSPACE);
    /// `E`: publish to `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: NotifyFlags = NotifyFlags(notify::KEYEVENT);
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: NotifyFlags = NotifyFlags(notify::GENERIC);
    /// `$`: string commands.
    pub const STRING: NotifyFlags = NotifyFlags(notify::STRING);
    /// `l`: list commands.
    pub const LIST: NotifyFlags = NotifyFlags(notify::LIST);
    /// `s`: set commands.
    pub const SET: NotifyFlags = NotifyFlags(notify::SET);
    /// `h`: hash commands.
    pub const HASH: NotifyFlags = NotifyFlags(notify::HASH);
    /// `z`: sorted set commands.
    pub const ZSET: NotifyFlags = NotifyFlags(notify::ZSET);
    /// `x`: expired events.
    pub const EXPIRED: NotifyFlags = NotifyFlags(notify::EXPIRED);
    /// `e`: evicted events.
    pub const EVICTED: NotifyFlags = NotifyFlags(notify::EVICTED);
    /// `t`: stream commands.
    pub const STREAM: NotifyFlags = NotifyFlags(notify::STREAM);
    /// `m`: key misses. Not part of `A`.
    pub const KEY_MISS: NotifyFlags = NotifyFlags(notify::KEY_MISS);
    /// `d`: module key types. (Bit 12 is Redis's module-only `NOTIFY_LOADED`.)
    pub const MODULE: NotifyFlags = NotifyFlags(notify::MODULE);
    /// `n`: new keys. Not part of `A`.
    pub const NEW: NotifyFlags = NotifyFlags(notify::NEW);
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: NotifyFlags = NotifyFlags(
        Self::GENERIC.0
            | Self::STRING.0
            | Self::LIST.0
            | Self::SET.0
            | Self::HASH.0
            | Self::ZSET.0
            | Self::EXPIRED.0
            | Self::EVICTED.0
            | Self::STREAM.0
            | Self::MODULE.0,
    );

    /// Flags from raw bits (Redis's values, as `zedis_util::notify` defines them).
    pub const fn from_bits(bits: u32) -> NotifyFlags {
        NotifyFlags(bits)
    }

    /// The raw bits (Redis's values).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: NotifyFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub const fn intersects(self, other: NotifyFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Parses a `notify-keyspace-events` value as `keyspaceEventsStringToFlags` does: each byte adds
    /// its flag (repeats allowed, order free), any other byte is an error. Like the C code, it stops at
    /// a NUL byte.
    ///
    /// ```
    /// use zedis_pubsub::NotifyFlags;
    /// let flags = NotifyFlags::parse(b"KEA").unwrap();
    /// assert_eq!(flags.to_string(), "AKE");
    /// assert!(NotifyFlags::parse(b"Kq").is_err());
    /// ```
    pub fn parse(classes: &[u8]) -> Result<NotifyFlags, PubSubError> {
        let mut flags = NotifyFlags::NONE;
        for &byte in classes.iter().take_while(|&&byte| byte != 0) {
            flags = flags
                | match byte {
                    b'A' => NotifyFlags::ALL,
                    b'g' => NotifyFlags::GENERIC,
                    b'$' => NotifyFlags::STRING,
                    b'l' => NotifyFlags::LIST,
                    b's' => NotifyFlags::SET,
                    b'h' => NotifyFlags::HASH,
                    b'z' => NotifyFlags::ZSET,
                    b'x' => NotifyFlags::EXPIRED,
                    b'e' => NotifyFlags::EVICTED,
                    b'K' => NotifyFlags::KEYSPACE,
                    b'E' => NotifyFlags::KEYEVENT,
                    b't' => NotifyFlags::STREAM,
                    b'm' => NotifyFlags::KEY_MISS,
                    b'd' => NotifyFlags::MODULE,
                    b'n' => NotifyFlags::NEW,
                    _ => return Err(PubSubError::InvalidEventClass),
                };
        }
        Ok(flags)
    }
}

impl BitOr for NotifyFlags {
    type Output = NotifyFlags;

    fn bitor(self, other: NotifyFlags) -> NotifyFlags {
        NotifyFlags(self.0 | other.0)
    }
}

/// The string `CONFIG GET notify-keyspace-events` shows (`keyspaceEventsFlagsToString`): `A` when all
/// of `A`'s classes are set (and then, as in Redis, `n` is not shown even if set), else the classes in
/// `g$lshzxetdn` order; then `K`, `E`, `m`.
impl fmt::Display for NotifyFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const CLASSES: [(NotifyFlags, char); 11] = [
            (NotifyFlags::GENERIC, 'g'),
            (NotifyFlags::STRING, '$'),
            (NotifyFlags::LIST, 'l'),
            (NotifyFlags::SET, 's'),
            (NotifyFlags::HASH, 'h'),
            (NotifyFlags::ZSET, 'z'),
            (NotifyFlags::EXPIRED, 'x'),
            (NotifyFlags::EVICTED, 'e'),
            (NotifyFlags::STREAM, 't'),
            (NotifyFlags::MODULE, 'd'),
            (NotifyFlags::NEW, 'n'),
        ];
        const TRAILERS: [(NotifyFlags, char); 3] = [
            (NotifyFlags::KEYSPACE, 'K'),
            (NotifyFlags::KEYEVENT, 'E'),
            (NotifyFlags::KEY_MISS, 'm'),
        ];
        if self.contains(NotifyFlags::ALL) {
            f.write_str("A")?;
        } else {
            for (flag, letter) in CLASSES {
                if self.intersects(flag) {
                    write!(f, "{letter}")?;
                }
            }
        }
        for (flag, letter) in TRAILERS {
            if self.intersects(flag) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// One message to publish for a keyspace event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification<'a> {
    /// `__keyspace@<db>__:<key>` or `__keyevent@<db>__:<event>`.
    pub channel: Vec<u8>,
    /// The event name (keyspace channel) or the key (keyevent channel).
    pub message: &'a [u8],
}

/// The 0 to 2 messages `notifyKeyspaceEvent(class, event, key, db)` publishes under `flags`: none unless
/// `flags` enables `class`; then the keyspace one if `K` is set, and the keyevent one if `E` is set,
/// in that order.
///
/// ```
/// use zedis_pubsub::{keyspace_notifications, NotifyFlags};
/// let flags = NotifyFlags::parse(b"KEA").unwrap();
/// let out: Vec<_> = keyspace_notifications(flags, NotifyFlags::STRING, b"set", b"foo", 0).collect();
/// assert_eq!(out[0].channel, b"__keyspace@0__:foo");
/// assert_eq!(out[0].message, b"set");
/// assert_eq!(out[1].channel, b"__keyevent@0__:set");
/// assert_eq!(out[1].message, b"foo");
/// ```
pub fn keyspace_notifications<'a>(
    flags: NotifyFlags,
    class: NotifyFlags,
    event: &'a [u8],
    key: &'a [u8],
    db: usize,
) -> impl Iterator<Item = Notification<'a>> {
    let enabled = flags.intersects(class);
    let keyspace = (enabled && flags.contains(NotifyFlags::KEYSPACE)).then(|| Notification {
        channel: channel(b"__keyspace@", db, key),
        message: event,
    });
    let keyevent = (enabled && flags.contains(NotifyFlags::KEYEVENT)).then(|| Notification {
        channel: channel(b"__keyevent@", db, event),
        message: key,
    });
    [keyspace, keyevent].into_iter().flatten()
}

fn channel(prefix: &[u8], db: usize, suffix: &[u8]) -> Vec<u8> {
    let db = db.to_string();
    let mut channel = Vec::with_capacity(prefix.len() + db.len() + 3 + suffix.len());
    channel.extend_from_slice(prefix);
    channel.extend_from_slice(db.as_bytes());
    channel.extend_from_slice(b"__:");
    channel.extend_from_slice(suffix);
    channel
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CONFIG SET notify-keyspace-events <in>` then `CONFIG GET`, from redis-server 7.0.15.
    #[test]
    fn round_trip_matches_redis() {
        let cases: [(&str, &str); 13] = [
            ("", ""),
            ("A", "A"),
            ("KEA", "AKE"),
            ("Kg", "gK"),
            ("EKnm", "nKEm"),
            ("AKEm", "AKEm"),
            ("g$lshzxetd", "A"),
            ("g$lshzxet", "g$lshzxet"),
            ("nd", "dn"),
            ("KEx", "xKE"),
            ("gg", "g"),
            ("Ag$", "A"),
            ("An", "A"),
        ];
        for (input, shown) in cases {
            let flags = NotifyFlags::parse(input.as_bytes());
            assert_eq!(
                flags.map(|f| f.to_string()),
                Ok(shown.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn invalid_characters_are_refused() {
        for bad in [&b"q"[..], b"K E", b"a", b"KEA!", b"\xff"] {
            assert_eq!(NotifyFlags::parse(bad), Err(PubSubError::InvalidEventClass));
        }
        assert_eq!(NotifyFlags::parse(b"K\0q"), Ok(NotifyFlags::KEYSPACE));
    }

    #[test]
    fn notifications_follow_flags() {
        let none = |flags: &[u8], class| {
            let flags = NotifyFlags::parse(flags).unwrap();
            keyspace_notifications(flags, class, b"del", b"k", 0).count() == 0
        };
        assert!(none(b"", NotifyFlags::GENERIC));
        assert!(none(b"KE", NotifyFlags::GENERIC), "no class enabled");
        assert!(none(b"A", NotifyFlags::GENERIC), "neither K nor E");
        assert!(none(b"KEA", NotifyFlags::KEY_MISS), "m is not in A");
        assert!(none(b"KEA", NotifyFlags::NEW), "n is not in A");
        assert!(!none(b"Em", NotifyFlags::KEY_MISS));

        let flags = NotifyFlags::parse(b"Eg").unwrap();
        let out: Vec<_> =
            keyspace_notifications(flags, NotifyFlags::GENERIC, b"expire", b"key", 15).collect();
        assert_eq!(
            out,
            [Notification {
                channel: b"__keyevent@15__:expire".to_vec(),
                message: b"key"
            }]
        );

        let flags = NotifyFlags::parse(b"Kx").unwrap();
        let out: Vec<_> =
            keyspace_notifications(flags, NotifyFlags::EXPIRED, b"expired", b"a:b", 3).collect();
        assert_eq!(
            out,
            [Notification {
                channel: b"__keyspace@3__:a:b".to_vec(),
                message: b"expired"
            }]
        );
    }
}
