//! DEBUG RELOAD as Redis 7.0.15's `debugCommand` runs it: SAVE (unless NOSAVE), empty the dataset and the
//! function libraries (unless NOFLUSH, Redis's `emptyData`), then load `dir/dbfilename` through the one RDB
//! loader (`rdb_file::load_with`). With MERGE (Redis's `RDBFLAGS_ALLOW_DUP`) a key of the file replaces
//! the key of that name already in memory, in the tables or the segment store, and a function library of
//! the file replaces the loaded one; without it either is a failed load.

use crate::server::Core;
use crate::Strategy;
use zedis_keyspace::persist::rdb_file::Duplicates;
use zedis_observe::debug_reply as dr;
use zedis_resp::reply;

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE].
pub fn reload<S: Strategy>(core: &mut Core<S>, ck: usize, merge: bool, flush: bool, save: bool) {
    if save && core.rdb_save_now().is_err() {
        return core.reply(ck, |out, _| reply::error(out, b"ERR"));
    }
    if flush {
        empty_data(core);
    }
    let duplicates = if merge {
        Duplicates::Replace
    } else {
        Duplicates::Refuse
    };
    let path = core.rdb_path();
    let loaded = std::fs::File::open(&path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            core.rdb_load_with(std::io::BufReader::new(f), duplicates, &mut || {})
                .map_err(|e| e.to_string())
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
