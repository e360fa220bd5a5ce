//! [`PubSub`]: who is subscribed to what, with limits and budget accounting.

use std::mem::size_of;
use std::rc::Rc;

use hashbrown::HashMap;
use zedis_budget::{Budget, Component, GlobalBudget};

use crate::table::{entry_bytes, Table};
use crate::{Change, ClientId, Kind, Limits, PubSubError, Unsubscribed};

mod evict;
mod fanout;

pub use fanout::{Delivery, Fanout};

/// Where a client sits in one of its targets' subscriber lists.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Invariant: `table.subscribers(name)[idx] == this client`.
    idx: usize,
    /// Subscription order, for a deterministic "unsubscribe all".
    seq: u64,
}

type ClientSet = HashMap<Rc<[u8]>, Slot>;

/// One client's subscriptions. Invariant: in [`PubSub::clients`] only while not all empty.
#[derive(Debug, Default)]
struct ClientSubs {
    channels: ClientSet,
    patterns: ClientSet,
    shard_channels: ClientSet,
}

impl ClientSubs {
    fn set(&self, kind: Kind) -> &ClientSet {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::ShardChannel => &self.shard_channels,
        }
    }

    fn set_mut(&mut self, kind: Kind) -> &mut ClientSet {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::ShardChannel => &mut self.shard_channels,
        }
    }

    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
            Kind::ShardChannel => self.shard_channels.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty()
    }
}

const CLIENT_BYTES: usize = entry_bytes::<ClientId, ClientSubs>();
const SLOT_BYTES: usize = entry_bytes::<Rc<[u8]>, Slot>();

/// The subscription registry: channels, patterns and shard channels to subscribers, and per client
/// what it is subscribed to, so a disconnect costs O(its subscriptions).
///
/// Every byte it holds is charged to the budget it was created with under [`Component::Pubsub`]
/// (reserved, never refused: the [`Limits`] refuse subscriptions, not the budget). Dropping it
/// releases everything.
#[derive(Debug)]
pub struct PubSub {
    channels: Table,
    patterns: Table,
    shard_channels: Table,
    clients: HashMap<ClientId, ClientSubs>,
    /// Invariant: `client_bytes == clients.len() * CLIENT_BYTES + total slots * SLOT_BYTES`.
    client_bytes: usize,
    limits: Limits,
    /// Next subscription sequence number.
    seq_next: u64,
    budget: &'static Budget,
    /// Invariant: between public calls, `charged == computed_bytes()`, and `budget` holds exactly
    /// `charged` bytes for us under `Component::Pubsub`.
    charged: usize,
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub::new()
    }
}

impl Drop for PubSub {
    fn drop(&mut self) {
        self.budget.release(Component::Pubsub, self.charged);
    }
}

impl PubSub {
    /// An empty registry, unlimited, charging this thread's [`zedis_budget::current`] budget.
    pub fn new() -> PubSub {
        PubSub::with_budget(zedis_budget::current())
    }

    /// An empty registry, unlimited, charging `budget`.
    pub fn with_budget(budget: &'static Budget) -> PubSub {
        PubSub {
            channels: Table::default(),
            patterns: Table::default(),
            shard_channels: Table::default(),
            clients: HashMap::new(),
            client_bytes: 0,
            limits: Limits::default(),
            seq_next: 0,
            budget,
            charged: 0,
        }
    }

    /// The current limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Replaces the limits (CONFIG SET). Existing subscriptions are kept.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Bytes held and charged to the budget.
    pub fn mem_bytes(&self) -> usize {
        self.charged
    }

    /// `SUBSCRIBE channel` for one channel.
    pub fn subscribe(&mut self, client: ClientId, channel: &[u8]) -> Result<Change, PubSubError> {
        self.add(Kind::Channel, client, channel)
    }

    /// `PSUBSCRIBE pattern` for one pattern.
    pub fn psubscribe(&mut self, client: ClientId, pattern: &[u8]) -> Result<Change, PubSubError> {
        self.add(Kind::Pattern, client, pattern)
    }

    /// `SSUBSCRIBE shardchannel` for one shard channel.
    pub fn ssubscribe(&mut self, client: ClientId, channel: &[u8]) -> Result<Change, PubSubError> {
        self.add(Kind::ShardChannel, client, channel)
    }

    /// `UNSUBSCRIBE channel` for one channel.
    pub fn unsubscribe(&mut self, client: ClientId, channel: &[u8]) -> Change {
        self.remove(Kind::Channel, client, channel)
    }

    /// `PUNSUBSCRIBE pattern` for one pattern.
    pub fn punsubscribe(&mut self, client: ClientId, pattern: &[u8]) -> Change {
        self.remove(Kind::Pattern, client, pattern)
    }

    /// `SUNSUBSCRIBE shardchannel` for one shard channel.
    pub fn sunsubscribe(&mut self, client: ClientId, channel: &[u8]) -> Change {
        self.remove(Kind::ShardChannel, client, channel)
    }

    /// Subscribes `client` to `name` in namespace `kind`. Refused, with nothing changed, when it would
    /// take the target past `subscribers_per_channel_max` or the registry past `channels_max`; a repeat
    /// subscription is never refused.
    pub fn add(
        &mut self,
        kind: Kind,
        client: ClientId,
        name: &[u8],
    ) -> Result<Change, PubSubError> {
        if let Some(subs) = self.clients.get(&client) {
            if subs.set(kind).contains_key(name) {
                return Ok(Change {
                    changed: false,
                    count: subs.count(kind),
                });
            }
        }
        self.check_limits(kind, name)?;
        let seq = self.seq_next;
        self.seq_next += 1;
        let added = self.table_mut(kind).add(name, client);
        let subs = self.clients.entry(client).or_insert_with(|| {
            self.client_bytes += CLIENT_BYTES;
            ClientSubs::default()
        });
        subs.set_mut(kind).insert(
            added.name,
            Slot {
                idx: added.idx,
                seq,
            },
        );
        self.client_bytes += SLOT_BYTES;
        let count = subs.count(kind);
        self.sync_budget();
        Ok(Change {
            changed: true,
            count,
        })
    }

    fn check_limits(&self, kind: Kind, name: &[u8]) -> Result<(), PubSubError> {
        let Limits {
            subscribers_per_channel_max,
            channels_max,
        } = self.limits;
        let subscribers = self.table(kind).subscribers(name).len();
        if subscribers == 0 {
            let channels = self.channels.len() + self.patterns.len() + self.shard_channels.len();
            if channels_max != 0 && channels >= channels_max {
                return Err(PubSubError::ChannelsMax);
            }
        }
        if subscribers_per_channel_max != 0 && subscribers >= subscribers_per_channel_max {
            return Err(PubSubError::SubscribersPerChannelMax);
        }
        Ok(())
    }

    /// Unsubscribes `client` from `name` in namespace `kind`; a no-op (still replied to) if it was not
    /// subscribed.
    pub fn remove(&mut self, kind: Kind, client: ClientId, name: &[u8]) -> Change {
        let Some(subs) = self.clients.get_mut(&client) else {
            return Change {
                changed: false,
                count: 0,
            };
        };
        let Some(slot) = subs.set_mut(kind).remove(name) else {
            return Change {
                changed: false,
                count: subs.count(kind),
            };
        };
        self.client_bytes -= SLOT_BYTES;
        let count = subs.count(kind);
        if subs.is_empty() {
            self.clients.remove(&client);
            self.client_bytes -= CLIENT_BYTES;
        }
        self.detach(kind, name, slot.idx);
        self.sync_budget();
        Change {
            changed: true,
            count,
        }
    }

    /// Removes position `idx` from `name`'s subscribers and fixes the position recorded by the client
    /// that `swap_remove` moved there.
    fn detach(&mut self, kind: Kind, name: &[u8], idx: usize) {
        let moved = match kind {
            Kind::Channel => self.channels.remove(name, idx),
            Kind::Pattern => self.patterns.remove(name, idx),
            Kind::ShardChannel => self.shard_channels.remove(name, idx),
        };
        let Some(moved) = moved else { return };
        let slot = self
            .clients
            .get_mut(&moved)
            .and_then(|subs| subs.set_mut(kind).get_mut(name));
        debug_assert!(
            slot.is_some(),
            "moved subscriber {moved:?} does not know it is subscribed"
        );
        if let Some(slot) = slot {
            slot.idx = idx;
        }
    }

    /// `UNSUBSCRIBE` / `PUNSUBSCRIBE` / `SUNSUBSCRIBE` with no argument: removes every subscription of
    /// `kind`, in the order they were made (Redis uses its hash-table order, which is arbitrary), and
    /// returns one entry per reply to write. With none, one entry with no name and the client's current
    /// count (Redis 7.0 replies e.g. `unsubscribe, nil, <patterns count>`).
    pub fn remove_all(&mut self, kind: Kind, client: ClientId) -> Vec<Unsubscribed> {
        let names = self.subscriptions(kind, client);
        if names.is_empty() {
            return vec![Unsubscribed {
                name: None,
                count: self.subscription_count(client, kind),
            }];
        }
        names
            .into_iter()
            .map(|name| {
                let count = self.remove(kind, client, &name).count;
                Unsubscribed {
                    name: Some(name),
                    count,
                }
            })
            .collect()
    }

    /// The channels (or patterns) `client` holds for `kind`, in the order they were made.
    pub fn subscriptions(&self, kind: Kind, client: ClientId) -> Vec<Rc<[u8]>> {
        let mut names: Vec<(u64, Rc<[u8]>)> = match self.clients.get(&client) {
            Some(subs) => subs
                .set(kind)
                .iter()
                .map(|(name, slot)| (slot.seq, Rc::clone(name)))
                .collect(),
            None => Vec::new(),
        };
        names.sort_unstable_by_key(|(seq, _)| *seq);
        names.into_iter().map(|(_, name)| name).collect()
    }

    /// Drops every subscription of `client` (disconnect, RESET). Returns how many there were.
    pub fn remove_client(&mut self, client: ClientId) -> usize {
        let Some(subs) = self.clients.remove(&client) else {
            return 0;
        };
        self.client_bytes -= CLIENT_BYTES;
        let mut removed = 0;
        for kind in Kind::ALL {
            for (name, slot) in subs.set(kind) {
                self.detach(kind, name, slot.idx);
                removed += 1;
            }
        }
        self.client_bytes -= removed * SLOT_BYTES;
        self.sync_budget();
        removed
    }

    /// The client's count as subscribe replies report it for `kind` (see [`Change::count`]).
    pub fn subscription_count(&self, client: ClientId, kind: Kind) -> usize {
        self.clients.get(&client).map_or(0, |subs| subs.count(kind))
    }

    /// Whether `client` has any subscription of any kind (RESP2 subscribed mode).
    pub fn is_subscribed(&self, client: ClientId) -> bool {
        self.clients.contains_key(&client)
    }

    /// Whether `client` is subscribed to `name` in namespace `kind`.
    pub fn is_subscribed_to(&self, client: ClientId, kind: Kind, name: &[u8]) -> bool {
        self.clients
            .get(&client)
            .is_some_and(|subs| subs.set(kind).contains_key(name))
    }

    fn table(&self, kind: Kind) -> &Table {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::ShardChannel => &self.shard_channels,
        }
    }

    fn table_mut(&mut self, kind: Kind) -> &mut Table {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::ShardChannel => &mut self.shard_channels,
        }
    }

    fn computed_bytes(&self) -> usize {
        self.channels.bytes()
            + self.patterns.bytes()
            + self.shard_channels.bytes()
            + self.client_bytes
    }

    /// Brings the budget's figure for us to `computed_bytes()`.
    fn sync_budget(&mut self) {
        let now = self.computed_bytes();
        if now > self.charged {
            self.budget.reserve(Component::Pubsub, now - self.charged);
        } else if now < self.charged {
            self.budget.release(Component::Pubsub, self.charged - now);
        }
        self.charged = now;
    }
}

// Per-client slot bookkeeping must stay small: it is paid per subscription.
const _: () = assert!(size_of::<Slot>() == 16);

#[cfg(test)]
mod tests {
    use super::*;

    const A: ClientId = ClientId(1);
    const B: ClientId = ClientId(2);

    fn change(changed: bool, count: usize) -> Change {
        Change { changed, count }
    }

    fn unsubscribed(name: Option<&[u8]>, count: usize) -> Unsubscribed {
        Unsubscribed {
            name: name.map(Rc::from),
            count,
        }
    }

    /// The session of `/tmp/ps_raw.py` against redis-server 7.0.15, outcome by outcome.
    #[test]
    fn replies_match_redis_session() {
        let mut ps = PubSub::with_budget(Budget::leak(0));
        assert_eq!(ps.remove_all(Kind::Channel, A), [unsubscribed(None, 0)]);
        assert_eq!(ps.remove_all(Kind::Pattern, A), [unsubscribed(None, 0)]);
        assert_eq!(
            ps.remove_all(Kind::ShardChannel, A),
            [unsubscribed(None, 0)]
        );
        assert_eq!(ps.subscribe(A, b"c1"), Ok(change(true, 1)));
        assert_eq!(ps.subscribe(A, b"c2"), Ok(change(true, 2)));
        assert_eq!(ps.subscribe(A, b"c1"), Ok(change(false, 2)));
        assert_eq!(ps.psubscribe(A, b"c*"), Ok(change(true, 3)));
        assert_eq!(ps.psubscribe(A, b"c?"), Ok(change(true, 4)));
        assert_eq!(ps.psubscribe(A, b"c*"), Ok(change(false, 4)));
        assert_eq!(ps.ssubscribe(A, b"s1"), Ok(change(true, 1)));
        assert_eq!(ps.ssubscribe(A, b"s2"), Ok(change(true, 2)));
        assert_eq!(ps.unsubscribe(A, b"zz"), change(false, 4));
        assert_eq!(ps.psubscribe(B, b"c*"), Ok(change(true, 1)));

        assert_eq!(ps.numpat(), 2, "distinct patterns");
        assert_eq!(
            (ps.numsub(b"c1"), ps.numsub(b"nope"), ps.numsub(b"s1")),
            (1, 0, 0)
        );
        assert_eq!((ps.shard_numsub(b"s1"), ps.shard_numsub(b"nope")), (1, 0));
        assert_eq!(ps.channels(None), [b"c1", b"c2"]);
        assert_eq!(ps.channels(Some(b"*2")), [b"c2"]);
        assert_eq!(ps.shard_channels(None), [b"s1", b"s2"]);

        let deliveries: Vec<Delivery> = ps.publish(b"c1").collect();
        assert_eq!(
            deliveries,
            [
                Delivery {
                    pattern: None,
                    clients: &[A]
                },
                Delivery {
                    pattern: Some(b"c*"),
                    clients: &[A, B]
                },
                Delivery {
                    pattern: Some(b"c?"),
                    clients: &[A]
                },
            ]
        );
        assert_eq!(ps.publish(b"c1").receivers(), 4);
        assert_eq!(ps.spublish(b"s1"), &[A]);
        assert_eq!(
            ps.spublish(b"c1"),
            &[] as &[ClientId],
            "namespaces are separate"
        );

        // Redis answers these in hash order; we answer in subscription order.
        let all = ps.remove_all(Kind::Channel, A);
        assert_eq!(
            all,
            [unsubscribed(Some(b"c1"), 3), unsubscribed(Some(b"c2"), 2)]
        );
        let all = ps.remove_all(Kind::ShardChannel, A);
        assert_eq!(
            all,
            [unsubscribed(Some(b"s1"), 1), unsubscribed(Some(b"s2"), 0)]
        );
        assert!(ps.is_subscribed(A));
        let all = ps.remove_all(Kind::Pattern, A);
        assert_eq!(
            all,
            [unsubscribed(Some(b"c*"), 1), unsubscribed(Some(b"c?"), 0)]
        );
        assert!(!ps.is_subscribed(A));
        assert_eq!(ps.publish(b"c1").receivers(), 1);
    }

    /// Redis 7.0: the "nothing to unsubscribe" reply carries the client's current count.
    #[test]
    fn unsubscribe_all_with_none_reports_current_count() {
        let mut ps = PubSub::with_budget(Budget::leak(0));
        ps.psubscribe(A, b"p*").unwrap();
        ps.ssubscribe(A, b"s").unwrap();
        assert_eq!(ps.remove_all(Kind::Channel, A), [unsubscribed(None, 1)]);
        assert_eq!(ps.sunsubscribe(A, b"zz"), change(false, 1));
        assert_eq!(ps.punsubscribe(A, b"p*"), change(true, 0));
        assert_eq!(ps.remove_all(Kind::Pattern, A), [unsubscribed(None, 0)]);
        ps.subscribe(A, b"x").unwrap();
        ps.remove_all(Kind::ShardChannel, A);
        assert_eq!(
            ps.remove_all(Kind::ShardChannel, A),
            [unsubscribed(None, 0)]
        );
        assert_eq!(ps.unsubscribe(B, b"x"), change(false, 0));
    }

    #[test]
    fn subscriber_limit_refuses_without_changing_state() {
        let budget = Budget::leak(0);
        let mut ps = PubSub::with_budget(budget);
        ps.set_limits(Limits {
            subscribers_per_channel_max: 2,
            channels_max: 0,
        });
        ps.subscribe(A, b"ch").unwrap();
        ps.subscribe(B, b"ch").unwrap();
        let before = (ps.mem_bytes(), budget.used_by(Component::Pubsub));
        let refused = ps.subscribe(ClientId(3), b"ch");
        assert_eq!(refused, Err(PubSubError::SubscribersPerChannelMax));
        assert_eq!(
            refused.unwrap_err().to_string(),
            "ERR maximum subscribers per channel reached"
        );
        assert_eq!((ps.mem_bytes(), budget.used_by(Component::Pubsub)), before);
        assert!(!ps.is_subscribed(ClientId(3)));
        assert_eq!(ps.numsub(b"ch"), 2);
        assert_eq!(
            ps.subscribe(A, b"ch"),
            Ok(change(false, 1)),
            "a repeat is never refused"
        );
        // The limit applies per channel and to patterns and shard channels alike.
        assert!(ps.subscribe(ClientId(3), b"other").is_ok());
        ps.psubscribe(A, b"p").unwrap();
        ps.psubscribe(B, b"p").unwrap();
        assert_eq!(
            ps.psubscribe(ClientId(3), b"p"),
            Err(PubSubError::SubscribersPerChannelMax)
        );
        ps.set_limits(Limits::default());
        assert_eq!(ps.subscribe(ClientId(3), b"ch"), Ok(change(true, 2)));
    }

    #[test]
    fn channel_limit_counts_every_namespace() {
        let mut ps = PubSub::with_budget(Budget::leak(0));
        ps.set_limits(Limits {
            subscribers_per_channel_max: 0,
            channels_max: 3,
        });
        ps.subscribe(A, b"c").unwrap();
        ps.psubscribe(A, b"p*").unwrap();
        ps.ssubscribe(A, b"s").unwrap();
        assert_eq!(ps.subscribe(A, b"d"), Err(PubSubError::ChannelsMax));
        assert_eq!(ps.psubscribe(B, b"q*"), Err(PubSubError::ChannelsMax));
        assert!(!ps.is_subscribed(B));
        assert_eq!(
            ps.subscribe(B, b"c"),
            Ok(change(true, 1)),
            "joining an existing channel"
        );
        ps.unsubscribe(A, b"c");
        ps.unsubscribe(B, b"c");
        assert_eq!(ps.subscribe(A, b"d"), Ok(change(true, 2)));
    }

    #[test]
    fn subscribe_disconnect_cycles_return_budget_exactly() {
        let budget = Budget::leak(0);
        let start = budget.used_by(Component::Pubsub);
        let mut ps = PubSub::with_budget(budget);
        for round in 0..2000u64 {
            let client = ClientId(round % 37);
            let name = format!("channel:{}", round % 101);
            ps.subscribe(client, name.as_bytes()).unwrap();
            ps.psubscribe(client, format!("channel:{}*", round % 7).as_bytes())
                .unwrap();
            ps.ssubscribe(client, name.as_bytes()).unwrap();
            assert_eq!(ps.mem_bytes(), budget.used_by(Component::Pubsub) - start);
            if round % 5 == 0 {
                ps.remove_client(ClientId(round % 11));
            }
        }
        assert!(ps.mem_bytes() > 0);
        for client in 0..37 {
            ps.remove_client(ClientId(client));
        }
        assert_eq!(ps.clients_len(), 0);
        assert_eq!(ps.mem_bytes(), 0);
        assert_eq!(budget.used_by(Component::Pubsub), start);
        ps.subscribe(A, b"kept").unwrap();
        drop(ps);
        assert_eq!(
            budget.used_by(Component::Pubsub),
            start,
            "drop releases the rest"
        );
    }
}
