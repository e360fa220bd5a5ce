//! `metrics-port` (Zedis's own, 0 = off): the INFO figures, the budget per component, command and error
//! statistics, latency events, slow log and tracking sizes in the Prometheus text format, served over HTTP by
//! the observability engine's [`MetricsServer`] thread. The cron publishes a fresh [`Snapshot`] once a second;
//! the HTTP thread only ever reads the last one, so a scrape never touches the event loop.

use crate::server::Core;
use crate::Strategy;
use zedis_budget::{Component, GlobalBudget};
use zedis_observe::{MetricsPublisher, MetricsServer, Snapshot};

/// How often the cron publishes a snapshot.
const PUBLISH_INTERVAL_MS: i64 = 1000;

/// The running endpoint.
pub struct Metrics {
    /// The HTTP thread (stopped on drop).
    server: MetricsServer,
    /// Where snapshots are published.
    publisher: MetricsPublisher,
    /// When the last snapshot was published (unix ms).
    last_publish_ms: i64,
    /// Bytes of the last published snapshot (charged with the engines).
    pub snapshot_bytes: usize,
}

impl Metrics {
    /// The address the endpoint listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }
}

impl<S: Strategy> Core<S> {
    /// Starts the endpoint when `metrics-port` is set, on the server's first bind address.
    pub fn metrics_start(&mut self) -> anyhow::Result<()> {
        let port = self.config.int("metrics-port");
        if port == 0 {
            return Ok(());
        }
        let bind = self
            .config
            .get("bind")
            .split_whitespace()
            .next()
            .unwrap_or("127.0.0.1")
            .replace('*', "0.0.0.0");
        let addr: std::net::SocketAddr = format!("{bind}:{port}")
            .parse()
            .or_else(|_| format!("[{bind}]:{port}").parse())?;
        let publisher = MetricsPublisher::new();
        let server = MetricsServer::start(addr, publisher.clone())
            .map_err(|e| anyhow::anyhow!("metrics-port {addr}: {e}"))?;
        let metrics = Metrics {
            server,
            publisher,
            last_publish_ms: 0,
            snapshot_bytes: 0,
        };
        zedis_deploy::notice!(
            "Metrics endpoint on http://{}/metrics",
            metrics.local_addr()
        );
        self.engine.observe.metrics = Some(metrics);
        self.metrics_publish(crate::server::unix_ms());
        Ok(())
    }

    /// From the cron: publishes a snapshot when the last one is a second old.
    pub fn metrics_cron(&mut self, now_ms: i64) {
        let due = self
            .engine
            .observe
            .metrics
            .as_ref()
            .is_some_and(|m| now_ms - m.last_publish_ms >= PUBLISH_INTERVAL_MS);
        if due {
            self.metrics_publish(now_ms);
        }
    }

    /// Builds and publishes a snapshot of the server's figures.
    fn metrics_publish(&mut self, now_ms: i64) {
        let info = crate::info::render(self, &[b"everything"]);
        let mut snapshot = Snapshot::new();
        snapshot.add_info(&info);
        let obs = &self.engine.observe;
        snapshot.add_command_stats(&obs.commands);
        snapshot.add_error_stats(&obs.errors);
        snapshot.add_latency_monitor(&obs.latency);
        snapshot.add_slowlog_and_tracking(&obs.slowlog, &obs.tracking.table);
        for component in Component::ALL {
            let labels = [("component", component.name())];
            snapshot.gauge(
                "zedis_budget_used_bytes",
                "Bytes charged to the memory budget per component",
                &labels,
                self.budget.used_by(component) as f64,
            );
            snapshot.gauge(
                "zedis_budget_peak_bytes",
                "Peak bytes charged to the memory budget per component",
                &labels,
                self.budget.peak_by(component) as f64,
            );
        }
        snapshot.gauge(
            "zedis_budget_limit_bytes",
            "The memory budget's limit (maxmemory; 0: none)",
            &[],
            self.budget.limit() as f64,
        );
        for (role, name) in ["kv", "request", "client"].iter().zip(self.strategy_names) {
            snapshot.gauge(
                "zedis_allocator_strategy",
                "The memory strategy chosen per role (value 1)",
                &[("role", role), ("strategy", name)],
                1.0,
            );
        }
        let bytes = snapshot.bytes();
        if let Some(metrics) = self.engine.observe.metrics.as_mut() {
            metrics.publisher.publish(snapshot);
            metrics.last_publish_ms = now_ms;
            metrics.snapshot_bytes = bytes;
        }
        self.observe_recharge();
    }
}
