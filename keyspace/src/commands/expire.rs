//! Expiration commands: EXPIRE family, TTL family, PERSIST, and the active expire cycle.

use super::{write, Ctx};
use crate::{notify, Keyspace};
use zedis_kv_pool::KvAllocator;
use zedis_resp::reply;

const NX: u8 = 1;
const XX: u8 = 2;
const GT: u8 = 4;
const LT: u8 = 8;

/// Redis's `parseExtendedExpireArgumentsOrReply`.
fn parse_flags(ctx: &mut Ctx<'_>) -> Option<u8> {
    let mut flags = 0;
    for &arg in &ctx.argv[3..] {
        flags |= match arg.to_ascii_lowercase().as_slice() {
            b"nx" => NX,
            b"xx" => XX,
            b"gt" => GT,
            b"lt" => LT,
            _ => {
                ctx.error_c_format(&[b"ERR Unsupported option ", arg]);
                return None;
            }
        };
    }
    if flags & NX != 0 && flags & (XX | GT | LT) != 0 {
        ctx.error(b"ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if flags & GT != 0 && flags & LT != 0 {
        ctx.error(b"ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(flags)
}

/// # Format
/// `EXPIRE key seconds [NX | XX | GT | LT]`, likewise PEXPIRE, EXPIREAT, PEXPIREAT.
pub fn expire<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let name = ctx.argv[0].to_ascii_lowercase();
    let seconds = name == b"expire" || name == b"expireat";
    let relative = name == b"expire" || name == b"pexpire";
    let Some(flags) = parse_flags(ctx) else {
        return;
    };
    let Some(mut when) = ctx.int_arg(2) else {
        return;
    };
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return ctx.invalid_expire();
        }
        when *= 1000;
    }
    if relative {
        if when > i64::MAX - ctx.now_ms {
            return ctx.invalid_expire();
        }
        when += ctx.now_ms;
    }
    let key = ctx.argv[1];
    let Some(entry) = write(ks, ctx, key) else {
        return reply::integer(ctx.out, 0);
    };
    let current = entry.expire();
    let refused = (flags & NX != 0 && current.is_some())
        || (flags & XX != 0 && current.is_none())
        || (flags & GT != 0 && current.is_none_or(|c| when <= c))
        || (flags & LT != 0 && current.is_some_and(|c| when >= c));
    if refused {
        return reply::integer(ctx.out, 0);
    }
    if when <= ctx.now_ms {
        ks.db_mut(ctx.db).remove(key);
        ctx.fx.changed(notify::GENERIC, "del", ctx.db, key);
        ctx.fx.rewrite(vec![b"DEL".to_vec(), key.to_vec()]);
        return reply::integer(ctx.out, 1);
    }
    if let Err(oom) = ks.set_expire(ctx.db, entry, Some(when)) {
        return super::reply_oom(ctx, oom);
    }
    ctx.fx.changed(notify::GENERIC, "expire", ctx.db, key);
    ctx.fx.rewrite(vec![
        b"PEXPIREAT".to_vec(),
        key.to_vec(),
        when.to_string().into_bytes(),
    ]);
    reply::integer(ctx.out, 1);
}

/// # Format
/// `TTL key`, `PTTL key`, `EXPIRETIME key`, `PEXPIRETIME key`
pub fn ttl<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let name = ctx.argv[0].to_ascii_lowercase();
    if super::seg_strings::ttl(ks, ctx, &name) {
        return;
    }
    let Some(entry) = super::read_notouch(ks, ctx, ctx.argv[1]) else {
        return reply::integer(ctx.out, -2);
    };
    let Some(when) = entry.expire() else {
        return reply::integer(ctx.out, -1);
    };
    let value = match name.as_slice() {
        b"ttl" => ((when - ctx.now_ms).max(0) + 500) / 1000,
        b"pttl" => (when - ctx.now_ms).max(0),
        b"expiretime" => when / 1000,
        _ => when,
    };
    reply::integer(ctx.out, value);
}

/// # Format
/// `PERSIST key`
pub fn persist<A: KvAllocator>(ks: &mut Keyspace<A>, ctx: &mut Ctx<'_>) {
    let key = ctx.argv[1];
    let Some(entry) = write(ks, ctx, key) else {
        return reply::integer(ctx.out, 0);
    };
    if !entry.has_expire() {
        return reply::integer(ctx.out, 0);
    }
    if let Err(oom) = ks.set_expire(ctx.db, entry, None) {
        return super::reply_oom(ctx, oom);
    }
    ctx.fx.changed(notify::GENERIC, "persist", ctx.db, key);
    reply::integer(ctx.out, 1);
}

/// Figures from one active expire cycle.
#[derive(Debug, Default, Clone, Copy)]
pub struct CycleReport {
    /// Keys sampled.
    pub sampled: u64,
    /// Keys expired.
    pub expired: u64,
    /// Whether the cycle stopped because it ran out of time.
    pub time_cap_reached: bool,
}

/// Redis's active expire cycle: sample 20 TTL keys per db, delete the expired ones, and repeat while more than
/// 10% of a sample was expired, until `deadline_ms` (the time cap: 25% of a `1000/hz` ms tick in Redis).
/// Then, as Redis's `databasesCron` after its expire cycle, up to [`crate::REHASH_CRON_BUDGET`] of key-index
/// resize work ([`Keyspace::rehash_cron`]; nothing when no resize is under way).
pub fn active_expire_cycle<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    now_ms: i64,
    deadline: std::time::Instant,
    fx: &mut super::Effects,
) -> CycleReport {
    // During a client pause nothing expires (Redis's activeExpireCycle returns at once); resizes go on.
    let report = if ks.expire_paused(now_ms) {
        CycleReport::default()
    } else {
        expire_dbs(ks, now_ms, deadline, fx)
    };
    ks.rehash_cron(crate::REHASH_CRON_BUDGET);
    report
}

fn expire_dbs<A: KvAllocator>(
    ks: &mut Keyspace<A>,
    now_ms: i64,
    deadline: std::time::Instant,
    fx: &mut super::Effects,
) -> CycleReport {
    const KEYS_PER_LOOP: usize = 20;
    let mut report = CycleReport::default();
    let dbs = ks.db_count();
    // As Redis's `current_db`: start where the last cycle ran out of time, so a busy database does not starve
    // the ones after it.
    let first = ks.expire_next_db % dbs;
    for db in (first..dbs).chain(0..first) {
        report.expired += ks.seg_expire_cycle(db, now_ms, fx);
        loop {
            let volatile = ks.db(db).volatile_len();
            if volatile == 0 {
                break;
            }
            let mut expired_now = 0;
            let checks = KEYS_PER_LOOP.min(volatile);
            for _ in 0..checks {
                let volatile = ks.db(db).volatile_len();
                if volatile == 0 {
                    break;
                }
                let idx = (ks.random() as usize) % volatile;
                let Some(entry) = ks.db(db).volatile_at(idx) else {
                    break;
                };
                report.sampled += 1;
                if entry.expire().is_some_and(|when| when <= now_ms) {
                    let key = entry.key().to_vec();
                    ks.db_mut(db).remove(&key);
                    ks.stats.expired_keys += 1;
                    fx.dirty += 1;
                    fx.touch(db, &key);
                    fx.notify(notify::EXPIRED, "expired", db, &key);
                    fx.expired.push((db, key));
                    expired_now += 1;
                }
            }
            report.expired += expired_now;
            if std::time::Instant::now() >= deadline {
                report.time_cap_reached = true;
                ks.expire_next_db = (db + 1) % dbs;
                return report;
            }
            if expired_now * 10 <= checks as u64 {
                break;
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyspaceConfig;
    use zedis_kv_pool::SystemAlloc;

    /// The cron alone (no command touching keys) finishes a key-index resize, and expires keys meanwhile.
    #[test]
    fn the_cycle_finishes_a_resize_under_way() {
        let mut ks: Keyspace<SystemAlloc> = Keyspace::new(1, KeyspaceConfig::default());
        let mut i = 0;
        while !ks.db(0).dict().is_rehashing() || i < 2000 {
            let expire = (i % 10 == 0).then_some(1);
            ks.set_string(0, format!("k{i}").as_bytes(), b"v", expire, false, 0)
                .unwrap();
            i += 1;
        }
        let mut fx = super::super::Effects::default();
        let mut cycles = 0;
        while ks.db(0).dict().is_rehashing() {
            // A deadline already passed: one batch of expiry, then at least one round of resize work.
            active_expire_cycle(&mut ks, 10, std::time::Instant::now(), &mut fx);
            cycles += 1;
            assert!(cycles < 1000, "the cron does not advance the resize");
        }
        assert!(ks.stats.expired_keys > 0);
        let mut found = 0;
        for j in 0..i {
            let present = ks.db(0).find(format!("k{j}").as_bytes()).is_some();
            assert!(present || j % 10 == 0, "k{j} lost");
            found += u64::from(present);
        }
        assert_eq!(found + ks.stats.expired_keys, i as u64);
        assert_eq!(ks.db(0).len() as u64, found);
        ks.flush_all();
    }

    /// With no time at all, each cycle does one batch in one database and the next cycle starts at the
    /// following one: a database full of expired keys does not keep the others' from going away.
    #[test]
    fn cycles_out_of_time_move_on_to_the_next_database() {
        let mut ks: Keyspace<SystemAlloc> = Keyspace::new(4, KeyspaceConfig::default());
        for db in 0..4 {
            let keys = if db == 0 { 10_000 } else { 100 };
            for i in 0..keys {
                ks.set_string(db, format!("k{i}").as_bytes(), b"v", Some(1), false, 0)
                    .unwrap();
            }
        }
        let mut fx = super::super::Effects::default();
        // 20 samples a batch, every sampled key expired: 5 batches empty a 100-key database.
        for _ in 0..40 {
            active_expire_cycle(&mut ks, 10, std::time::Instant::now(), &mut fx);
        }
        for db in 1..4 {
            assert_eq!(ks.db(db).volatile_len(), 0, "db {db} kept its expired keys");
        }
        assert!(ks.db(0).volatile_len() > 0);
        ks.flush_all();
    }
}
