//! The small value types of the registry API.

use std::rc::Rc;

/// The three namespaces a client can subscribe in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `SUBSCRIBE` / `UNSUBSCRIBE`, delivered as `message`.
    Channel,
    /// `PSUBSCRIBE` / `PUNSUBSCRIBE`, delivered as `pmessage`.
    Pattern,
    /// `SSUBSCRIBE` / `SUNSUBSCRIBE`, delivered as `smessage`.
    ShardChannel,
}

impl Kind {
    /// Every kind, in the order [`PubSub::remove_client`](crate::PubSub::remove_client) drops them.
    pub const ALL: [Kind; 3] = [Kind::Channel, Kind::Pattern, Kind::ShardChannel];

    /// First element of a subscribe reply: `subscribe`, `psubscribe` or `ssubscribe`.
    pub const fn subscribe_reply_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::ShardChannel => b"ssubscribe",
        }
    }

    /// First element of an unsubscribe reply: `unsubscribe`, `punsubscribe` or `sunsubscribe`.
    pub const fn unsubscribe_reply_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::ShardChannel => b"sunsubscribe",
        }
    }
}

/// Run-time limits (CONFIG SET). 0 means unlimited. Lowering a limit keeps existing subscriptions; it
/// only refuses new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Most subscribers one channel, shard channel or pattern may have (a Zedis extension).
    pub subscribers_per_channel_max: usize,
    /// Most distinct channels + shard channels + patterns with at least one subscriber.
    pub channels_max: usize,
}

/// Outcome of one subscribe or unsubscribe, what the reply `[kind, name, count]` needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Whether the subscription was added (subscribe) or removed (unsubscribe); false for a repeat
    /// subscribe or an unsubscribe of something the client did not have. Redis replies either way.
    pub changed: bool,
    /// The client's subscription count after the operation, as Redis 7.0 reports it: channels +
    /// patterns for the channel and pattern kinds, shard channels only for the shard kind.
    pub count: usize,
}

/// One reply of an "unsubscribe from everything" (`UNSUBSCRIBE` with no argument, etc.).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribed {
    /// The channel or pattern removed; `None` when the client had none of this kind, for which Redis
    /// sends one reply with a nil name.
    pub name: Option<Rc<[u8]>>,
    /// The client's count after this removal, as in [`Change::count`].
    pub count: usize,
}
