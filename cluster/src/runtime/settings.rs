//! Redis 7.0's cluster directives (names, defaults, ranges, which may change at run time) and how they
//! make a [`NodeConfig`], so the server's config table only stores strings and hands them over.

use std::net::IpAddr;
use std::path::Path;

use super::NodeConfig;

/// A directive's type, as Redis's config table declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectiveKind {
    /// `yes` / `no`.
    Bool,
    /// An integer in `min..=max`.
    Int(i64, i64),
    /// A memory size (`cluster-link-sendbuf-limit`), bytes with Redis's units.
    Memory,
    /// A string.
    Str,
    /// One of these words.
    Enum(&'static [&'static str]),
}

/// One cluster directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directive {
    /// Its name.
    pub name: &'static str,
    /// Its older name (CONFIG GET lists both), if any.
    pub alias: Option<&'static str>,
    /// Its type and range.
    pub kind: DirectiveKind,
    /// CONFIG SET may change it (else: startup only).
    pub mutable: bool,
    /// Redis 7.0's default.
    pub default: &'static str,
}

const fn d(
    name: &'static str,
    alias: Option<&'static str>,
    kind: DirectiveKind,
    mutable: bool,
    default: &'static str,
) -> Directive {
    Directive {
        name,
        alias,
        kind,
        mutable,
        default,
    }
}

/// Every cluster directive of Redis 7.0.15 (`config.c`), plus `bind-source-addr`, which the bus uses.
pub const DIRECTIVES: &[Directive] = &[
    d("cluster-enabled", None, DirectiveKind::Bool, false, "no"),
    d(
        "cluster-config-file",
        None,
        DirectiveKind::Str,
        false,
        "nodes.conf",
    ),
    d(
        "cluster-node-timeout",
        None,
        DirectiveKind::Int(0, i64::MAX),
        true,
        "15000",
    ),
    d(
        "cluster-port",
        None,
        DirectiveKind::Int(0, 65535),
        false,
        "0",
    ),
    d("cluster-announce-ip", None, DirectiveKind::Str, true, ""),
    d(
        "cluster-announce-port",
        None,
        DirectiveKind::Int(0, 65535),
        true,
        "0",
    ),
    d(
        "cluster-announce-tls-port",
        None,
        DirectiveKind::Int(0, 65535),
        true,
        "0",
    ),
    d(
        "cluster-announce-bus-port",
        None,
        DirectiveKind::Int(0, 65535),
        true,
        "0",
    ),
    d(
        "cluster-announce-hostname",
        None,
        DirectiveKind::Str,
        true,
        "",
    ),
    d(
        "cluster-require-full-coverage",
        None,
        DirectiveKind::Bool,
        true,
        "yes",
    ),
    d(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        DirectiveKind::Int(0, i32::MAX as i64),
        true,
        "10",
    ),
    d(
        "cluster-migration-barrier",
        None,
        DirectiveKind::Int(0, i32::MAX as i64),
        true,
        "1",
    ),
    d(
        "cluster-allow-replica-migration",
        None,
        DirectiveKind::Bool,
        true,
        "yes",
    ),
    d(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        DirectiveKind::Bool,
        true,
        "no",
    ),
    d(
        "cluster-allow-reads-when-down",
        None,
        DirectiveKind::Bool,
        true,
        "no",
    ),
    d(
        "cluster-allow-pubsubshard-when-down",
        None,
        DirectiveKind::Bool,
        true,
        "yes",
    ),
    d(
        "cluster-link-sendbuf-limit",
        None,
        DirectiveKind::Memory,
        true,
        "0",
    ),
    d(
        "cluster-preferred-endpoint-type",
        None,
        DirectiveKind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        true,
        "ip",
    ),
    d("bind-source-addr", None, DirectiveKind::Str, true, ""),
];

/// The server's ports the cluster derives its own from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerPorts {
    /// `port`.
    pub port: u16,
    /// `tls-port` (0 = none).
    pub tls_port: u16,
    /// `tls-cluster yes`.
    pub tls_cluster: bool,
}

impl NodeConfig {
    /// A node's settings from the directives' current values (`get(name)`, already validated by the
    /// server's config table against [`DIRECTIVES`]), the server's ports, its `bind` strings, its `dir`,
    /// and `repl-ping-replica-period`. Ports as Redis's `deriveAnnouncedPorts`; `Err` is the refusal
    /// Redis prints before exiting (port too high for port + 10000), or what Zedis does not support.
    pub fn from_directives(
        get: impl Fn(&str) -> String,
        ports: ServerPorts,
        bind: Vec<String>,
        dir: &Path,
    ) -> Result<NodeConfig, String> {
        let int = |name: &str| get(name).parse::<i64>().unwrap_or(0);
        let port = if ports.tls_cluster {
            ports.tls_port
        } else {
            ports.port
        };
        let cluster_port = int("cluster-port") as u16;
        if cluster_port == 0 && port > 65535 - 10000 {
            return Err("Redis port number too high. Cluster communication port is 10,000 port numbers higher than your Redis port. Your Redis port number must be 55535 or less.".into());
        }
        if get("cluster-preferred-endpoint-type") != "ip" {
            return Err(format!(
                "cluster-preferred-endpoint-type {} is not supported by Zedis (only ip)",
                get("cluster-preferred-endpoint-type")
            ));
        }
        let bind_source_addr = match get("bind-source-addr") {
            s if s.is_empty() => None,
            s => Some(
                s.parse::<IpAddr>()
                    .map_err(|_| format!("Invalid bind-source-addr '{s}'"))?,
            ),
        };
        let file = get("cluster-config-file");
        let mut cfg = NodeConfig {
            bind,
            bind_source_addr,
            bus_port: if cluster_port != 0 {
                cluster_port
            } else {
                port + 10000
            },
            config_file: dir.join(file),
            ..NodeConfig::default()
        };
        cfg.cluster.seed = os_seed();
        cfg.apply_mutable(&get, ports);
        Ok(cfg)
    }

    /// Re-reads the directives CONFIG SET may change (announced addresses, timeouts, flags); pass it to
    /// [`super::ClusterNode::reconfigure`].
    pub fn apply_mutable(&mut self, get: &impl Fn(&str) -> String, ports: ServerPorts) {
        let int = |name: &str| get(name).parse::<i64>().unwrap_or(0);
        let flag = |name: &str| get(name) == "yes";
        let c = &mut self.cluster;
        c.node_timeout_ms = int("cluster-node-timeout").max(0) as u64;
        c.require_full_coverage = flag("cluster-require-full-coverage");
        c.replica_validity_factor = int("cluster-replica-validity-factor").max(0) as u64;
        c.migration_barrier = int("cluster-migration-barrier").max(0) as u32;
        c.allow_replica_migration = flag("cluster-allow-replica-migration");
        c.replica_no_failover = flag("cluster-replica-no-failover");
        let ping = int("repl-ping-replica-period");
        c.repl_ping_replica_period_s = if ping > 0 { ping as u64 } else { 10 };
        let ip = get("cluster-announce-ip");
        c.announce_ip = (!ip.is_empty()).then_some(ip);
        c.announce_hostname = get("cluster-announce-hostname");
        // deriveAnnouncedPorts.
        let (announce_port, announce_tls_port, announce_bus_port) = (
            int("cluster-announce-port") as u16,
            int("cluster-announce-tls-port") as u16,
            int("cluster-announce-bus-port") as u16,
        );
        let base = if ports.tls_cluster {
            ports.tls_port
        } else {
            ports.port
        };
        c.port = base;
        c.pport = if ports.tls_cluster { ports.port } else { 0 };
        if ports.tls_cluster && announce_tls_port != 0 {
            c.port = announce_tls_port;
            c.pport = announce_port;
        } else if announce_port != 0 {
            c.port = announce_port;
        }
        c.cport = if announce_bus_port != 0 {
            announce_bus_port
        } else {
            self.bus_port
        };
        self.allow_reads_when_down = flag("cluster-allow-reads-when-down");
        self.allow_pubsubshard_when_down = flag("cluster-allow-pubsubshard-when-down");
        self.sendbuf_bytes_max = get("cluster-link-sendbuf-limit")
            .parse::<u64>()
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        if let Ok(ip) = get("bind-source-addr").parse::<IpAddr>() {
            self.bind_source_addr = Some(ip);
        } else if get("bind-source-addr").is_empty() {
            self.bind_source_addr = None;
        }
    }
}

/// A seed for the node's PRNG (it makes the node id): from the OS's randomness (std's hasher keys), the
/// time and the process id.
pub fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults<'a>(overrides: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> String + 'a {
        move |name: &str| {
            overrides
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| {
                    DIRECTIVES
                        .iter()
                        .find(|d| d.name == name)
                        .map(|d| d.default.to_string())
                })
                .unwrap_or_default()
        }
    }

    #[test]
    fn ports_as_redis_derives_them() {
        let ports = ServerPorts {
            port: 7000,
            tls_port: 0,
            tls_cluster: false,
        };
        let dir = Path::new("/data");
        let cfg = NodeConfig::from_directives(defaults(&[]), ports, vec!["*".into()], dir).unwrap();
        assert_eq!(
            (cfg.bus_port, cfg.cluster.port, cfg.cluster.cport),
            (17000, 7000, 17000)
        );
        assert_eq!(cfg.config_file, Path::new("/data/nodes.conf"));
        assert_eq!(cfg.cluster.node_timeout_ms, 15000);
        assert!(cfg.cluster.require_full_coverage && cfg.allow_pubsubshard_when_down);
        let cfg = NodeConfig::from_directives(
            defaults(&[
                ("cluster-port", "20000"),
                ("cluster-announce-port", "7100"),
                ("cluster-announce-bus-port", "17100"),
                ("cluster-announce-ip", "10.0.0.5"),
                ("cluster-config-file", "/etc/n.conf"),
            ]),
            ports,
            vec![],
            dir,
        )
        .unwrap();
        assert_eq!(
            (cfg.bus_port, cfg.cluster.port, cfg.cluster.cport),
            (20000, 7100, 17100)
        );
        assert_eq!(cfg.cluster.announce_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(cfg.config_file, Path::new("/etc/n.conf"));
        let high = ServerPorts {
            port: 60000,
            ..ports
        };
        let err = NodeConfig::from_directives(defaults(&[]), high, vec![], dir).unwrap_err();
        assert!(err.ends_with("must be 55535 or less."), "{err}");
        assert!(NodeConfig::from_directives(
            defaults(&[("cluster-port", "1000")]),
            high,
            vec![],
            dir
        )
        .is_ok());
        assert_ne!(os_seed(), os_seed());
    }
}
