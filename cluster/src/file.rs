//! Reading and writing nodes.conf on disk: the one piece of I/O in this crate, kept apart so the server
//! calls it on [`crate::Action::SaveConfig`] and at startup. Writes are atomic (temp file + rename), so a
//! crash leaves the old file or the new one (Redis writes in place with padding instead).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::ConfError;
use crate::state::{ClusterState, Config};

/// Why nodes.conf could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading failed (other than "not found").
    #[error("Loading the cluster node config from {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The content is corrupted.
    #[error("{path}: {source}")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// Line and problem.
        source: ConfError,
    },
}

/// Loads `path`; a missing or empty file gives a fresh one-node state and `true` (save it right away, as
/// Redis does).
pub fn load_nodes_conf(
    path: &Path,
    cfg: Config,
    now_ms: u64,
) -> Result<(ClusterState, bool), LoadError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(LoadError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if text.is_empty() {
        return Ok((ClusterState::new(cfg, now_ms), true));
    }
    ClusterState::from_nodes_conf(cfg, &text, now_ms)
        .map(|s| (s, false))
        .map_err(|source| LoadError::Corrupted {
            path: path.to_path_buf(),
            source,
        })
}

/// Takes an exclusive lock on `path`'s lock file (`.<name>.lock` beside it), so two nodes never share
/// one nodes.conf (Redis locks the file itself; ours is replaced by rename on every save, so the lock lives
/// on a sibling). `Ok(None)`: another process holds it. Keep the returned file open while the node runs.
pub fn lock_nodes_conf(path: &Path) -> io::Result<Option<fs::File>> {
    use std::os::fd::AsRawFd;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(format!(".{name}.lock")))?;
    // SAFETY: flock on a descriptor this function owns; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Some(file));
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(None)
    } else {
        Err(err)
    }
}

/// Writes `text` to `path`. With `fsync` (the saves Redis fsyncs: epochs, votes, roles, slots learnt from
/// the bus) a temp file in the same directory, fsynced, renamed over `path`, and the directory fsynced:
/// durable and never torn, even on power loss. Without it, as `clusterSaveConfig` does, in place: one
/// write of the text padded with newlines to the old length (blank lines the loader skips), then a
/// truncate, so a process killed at any point leaves a loadable file; this costs a write instead of a
/// new inode and a rename, which every CLUSTER SETSLOT of a reshard pays.
pub fn save_nodes_conf(path: &Path, text: &str, fsync: bool) -> io::Result<()> {
    if fsync {
        replace_nodes_conf(path, text)
    } else {
        overwrite_nodes_conf(path, text)
    }
}

/// The in-place save of [`save_nodes_conf`] (Redis's padding and truncate).
fn overwrite_nodes_conf(path: &Path, text: &str) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let old_len = usize::try_from(f.metadata()?.len()).unwrap_or(usize::MAX);
    if old_len > text.len() {
        let mut padded = Vec::with_capacity(old_len);
        padded.extend_from_slice(text.as_bytes());
        padded.resize(old_len, b'\n');
        f.write_all(&padded)?;
        // As in Redis, a failed truncate only leaves blank lines behind.
        let _ = f.set_len(text.len() as u64);
    } else {
        f.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// The durable save of [`save_nodes_conf`]: temp file, fsync, rename, directory fsync.
fn replace_nodes_conf(path: &Path, text: &str) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_then_saved_then_reloaded() {
        let dir = std::env::temp_dir().join(format!("zedis-cluster-file-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nodes.conf");
        let (mut state, fresh) = load_nodes_conf(&path, Config::default(), 1).unwrap();
        assert!(fresh);
        state.update_slots(&[1, 2, 3], false, 2).unwrap();
        save_nodes_conf(&path, &state.to_nodes_conf(), true).unwrap();
        let (again, fresh) = load_nodes_conf(&path, Config::default(), 3).unwrap();
        assert!(!fresh);
        assert_eq!(again.to_nodes_conf(), state.to_nodes_conf());
        fs::write(&path, "garbage line\n").unwrap();
        let err = load_nodes_conf(&path, Config::default(), 4)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1") && err.contains("at least 8 fields"),
            "{err}"
        );
        fs::write(&path, "").unwrap();
        assert!(load_nodes_conf(&path, Config::default(), 5).unwrap().1);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "no temp file left behind"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The in-place save: a shorter text after a longer one leaves exactly the shorter one (the padding
    /// truncated), a longer one grows the file, and no temp file appears.
    #[test]
    fn in_place_saves_shrink_and_grow() {
        let dir =
            std::env::temp_dir().join(format!("zedis-cluster-inplace-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nodes.conf");
        let (mut state, _) = load_nodes_conf(&path, Config::default(), 1).unwrap();
        state.update_slots(&[1, 5, 9, 100], false, 2).unwrap();
        let long = state.to_nodes_conf();
        save_nodes_conf(&path, &long, false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), long);
        state.update_slots(&[5, 9], true, 3).unwrap();
        let short = state.to_nodes_conf();
        assert!(short.len() < long.len());
        save_nodes_conf(&path, &short, false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), short);
        let (again, _) = load_nodes_conf(&path, Config::default(), 4).unwrap();
        assert_eq!(again.to_nodes_conf(), short);
        save_nodes_conf(&path, &long, true).unwrap();
        save_nodes_conf(&path, &short, false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), short);
        // What a process killed between the padded write and the truncate leaves still loads.
        fs::write(&path, format!("{short}\n\n\n")).unwrap();
        let (padded, _) = load_nodes_conf(&path, Config::default(), 5).unwrap();
        assert_eq!(padded.to_nodes_conf(), short);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temp file");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_lock_holder() {
        let dir = std::env::temp_dir().join(format!("zedis-cluster-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nodes.conf");
        let held = lock_nodes_conf(&path).unwrap().expect("first lock");
        assert!(
            lock_nodes_conf(&path).unwrap().is_none(),
            "second lock refused"
        );
        drop(held);
        assert!(lock_nodes_conf(&path).unwrap().is_some(), "free again");
        fs::remove_dir_all(&dir).unwrap();
    }
}
