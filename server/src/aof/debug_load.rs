//! DEBUG LOADAOF, as Redis 7.0.15's `debugCommand`: the AOF buffer is written (and fsynced) when the AOF is
//! on, the dataset and function libraries are emptied, the manifest is read again from disk, history files
//! are deleted and every file of the directory is replayed. A directory that cannot be loaded (absent
//! included: Redis's `AOF_NOT_EXIST`) ends the process, as Redis's `exit(1)`: the dataset is gone by then.

use super::State;
use crate::server::Core;
use crate::Strategy;

impl<S: Strategy> Core<S> {
    /// DEBUG LOADAOF's work; returns when the dataset is the AOF's (the process exits otherwise).
    pub fn aof_debug_load(&mut self) {
        if self.engine.aof.state != State::Off {
            let _ = self.engine.aof.write_buf();
            if let Some(file) = self.engine.aof.file.as_ref() {
                if let Err(e) = file.sync_data() {
                    zedis_deploy::warning!("DEBUG LOADAOF: fsync of the AOF failed: {e}");
                }
            }
        }
        crate::debug_cmds::empty_data(self);
        if let Err(e) = self.aof_reload_dir() {
            zedis_deploy::warning!("{e}");
            zedis_deploy::warning!("DEBUG LOADAOF could not load the append only file: exiting");
            std::process::exit(1);
        }
        // The commands replayed are not propagated (Redis's `server.dirty = 0`: loading never counts).
        zedis_deploy::warning!("Append Only File loaded by DEBUG LOADAOF");
    }

    /// Reads the manifest again, deletes the history files and replays the directory (Redis's
    /// `aofLoadManifestFromDisk`, `aofDelHistoryFiles`, `loadAppendOnlyFiles`). Err when there is nothing
    /// to load or a file cannot be loaded.
    fn aof_reload_dir(&mut self) -> anyhow::Result<()> {
        let dir = self.aof_dir();
        let mut manifest = dir.load_manifest()?;
        dir.upgrade_if_needed(&mut manifest)?;
        if self.engine.aof.state != State::Off {
            dir.delete_history(&mut manifest)?;
        }
        let files = dir.load_files(&manifest)?;
        if files.is_empty() {
            anyhow::bail!(
                "The AOF directory {} holds no AOF file to load",
                dir.path().display()
            );
        }
        self.aof_replay(&files)?;
        if let Some(parts) = self.engine.aof.parts.as_mut() {
            parts.manifest = manifest;
        }
        Ok(())
    }
}
