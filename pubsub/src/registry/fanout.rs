//! `PUBLISH` fan-out and `PUBSUB` introspection.

use zedis_util::glob;

use super::PubSub;
use crate::table::{Group, Table};
use crate::ClientId;

impl PubSub {
    /// The recipients of `PUBLISH channel message`: the channel's subscribers (`message`), then each
    /// pattern matching the channel with its subscribers (`pmessage`). Allocates nothing.
    pub fn publish<'a>(&'a self, channel: &'a [u8]) -> Fanout<'a> {
        let direct = self.channels.subscribers(channel);
        Fanout {
            channel: Some(direct).filter(|clients| !clients.is_empty()),
            patterns: self.patterns.groups().iter(),
            name: channel,
        }
    }

    /// The recipients of `SPUBLISH shardchannel message` (`smessage`); its length is the reply.
    pub fn spublish(&self, channel: &[u8]) -> &[ClientId] {
        self.shard_channels.subscribers(channel)
    }

    /// `PUBSUB CHANNELS [pattern]`: channels with at least one subscriber, optionally glob-filtered,
    /// sorted bytewise (Redis returns hash-table order).
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        names(&self.channels, pattern)
    }

    /// `PUBSUB SHARDCHANNELS [pattern]`, as [`PubSub::channels`].
    pub fn shard_channels(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        names(&self.shard_channels, pattern)
    }

    /// `PUBSUB NUMSUB`: subscribers of one channel, 0 if unknown.
    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.subscribers(channel).len()
    }

    /// `PUBSUB SHARDNUMSUB`: subscribers of one shard channel, 0 if unknown.
    pub fn shard_numsub(&self, channel: &[u8]) -> usize {
        self.shard_channels.subscribers(channel).len()
    }

    /// `PUBSUB NUMPAT`: distinct patterns with at least one subscriber (Redis 7.0 counts unique
    /// patterns, not pattern subscriptions).
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }

    /// Number of channels with at least one subscriber (`INFO stats` `pubsub_channels`).
    pub fn channels_len(&self) -> usize {
        self.channels.len()
    }

    /// Number of shard channels with at least one subscriber (`pubsubshard_channels`).
    pub fn shard_channels_len(&self) -> usize {
        self.shard_channels.len()
    }

    /// Number of clients with at least one subscription.
    pub fn clients_len(&self) -> usize {
        self.clients.len()
    }
}

fn names<'a>(table: &'a Table, pattern: Option<&[u8]>) -> Vec<&'a [u8]> {
    let mut names: Vec<&[u8]> = table
        .groups()
        .iter()
        .map(|group| &*group.name)
        .filter(|name| pattern.is_none_or(|pattern| glob::matches(pattern, name)))
        .collect();
    names.sort_unstable();
    names
}

/// A set of clients that receive the same frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// `None`: the channel's own subscribers (`message`); `Some(pattern)`: subscribers of that
    /// pattern (`pmessage` with that pattern).
    pub pattern: Option<&'a [u8]>,
    /// The recipients; never empty.
    pub clients: &'a [ClientId],
}

/// Iterator over the [`Delivery`] groups of one `PUBLISH`: the channel's subscribers first, then one
/// group per matching pattern. A client subscribed to the channel and to k matching patterns appears
/// k + 1 times, as in Redis.
#[derive(Debug, Clone)]
pub struct Fanout<'a> {
    channel: Option<&'a [ClientId]>,
    patterns: std::slice::Iter<'a, Group>,
    name: &'a [u8],
}

impl<'a> Fanout<'a> {
    /// Consumes the fan-out and returns how many messages it delivers: `PUBLISH`'s reply.
    pub fn receivers(self) -> usize {
        self.map(|delivery| delivery.clients.len()).sum()
    }
}

impl<'a> Iterator for Fanout<'a> {
    type Item = Delivery<'a>;

    fn next(&mut self) -> Option<Delivery<'a>> {
        if let Some(clients) = self.channel.take() {
            return Some(Delivery {
                pattern: None,
                clients,
            });
        }
        let name = self.name;
        let group = self.patterns.find(|group| group.matches(name))?;
        Some(Delivery {
            pattern: Some(&group.name),
            clients: &group.subscribers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zedis_budget::Budget;

    const A: ClientId = ClientId(1);

    #[test]
    fn client_on_channel_and_patterns_receives_each() {
        let mut ps = PubSub::with_budget(Budget::leak(0));
        ps.subscribe(A, b"a.b").unwrap();
        for pattern in [&b"a.*"[..], b"*", b"a.b", b"x*", b"a?b", b"a\\.b"] {
            ps.psubscribe(A, pattern).unwrap();
        }
        let patterns: Vec<_> = ps.publish(b"a.b").map(|d| d.pattern).collect();
        let expected: [Option<&[u8]>; 6] = [
            None,
            Some(b"a.*"),
            Some(b"*"),
            Some(b"a.b"),
            Some(b"a?b"),
            Some(b"a\\.b"),
        ];
        assert_eq!(patterns, expected);
        assert_eq!(ps.publish(b"a.b").receivers(), 6);
        assert_eq!(ps.publish(b"nothing").receivers(), 1, "`*` matches");
    }
}
