//! `unixsocket` and `unixsocketperm`: a Unix stream listener for clients on the same host (redis-cli `-s`,
//! redis-benchmark `-s`, redis-py `unix_socket_path`), as Redis's `anetUnixServer`: the path is freed
//! first, the socket bound, `chmod`ed to `unixsocketperm` when it is not 0, and listened on with
//! `tcp-backlog`; the file is removed at shutdown ("Removing the unix socket file.").
//!
//! One difference from Redis, which unlinks whatever is at the path: a socket file is removed only when no
//! server answers on it (a stale file from a crash), so a second server cannot steal a live one's socket,
//! and a path that exists but is not a socket is refused rather than deleted.

use crate::DeployError;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The size of `sockaddr_un.sun_path` on Linux, NUL included.
const SUN_PATH_BYTES: usize = 108;

/// Parses `unixsocketperm`: an octal number up to 0777 (`700`, `0700`, `0`).
pub fn parse_perm(value: &str) -> Result<u32, DeployError> {
    u32::from_str_radix(value, 8)
        .ok()
        .filter(|p| *p <= 0o777)
        .ok_or(DeployError::UnixSocketPerm)
}

/// A listening Unix socket and its path.
#[derive(Debug)]
pub struct UnixSocket {
    listener: mio::net::UnixListener,
    path: PathBuf,
}

impl UnixSocket {
    /// Binds `path` with mode `perm` (0: as the umask leaves it) and `backlog`, non-blocking.
    pub fn bind(path: &Path, perm: u32, backlog: i32) -> Result<UnixSocket, DeployError> {
        let len = path.as_os_str().len();
        if len > SUN_PATH_BYTES - 1 {
            // Redis's anetUnixServer text.
            return Err(DeployError::UnixSocket(io::Error::other(format!(
                "unix socket path too long ({len}), must be under {SUN_PATH_BYTES}"
            ))));
        }
        free_path(path).map_err(DeployError::UnixSocket)?;
        let listener = listen(path, perm, backlog).map_err(DeployError::UnixSocket)?;
        Ok(UnixSocket {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The listener, to register with the poller and accept from.
    pub fn listener(&mut self) -> &mut mio::net::UnixListener {
        &mut self.listener
    }

    /// The socket's path (CLIENT LIST shows it as `addr=<path>:0`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the listener and removes the file (the clean shutdown path).
    pub fn remove(self) -> io::Result<()> {
        drop(self.listener);
        std::fs::remove_file(&self.path)
    }
}

/// Removes a stale socket file at `path`; refuses a live socket or a file that is not a socket.
fn free_path(path: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::from_raw_os_error(libc::EADDRINUSE));
    }
    std::fs::remove_file(path)
}

fn listen(path: &Path, perm: u32, backlog: i32) -> io::Result<mio::net::UnixListener> {
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&SockAddr::unix(path)?)?;
    if perm != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    let std_listener: std::os::unix::net::UnixListener = socket.into();
    Ok(mio::net::UnixListener::from_std(std_listener))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perm_is_octal_up_to_0777() {
        assert_eq!(parse_perm("700").unwrap(), 0o700);
        assert_eq!(parse_perm("0770").unwrap(), 0o770);
        assert_eq!(parse_perm("0").unwrap(), 0);
        assert!(parse_perm("1000").is_err());
        assert!(parse_perm("8").is_err());
        assert!(parse_perm("-1").is_err());
    }
}
