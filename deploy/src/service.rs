//! The whole startup and shutdown sequence behind four calls, so the server's `main` and event loop do not
//! have to order the parts themselves:
//!
//! 1. [`Service::start`] (in `main`, before any thread): `log::init`, then `daemonize` when in the
//!    background. An error is for stderr and exit 1.
//! 2. [`Service::listen`] (after the signal handlers are installed): every listener, or Redis's error.
//! 3. [`Service::ready`] (once listening and loaded): pidfile, the "Ready to accept connections" lines,
//!    `READY=1` to systemd (or upstart's SIGSTOP), and the daemon's parent released.
//! 4. [`Service::stopping`] when a shutdown begins (`STOPPING=1`), [`Service::status`] for its progress,
//!    [`Service::shutdown`] on the clean exit path: the pidfile and the Unix socket file removed, with Redis's
//!    log lines.

use crate::daemon::{self, Daemon};
use crate::listen;
use crate::notify::{self, Notifier, Supervised};
use crate::pidfile::{self, PidFile};
use crate::stream::Listener;
use crate::{log, DeployError, DeploySettings};
use std::path::PathBuf;

/// The running service's deployment state.
#[derive(Debug)]
pub struct Service {
    settings: DeploySettings,
    /// The daemon child's readiness pipe, until [`Service::ready`].
    daemon: Option<Daemon>,
    pidfile: Option<PidFile>,
    notifier: Option<Notifier>,
    /// The Unix socket file to remove at shutdown (the listener itself lives in the event loop).
    unix_path: Option<PathBuf>,
    /// What [`Service::listen`] opened, for the ready lines.
    listening_tcp: bool,
    /// `STOPPING=1` was sent.
    stopping_sent: bool,
}

impl Service {
    /// Applies the logging directives and forks into the background when configured. Call it before any
    /// thread exists.
    pub fn start(settings: DeploySettings) -> Result<Service, DeployError> {
        log::init(&settings.log)?;
        let daemon = if settings.background() {
            Some(daemon::daemonize()?)
        } else {
            None
        };
        Ok(Service {
            settings,
            daemon,
            pidfile: None,
            notifier: None,
            unix_path: None,
            listening_tcp: false,
            stopping_sent: false,
        })
    }

    /// The settings it was started with.
    pub fn settings(&self) -> &DeploySettings {
        &self.settings
    }

    /// Opens every listener (TCP per `bind` address unless `port 0`, then the Unix socket).
    pub fn listen(&mut self) -> Result<Vec<Listener>, DeployError> {
        let listeners = listen::open(&self.settings.listen)?;
        self.listening_tcp = !listeners.tcp.is_empty();
        self.unix_path = listeners.unix.as_ref().map(|u| u.path().to_path_buf());
        Ok(listeners.into_list())
    }

    /// Startup is complete: writes the pidfile, logs the ready lines, notifies the supervisor, releases the
    /// daemon's parent. `read_only_replica` picks systemd's status text as Redis does.
    pub fn ready(&mut self, read_only_replica: bool) -> Result<(), DeployError> {
        if let Some(path) = pidfile::path_for(&self.settings.pidfile, self.settings.background()) {
            match PidFile::create(&path) {
                Ok(pid) => self.pidfile = Some(pid),
                Err(e) => crate::warning!(
                    "Failed to write PID file {}: {}",
                    path.display(),
                    crate::os_text(&e)
                ),
            }
        }
        if self.listening_tcp {
            crate::notice!("Ready to accept connections tcp");
        }
        if self.unix_path.is_some() {
            crate::notice!("Ready to accept connections unix");
        }
        match self.settings.supervised {
            Supervised::Upstart => notify::upstart_ready(),
            mode => {
                self.notifier = Notifier::for_mode(mode)?;
                if let Some(notifier) = &self.notifier {
                    let status = if read_only_replica {
                        "Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync"
                    } else {
                        "Ready to accept connections"
                    };
                    notifier.notify(&notify::status(status))?;
                    notifier.notify(notify::READY)?;
                }
            }
        }
        if let Some(daemon) = self.daemon.as_mut() {
            daemon.ready();
        }
        Ok(())
    }

    /// A shutdown begins (Redis's `prepareForShutdown`): `STOPPING=1` to systemd, once.
    pub fn stopping(&mut self) {
        if self.stopping_sent {
            return;
        }
        self.stopping_sent = true;
        if let Some(notifier) = &self.notifier {
            let _ = notifier.notify(notify::STOPPING);
        }
    }

    /// A `STATUS=` line for systemd (Redis sends "Saving the final RDB snapshot" and its failure); nothing
    /// when not supervised.
    pub fn status(&self, text: &str) {
        if let Some(notifier) = &self.notifier {
            let _ = notifier.notify(&notify::status(text));
        }
    }

    /// The clean shutdown's deployment half: `STOPPING=1` (unless [`Service::stopping`] sent it), then the
    /// pidfile and the Unix socket file removed (each logged as Redis logs it; a failure is logged, not
    /// returned: shutdown goes on).
    pub fn shutdown(&mut self) {
        self.stopping();
        if let Some(pid) = self.pidfile.take() {
            crate::notice!("Removing the pid file.");
            if let Err(e) = pid.remove() {
                crate::warning!("Error removing the pid file: {}", crate::os_text(&e));
            }
        }
        if let Some(path) = self.unix_path.take() {
            crate::notice!("Removing the unix socket file.");
            if let Err(e) = std::fs::remove_file(&path) {
                crate::warning!(
                    "Error removing the unix socket file: {}",
                    crate::os_text(&e)
                );
            }
        }
    }
}
