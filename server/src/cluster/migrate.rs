//! MIGRATE, server side (in any mode): the keys' DUMP payloads and TTLs from the keyspace, the transfer by
//! `zedis_cluster::runtime::migrate::Migrator`, then (unless COPY) the moved keys deleted through the
//! effects and propagated as one DEL, as Redis rewrites MIGRATE. RESTORE-ASKING is RESTORE's handler.

use crate::server::{cached_ms, Core};
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_cluster::runtime::migrate::{parse_migrate, MigrateItem};
use zedis_keyspace::commands::Ctx;
use zedis_keyspace::persist::rdb::{encoding_config, entry_value};
use zedis_rdb::create_dump_payload;

/// # Format
/// `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username
/// password] [KEYS key [key ...]]`
pub fn migrate<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    let req = match parse_migrate(argv) {
        Ok(req) => req,
        Err(text) => return core.reply_error(ck, text.as_bytes()),
    };
    let now_ms = cached_ms();
    let db = core.clients.get(ck).map_or(0, |c| c.db);
    // The keys present here, with their payloads and remaining TTLs.
    let config = encoding_config(&core.engine.ks.config);
    let mut found: Vec<(&[u8], u64, Vec<u8>)> = Vec::new();
    for &key in &req.keys {
        let Some(entry) = core.engine.ks.lookup(db, key, now_ms, &mut core.engine.fx) else {
            continue;
        };
        let ttl_ms = match entry.expire() {
            Some(at) => (at - now_ms).max(1) as u64,
            None => 0,
        };
        let Some(value) = entry_value::<S::Kv>(entry) else {
            continue;
        };
        found.push((key, ttl_ms, create_dump_payload(&value, &config)));
    }
    let items: Vec<MigrateItem<'_>> = found
        .iter()
        .map(|(key, ttl_ms, payload)| MigrateItem {
            key,
            ttl_ms: *ttl_ms,
            payload,
        })
        .collect();
    let cluster_mode = core.cluster.enabled();
    let outcome = core
        .cluster
        .migrator
        .migrate(&req, &items, cluster_mode, now_ms as u64);
    if !req.copy && !outcome.accepted.is_empty() {
        let mut del: Vec<&[u8]> = vec![b"DEL"];
        del.extend(outcome.accepted.iter().map(|&i| items[i].key));
        // DEL's own handler deletes them (touched keys, `del` events, dirty); the effects are drained by the
        // command path with MIGRATE's argv, so the AOF and replicas get this DEL instead.
        let proto = core.clients.get(ck).map_or(Default::default(), |c| c.proto);
        let mut scratch = Vec::new();
        let mut ctx = Ctx {
            argv: &del,
            out: &mut scratch,
            proto,
            db,
            now_ms,
            fx: &mut core.engine.fx,
        };
        zedis_keyspace::commands::keys::del(&mut core.engine.ks, &mut ctx);
        core.engine.fx.rewritten = Some(vec![del.iter().map(|a| a.to_vec()).collect()]);
    }
    let reply = outcome.reply;
    if reply.first() == Some(&b'-') {
        core.reply_error(ck, &reply[1..reply.len().saturating_sub(2)]);
    } else {
        core.reply(ck, |out, _| out.extend_from_slice(&reply));
    }
}
