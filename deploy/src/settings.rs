//! Every deployment directive, typed in one step from the server's configuration (whatever stores it: a
//! closure answers a directive's value by name). Values are checked here with Redis's texts, so the
//! server's config table can keep them as plain strings.

use crate::listen::{self, ListenConfig};
use crate::log::{Level, LogConfig};
use crate::notify::Supervised;
use crate::shutdown::ShutdownFlags;
use crate::syslog::Facility;
use crate::{unix, DeployError};

/// The directives this crate serves, with Redis 7.0's defaults (Zedis keeps its own `bind` default) and
/// whether CONFIG SET may change them in Redis.
pub const DIRECTIVES: &[(&str, &str, bool)] = &[
    ("daemonize", "no", false),
    ("pidfile", "", false),
    ("supervised", "no", false),
    ("loglevel", "notice", true),
    ("logfile", "", false),
    ("syslog-enabled", "no", false),
    ("syslog-ident", "redis", false),
    ("syslog-facility", "local0", false),
    ("bind", "127.0.0.1", true),
    ("port", "6379", false),
    ("tcp-backlog", "511", false),
    ("tcp-keepalive", "300", true),
    ("unixsocket", "", false),
    ("unixsocketperm", "0", false),
    ("shutdown-on-sigterm", "default", true),
    ("shutdown-on-sigint", "default", true),
    ("shutdown-timeout", "10", true),
];

/// The deployment settings, typed.
#[derive(Debug, Clone)]
pub struct DeploySettings {
    /// `loglevel`, `logfile`, `syslog-*`.
    pub log: LogConfig,
    /// `bind`, `port`, `tcp-backlog`, `unixsocket`, `unixsocketperm`.
    pub listen: ListenConfig,
    /// `daemonize`.
    pub daemonize: bool,
    /// `pidfile` (empty: none unless running in the background).
    pub pidfile: String,
    /// `supervised`.
    pub supervised: Supervised,
    /// `tcp-keepalive` in seconds (0: off).
    pub tcp_keepalive_s: u32,
    /// `shutdown-on-sigterm`.
    pub shutdown_on_sigterm: ShutdownFlags,
    /// `shutdown-on-sigint`.
    pub shutdown_on_sigint: ShutdownFlags,
    /// `shutdown-timeout` in seconds (0: do not wait for replicas).
    pub shutdown_timeout_s: u32,
}

/// A `yes`/`no` value.
fn yes_no(value: &str) -> Result<bool, DeployError> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(DeployError::Setting {
            name: "",
            why: "argument must be 'yes' or 'no'",
        }),
    }
}

/// Names the directive in a value error.
fn named(name: &'static str) -> impl Fn(DeployError) -> DeployError {
    move |e| match e {
        DeployError::Setting { why, .. } => DeployError::Setting { name, why },
        other => other,
    }
}

fn int<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, DeployError> {
    value.parse().map_err(|_| DeployError::Setting {
        name,
        why: "argument couldn't be parsed into an integer",
    })
}

impl DeploySettings {
    /// Reads and checks every directive of [`DIRECTIVES`] through `get` (a missing one reads as its
    /// default when `get` returns `None`).
    pub fn from_config<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, DeployError> {
        let value = |name: &str| -> &str {
            get(name).unwrap_or_else(|| {
                DIRECTIVES
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .map_or("", |(_, default, _)| default)
            })
        };
        let supervised = Supervised::parse(value("supervised")).ok_or(DeployError::Setting {
            name: "supervised",
            why: "argument(s) must be one of the following: upstart, systemd, auto, no",
        })?;
        let unixsocket = value("unixsocket");
        Ok(DeploySettings {
            log: LogConfig {
                level: Level::parse(value("loglevel"))?,
                logfile: value("logfile").to_string(),
                syslog_enabled: yes_no(value("syslog-enabled")).map_err(named("syslog-enabled"))?,
                syslog_ident: value("syslog-ident").to_string(),
                syslog_facility: Facility::parse(value("syslog-facility"))?,
            },
            listen: ListenConfig {
                bind: listen::parse_bind(value("bind"))?,
                port: int("port", value("port"))?,
                backlog: int("tcp-backlog", value("tcp-backlog"))?,
                unixsocket: (!unixsocket.is_empty()).then(|| unixsocket.into()),
                unixsocketperm: unix::parse_perm(value("unixsocketperm"))?,
            },
            daemonize: yes_no(value("daemonize")).map_err(named("daemonize"))?,
            pidfile: value("pidfile").to_string(),
            supervised,
            tcp_keepalive_s: int("tcp-keepalive", value("tcp-keepalive"))?,
            shutdown_on_sigterm: ShutdownFlags::parse(value("shutdown-on-sigterm")).map_err(
                |why| DeployError::Setting {
                    name: "shutdown-on-sigterm",
                    why,
                },
            )?,
            shutdown_on_sigint: ShutdownFlags::parse(value("shutdown-on-sigint")).map_err(
                |why| DeployError::Setting {
                    name: "shutdown-on-sigint",
                    why,
                },
            )?,
            shutdown_timeout_s: int("shutdown-timeout", value("shutdown-timeout"))?,
        })
    }

    /// Whether the server forks into the background: `daemonize yes` and not `supervised` (Redis's rule).
    pub fn background(&self) -> bool {
        self.daemonize && self.supervised == Supervised::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<DeploySettings, DeployError> {
        DeploySettings::from_config(|name| pairs.iter().find(|(n, _)| *n == name).map(|&(_, v)| v))
    }

    #[test]
    fn defaults_and_values() {
        let s = settings(&[]).unwrap();
        assert!(!s.background());
        assert_eq!(s.listen.port, 6379);
        assert_eq!(s.log.level, Level::Notice);
        assert_eq!(s.tcp_keepalive_s, 300);
        let s = settings(&[
            ("daemonize", "yes"),
            ("unixsocket", "/tmp/z.sock"),
            ("unixsocketperm", "700"),
            ("bind", "127.0.0.1 -::1"),
            ("syslog-facility", "local3"),
        ])
        .unwrap();
        assert!(s.background());
        assert_eq!(s.listen.unixsocketperm, 0o700);
        assert_eq!(s.listen.bind.len(), 2);
        assert_eq!(s.log.syslog_facility.name(), "local3");
        let s = settings(&[("daemonize", "yes"), ("supervised", "systemd")]).unwrap();
        assert!(!s.background(), "supervised turns daemonizing off");
    }

    #[test]
    fn bad_values_name_the_directive() {
        let err = settings(&[("daemonize", "maybe")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid argument for 'daemonize': argument must be 'yes' or 'no'"
        );
        assert!(settings(&[("loglevel", "info")]).is_err());
        assert!(settings(&[("unixsocketperm", "999")]).is_err());
        assert!(settings(&[("supervised", "launchd")]).is_err());
        assert_eq!(
            settings(&[("shutdown-on-sigint", "save nosave")]).unwrap_err().to_string(),
            "Invalid argument for 'shutdown-on-sigint': shutdown options SAVE and NOSAVE can't be used simultaneously"
        );
        assert!(
            settings(&[("shutdown-on-sigterm", "nosave now")])
                .unwrap()
                .shutdown_on_sigterm
                .now
        );
        assert!(settings(&[("port", "x")])
            .unwrap_err()
            .to_string()
            .contains("'port'"));
    }
}
