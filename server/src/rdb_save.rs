//! SAVE (synchronous, Redis 7.0's RDB file at `dir/dbfilename`) and loading that file at startup when the
//! AOF is off, as redis-server does.

use crate::server::Core;
use crate::Strategy;
use std::io::Write;
use std::path::{Path, PathBuf};
use zedis_budget::GlobalBudget;
use zedis_keyspace::persist::rdb_file::{self, AuxInfo};
use zedis_resp::reply;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl<S: Strategy> Core<S> {
    fn rdb_path(&self) -> PathBuf {
        Path::new(self.config.get("dir")).join(self.config.get("dbfilename"))
    }

    /// Writes the keyspace to `dir/dbfilename` through a temporary file renamed into place.
    pub fn rdb_save(&mut self) -> anyhow::Result<()> {
        let path = self.rdb_path();
        let temp =
            Path::new(self.config.get("dir")).join(format!("temp-{}.rdb", std::process::id()));
        let now = now_ms();
        let aux = AuxInfo {
            redis_ver: "7.0.15".into(),
            redis_bits: 64,
            ctime_secs: now / 1000,
            used_mem_bytes: self.budget.used() as u64,
            aof_base: false,
        };
        let result = (|| -> anyhow::Result<()> {
            let file = std::fs::File::create(&temp)?;
            let out = rdb_file::save(
                &self.engine.ks,
                std::io::BufWriter::new(file),
                &aux,
                &rdb_file::Extras::default(),
                now,
            )?;
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
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
        let input = std::io::BufReader::new(file);
        rdb_file::load(&mut self.engine.ks, input, now_ms(), &mut refuse_functions)
            .map_err(|e| anyhow::anyhow!("can't load {}: {e}", path.display()))?;
        Ok(())
    }
}

/// # Format
/// `SAVE`
pub fn save<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    match core.rdb_save() {
        Ok(()) => {
            core.engine.stats.changes_since_save = 0;
            core.reply(ck, |out, _| reply::ok(out));
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "Failed saving the DB: {e}");
            core.reply_error(ck, b"ERR");
        }
    }
}

/// Function libraries in an RDB are not loaded yet (FUNCTION RESTORE takes them): the load stops.
pub(crate) fn refuse_functions(_code: Vec<u8>) -> Result<(), String> {
    Err("the file holds function libraries, which this server cannot load yet".into())
}
