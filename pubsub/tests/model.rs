//! Random subscribe / unsubscribe / disconnect / publish sequences against a model made of
//! `BTreeMap`s and `BTreeSet`s, with random limits, checking every reply-relevant outcome and the
//! budget figure after each step.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use zedis_budget::{Budget, Component, GlobalBudget};
use zedis_pubsub::{Change, ClientId, Kind, Limits, PubSub, PubSubError};
use zedis_util::glob;

#[derive(Debug, Clone)]
enum Op {
    Subscribe(Kind, u64, Vec<u8>),
    Unsubscribe(Kind, u64, Vec<u8>),
    UnsubscribeAll(Kind, u64),
    Disconnect(u64),
    Publish(Vec<u8>),
    SetLimits(usize, usize),
}

const NAMES: [&[u8]; 10] = [
    b"", b"a", b"b", b"ab", b"a*", b"*b", b"?", b"[ab]b", b"a\\*", b"*",
];

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Channel),
        Just(Kind::Pattern),
        Just(Kind::ShardChannel)
    ]
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    (0..NAMES.len()).prop_map(|i| NAMES[i].to_vec())
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0..5u64;
    prop_oneof![
        6 => (kind(), client.clone(), name()).prop_map(|(k, c, n)| Op::Subscribe(k, c, n)),
        3 => (kind(), client.clone(), name()).prop_map(|(k, c, n)| Op::Unsubscribe(k, c, n)),
        1 => (kind(), client.clone()).prop_map(|(k, c)| Op::UnsubscribeAll(k, c)),
        1 => client.prop_map(Op::Disconnect),
        3 => proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'*')], 0..4).prop_map(Op::Publish),
        1 => (0..4usize, 0..6usize).prop_map(|(s, c)| Op::SetLimits(s, c)),
    ]
}

fn idx(kind: Kind) -> usize {
    match kind {
        Kind::Channel => 0,
        Kind::Pattern => 1,
        Kind::ShardChannel => 2,
    }
}

/// Per kind, client -> names.
#[derive(Default)]
struct Model {
    subs: [BTreeMap<u64, BTreeSet<Vec<u8>>>; 3],
    limits: Limits,
}

impl Model {
    fn subscribers(&self, kind: Kind, name: &[u8]) -> BTreeSet<u64> {
        self.subs[idx(kind)]
            .iter()
            .filter(|(_, names)| names.contains(name))
            .map(|(c, _)| *c)
            .collect()
    }

    fn targets(&self, kind: Kind) -> BTreeSet<Vec<u8>> {
        self.subs[idx(kind)].values().flatten().cloned().collect()
    }

    fn len(&self, kind: Kind, client: u64) -> usize {
        self.subs[idx(kind)].get(&client).map_or(0, BTreeSet::len)
    }

    fn count(&self, kind: Kind, client: u64) -> usize {
        match kind {
            Kind::ShardChannel => self.len(kind, client),
            _ => self.len(Kind::Channel, client) + self.len(Kind::Pattern, client),
        }
    }

    fn subscribe(&mut self, kind: Kind, client: u64, name: &[u8]) -> Result<Change, PubSubError> {
        if self.subs[idx(kind)]
            .get(&client)
            .is_some_and(|set| set.contains(name))
        {
            return Ok(Change {
                changed: false,
                count: self.count(kind, client),
            });
        }
        let subscribers = self.subscribers(kind, name).len();
        let targets: usize = Kind::ALL.iter().map(|&k| self.targets(k).len()).sum();
        let Limits {
            subscribers_per_channel_max: per,
            channels_max: chans,
        } = self.limits;
        if subscribers == 0 && chans != 0 && targets >= chans {
            return Err(PubSubError::ChannelsMax);
        }
        if per != 0 && subscribers >= per {
            return Err(PubSubError::SubscribersPerChannelMax);
        }
        self.subs[idx(kind)]
            .entry(client)
            .or_default()
            .insert(name.to_vec());
        Ok(Change {
            changed: true,
            count: self.count(kind, client),
        })
    }

    fn unsubscribe(&mut self, kind: Kind, client: u64, name: &[u8]) -> Change {
        let set = self.subs[idx(kind)].entry(client).or_default();
        let changed = set.remove(name);
        if set.is_empty() {
            self.subs[idx(kind)].remove(&client);
        }
        Change {
            changed,
            count: self.count(kind, client),
        }
    }

    /// (client, pattern) pairs a publish delivers to, sorted.
    fn publish(&self, channel: &[u8]) -> Vec<(u64, Option<Vec<u8>>)> {
        let mut out: Vec<_> = self
            .subscribers(Kind::Channel, channel)
            .into_iter()
            .map(|c| (c, None))
            .collect();
        for pattern in self.targets(Kind::Pattern) {
            if glob::matches(&pattern, channel) {
                for c in self.subscribers(Kind::Pattern, &pattern) {
                    out.push((c, Some(pattern.clone())));
                }
            }
        }
        out.sort();
        out
    }
}

fn apply(ps: &mut PubSub, model: &mut Model, op: Op) -> Result<(), TestCaseError> {
    match op {
        Op::Subscribe(kind, c, name) => {
            prop_assert_eq!(
                ps.add(kind, ClientId(c), &name),
                model.subscribe(kind, c, &name)
            );
        }
        Op::Unsubscribe(kind, c, name) => {
            prop_assert_eq!(
                ps.remove(kind, ClientId(c), &name),
                model.unsubscribe(kind, c, &name)
            );
        }
        Op::UnsubscribeAll(kind, c) => {
            let before = model.count(kind, c);
            let names = model.subs[idx(kind)].remove(&c).unwrap_or_default();
            let replies = ps.remove_all(kind, ClientId(c));
            if names.is_empty() {
                prop_assert_eq!(replies.len(), 1);
                prop_assert_eq!(&replies[0].name, &None);
                prop_assert_eq!(replies[0].count, before);
            } else {
                let got: BTreeSet<Vec<u8>> = replies
                    .iter()
                    .filter_map(|r| r.name.as_deref().map(<[u8]>::to_vec))
                    .collect();
                prop_assert_eq!(got, names.clone());
                let counts: Vec<usize> = replies.iter().map(|r| r.count).collect();
                let expected: Vec<usize> = (1..=names.len()).map(|i| before - i).collect();
                prop_assert_eq!(counts, expected);
            }
        }
        Op::Disconnect(c) => {
            let total: usize = Kind::ALL.iter().map(|&k| model.len(k, c)).sum();
            for set in &mut model.subs {
                set.remove(&c);
            }
            prop_assert_eq!(ps.remove_client(ClientId(c)), total);
        }
        Op::Publish(channel) => {
            let mut got: Vec<(u64, Option<Vec<u8>>)> = Vec::new();
            for delivery in ps.publish(&channel) {
                prop_assert!(!delivery.clients.is_empty());
                got.extend(
                    delivery
                        .clients
                        .iter()
                        .map(|c| (c.0, delivery.pattern.map(<[u8]>::to_vec))),
                );
            }
            got.sort();
            let expected = model.publish(&channel);
            prop_assert_eq!(ps.publish(&channel).receivers(), expected.len());
            prop_assert_eq!(got, expected);
            let shard: BTreeSet<u64> = ps.spublish(&channel).iter().map(|c| c.0).collect();
            prop_assert_eq!(shard, model.subscribers(Kind::ShardChannel, &channel));
        }
        Op::SetLimits(per, chans) => {
            let limits = Limits {
                subscribers_per_channel_max: per,
                channels_max: chans,
            };
            ps.set_limits(limits);
            model.limits = limits;
        }
    }
    Ok(())
}

fn check(ps: &PubSub, model: &Model, budget: &Budget, start: usize) -> Result<(), TestCaseError> {
    for name in NAMES {
        prop_assert_eq!(
            ps.numsub(name),
            model.subscribers(Kind::Channel, name).len()
        );
        prop_assert_eq!(
            ps.shard_numsub(name),
            model.subscribers(Kind::ShardChannel, name).len()
        );
    }
    prop_assert_eq!(ps.numpat(), model.targets(Kind::Pattern).len());
    let channels: BTreeSet<Vec<u8>> = ps.channels(None).into_iter().map(<[u8]>::to_vec).collect();
    prop_assert_eq!(channels, model.targets(Kind::Channel));
    let shard: Vec<Vec<u8>> = ps
        .shard_channels(Some(b"a*"))
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let expected: Vec<Vec<u8>> = model
        .targets(Kind::ShardChannel)
        .into_iter()
        .filter(|n| glob::matches(b"a*", n))
        .collect();
    prop_assert_eq!(shard, expected);
    let mut clients = BTreeSet::new();
    for c in 0..5 {
        for kind in Kind::ALL {
            prop_assert_eq!(
                ps.subscription_count(ClientId(c), kind),
                model.count(kind, c)
            );
            if model.len(kind, c) > 0 {
                clients.insert(c);
            }
        }
        prop_assert_eq!(ps.is_subscribed(ClientId(c)), clients.contains(&c));
    }
    prop_assert_eq!(ps.clients_len(), clients.len());
    prop_assert_eq!(ps.mem_bytes() == 0, clients.is_empty());
    prop_assert_eq!(budget.used_by(Component::Pubsub), start + ps.mem_bytes());
    Ok(())
}

proptest! {
    #[test]
    fn registry_matches_model(ops in proptest::collection::vec(op(), 0..120)) {
        let budget = Budget::leak(0);
        budget.reserve(Component::Pubsub, 7); // someone else's bytes, to check we only move ours
        let start = budget.used_by(Component::Pubsub);
        let mut ps = PubSub::with_budget(budget);
        let mut model = Model::default();
        for op in ops {
            apply(&mut ps, &mut model, op)?;
            check(&ps, &model, budget, start)?;
        }
        for c in 0..5 {
            ps.remove_client(ClientId(c));
        }
        prop_assert_eq!(ps.mem_bytes(), 0);
        prop_assert_eq!(budget.used_by(Component::Pubsub), start);
    }
}
