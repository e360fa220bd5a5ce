//! `supervised`: `systemd` sends `sd_notify` datagrams to `$NOTIFY_SOCKET` (a path, or `@name` in the
//! abstract namespace), as Redis's `redisCommunicateSystemd`: `STATUS=...` while loading, `READY=1` once
//! listening, `STOPPING=1` at shutdown. `upstart` stops the process with SIGSTOP once ready (upstart's
//! `expect stop`). `auto` is systemd when `$NOTIFY_SOCKET` is set, else nothing.

use crate::DeployError;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The `supervised` values Redis accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervised {
    /// `no`.
    No,
    /// `upstart`.
    Upstart,
    /// `systemd`.
    Systemd,
    /// `auto`: systemd if `$NOTIFY_SOCKET` is set.
    Auto,
}

impl Supervised {
    /// Parses a `supervised` value, case-insensitively.
    pub fn parse(value: &str) -> Option<Supervised> {
        match value.to_ascii_lowercase().as_str() {
            "no" => Some(Supervised::No),
            "upstart" => Some(Supervised::Upstart),
            "systemd" => Some(Supervised::Systemd),
            "auto" => Some(Supervised::Auto),
            _ => None,
        }
    }
}

/// `READY=1`: startup is complete.
pub const READY: &str = "READY=1\n";
/// `STOPPING=1`: shutdown began.
pub const STOPPING: &str = "STOPPING=1\n";

/// A `STATUS=` line (`"Ready to accept connections"` ...).
pub fn status(text: &str) -> String {
    format!("STATUS={text}\n")
}

/// The link to the service manager.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// The notifier for `mode`: `Some` for systemd (or auto with `$NOTIFY_SOCKET` set). systemd without
    /// `$NOTIFY_SOCKET` logs Redis's warning and gives `None`.
    pub fn for_mode(mode: Supervised) -> Result<Option<Notifier>, DeployError> {
        let socket_path = std::env::var_os("NOTIFY_SOCKET");
        match (mode, socket_path) {
            (Supervised::Systemd | Supervised::Auto, Some(path)) => {
                Notifier::connect(&path.to_string_lossy()).map(Some)
            }
            (Supervised::Systemd, None) => {
                crate::warning!("systemd supervision requested or auto-detected, but NOTIFY_SOCKET environment variable not found!");
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// A notifier for a `$NOTIFY_SOCKET` value.
    pub fn connect(notify_socket: &str) -> Result<Notifier, DeployError> {
        let addr = match notify_socket.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name.as_bytes())
            }
            None => SocketAddr::from_pathname(notify_socket),
        }
        .map_err(DeployError::Notify)?;
        let socket = UnixDatagram::unbound().map_err(DeployError::Notify)?;
        Ok(Notifier { socket, addr })
    }

    /// Sends one notification (`READY`, `STOPPING`, a [`status`] line).
    pub fn notify(&self, message: &str) -> Result<(), DeployError> {
        self.socket
            .send_to_addr(message.as_bytes(), &self.addr)
            .map(|_| ())
            .map_err(DeployError::Notify)
    }
}

/// `supervised upstart`: stop ourselves so upstart knows we are ready (Redis raises SIGSTOP).
pub fn upstart_ready() {
    // SAFETY: raising a signal at ourselves has no memory preconditions.
    unsafe { libc::raise(libc::SIGSTOP) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_the_socket() {
        let dir = std::env::temp_dir().join(format!("zedis-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let receiver = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::connect(&path.to_string_lossy()).unwrap();
        notifier
            .notify(&status("Ready to accept connections"))
            .unwrap();
        notifier.notify(READY).unwrap();
        let mut buf = [0u8; 256];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STATUS=Ready to accept connections\n");
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\n");
        // The abstract namespace form.
        let name = format!("zedis-notify-test-{}", std::process::id());
        use std::os::linux::net::SocketAddrExt;
        let abstract_addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let abstract_rx = UnixDatagram::bind_addr(&abstract_addr).unwrap();
        Notifier::connect(&format!("@{name}"))
            .unwrap()
            .notify(STOPPING)
            .unwrap();
        let n = abstract_rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1\n");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(Supervised::parse("SYSTEMD"), Some(Supervised::Systemd));
        assert_eq!(Supervised::parse("launchd"), None);
    }
}
