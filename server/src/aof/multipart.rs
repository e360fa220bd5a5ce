//! Redis 7's multi-part AOF directory (`dir/appenddirname`, the zedis-aofdir crate): a base file (an RDB
//! with `aof-use-rdb-preamble yes`, else commands), incr files that receive the commands, and the manifest.
//!
//! - Startup: the manifest is read, a pre-7.0 single-file `dir/appendfilename` is moved in as the base
//!   (`upgrade_if_needed`), the files are replayed in order (an RDB base through the RDB loader, function
//!   libraries included; the rest through the command loader, a truncated command tolerated only in the
//!   last file); an empty directory gets a base written at once (as Redis), the last incr is opened for
//!   appending, the manifest persisted and history files deleted.
//! - Rewrite: before the fork, writes move to a new incr file (the AOF on) or to the temporary incr file
//!   (the AOF being turned on), so nothing written during the rewrite needs a buffer; the child writes the
//!   new base to a temporary file; on success it is renamed to the new base, the incrs it covers become
//!   history, the manifest is persisted and the history deleted.

use super::State;
use crate::observe::latency_since;
use crate::server::{unix_ms, Core};
use crate::Strategy;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zedis_aofdir::{AofDir, Manifest};
use zedis_observe::latency::events;

/// The directory and its manifest, while the AOF is on.
#[derive(Debug)]
pub struct Parts {
    /// `dir/appenddirname` and the naming rules.
    pub dir: AofDir,
    /// The manifest as last persisted (or about to be).
    pub manifest: Manifest,
    /// Bytes of the base and the incr files before the one being appended to.
    pub sealed_bytes: u64,
}

/// Whether a file holds an RDB (a base written with `aof-use-rdb-preamble yes` starts with `REDIS`).
fn is_rdb(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 5];
    let mut file = std::fs::File::open(path)?;
    let n = std::io::Read::read(&mut file, &mut head)?;
    Ok(n == 5 && &head == b"REDIS")
}

impl<S: Strategy> Core<S> {
    /// The AOF directory of the current configuration.
    pub(super) fn aof_dir(&self) -> AofDir {
        AofDir::new(
            self.config.get("dir"),
            self.config.get("appenddirname"),
            self.config.get("appendfilename"),
        )
    }

    /// Startup with `appendonly yes`: loads the directory and opens its last incr file for appending.
    pub(super) fn aof_open_dir(&mut self) -> anyhow::Result<()> {
        let dir = self.aof_dir();
        let mut manifest = dir.load_manifest()?;
        if dir.upgrade_if_needed(&mut manifest)? {
            zedis_deploy::notice!(
                "Successfully migrated an old-style AOF into the AOF directory {}",
                dir.path().display()
            );
        }
        let files = dir.load_files(&manifest)?;
        self.aof_replay(&files)?;
        std::fs::create_dir_all(dir.path())?;
        let filename = dir.filename().to_string();
        if manifest.base().is_none() && manifest.incrs().is_empty() {
            let name = manifest.new_base(&filename, self.config.flag("aof-use-rdb-preamble"));
            self.aof_write_base(&dir.file(&name))?;
            zedis_deploy::notice!("Creating AOF base file {name} on server start");
        }
        let incr = manifest.last_incr_or_new(&filename);
        let file = dir.open_for_append(&incr)?;
        dir.persist(&mut manifest)?;
        dir.delete_history(&mut manifest)?;
        let sizes: u64 = dir.load_files(&manifest)?.iter().map(|f| f.size).sum();
        let aof = &mut self.engine.aof;
        aof.path = dir.file(&incr);
        aof.current_size = file.metadata()?.len();
        aof.install_file(file);
        let sealed = sizes.saturating_sub(aof.current_size);
        aof.base_size = sizes;
        aof.parts = Some(Parts {
            dir,
            manifest,
            sealed_bytes: sealed,
        });
        Ok(())
    }

    /// Replays the files of the directory in order: an RDB base through the RDB loader, the rest through the
    /// command loader (a truncated command tolerated only in the last file).
    pub(super) fn aof_replay(
        &mut self,
        files: &[zedis_aofdir::dir::LoadFile],
    ) -> anyhow::Result<()> {
        let total = files.len();
        let started = std::time::Instant::now();
        for (i, file) in files.iter().enumerate() {
            if file.is_base && is_rdb(&file.path)? {
                let input = std::io::BufReader::new(std::fs::File::open(&file.path)?);
                self.rdb_load(input).map_err(|e| {
                    anyhow::anyhow!("can't load the AOF base {}: {e}", file.path.display())
                })?;
            } else {
                self.aof_load(&file.path, i + 1 == total)?;
            }
        }
        if total > 0 {
            zedis_deploy::notice!(
                "DB loaded from append only file: {:.3} seconds",
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    /// Writes a base file of the current dataset synchronously (the empty directory at startup).
    fn aof_write_base(&self, path: &Path) -> std::io::Result<()> {
        let now = unix_ms();
        if self.config.flag("aof-use-rdb-preamble") {
            let mut snapshot = self.rdb_snapshot(now);
            snapshot.aux.aof_base = true;
            crate::persist::child::write_rdb_file(&self.engine.ks, path, &snapshot, now)
        } else {
            let functions = crate::scripting_cmds::rewrite_commands(self);
            let timestamp = self.engine.aof.timestamps.enabled.then_some(now / 1000);
            super::rewrite::write_dump(&self.engine.ks, functions.as_deref(), timestamp, path, now)
        }
    }

    /// Before a rewrite's fork: this turn's bytes go to the current file, then writes move to a new incr
    /// file (the AOF on; persisted in the manifest) or the temporary incr file (being turned on). Returns
    /// where the child writes the new base.
    pub(super) fn aof_rewrite_prepare(&mut self) -> anyhow::Result<PathBuf> {
        if self.engine.aof.parts.is_none() {
            let dir = self.aof_dir();
            std::fs::create_dir_all(dir.path())?;
            let mut manifest = dir.load_manifest()?;
            // Turning the AOF on replaces whatever an earlier run left: the rewrite's base covers it all.
            manifest.mark_rewritten_incrs_as_history(false);
            self.engine.aof.parts = Some(Parts {
                dir,
                manifest,
                sealed_bytes: 0,
            });
        }
        let _ = self.engine.aof.write_buf();
        let on = self.engine.aof.state == State::On;
        let off = self.engine.aof.state == State::Off;
        let aof = &mut self.engine.aof;
        let Some(parts) = aof.parts.as_mut() else {
            anyhow::bail!("no AOF directory");
        };
        let temp = parts
            .dir
            .path()
            .join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        if off {
            // As Redis with the AOF off: no incr file is opened, the new base alone will be the data.
            return Ok(temp);
        }
        let (path, file) = if on {
            // As Redis's openNewIncrAofForAppend: on any failure the manifest stays as it was.
            let before = parts.manifest.clone();
            let name = parts.manifest.new_incr(parts.dir.filename());
            let opened = parts
                .dir
                .open_for_append(&name)
                .and_then(|file| parts.dir.persist(&mut parts.manifest).map(|()| file));
            match opened {
                Ok(file) => (parts.dir.file(&name), file),
                Err(e) => {
                    parts.manifest = before;
                    let _ = std::fs::remove_file(parts.dir.file(&name));
                    return Err(e.into());
                }
            }
        } else {
            let path = parts.dir.temp_incr_path();
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)?;
            (path, file)
        };
        parts.sealed_bytes += aof.current_size;
        aof.path = path;
        aof.current_size = 0;
        aof.install_file(file);
        Ok(temp)
    }

    /// The child succeeded: its file becomes the new base, the incrs it covers history.
    pub(super) fn aof_rewrite_install(&mut self, temp: &Path) -> anyhow::Result<()> {
        let preamble = self.config.flag("aof-use-rdb-preamble");
        let waiting = self.engine.aof.state == State::WaitRewrite;
        let aof = &mut self.engine.aof;
        let Some(parts) = aof.parts.as_mut() else {
            anyhow::bail!("no AOF directory");
        };
        let filename = parts.dir.filename().to_string();
        let base = parts.manifest.new_base(&filename, preamble);
        let renamed = Instant::now();
        std::fs::rename(temp, parts.dir.file(&base))?;
        latency_since(&mut self.engine.observe, events::AOF_RENAME, renamed);
        if waiting {
            let incr = parts.manifest.new_incr(&filename);
            let renamed = Instant::now();
            std::fs::rename(parts.dir.temp_incr_path(), parts.dir.file(&incr))?;
            latency_since(&mut self.engine.observe, events::AOF_RENAME, renamed);
            aof.path = parts.dir.file(&incr);
        }
        // With the AOF off no incr file is being written: all of them are covered by the new base.
        parts
            .manifest
            .mark_rewritten_incrs_as_history(aof.file.is_some());
        parts.dir.persist(&mut parts.manifest)?;
        let gone = parts.dir.delete_history(&mut parts.manifest)?;
        for file in gone {
            zedis_deploy::notice!(
                "Removing the history file {} in the background",
                file.name_lossy()
            );
        }
        let stat_started = Instant::now();
        let base_bytes = std::fs::metadata(parts.dir.file(&base))?.len();
        latency_since(&mut self.engine.observe, events::AOF_FSTAT, stat_started);
        parts.sealed_bytes = base_bytes;
        aof.base_size = base_bytes + aof.current_size;
        Ok(())
    }

    /// The child failed while the AOF was being turned on: the temporary incr file is dropped.
    pub(super) fn aof_rewrite_abandon(&mut self) {
        if self.engine.aof.state != State::WaitRewrite {
            return;
        }
        if let Some(parts) = self.engine.aof.parts.as_ref() {
            let _ = std::fs::remove_file(parts.dir.temp_incr_path());
        }
        self.engine.aof.close_file();
    }
}

/// Writes the base file of a rewrite (in the child): an RDB marked as an AOF base, or commands.
pub(super) fn write_base<A: zedis_kv_pool::KvAllocator>(
    ks: &zedis_keyspace::Keyspace<A>,
    base: &super::rewrite::BaseContent,
    path: &Path,
    now_ms: i64,
) -> std::io::Result<()> {
    match base {
        super::rewrite::BaseContent::Rdb(snapshot) => {
            crate::persist::child::write_rdb_file(ks, path, snapshot, now_ms)
        }
        super::rewrite::BaseContent::Commands(functions, timestamp) => {
            super::rewrite::write_dump(ks, functions.as_deref(), *timestamp, path, now_ms)
        }
    }
}
