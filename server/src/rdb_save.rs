//! SAVE (synchronous, Redis 7.0's RDB file at `dir/dbfilename`) and loading that file at startup when the
//! AOF is off, as redis-server does. The file holds the function libraries, and loading one loads them into
//! the function engine (FUNCTION LOAD's rules: a library that exists already refuses the load).

use crate::server::{unix_ms, Core};
use crate::Strategy;
use std::path::Path;
use zedis_keyspace::persist::rdb_file::{self, Duplicates, LoadOptions};
use zedis_resp::reply;

impl<S: Strategy> Core<S> {
    /// Writes the keyspace to `dir/dbfilename` through a temporary file renamed into place (Redis's
    /// `rdbSave`): on success the change counter restarts and LASTSAVE moves.
    pub fn rdb_save_now(&mut self) -> anyhow::Result<()> {
        let path = self.rdb_path();
        let temp =
            Path::new(self.config.get("dir")).join(format!("temp-{}.rdb", std::process::id()));
        let now = unix_ms();
        let snapshot = self.rdb_snapshot(now);
        let result = crate::persist::child::write_rdb_file(&self.engine.ks, &temp, &snapshot, now)
            .and_then(|()| std::fs::rename(&temp, &path));
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temp);
            zedis_deploy::warning!("Write error saving DB on disk: {e}");
            return Err(e.into());
        }
        zedis_deploy::notice!("DB saved on disk");
        self.engine.stats.changes_since_save = 0;
        self.engine.persist.lastsave_s = now / 1000;
        self.engine.persist.last_bgsave_ok = true;
        Ok(())
    }

    /// Startup: loads `dir/dbfilename` when the AOF is off and the file exists; a bad file stops the server.
    pub fn rdb_startup(&mut self) -> anyhow::Result<()> {
        if self.config.flag("appendonly") {
            return Ok(());
        }
        let path = self.rdb_path();
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(anyhow::anyhow!("can't open {}: {e}", path.display())),
        };
        let started = std::time::Instant::now();
        let stats = self
            .rdb_load(std::io::BufReader::new(file))
            .map_err(|e| anyhow::anyhow!("can't load {}: {e}", path.display()))?;
        zedis_deploy::notice!(
            "DB loaded from disk: {:.3} seconds ({} keys)",
            started.elapsed().as_secs_f64(),
            stats.keys
        );
        Ok(())
    }

    /// Loads an RDB into the (empty) keyspace and its function libraries into the function engine; INFO's
    /// `rdb_last_load_keys_loaded` / `_expired` follow.
    pub fn rdb_load(
        &mut self,
        input: impl std::io::Read,
    ) -> Result<rdb_file::LoadStats, rdb_file::LoadError> {
        self.rdb_load_with(input, Duplicates::Refuse, &mut || {})
    }

    /// The one RDB load of the server (startup, an AOF base, a replica's full sync, DEBUG RELOAD): the
    /// file's keys through `rdb_file::load_with`, its libraries with FUNCTION LOAD's rules, a key or library
    /// already present refused or replaced (`Duplicates::Replace`: Redis's `RDBFLAGS_ALLOW_DUP`, FUNCTION
    /// LOAD REPLACE); `after_key` runs after each key (`key-load-delay`). Every load counts in INFO's
    /// `rdb_last_load_keys_*`.
    pub fn rdb_load_with(
        &mut self,
        input: impl std::io::Read,
        duplicates: Duplicates,
        after_key: &mut dyn FnMut(),
    ) -> Result<rdb_file::LoadStats, rdb_file::LoadError> {
        let engine = &mut self.engine;
        let scripting = &mut engine.scripting;
        let replace = duplicates == Duplicates::Replace;
        let mut on_function =
            |code: Vec<u8>| load_library(scripting.as_deref_mut(), &code, replace);
        let opts = LoadOptions {
            now_ms: unix_ms(),
            duplicates,
            on_function: &mut on_function,
            after_key,
        };
        let stats = rdb_file::load_with(&mut engine.ks, input, opts);
        crate::scripting_cmds::recharge(self);
        if let Ok(loaded) = &stats {
            self.engine.persist.last_load_keys = (loaded.keys, loaded.expired_skipped);
        }
        stats
    }
}

/// Loads one library from an RDB with FUNCTION LOAD's rules (`replace`: FUNCTION LOAD REPLACE; without
/// it a clash refuses the file).
fn load_library(
    scripting: Option<&mut zedis_scripting::Scripting>,
    code: &[u8],
    replace: bool,
) -> Result<(), String> {
    let Some(scripting) = scripting else {
        return Err("scripting is not available".into());
    };
    let reply = scripting.function_load(code, replace);
    match reply.strip_prefix(b"-") {
        Some(error) => Err(format!(
            "Failed loading library: {}",
            String::from_utf8_lossy(error).trim_end()
        )),
        None => Ok(()),
    }
}

/// # Format
/// `SAVE`
pub fn save<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    if core.engine.persist.child.is_some() {
        return core.reply_error(ck, b"ERR Background save already in progress");
    }
    core.engine.persist.saves += 1;
    match core.rdb_save_now() {
        Ok(()) => core.reply(ck, |out, _| reply::ok(out)),
        Err(_) => core.reply_error(ck, b"ERR"),
    }
}
