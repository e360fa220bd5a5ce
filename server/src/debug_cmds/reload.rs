//! DEBUG RELOAD as Redis 7.0.15's `debugCommand` runs it: SAVE (unless NOSAVE), empty the dataset and the
//! function libraries (unless NOFLUSH, Redis's `emptyData`), then load `dir/dbfilename`. With MERGE
//! (Redis's `RDBFLAGS_ALLOW_DUP`) a key of the file replaces the key of that name already in memory and a
//! function library of the file replaces the loaded one; without it either is a failed load.

use crate::server::{unix_ms, Core};
use crate::Strategy;
use std::io::Read;
use zedis_keyspace::persist::rdb::{apply_clock, store_value};
use zedis_keyspace::persist::rdb_file::{LoadError, LoadStats};
use zedis_observe::debug_reply as dr;
use zedis_rdb::{Limits, RdbItem, RdbReader};
use zedis_resp::reply;

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE].
pub fn reload<S: Strategy>(core: &mut Core<S>, ck: usize, merge: bool, flush: bool, save: bool) {
    if save && core.rdb_save_now().is_err() {
        return core.reply(ck, |out, _| reply::error(out, b"ERR"));
    }
    if flush {
        empty_data(core);
    }
    let path = core.rdb_path();
    let loaded = std::fs::File::open(&path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            let input = std::io::BufReader::new(f);
            let stats = if merge {
                load_merging(core, input)
            } else {
                core.rdb_load(input)
            };
            stats.map_err(|e| e.to_string())
        });
    match loaded {
        Ok(_) => {
            zedis_deploy::warning!("DB reloaded by DEBUG RELOAD");
            core.reply(ck, |out, _| reply::ok(out));
        }
        Err(e) => {
            zedis_deploy::warning!("DEBUG RELOAD: {e}");
            core.reply_error(ck, dr::RELOAD_LOAD_FAILED.as_bytes());
        }
    }
}

/// Redis's `emptyData(-1, EMPTYDB_NO_FLAGS)`: every database and the function libraries. Watchers and
/// tracking clients learn it as of a FLUSHDB of every database when the command's effects are drained.
pub fn empty_data<S: Strategy>(core: &mut Core<S>) {
    core.engine.ks.flush_all();
    core.engine
        .fx
        .flushed_dbs
        .extend(0..core.engine.ks.db_count());
    if let Some(scripting) = core.engine.scripting.as_mut() {
        if let Err(e) = scripting.function_flush() {
            zedis_deploy::warning!("Failed to flush the function libraries: {e}");
        }
    }
    crate::scripting_cmds::recharge(core);
}

/// Loads an RDB into the dataset as `rdbLoad` with `RDBFLAGS_ALLOW_DUP` does: a key already present is
/// deleted and replaced by the file's, a function library already loaded is replaced. Expired keys are
/// skipped on a master, as a normal load does.
pub fn load_merging<S: Strategy>(
    core: &mut Core<S>,
    input: impl Read,
) -> Result<LoadStats, LoadError> {
    let now_ms = unix_ms();
    let engine = &mut core.engine;
    let ks = &mut engine.ks;
    let limits = Limits {
        string_bytes_max: ks.config.string_bytes_max as u64,
        ..Limits::default()
    };
    let mut reader = RdbReader::new(input, limits)?;
    let mut stats = LoadStats::default();
    let mut db = 0usize;
    let result = loop {
        let item = match reader.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e.into()),
        };
        match item {
            RdbItem::Aux { .. } | RdbItem::ResizeDb { .. } => {}
            RdbItem::Function(code) => {
                let Some(scripting) = engine.scripting.as_mut() else {
                    break Err(LoadError::Function("scripting is not available".into()));
                };
                let reply = scripting.function_load(&code, true);
                if let Some(error) = reply.strip_prefix(b"-") {
                    let text = String::from_utf8_lossy(error).trim_end().to_owned();
                    break Err(LoadError::Function(format!(
                        "Failed loading library: {text}"
                    )));
                }
            }
            RdbItem::SelectDb(n) => {
                if n >= ks.db_count() as u64 {
                    break Err(LoadError::DbRange(n, ks.db_count(), reader.offset()));
                }
                db = n as usize;
            }
            RdbItem::Key { key, value, meta } => {
                if ks.expiry == zedis_keyspace::ExpiryRole::Master
                    && meta.expire_ms.is_some_and(|when| when <= now_ms)
                {
                    stats.expired_skipped += 1;
                    continue;
                }
                // Redis's `dbSyncDelete` then `dbAddRDBLoad` for a duplicate under ALLOW_DUP.
                ks.db_mut(db).remove(&key);
                match store_value(ks, db, &key, &value, meta.expire_ms, now_ms) {
                    Ok(entry) => apply_clock(ks, entry, meta.idle_secs, meta.lfu_freq, now_ms),
                    Err(err) => {
                        let key = String::from_utf8_lossy(&key).into_owned();
                        break Err(LoadError::Build {
                            key,
                            err,
                            offset: reader.offset(),
                        });
                    }
                }
                stats.keys += 1;
            }
        }
    };
    crate::scripting_cmds::recharge(core);
    result.map(|()| {
        core.engine.persist.last_load_keys = (stats.keys, stats.expired_skipped);
        stats
    })
}
