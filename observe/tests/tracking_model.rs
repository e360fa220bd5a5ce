//! Property tests of [`TrackingTable`] against a simple model (keys -> ids, per-client flags), and of the
//! `tracking-table-max-keys` eviction.

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use zedis_observe::{ClientConn, ClientDirectory, ClientId, Invalidation, TrackingTable};
use zedis_resp::Protocol;

/// Every client 1..=CLIENTS is connected with RESP3.
struct AllResp3;

impl ClientDirectory for AllResp3 {
    fn lookup(&self, id: ClientId) -> Option<ClientConn> {
        (1..=CLIENTS).contains(&id).then_some(ClientConn {
            proto: Protocol::Resp3,
            subscribed: false,
        })
    }
}

const CLIENTS: u64 = 4;

#[derive(Debug, Clone)]
enum Op {
    /// Tracking on (default mode), with NOLOOP, OPTIN or OPTOUT (0, 1, 2, 3).
    On(ClientId, u8),
    Off(ClientId),
    Caching(ClientId),
    Read(ClientId, u8),
    Write(ClientId, u8),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 1..=CLIENTS;
    prop_oneof![
        (id.clone(), 0u8..4).prop_map(|(c, m)| Op::On(c, m)),
        id.clone().prop_map(Op::Off),
        id.clone().prop_map(Op::Caching),
        (id.clone(), 0u8..6).prop_map(|(c, k)| Op::Read(c, k)),
        (id, 0u8..6).prop_map(|(c, k)| Op::Write(c, k)),
        Just(Op::Flush),
    ]
}

/// The expected push for one key.
fn key_push(key: &[u8]) -> Vec<u8> {
    let mut bytes = b">2\r\n$10\r\ninvalidate\r\n*1\r\n".to_vec();
    zedis_resp::reply::bulk(&mut bytes, key);
    bytes
}

#[derive(Default, Clone, Copy)]
struct ModelClient {
    mode: u8,
    caching: bool,
}

proptest! {
    #[test]
    fn default_mode_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        let mut table = TrackingTable::new(0);
        let mut clients: HashMap<ClientId, ModelClient> = HashMap::new();
        let mut keys: BTreeMap<Vec<u8>, BTreeSet<ClientId>> = BTreeMap::new();
        for op in ops {
            let mut out: Vec<Invalidation> = Vec::new();
            let mut expected: Vec<Invalidation> = Vec::new();
            match op {
                Op::On(id, mode) => {
                    let opt: &[&[u8]] = match mode { 1 => &[b"noloop"], 2 => &[b"optin"], 3 => &[b"optout"], _ => &[] };
                    let mut args: Vec<&[u8]> = vec![b"on"];
                    args.extend_from_slice(opt);
                    let switch = clients.get(&id).is_some_and(|c| (mode == 2 && c.mode == 3) || (mode == 3 && c.mode == 2));
                    let result = table.client_tracking(id, &args, &AllResp3);
                    prop_assert_eq!(result.is_err(), switch);
                    if !switch {
                        let caching = clients.get(&id).is_some_and(|c| c.caching);
                        clients.insert(id, ModelClient { mode, caching });
                    }
                }
                Op::Off(id) => {
                    table.client_tracking(id, &[b"off"], &AllResp3).unwrap();
                    clients.remove(&id);
                }
                Op::Caching(id) => {
                    let arg: &[u8] = if clients.get(&id).is_some_and(|c| c.mode == 3) { b"no" } else { b"yes" };
                    let ok = clients.get(&id).is_some_and(|c| c.mode >= 2);
                    prop_assert_eq!(table.client_caching(id, arg).is_ok(), ok);
                    if ok {
                        clients.get_mut(&id).unwrap().caching = true;
                    }
                }
                Op::Read(id, k) => {
                    let key = vec![b'k', k];
                    table.remember_keys(id, &[&key]);
                    if let Some(c) = clients.get(&id) {
                        let remember = match c.mode { 2 => c.caching, 3 => !c.caching, _ => true };
                        if remember {
                            keys.entry(key).or_default().insert(id);
                        }
                    }
                }
                Op::Write(id, k) => {
                    let key = vec![b'k', k];
                    table.invalidate_key(&key, Some(id), Some(id), &AllResp3, &mut out);
                    for target in keys.remove(&key).unwrap_or_default() {
                        let Some(c) = clients.get(&target) else { continue };
                        if c.mode == 1 && target == id {
                            continue;
                        }
                        expected.push(Invalidation { to: target, bytes: key_push(&key) });
                    }
                }
                Op::Flush => {
                    table.invalidate_all(&AllResp3, &mut out);
                    keys.clear();
                    let mut ids: Vec<ClientId> = clients.keys().copied().collect();
                    ids.sort_unstable();
                    for id in ids {
                        expected.push(Invalidation { to: id, bytes: b">2\r\n$10\r\ninvalidate\r\n_\r\n".to_vec() });
                    }
                }
            }
            // CACHING lasts one command.
            if let Op::Read(id, _) | Op::Write(id, _) = op {
                table.command_done(id, false, false);
                if let Some(c) = clients.get_mut(&id) {
                    c.caching = false;
                }
            }
            prop_assert_eq!(out, expected);
            prop_assert_eq!(table.total_keys(), keys.len());
            prop_assert_eq!(table.total_items(), keys.values().map(|s| s.len() as u64).sum::<u64>());
            prop_assert_eq!(table.tracking_clients(), clients.len());
        }
    }

    /// Over `tracking-table-max-keys`, eviction brings the table back under it, invalidating exactly the
    /// evicted keys for the clients that read them.
    #[test]
    fn eviction_respects_max_keys(reads in proptest::collection::vec((1..=CLIENTS, 0u16..300), 1..400), max in 1u64..50) {
        let mut table = TrackingTable::new(0);
        for id in 1..=CLIENTS {
            table.client_tracking(id, &[b"on"], &AllResp3).unwrap();
        }
        let mut model: BTreeMap<Vec<u8>, BTreeSet<ClientId>> = BTreeMap::new();
        for (id, k) in &reads {
            let key = k.to_be_bytes().to_vec();
            table.remember_keys(*id, &[&key]);
            model.entry(key).or_default().insert(*id);
        }
        let bytes_before = table.bytes();
        table.set_max_keys(max);
        let mut out = Vec::new();
        for _ in 0..10 {
            table.limit_used_slots(&AllResp3, &mut out);
        }
        prop_assert!(table.total_keys() as u64 <= max);
        let evicted = model.len() - table.total_keys();
        let pushes_expected: usize = out.len();
        let mut seen: BTreeMap<Vec<u8>, BTreeSet<ClientId>> = BTreeMap::new();
        for inv in &out {
            let key = inv.bytes[b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\n".len()..][..2].to_vec();
            seen.entry(key).or_default().insert(inv.to);
        }
        prop_assert_eq!(seen.len(), evicted);
        for (key, ids) in &seen {
            prop_assert_eq!(Some(ids), model.get(key));
        }
        prop_assert_eq!(pushes_expected, seen.values().map(BTreeSet::len).sum::<usize>());
        if evicted > 0 {
            prop_assert!(table.bytes() < bytes_before);
        }
    }
}

#[test]
fn bcast_prefixes_noloop_and_collisions() {
    let mut table = TrackingTable::default();
    let dir = AllResp3;
    table
        .client_tracking(
            1,
            &[b"on", b"bcast", b"prefix", b"a:", b"prefix", b"b:"],
            &dir,
        )
        .unwrap();
    table
        .client_tracking(2, &[b"on", b"bcast", b"noloop"], &dir)
        .unwrap();
    assert_eq!(table.total_prefixes(), 3);
    let err = table
        .client_tracking(1, &[b"on", b"bcast", b"prefix", b"a:x"], &dir)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ERR Prefix 'a:x' overlaps with an existing prefix 'a:'. Prefixes for a single client must not overlap."
    );
    let mut out = Vec::new();
    for (key, by) in [(&b"a:1"[..], 2), (b"b:2", 3), (b"c", 2), (b"a:0", 3)] {
        table.invalidate_key(key, Some(by), Some(by), &dir, &mut out);
    }
    assert!(out.is_empty(), "BCAST waits for the broadcast");
    table.broadcast(&dir, &mut out);
    let push = |keys: &[&[u8]]| {
        let mut bytes = b">2\r\n$10\r\ninvalidate\r\n".to_vec();
        zedis_resp::reply::array_len(&mut bytes, keys.len());
        for k in keys {
            zedis_resp::reply::bulk(&mut bytes, k);
        }
        bytes
    };
    // Prefix "" (client 2, NOLOOP: without its own a:1 and c), then "a:" and "b:" (client 1).
    assert_eq!(
        out,
        [
            Invalidation {
                to: 2,
                bytes: push(&[b"a:0", b"b:2"])
            },
            Invalidation {
                to: 1,
                bytes: push(&[b"a:0", b"a:1"])
            },
            Invalidation {
                to: 1,
                bytes: push(&[b"b:2"])
            },
        ]
    );
    out.clear();
    table.broadcast(&dir, &mut out);
    assert!(out.is_empty());
    table.client_tracking(1, &[b"off"], &dir).unwrap();
    table.disable(2);
    assert_eq!((table.total_prefixes(), table.tracking_clients()), (0, 0));
}
