//! Pub/Sub: channels, patterns, shard channels, subscriber limits, fan-out.
//!
//! This crate is the subscription registry and the message fan-out logic of Zedis. It owns no socket
//! and no output buffer: the server asks it who receives a message and writes the frames itself.
//!
//! Goals:
//! - Redis 7.0's observable behaviour: reply counts (channels + patterns for `SUBSCRIBE`/`PSUBSCRIBE`,
//!   shard channels alone for `SSUBSCRIBE`), the nil reply of an unsubscribe-all with nothing to
//!   unsubscribe, `PUBLISH`'s receiver count (one per channel subscriber plus one per matching
//!   (pattern, subscriber) pair), `PUBSUB NUMPAT` counting distinct patterns;
//! - O(1) expected subscribe/unsubscribe, O(its subscriptions) disconnect, a `PUBLISH` that allocates
//!   nothing and matches each distinct pattern once (a literal-prefix `memcmp` before any glob call);
//! - every byte held charged to the budget under [`zedis_budget::Component::Pubsub`], back to exactly
//!   zero when the last subscription goes;
//! - frames encoded once per publish and protocol ([`encode_message`], ...), shared by all recipients.
//!
//! Non-goals: thread safety (one registry per event-loop thread; it is `!Send`), cluster slot routing of
//! shard channels (there is one shard), delivery order across patterns identical to Redis (Redis uses
//! its hash-table order, which is arbitrary; here it is deterministic).
//!
//! Layout:
//! - `kind`: the small API types [`Kind`], [`Limits`], [`Change`], [`Unsubscribed`];
//! - `registry`: [`PubSub`] (subscribe, unsubscribe, disconnect, budget); `registry/fanout`: `PUBLISH`
//!   ([`Fanout`], [`Delivery`]) and `PUBSUB` introspection;
//! - `table`: one namespace of targets and their subscriber lists (internal);
//! - `encode`: RESP2/RESP3 message and subscription-reply frames;
//! - `notify`: [`NotifyFlags`] (`notify-keyspace-events`) and [`keyspace_notifications`].
//!
//! ```
//! use zedis_pubsub::{encode_pmessage, ClientId, Delivery, Protocol, PubSub};
//!
//! let mut pubsub = PubSub::new();
//! let (alice, bob) = (ClientId(1), ClientId(2));
//! assert_eq!(pubsub.subscribe(alice, b"news.it").unwrap().count, 1);
//! assert_eq!(pubsub.psubscribe(alice, b"news.*").unwrap().count, 2);
//! pubsub.psubscribe(bob, b"news.*").unwrap();
//!
//! let deliveries: Vec<Delivery> = pubsub.publish(b"news.it").collect();
//! assert_eq!(deliveries[0].pattern, None);
//! assert_eq!(deliveries[0].clients, &[alice]);
//! assert_eq!(deliveries[1].pattern, Some(&b"news.*"[..]));
//! assert_eq!(deliveries[1].clients, &[alice, bob]);
//! assert_eq!(pubsub.publish(b"news.it").receivers(), 3);
//!
//! // One frame per pattern, shared by its subscribers.
//! let mut frame = Vec::new();
//! encode_pmessage(&mut frame, Protocol::Resp2, b"news.*", b"news.it", b"hello");
//! let frame: std::rc::Rc<[u8]> = frame.into();
//!
//! pubsub.remove_client(alice);
//! pubsub.remove_client(bob);
//! assert_eq!(pubsub.mem_bytes(), 0);
//! ```
#![deny(missing_docs)]

mod encode;
mod kind;
mod notify;
mod registry;
mod table;

pub use encode::{
    encode_message, encode_pmessage, encode_smessage, encode_subscription_reply, Protocol,
};
pub use kind::{Change, Kind, Limits, Unsubscribed};
pub use notify::{keyspace_notifications, Notification, NotifyFlags};
pub use registry::{Delivery, Fanout, PubSub};

/// A connected client, as the server numbers them (Redis's client id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// Why a subscription or a setting was refused. The `Display` texts of the subscription errors are the
/// complete error replies (without the leading `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PubSubError {
    /// The channel (or pattern) already has `subscribers_per_channel_max` subscribers.
    #[error("ERR maximum subscribers per channel reached")]
    SubscribersPerChannelMax,
    /// The registry already has `channels_max` channels, shard channels and patterns.
    #[error("ERR maximum number of channels reached")]
    ChannelsMax,
    /// A `notify-keyspace-events` value with a character outside `Ag$lshzxeKEtmdn`. The text is
    /// Redis's reason, which `CONFIG SET` wraps as `ERR CONFIG SET failed (possibly related to
    /// argument 'notify-keyspace-events') - <reason>`.
    #[error("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")]
    InvalidEventClass,
}
