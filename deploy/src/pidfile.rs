//! `pidfile`: Redis's rules (`createPidFile` and `prepareForShutdown` in server.c). The file holds the pid
//! and a newline; it is written when `pidfile` is set, daemonized or not, and when daemonized without one
//! it goes to the default path; it is removed at a clean shutdown ("Removing the pid file.").

use std::io;
use std::path::{Path, PathBuf};

/// Where a daemonized server with no `pidfile` writes its pid (Redis: `/var/run/redis.pid`; Zedis uses its
/// own name so it never overwrites a redis-server's file on the same host).
pub const DEFAULT_PID_FILE: &str = "/var/run/zedis.pid";

/// The pidfile to write, if any: the configured `pidfile`, else [`DEFAULT_PID_FILE`] when running in the
/// background (`daemonize yes` and not `supervised`), else none.
pub fn path_for(pidfile: &str, background: bool) -> Option<PathBuf> {
    if !pidfile.is_empty() {
        Some(PathBuf::from(pidfile))
    } else if background {
        Some(PathBuf::from(DEFAULT_PID_FILE))
    } else {
        None
    }
}

/// A written pidfile. It is not removed on drop (a forked child must never remove it): call
/// [`PidFile::remove`] on the clean shutdown path.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes `"<pid>\n"` to `path` (truncating it). Redis does this best-effort and says nothing on
    /// failure; the server should log the error as a warning and go on.
    pub fn create(path: &Path) -> io::Result<PidFile> {
        std::fs::write(path, format!("{}\n", std::process::id()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file (at a clean exit; log "Removing the pid file." first, as Redis does).
    pub fn remove(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_only_in_the_background() {
        assert_eq!(path_for("", false), None);
        assert_eq!(
            path_for("", true),
            Some(PathBuf::from("/var/run/zedis.pid"))
        );
        assert_eq!(
            path_for("/run/z.pid", false),
            Some(PathBuf::from("/run/z.pid"))
        );
    }

    #[test]
    fn written_and_removed() {
        let dir = std::env::temp_dir().join(format!("zedis-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("z.pid");
        std::fs::write(&path, "stale contents that are longer\n").unwrap();
        let pid = PidFile::create(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        assert_eq!(pid.path(), path);
        pid.remove().unwrap();
        assert!(!path.exists());
        assert!(PidFile::create(&dir.join("missing/z.pid")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
