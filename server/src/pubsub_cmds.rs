//! Pub/Sub commands on top of the `zedis-pubsub` registry: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH,
//! SPUBLISH, PUBSUB, and keyspace notifications.
//!
//! A published message is encoded once per protocol (and per matching pattern) into a shared [`Frame`] that
//! every recipient's output queue references, so fan-out to N subscribers costs one encoding and N
//! pointer pushes; the bytes are charged once to the budget (`Component::Pubsub`) while anyone still holds
//! them.

use crate::client::Frame;
use crate::server::Core;
use crate::Strategy;
use std::rc::Rc;
use zedis_budget::Component;
use zedis_client_pool::ClientSlots;
use zedis_pubsub::{
    encode_message, encode_pmessage, encode_smessage, encode_subscription_reply,
    keyspace_notifications, ClientId, Kind, NotifyFlags,
};
use zedis_resp::{reply, Protocol};

/// Frames at least this large are shared between recipients instead of copied.
const SHARED_FRAME_BYTES_MIN: usize = 1024;

fn pubsub_protocol(proto: Protocol) -> zedis_pubsub::Protocol {
    match proto {
        Protocol::Resp2 => zedis_pubsub::Protocol::Resp2,
        Protocol::Resp3 => zedis_pubsub::Protocol::Resp3,
    }
}

fn id(ck: usize) -> ClientId {
    ClientId(ck as u64)
}

/// The kind a (un)subscribe command (lowercase name) works on.
fn kind_of(name: &[u8]) -> Kind {
    match name {
        b"psubscribe" | b"punsubscribe" => Kind::Pattern,
        b"ssubscribe" | b"sunsubscribe" => Kind::ShardChannel,
        _ => Kind::Channel,
    }
}

impl<S: Strategy> Core<S> {
    /// Refreshes the client's cached subscription counts (they decide RESP2 subscribed mode).
    fn sync_subscription_counts(&mut self, ck: usize) {
        // The registry counts channels and patterns together, as SUBSCRIBE's replies do.
        let channels = self.engine.pubsub.subscription_count(id(ck), Kind::Channel);
        let shards = self
            .engine
            .pubsub
            .subscription_count(id(ck), Kind::ShardChannel);
        if let Some(client) = self.clients.get_mut(ck) {
            client.subscriptions = channels;
            client.shard_subscriptions = shards;
        }
    }

    /// Drops every subscription of client `ck` (disconnect, RESET).
    pub fn unsubscribe_all(&mut self, ck: usize) {
        self.engine.pubsub.remove_client(id(ck));
    }

    /// Delivers `payload` on `channel` (or shard channel) to its subscribers; returns the receiver count.
    pub fn publish(&mut self, channel: &[u8], payload: &[u8], shard: bool) -> usize {
        let Core {
            engine,
            clients,
            net,
            ..
        } = self;
        let pubsub = &mut engine.pubsub;
        let mut receivers = 0;
        let mut deliver =
            |clients_to: &[ClientId], encode: &dyn Fn(&mut Vec<u8>, zedis_pubsub::Protocol)| {
                // At most one encoding per protocol, made only if someone speaks it. Small frames are copied
                // into each recipient's reply buffer (a memcpy beats a shared pointer plus a writev slice);
                // larger ones are shared.
                let mut encoded: [Option<Vec<u8>>; 2] = [None, None];
                let mut shared: [Option<Rc<Frame>>; 2] = [None, None];
                for target in clients_to {
                    let ck = target.0 as usize;
                    let Some(client) = clients.get_mut(ck) else {
                        continue;
                    };
                    let slot = usize::from(client.proto == Protocol::Resp3);
                    let bytes = encoded[slot].get_or_insert_with(|| {
                        let mut bytes = Vec::new();
                        encode(&mut bytes, pubsub_protocol(client.proto));
                        bytes
                    });
                    if let Some(frame) = &shared[slot] {
                        client.push_shared(frame);
                    } else if bytes.len() < SHARED_FRAME_BYTES_MIN {
                        client.out.extend_from_slice(bytes);
                    } else {
                        let frame = Rc::new(Frame::new(std::mem::take(bytes), Component::Pubsub));
                        client.push_shared(&frame);
                        shared[slot] = Some(frame);
                    }
                    if !client.pending_write {
                        client.pending_write = true;
                        net.pending_writes.push(ck);
                    }
                    receivers += 1;
                }
            };
        if shard {
            let targets = pubsub.spublish(channel);
            deliver(targets, &|out, p| encode_smessage(out, p, channel, payload));
        } else {
            for delivery in pubsub.publish(channel) {
                match delivery.pattern {
                    None => deliver(delivery.clients, &|out, p| {
                        encode_message(out, p, channel, payload)
                    }),
                    Some(pattern) => deliver(delivery.clients, &|out, p| {
                        encode_pmessage(out, p, pattern, channel, payload)
                    }),
                }
            }
        }
        receivers
    }

    /// Cluster mode: the node stopped serving `slots` (in the order they were unassigned). Every client
    /// subscribed to a shard channel of one of them is unsubscribed with Redis's `sunsubscribe`
    /// notification (`removeChannelsInSlot`): slot by slot, channels of a slot in byte order (Redis's
    /// rax), subscribers in the order they subscribed.
    pub fn unsubscribe_shard_slots(&mut self, slots: &[u16]) {
        if slots.is_empty() || self.engine.pubsub.shard_channels_len() == 0 {
            return;
        }
        let mut rank = vec![u32::MAX; zedis_cluster::SLOTS];
        for (i, &slot) in slots.iter().enumerate() {
            let r = &mut rank[usize::from(slot) % zedis_cluster::SLOTS];
            *r = (*r).min(i as u32);
        }
        let mut gone: Vec<(u32, Rc<[u8]>)> = self
            .engine
            .pubsub
            .shard_channel_names()
            .into_iter()
            .map(|name| (rank[usize::from(zedis_cluster::key_hash_slot(&name))], name))
            .filter(|(r, _)| *r != u32::MAX)
            .collect();
        gone.sort_unstable();
        for (_, channel) in gone {
            for (client, count) in self
                .engine
                .pubsub
                .remove_subscribers(Kind::ShardChannel, &channel)
            {
                let ck = client.0 as usize;
                self.reply(ck, |out, proto| {
                    encode_subscription_reply(
                        out,
                        pubsub_protocol(proto),
                        Kind::ShardChannel.unsubscribe_reply_name(),
                        Some(&channel),
                        count,
                    )
                });
                self.sync_subscription_counts(ck);
                self.queue_write(ck);
            }
        }
    }

    /// Publishes the keyspace events the last command (or cron) recorded.
    pub fn publish_events(&mut self) {
        if !self.engine.ks.new_keys.is_empty() {
            let flags = NotifyFlags::from_bits(self.engine.fx.notify_flags);
            let class = NotifyFlags::from_bits(zedis_keyspace::notify::NEW);
            let mut new_keys = std::mem::take(&mut self.engine.ks.new_keys);
            for (db, key) in &new_keys {
                for note in keyspace_notifications(flags, class, b"new", key, *db) {
                    self.publish(&note.channel, note.message, false);
                }
            }
            new_keys.clear();
            self.engine.ks.new_keys = new_keys;
        }
        if self.engine.fx.events.is_empty() {
            return;
        }
        let mut events = std::mem::take(&mut self.engine.fx.events);
        let flags = NotifyFlags::from_bits(self.engine.fx.notify_flags);
        for event in &events {
            let class = NotifyFlags::from_bits(event.class);
            for note in
                keyspace_notifications(flags, class, event.name.as_bytes(), &event.key, event.db)
            {
                self.publish(&note.channel, note.message, false);
            }
        }
        events.clear();
        self.engine.fx.events = events;
    }
}

/// # Format
/// `SUBSCRIBE channel [channel ...]`, `PSUBSCRIBE pattern [pattern ...]`, `SSUBSCRIBE shardchannel [...]`,
/// and the UNSUBSCRIBE forms (no argument: all of that kind).
pub fn subscription<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let name = argv[0].to_ascii_lowercase();
    let unsubscribe = name.ends_with(b"unsubscribe");
    let kind = kind_of(&name);
    let Some(proto) = core.clients.get(ck).map(|c| c.proto) else {
        return;
    };
    let proto = pubsub_protocol(proto);
    let mut out = Vec::new();
    if unsubscribe && argv.len() == 1 {
        for gone in core.engine.pubsub.remove_all(kind, id(ck)) {
            encode_subscription_reply(
                &mut out,
                proto,
                kind.unsubscribe_reply_name(),
                gone.name.as_deref(),
                gone.count,
            );
        }
    } else {
        for &target in &argv[1..] {
            if unsubscribe {
                let change = core.engine.pubsub.remove(kind, id(ck), target);
                encode_subscription_reply(
                    &mut out,
                    proto,
                    kind.unsubscribe_reply_name(),
                    Some(target),
                    change.count,
                );
            } else {
                match core.engine.pubsub.add(kind, id(ck), target) {
                    Ok(change) => encode_subscription_reply(
                        &mut out,
                        proto,
                        kind.subscribe_reply_name(),
                        Some(target),
                        change.count,
                    ),
                    Err(e) => reply::error(&mut out, e.to_string().as_bytes()),
                }
            }
        }
    }
    core.sync_subscription_counts(ck);
    core.reply(ck, |buf, _| buf.extend_from_slice(&out));
}

/// # Format
/// `PUBLISH channel message` / `SPUBLISH shardchannel message`
pub fn publish<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let shard = argv[0].eq_ignore_ascii_case(b"spublish");
    let receivers = core.publish(argv[1], argv[2], shard);
    if let Some(node) = core.cluster.node.as_mut() {
        node.publish(argv[1], argv[2], shard, crate::server::cached_ms() as u64);
    }
    core.reply(ck, |out, _| reply::integer(out, receivers as i64));
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// # Format
/// `PUBSUB CHANNELS [pattern]`, `NUMSUB [channel ...]`, `NUMPAT`, `SHARDCHANNELS [pattern]`,
/// `SHARDNUMSUB [shardchannel ...]`, `HELP`
pub fn introspect<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let sub = argv[1].to_ascii_lowercase();
    let mut out = Vec::new();
    match sub.as_slice() {
        b"channels" | b"shardchannels" => {
            if argv.len() > 3 {
                let msg = format!(
                    "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                    String::from_utf8_lossy(argv[1])
                );
                return core.reply_error(ck, msg.as_bytes());
            }
            let pattern = argv.get(2).copied();
            let names = if sub == b"channels" {
                core.engine.pubsub.channels(pattern)
            } else {
                core.engine.pubsub.shard_channels(pattern)
            };
            reply::array_len(&mut out, names.len());
            for name in names {
                reply::bulk(&mut out, name);
            }
        }
        b"numsub" | b"shardnumsub" => {
            reply::array_len(&mut out, (argv.len() - 2) * 2);
            for &channel in &argv[2..] {
                let n = if sub == b"numsub" {
                    core.engine.pubsub.numsub(channel)
                } else {
                    core.engine.pubsub.shard_numsub(channel)
                };
                reply::bulk(&mut out, channel);
                reply::integer(&mut out, n as i64);
            }
        }
        b"numpat" => reply::integer(&mut out, core.engine.pubsub.numpat() as i64),
        _ => return crate::clients::help_reply(core, ck, HELP),
    }
    core.reply(ck, |buf, _| buf.extend_from_slice(&out));
}
