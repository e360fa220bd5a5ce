//! Server-assisted client-side caching (CLIENT TRACKING), Redis 7.0's `tracking.c` as a sans-IO table.
//!
//! - Default mode: a read-only command's keys are remembered per client ([`TrackingTable::remember_keys`]);
//!   when such a key changes ([`TrackingTable::invalidate_key`]) each client that read it gets one
//!   invalidation and the key is forgotten.
//! - BCAST mode: clients subscribe to key prefixes; changed keys matching a prefix are collected and sent
//!   once per event-loop turn ([`TrackingTable::broadcast`]).
//! - OPTIN / OPTOUT (with CLIENT CACHING) and NOLOOP are per-client flags kept here.
//! - `tracking-table-max-keys` bounds the default-mode table: [`TrackingTable::limit_used_slots`] forgets
//!   random keys, invalidating them for their clients, as Redis does.
//!
//! Nothing here writes to a socket: operations append [`Invalidation`]s (a client id and the exact bytes to
//! append to its output) that the server delivers. What the table needs to know about connections (does a
//! client exist, its protocol, is it in RESP2 pub/sub mode) comes from a [`ClientDirectory`].

use hashbrown::HashMap;
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet};
use zedis_resp::Protocol;

/// A client's id (CLIENT ID).
pub type ClientId = u64;

/// `tracking-table-max-keys` default.
pub const TRACKING_TABLE_MAX_KEYS_DEFAULT: u64 = 1_000_000;
/// Estimated bytes per remembered key besides its name: the map entry (name header, id set header, hash),
/// the index slot and the id set's first allocation (`tests/footprint.rs` measures the estimate).
const KEY_OVERHEAD_BYTES: usize = 160;
/// Estimated bytes per (key, client) pair in an id set (8 bytes, a control byte, load-factor slack).
const ITEM_BYTES: usize = 12;
/// Keys forgotten per unit of effort when over `tracking-table-max-keys` (Redis's 100 per call, growing).
const EVICTION_EFFORT_STEP: u32 = 100;

/// What the table asks the server about a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConn {
    /// The client's protocol.
    pub proto: Protocol,
    /// Whether it is in RESP2 pub/sub mode (subscribed to a channel or pattern).
    pub subscribed: bool,
}

/// The server's view of its connections.
pub trait ClientDirectory {
    /// The connection with id `id`, or `None` when no such client is connected.
    fn lookup(&self, id: ClientId) -> Option<ClientConn>;
}

/// Bytes to append to client `to`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    /// The receiving client (the redirect target when the tracking client redirects).
    pub to: ClientId,
    /// The encoded push (RESP3) or pub/sub message (RESP2 redirect).
    pub bytes: Vec<u8>,
}

/// One client's tracking state; present only while tracking is on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTracking {
    /// Client that receives the invalidations (0: this client itself).
    pub redirect: ClientId,
    /// BCAST mode.
    pub bcast: bool,
    /// OPTIN mode: only keys read right after CLIENT CACHING YES are remembered.
    pub optin: bool,
    /// OPTOUT mode: keys read right after CLIENT CACHING NO are not remembered.
    pub optout: bool,
    /// CLIENT CACHING was given for the next command.
    pub caching: bool,
    /// No invalidation for keys this client modified itself.
    pub noloop: bool,
    /// The redirect target disappeared.
    pub broken_redirect: bool,
    /// BCAST prefixes, in byte order.
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// One BCAST prefix: its subscribers and the keys changed under it since the last broadcast.
#[derive(Debug, Default)]
struct BcastState {
    /// Changed key -> the client that changed it last (None: the server itself, e.g. expiry).
    keys: BTreeMap<Vec<u8>, Option<ClientId>>,
    clients: BTreeSet<ClientId>,
}

/// What an invalidation carries after its header.
enum Payload<'a> {
    /// One key: `*1 $len key`.
    Key(&'a [u8]),
    /// A ready array of keys (BCAST).
    Proto(&'a [u8]),
    /// Everything (FLUSHALL/FLUSHDB): a null in the tracking client's protocol.
    Flush,
}

/// The tracking table, the BCAST prefix table and every tracking client's flags.
#[derive(Debug)]
pub struct TrackingTable {
    /// Key -> ids of the clients that may cache it (default mode). Ids of clients that stopped tracking are
    /// dropped lazily, when the key is invalidated.
    keys: IndexMap<Vec<u8>, hashbrown::HashSet<ClientId>>,
    /// Sum of the id sets' sizes (Redis's `TrackingTableTotalItems`).
    total_items: u64,
    /// Sum of the key names' lengths in `keys`.
    key_bytes: usize,
    prefixes: BTreeMap<Vec<u8>, BcastState>,
    /// Clients with tracking on.
    pub(crate) clients: HashMap<ClientId, ClientTracking>,
    /// `tracking-table-max-keys` (0: no limit).
    max_keys: u64,
    /// Consecutive `limit_used_slots` calls that ended still over the limit.
    timeout_counter: u32,
    /// xorshift64 state for picking random keys to evict.
    rng: u64,
}

impl Default for TrackingTable {
    fn default() -> Self {
        TrackingTable::new(TRACKING_TABLE_MAX_KEYS_DEFAULT)
    }
}

impl TrackingTable {
    /// An empty table with `tracking-table-max-keys` = `max_keys`.
    pub fn new(max_keys: u64) -> TrackingTable {
        TrackingTable {
            keys: IndexMap::new(),
            total_items: 0,
            key_bytes: 0,
            prefixes: BTreeMap::new(),
            clients: HashMap::new(),
            max_keys,
            timeout_counter: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// CONFIG SET tracking-table-max-keys (applied by the next [`TrackingTable::limit_used_slots`]).
    pub fn set_max_keys(&mut self, max_keys: u64) {
        self.max_keys = max_keys;
    }

    /// The tracking state of client `id`, `None` when its tracking is off.
    pub fn client(&self, id: ClientId) -> Option<&ClientTracking> {
        self.clients.get(&id)
    }

    /// INFO `tracking_clients`.
    pub fn tracking_clients(&self) -> usize {
        self.clients.len()
    }

    /// INFO `tracking_total_keys`.
    pub fn total_keys(&self) -> usize {
        self.keys.len()
    }

    /// INFO `tracking_total_items`.
    pub fn total_items(&self) -> u64 {
        self.total_items
    }

    /// INFO `tracking_total_prefixes`.
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// Bytes held, for the budget: an estimate from counts kept up to date (O(1)).
    pub fn bytes(&self) -> usize {
        let pending: usize = self
            .prefixes
            .iter()
            .map(|(p, b)| p.len() + KEY_OVERHEAD_BYTES + b.clients.len() * ITEM_BYTES)
            .sum::<usize>()
            + self
                .prefixes
                .values()
                .flat_map(|b| b.keys.keys())
                .map(|k| k.len() + 48)
                .sum::<usize>();
        self.key_bytes
            + self.keys.len() * KEY_OVERHEAD_BYTES
            + self.total_items as usize * ITEM_BYTES
            + self.clients.len() * (std::mem::size_of::<ClientTracking>() + 16)
            + pending
    }

    /// Redis's `enableTracking` once options were validated (see `tracking_cmd`): `mode`'s redirect and
    /// BCAST/OPTIN/OPTOUT/NOLOOP flags replace the client's; BCAST prefixes add to the ones it has.
    pub(crate) fn enable(&mut self, id: ClientId, mode: &ClientTracking, prefixes: &[&[u8]]) {
        let state = self.clients.entry(id).or_default();
        state.redirect = mode.redirect;
        state.broken_redirect = false;
        state.bcast = mode.bcast;
        state.optin = mode.optin;
        state.optout = mode.optout;
        state.noloop = mode.noloop;
        let bcast = mode.bcast;
        if !bcast {
            return;
        }
        let mut wanted: Vec<&[u8]> = prefixes.to_vec();
        if wanted.is_empty() {
            wanted.push(b"");
        }
        for prefix in wanted {
            let entry = self.prefixes.entry(prefix.to_vec()).or_default();
            if entry.clients.insert(id) {
                if let Some(state) = self.clients.get_mut(&id) {
                    state.prefixes.insert(prefix.to_vec());
                }
            }
        }
    }

    /// CLIENT TRACKING OFF, and what the server calls when a client disconnects (Redis's `disableTracking`).
    pub fn disable(&mut self, id: ClientId) {
        let Some(state) = self.clients.remove(&id) else {
            return;
        };
        for prefix in &state.prefixes {
            if let Some(bcast) = self.prefixes.get_mut(prefix) {
                bcast.clients.remove(&id);
                if bcast.clients.is_empty() {
                    self.prefixes.remove(prefix);
                }
            }
        }
    }

    /// After each command of client `id` (Redis's `resetClient`): the CACHING flag lasts for one command, or
    /// one transaction, and survives CLIENT commands themselves.
    pub fn command_done(&mut self, id: ClientId, in_multi: bool, was_client_command: bool) {
        if in_multi || was_client_command {
            return;
        }
        if let Some(state) = self.clients.get_mut(&id) {
            state.caching = false;
        }
    }

    /// Redis's `trackingRememberKeys`: after a read-only command of client `id` (or of the script it runs),
    /// remember `keys` for it unless it is off, in BCAST mode, or OPTIN/OPTOUT says not this time. The server
    /// skips pub/sub commands (shard channels are not keys to track).
    pub fn remember_keys(&mut self, id: ClientId, keys: &[&[u8]]) {
        let Some(state) = self.clients.get(&id) else {
            return;
        };
        if state.bcast || (state.optin && !state.caching) || (state.optout && state.caching) {
            return;
        }
        for key in keys {
            let ids = match self.keys.get_mut(*key) {
                Some(ids) => ids,
                None => {
                    self.key_bytes += key.len();
                    self.keys.entry(key.to_vec()).or_default()
                }
            };
            if ids.insert(id) {
                self.total_items += 1;
            }
        }
    }

    /// Redis's `trackingInvalidateKey(c, key, 1)`: `key` changed, by client `modifier` (None: the server,
    /// e.g. expiry or eviction) while `current` was the client whose command is running. Schedules the key
    /// for BCAST subscribers and invalidates it now for the default-mode clients that read it (except the
    /// current client when it is in NOLOOP mode). The server appends a message for `current` after that
    /// client's reply (after EXEC's or the script's whole reply), as Redis's pending-invalidation list does.
    pub fn invalidate_key(
        &mut self,
        key: &[u8],
        modifier: Option<ClientId>,
        current: Option<ClientId>,
        dir: &impl ClientDirectory,
        out: &mut Vec<Invalidation>,
    ) {
        self.invalidate(key, modifier, current, true, dir, out);
    }

    fn invalidate(
        &mut self,
        key: &[u8],
        modifier: Option<ClientId>,
        current: Option<ClientId>,
        bcast: bool,
        dir: &impl ClientDirectory,
        out: &mut Vec<Invalidation>,
    ) {
        if bcast {
            for (prefix, state) in self.prefixes.iter_mut() {
                if key.starts_with(prefix) {
                    state.keys.insert(key.to_vec(), modifier);
                }
            }
        }
        let Some(ids) = self.keys.swap_remove(key) else {
            return;
        };
        self.total_items -= ids.len() as u64;
        self.key_bytes -= key.len();
        let mut targets: Vec<ClientId> = ids.into_iter().collect();
        targets.sort_unstable();
        for id in targets {
            let Some(state) = self.clients.get(&id) else {
                continue;
            };
            if state.bcast || (state.noloop && current == Some(id)) || dir.lookup(id).is_none() {
                continue;
            }
            self.send(id, Payload::Key(key), dir, out);
        }
    }

    /// Redis's `trackingInvalidateKeysOnFlush`: every tracking client is told that all keys are invalid (a
    /// null), and the default-mode table is emptied.
    pub fn invalidate_all(&mut self, dir: &impl ClientDirectory, out: &mut Vec<Invalidation>) {
        let mut ids: Vec<ClientId> = self.clients.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.send(id, Payload::Flush, dir, out);
        }
        self.keys = IndexMap::new();
        self.total_items = 0;
        self.key_bytes = 0;
    }

    /// Redis's `trackingBroadcastInvalidationMessages` (once per event-loop turn, before sleeping): each
    /// prefix's changed keys go to its subscribers in one array (without a NOLOOP subscriber's own changes).
    pub fn broadcast(&mut self, dir: &impl ClientDirectory, out: &mut Vec<Invalidation>) {
        if self.clients.is_empty() {
            return;
        }
        let mut batches: Vec<(ClientId, Vec<u8>)> = Vec::new();
        for state in self.prefixes.values_mut() {
            let keys = std::mem::take(&mut state.keys);
            if keys.is_empty() {
                continue;
            }
            let common = keys_array(&keys, None);
            for &id in &state.clients {
                let noloop = self.clients.get(&id).is_some_and(|c| c.noloop);
                if !noloop {
                    batches.push((id, common.clone().unwrap_or_default()));
                } else if let Some(adhoc) = keys_array(&keys, Some(id)) {
                    batches.push((id, adhoc));
                }
            }
        }
        for (id, proto) in batches {
            self.send(id, Payload::Proto(&proto), dir, out);
        }
    }

    /// Redis's `trackingLimitUsedSlots` (before each command and once per event-loop turn while any client
    /// tracks): over `tracking-table-max-keys`, forget random keys, invalidating them for their clients, with
    /// an effort that grows while the table stays over the limit.
    pub fn limit_used_slots(&mut self, dir: &impl ClientDirectory, out: &mut Vec<Invalidation>) {
        if self.max_keys == 0 || self.keys.len() as u64 <= self.max_keys {
            self.timeout_counter = 0;
            return;
        }
        let mut effort = EVICTION_EFFORT_STEP.saturating_mul(self.timeout_counter + 1);
        while effort > 0 && !self.keys.is_empty() {
            effort -= 1;
            let index = (self.next_random() % self.keys.len() as u64) as usize;
            let Some(key) = self.keys.get_index(index).map(|(k, _)| k.clone()) else {
                break;
            };
            self.invalidate(&key, None, None, false, dir, out);
            if self.keys.len() as u64 <= self.max_keys {
                self.timeout_counter = 0;
                return;
            }
        }
        self.timeout_counter += 1;
    }

    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Redis's `sendTrackingMessage` for tracking client `id`.
    fn send(
        &mut self,
        id: ClientId,
        payload: Payload<'_>,
        dir: &impl ClientDirectory,
        out: &mut Vec<Invalidation>,
    ) {
        let (Some(state), Some(conn)) = (self.clients.get_mut(&id), dir.lookup(id)) else {
            return;
        };
        let (mut to, mut target, mut redirected) = (id, conn, false);
        if state.redirect != 0 {
            match dir.lookup(state.redirect) {
                Some(redir) => (to, target, redirected) = (state.redirect, redir, true),
                None => {
                    state.broken_redirect = true;
                    if conn.proto == Protocol::Resp3 {
                        let mut bytes = b">2\r\n$21\r\ntracking-redir-broken\r\n".to_vec();
                        zedis_resp::reply::integer(&mut bytes, state.redirect as i64);
                        out.push(Invalidation { to: id, bytes });
                    }
                    return;
                }
            }
        }
        let mut bytes = if target.proto == Protocol::Resp3 {
            b">2\r\n$10\r\ninvalidate\r\n".to_vec()
        } else if redirected && target.subscribed {
            b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n".to_vec()
        } else {
            return;
        };
        match payload {
            Payload::Key(key) => {
                bytes.extend_from_slice(b"*1\r\n");
                zedis_resp::reply::bulk(&mut bytes, key);
            }
            Payload::Proto(proto) => bytes.extend_from_slice(proto),
            Payload::Flush => zedis_resp::reply::null(&mut bytes, conn.proto),
        }
        out.push(Invalidation { to, bytes });
    }
}

/// Redis's `trackingBuildBroadcastReply`: `*N` and the keys as bulks, without those `exclude` changed last;
/// `None` when that leaves nothing.
fn keys_array(
    keys: &BTreeMap<Vec<u8>, Option<ClientId>>,
    exclude: Option<ClientId>,
) -> Option<Vec<u8>> {
    let count = keys
        .values()
        .filter(|m| exclude.is_none() || **m != exclude)
        .count();
    if count == 0 && exclude.is_some() {
        return None;
    }
    let mut proto = Vec::with_capacity(count * 15);
    zedis_resp::reply::array_len(&mut proto, count);
    for (key, modifier) in keys {
        if exclude.is_some() && *modifier == exclude {
            continue;
        }
        zedis_resp::reply::bulk(&mut proto, key);
    }
    Some(proto)
}
