//! Dropping a channel from under its subscribers: Redis's `pubsubShardUnsubscribeAllClients`, used when a
//! cluster node stops serving a shard channel's slot.

use std::rc::Rc;

use super::PubSub;
use crate::{ClientId, Kind};

impl PubSub {
    /// Unsubscribes every subscriber of `name` in namespace `kind`, in the order they subscribed (Redis
    /// keeps a channel's subscribers in a list in that order), and returns each client with its count
    /// for `kind` afterwards, the number its `unsubscribe` notification carries. Empty if nobody was
    /// subscribed.
    pub fn remove_subscribers(&mut self, kind: Kind, name: &[u8]) -> Vec<(ClientId, usize)> {
        let table = match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::ShardChannel => &self.shard_channels,
        };
        let mut order: Vec<(u64, ClientId)> = table
            .subscribers(name)
            .iter()
            .map(|&client| {
                let seq = self
                    .clients
                    .get(&client)
                    .and_then(|subs| subs.set(kind).get(name))
                    .map_or(u64::MAX, |slot| slot.seq);
                (seq, client)
            })
            .collect();
        order.sort_unstable_by_key(|&(seq, _)| seq);
        order
            .into_iter()
            .map(|(_, client)| (client, self.remove(kind, client, name).count))
            .collect()
    }

    /// The shard channels with at least one subscriber, as shared names (no copy of the bytes).
    pub fn shard_channel_names(&self) -> Vec<Rc<[u8]>> {
        self.shard_channels
            .groups()
            .iter()
            .map(|group| Rc::clone(&group.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subscribers go in subscription order, each with what it has left; the channel is gone after, the
    /// others stay, and the budget charge falls back to what the rest costs.
    #[test]
    fn removes_every_subscriber_in_subscription_order() {
        let mut ps = PubSub::new();
        let (a, b, c) = (ClientId(7), ClientId(3), ClientId(5));
        ps.ssubscribe(b, b"x").unwrap();
        ps.ssubscribe(a, b"other").unwrap();
        ps.ssubscribe(a, b"x").unwrap();
        ps.ssubscribe(c, b"x").unwrap();
        let alone = {
            let mut only = PubSub::new();
            only.ssubscribe(a, b"other").unwrap();
            only.mem_bytes()
        };
        // Reorder the table's list (swap_remove) to show the order does not come from it.
        ps.sunsubscribe(b, b"x");
        ps.ssubscribe(b, b"x").unwrap();
        assert_eq!(
            ps.remove_subscribers(Kind::ShardChannel, b"x"),
            vec![(a, 1), (c, 0), (b, 0)]
        );
        assert_eq!(ps.shard_numsub(b"x"), 0);
        assert_eq!(ps.shard_channel_names(), vec![Rc::from(&b"other"[..])]);
        assert!(!ps.is_subscribed(c) && !ps.is_subscribed(b) && ps.is_subscribed(a));
        assert_eq!(ps.mem_bytes(), alone);
        assert!(ps.remove_subscribers(Kind::ShardChannel, b"x").is_empty());
    }
}
