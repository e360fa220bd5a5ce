//! The single-threaded mio event loop: accept, read, parse, execute, write.
//!
//! Every complete command in a client's buffer runs before anything is written (pipelining), and replies are
//! written once per loop turn for all clients that have any (few syscalls). A client whose socket would block
//! gets writable interest until its output drains. The cron (`hz` times a second) runs active expiry and
//! client timeouts.

use crate::client::Client;
use crate::config::Config;
use crate::table::Table;
use crate::{RequestAllocNew, Strategy};
use mio::{Events, Interest, Poll, Token};
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use zedis_arena::RequestAlloc;
use zedis_budget::{Budget, GlobalBudget};
use zedis_client_pool::ClientSlots;
use zedis_keyspace::commands::Effects;
use zedis_keyspace::Keyspace;

pub mod listeners;
mod net;
pub mod tls;
pub mod uring;

pub use net::Net;

/// The signals' token (a busy script defers it to the loop: `scripting_cmds::busy_loop`).
pub(crate) const SIGNALS: Token = Token(0);
/// Client slot `ck` is polled as token `ck + CLIENT_TOKEN_BASE` (after the signals and the listeners).
pub const CLIENT_TOKEN_BASE: usize = listeners::LISTENER_BASE + listeners::LISTENERS_MAX;
/// The socket to our master before it becomes a client (`repl/replica.rs`).
pub const MASTER_LINK: Token = Token(usize::MAX - 1);
/// Smallest read a fresh connection starts with.
const READ_CHUNK_MIN_BYTES: usize = 1024;
/// Bytes read per read call (grown when a large bulk is announced).
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// A client idle this long gives back its empty query and output buffers (Redis uses 2 seconds).
const IDLE_BUFFER_RELEASE_MS: i64 = 2000;
/// Buffers gathered by one writev.
const WRITEV_SLICES_MAX: usize = 64;
/// Reads per readable event before other clients get a turn.
const READS_PER_EVENT_MAX: usize = 16;

/// Counters for INFO stats.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Connections accepted.
    pub connections_received: u64,
    /// Connections refused (maxclients).
    pub rejected_connections: u64,
    /// Commands executed.
    pub commands_processed: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Commands per second over the last sample.
    pub ops_per_sec: u64,
    ops_sample_at_commands: u64,
    ops_sample_at: Option<Instant>,
    /// Error replies sent.
    pub error_replies: u64,
    /// Clients closed for passing their output limit.
    pub client_output_limit_disconnections: u64,
    /// Active expire cycles that hit their time cap.
    pub expire_time_cap_reached: u64,
    /// Share of sampled TTL keys found expired in the last cycle (percent).
    pub expired_stale_perc: f64,
    /// Changes made by commands since the last successful save (Redis's `server.dirty`; INFO's
    /// `rdb_changes_since_last_save`, the save points' trigger). Kept across CONFIG RESETSTAT, as in Redis.
    pub changes_since_save: u64,
}

/// The engine half: the data and everything that follows from commands (pub/sub, blocked clients,
/// transactions, effects, persistence, counters). It never touches a socket.
pub struct Engine<S: Strategy> {
    /// The data.
    pub ks: Keyspace<S::Kv>,
    /// Clients blocked on keys.
    pub blocked: crate::blocking::BlockedClients,
    /// Channel, pattern and shard-channel subscriptions.
    pub pubsub: zedis_pubsub::PubSub,
    /// Per-command side effects (reused), drained by `Core::drain_effects`.
    pub fx: Effects,
    /// Counters.
    pub stats: Stats,
    /// AOF persistence (`crate::aof`).
    pub aof: crate::aof::Aof,
    /// Watched keys, EXEC in progress, clients postponed by CLIENT PAUSE (`multi.rs`, `pause.rs`).
    pub tx: crate::multi::Watches,
    /// CLIENT PAUSE: until when (unix ms).
    pub paused_until_ms: i64,
    /// CLIENT PAUSE WRITE.
    pub pause_writes_only: bool,
    /// When the fast expire cycle last ran (unix ms).
    pub last_fast_expire_ms: i64,
    /// The Lua engines (EVAL scripts and FUNCTION libraries); taken out while a script runs.
    pub scripting: Option<Box<zedis_scripting::Scripting>>,
    /// Bytes of the Lua heaps and script cache charged to the budget (`Component::Lua`).
    pub scripting_charged: usize,
    /// A script running past `busy-reply-threshold` (`scripting_cmds::busy`).
    pub busy: crate::scripting_cmds::busy::Busy,
    /// Replication: ids, offset, backlog, replicas, the link to our master (`repl/`).
    pub repl: crate::repl::Repl,
    /// The unix second of the last replication cron.
    pub repl_last_cron_s: i64,
    /// SLOWLOG, LATENCY, command and error statistics (`crate::observe`).
    pub observe: crate::observe::Observe,
    /// DEBUG's switches and LOLWUT's `rand()` stream (`crate::debug_cmds`).
    pub debug: crate::debug_cmds::DebugState,
    /// ACL users and log (`crate::access`).
    pub access: crate::access::Access,
    /// RDB snapshots: the child, LASTSAVE, save points, the shutdown in progress (`crate::persist`).
    pub persist: crate::persist::Persist,
}

/// Everything but the request allocator (kept apart so that argument vectors it allocates can live while the
/// core is borrowed mutably): the network half, the engine half, and what both read (configuration, typed
/// settings, the command table, the budget).
pub struct Core<S: Strategy> {
    /// The network half's sockets and per-turn queues (`server/net.rs`).
    pub net: Net,
    /// Connected clients (their sockets and buffers belong to the network half; handlers reply through them).
    pub clients: S::Clients,
    /// The engine half.
    pub engine: Engine<S>,
    /// Configuration (the source of CONFIG GET/SET; running code reads `settings`).
    pub config: Config,
    /// Typed configuration values, refreshed by `apply_config` (no lookup by name on a per-command path).
    pub settings: crate::settings::Settings,
    /// The command table.
    pub table: &'static Table<S>,
    /// The installed budget.
    pub budget: &'static Budget,
    /// The shutdown finished (`crate::persist::shutdown`): the loop exits.
    pub shutdown: bool,
    /// When the server started.
    pub started: Instant,
    /// This process's random 40-hex id (INFO `run_id`; Sentinel tells restarts by it).
    pub run_id: String,
    /// Strategy names for INFO and CONFIG.
    pub strategy_names: [&'static str; 3],
    /// The request allocator's INFO lines, refreshed by the server (the allocator is not part of the core).
    pub request_info_text: String,
    /// Redis Cluster: the node (cluster mode) and MIGRATE's connections (`crate::cluster`).
    pub cluster: crate::cluster::Cluster,
}

/// The server: the core plus the request allocator.
pub struct Server<S: Strategy> {
    /// The core.
    pub core: Core<S>,
    /// Per-batch request memory.
    pub arena: S::Req,
    signals: signal_hook_mio::v1_0::Signals,
}

thread_local! {
    /// The event loop's clock, read once per loop turn (on some virtual machines every clock read is a
    /// system call; a command's time snapshot does not need more precision than a loop turn).
    static CLOCK_MS: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// Reads the real clock into the cached one; returns it.
pub fn refresh_clock() -> i64 {
    let now = unix_ms();
    CLOCK_MS.with(|c| c.set(now));
    now
}

/// The time of the current loop turn (unix ms).
pub fn cached_ms() -> i64 {
    match CLOCK_MS.with(std::cell::Cell::get) {
        0 => refresh_clock(),
        now => now,
    }
}

/// Current unix time in ms.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl<S: Strategy> Server<S> {
    /// Binds and prepares the server.
    pub fn new(
        config: Config,
        budget: &'static Budget,
        mut service: zedis_deploy::service::Service,
    ) -> anyhow::Result<Self> {
        // The command stopwatch calibrates itself against the clock once, here rather than in the first command.
        zedis_util::ticks::now();
        let poll = Poll::new()?;
        let (listeners, main_tcp) = listeners::open(&config, &poll, &mut service)?;
        let uring = uring::startup(&config, main_tcp, &poll)?;
        let bind = listeners::first_bind(&config);
        let tls = tls::startup(&config, &poll, &bind)?;
        if listeners.is_empty() && tls.listener.is_none() && uring.is_none() {
            anyhow::bail!("Configured to not listen anywhere, exiting.");
        }
        let mut signals = signal_hook_mio::v1_0::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        let clients_max = config.int("maxclients") as usize;
        let (table, command_stats) = Table::new_with_stats();
        let table: &'static Table<S> = Box::leak(Box::new(table));
        let arena = S::Req::new_from(&config);
        let mut core = Core {
            net: Net {
                poll,
                listeners,
                tls,
                service,
                pending_writes: Vec::new(),
                closing: Vec::new(),
                rereads: Vec::new(),
                next_client_id: 1,
                uring,
            },
            clients: S::Clients::new(clients_max),
            engine: Engine {
                ks: Keyspace::new(config.int("databases") as usize, Default::default()),
                blocked: Default::default(),
                pubsub: zedis_pubsub::PubSub::with_budget(budget),
                fx: Effects::default(),
                stats: Stats::default(),
                aof: Default::default(),
                tx: Default::default(),
                paused_until_ms: 0,
                pause_writes_only: false,
                last_fast_expire_ms: 0,
                scripting: crate::scripting_cmds::new_scripting(),
                scripting_charged: 0,
                busy: Default::default(),
                repl: Default::default(),
                repl_last_cron_s: 0,
                observe: crate::observe::Observe::new(command_stats),
                debug: crate::debug_cmds::DebugState::new(),
                access: crate::access::Access::new(table),
                persist: Default::default(),
            },
            table,
            budget,
            shutdown: false,
            started: Instant::now(),
            run_id: crate::repl::new_replid(),
            settings: Default::default(),
            strategy_names: [
                <S::Kv as zedis_kv_pool::KvAllocator>::NAME,
                <S::Req as RequestAlloc>::NAME,
                <S::Clients as ClientSlots<Client>>::NAME,
            ],
            config,
            request_info_text: String::new(),
            cluster: Default::default(),
        };
        core.acl_startup()?;
        core.apply_config();
        // The Lua states exist from the start: charge them now, not at the first script.
        crate::scripting_cmds::recharge(&mut core);
        core.metrics_start()?;
        // AOF: load before the loop accepts clients.
        core.rdb_startup()?;
        core.aof_startup()?;
        // `replicaof <host> <port>` in the configuration: start as a replica.
        let replicaof = core.config.get("replicaof").to_string();
        let mut words = replicaof.split_whitespace();
        if let (Some(host), Some(port)) = (words.next(), words.next()) {
            let port = port
                .parse::<u16>()
                .map_err(|_| anyhow::anyhow!("Invalid master port in replicaof: {port}"))?;
            core.repl_set_master(host.to_string(), port);
        }
        // Cluster mode: the slot index, nodes.conf, the bus (Redis's clusterInit after loading the data).
        core.cluster_startup()?;
        // Loaded and listening: pidfile, the ready lines, systemd's READY=1, the daemon's parent released.
        let replica = core.engine.repl.is_replica();
        core.net.service.ready(replica)?;
        if core.net.tls.listener.is_some() {
            zedis_deploy::notice!("Ready to accept connections tls");
        }
        Ok(Server {
            core,
            arena,
            signals,
        })
    }

    /// Runs until SHUTDOWN or SIGINT/SIGTERM.
    pub fn run(mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(1024);
        // One clock read per loop turn: the cron and blocked-client deadlines run on the cached clock.
        let mut next_cron_ms = refresh_clock();
        let mut next_block_deadline_ms: Option<i64> = None;
        let mut evicting = false;
        loop {
            let now_ms = cached_ms();
            let mut wait_ms = next_cron_ms.saturating_sub(now_ms).max(0);
            if let Some(deadline) = next_block_deadline_ms {
                wait_ms = wait_ms.min(deadline.saturating_sub(now_ms).max(0));
            }
            if let Some(tick) = self.core.cluster_wait_ms(now_ms) {
                wait_ms = wait_ms.min(tick);
            }
            if !self.core.net.rereads.is_empty() || evicting {
                wait_ms = 0;
            }
            if let Err(e) = self.core.net.wait(&mut events, wait_ms) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.into());
            }
            let now_ms = refresh_clock();
            for (ck, hup) in std::mem::take(&mut self.core.net.rereads) {
                self.read_client(ck, hup);
            }
            self.uring_events();
            for event in events.iter() {
                match event.token() {
                    Token(t) if listeners::is_listener(t) => {
                        self.core.accept_all(t - listeners::LISTENER_BASE)
                    }
                    tls::TLS_LISTENER => self.core.accept_all_tls(),
                    SIGNALS => self.take_signals(),
                    MASTER_LINK => self.core.repl_link_event(),
                    crate::repl::diskless::RDB_PIPE => self.core.repl_rdb_pipe_event(),
                    token
                        if self.core.cluster_ready(
                            token,
                            event.is_readable() || event.is_read_closed() || event.is_error(),
                            event.is_writable(),
                        ) => {}
                    Token(t) => {
                        let ck = t - CLIENT_TOKEN_BASE;
                        let hup = event.is_read_closed() || event.is_error();
                        if event.is_readable() || hup {
                            self.read_client(ck, hup);
                        }
                        if event.is_writable() {
                            self.core.write_client(ck);
                        }
                    }
                }
            }
            // A signal that came while a busy script served the loop (its edge was taken there).
            if std::mem::take(&mut self.core.engine.busy.signals_deferred) {
                self.take_signals();
            }
            if now_ms >= next_cron_ms {
                crate::info::refresh_request_info(&self.arena, &mut self.core.request_info_text);
                self.core.engine.debug.arena = zedis_arena::RequestAlloc::stats(&self.arena);
                self.core.cron();
                next_cron_ms = now_ms + 1000 / self.core.settings.hz.max(1) as i64;
            }
            self.core.cluster_tick(now_ms);
            next_block_deadline_ms = self.core.expire_blocked(now_ms);
            self.core.fast_expire_cycle();
            evicting = self.core.evict_catch_up(now_ms);
            self.resume_unblocked();
            crate::pause::resume(&mut self);
            // AOF: this turn's commands reach the file (and with `always` the disk) before the replies leave.
            self.core.aof_before_sleep();
            // Cluster: what the node asked for (replication role, pause, PUBLISH delivery, slots lost).
            self.core.cluster_events();
            // Replication: this turn's stream to the backlog and the replicas, WAIT answers.
            self.core.repl_before_sleep();
            // Client-side caching: BCAST batches, the tracking table bound, invalidations left to deliver.
            self.core.tracking_before_sleep();
            self.core.shutdown_tick();
            self.core.flush_pending_writes();
            self.core.close_pending();
            if self.core.shutdown {
                self.core.net.uring_final_flush();
                break;
            }
        }
        self.core.cluster_shutdown();
        zedis_deploy::warning!("Zedis is now ready to exit, bye bye...");
        // The process exits next and the OS takes its memory back at once; dropping the keyspace would free
        // every key one by one first (about 10% of a short run's time with a million keys). Redis skips it too.
        std::mem::forget(self);
        Ok(())
    }

    /// Reads the pending signals and acts on them.
    fn take_signals(&mut self) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for signal in pending {
            self.core.on_signal(signal);
        }
    }

    /// Runs the input that unblocked clients received while they waited.
    fn resume_unblocked(&mut self) {
        while !self.core.engine.blocked.resumed.is_empty() {
            let resumed = std::mem::take(&mut self.core.engine.blocked.resumed);
            for ck in resumed {
                if self
                    .core
                    .clients
                    .get(ck)
                    .is_some_and(|c| c.blocked.is_none())
                {
                    self.process_input(ck);
                    self.arena.reset();
                }
            }
        }
    }
}

impl<S: Strategy> Core<S> {
    /// Re-reads cached configuration after startup or CONFIG SET.
    pub fn apply_config(&mut self) {
        let c = &self.config;
        self.settings = crate::settings::Settings::from_config(c);
        self.budget.set_limit(c.int("maxmemory") as usize);
        let ks = &mut self.engine.ks.config;
        ks.policy = zedis_keyspace::EvictionPolicy::parse(c.get("maxmemory-policy").as_bytes())
            .unwrap_or(ks.policy);
        ks.samples = c.int("maxmemory-samples") as usize;
        ks.lfu_log_factor = c.int("lfu-log-factor") as u32;
        ks.lfu_decay_time = c.int("lfu-decay-time") as u32;
        ks.string_bytes_max = c.int("proto-max-bulk-len") as usize;
        ks.rdb_compression = c.flag("rdbcompression");
        ks.rdb_checksum = c.flag("rdbchecksum");
        ks.hll_sparse_bytes_max = c.int("hll-sparse-max-bytes") as usize;
        zedis_keyspace::types::list::set_compress_depth(c.int("list-compress-depth") as usize);
        ks.limits = zedis_keyspace::types::Limits {
            list_max_listpack_size: c.int("list-max-listpack-size"),
            set_intset_entries_max: c.int("set-max-intset-entries") as usize,
            set_listpack_entries_max: c.int("set-max-listpack-entries") as usize,
            set_listpack_value_bytes_max: c.int("set-max-listpack-value") as usize,
            hash_listpack_entries_max: c.int("hash-max-listpack-entries") as usize,
            hash_listpack_value_bytes_max: c.int("hash-max-listpack-value") as usize,
            zset_listpack_entries_max: c.int("zset-max-listpack-entries") as usize,
            zset_listpack_value_bytes_max: c.int("zset-max-listpack-value") as usize,
        };
        ks.stream_limits = zedis_keyspace::types::NodeLimits {
            node_bytes_max: c.int("stream-node-max-bytes") as usize,
            node_entries_max: c.int("stream-node-max-entries") as usize,
        };
        self.engine.fx.notify_flags =
            zedis_pubsub::NotifyFlags::parse(c.get("notify-keyspace-events").as_bytes())
                .map_or(0, zedis_pubsub::NotifyFlags::bits);
        self.engine.ks.track_new_keys =
            self.engine.fx.notify_flags & zedis_keyspace::notify::NEW != 0;
        self.clients.set_clients_max(c.int("maxclients") as usize);
        self.engine.pubsub.set_limits(zedis_pubsub::Limits {
            subscribers_per_channel_max: c.int("pubsub-max-subscribers-per-channel") as usize,
            channels_max: c.int("pubsub-max-channels") as usize,
        });
        let limits = self.settings.parser_limits;
        for ck in self.clients.keys() {
            if let Some(input) = self.clients.get_mut(ck).and_then(|c| c.input.as_mut()) {
                input.parser.set_limits(limits);
            }
        }
        self.aof_apply_config();
        let backlog_bytes = self.settings.repl_backlog_bytes;
        if let Some(backlog) = self.engine.repl.backlog.as_mut() {
            if backlog.size_bytes() != backlog_bytes {
                backlog.resize(backlog_bytes);
            }
        }
        self.acl_apply_config();
        if let Ok(level) = zedis_deploy::log::Level::parse(self.config.get("loglevel")) {
            zedis_deploy::log::set_level(level);
        }
        crate::proctitle::show_server(&self.config);
        crate::auth::apply_requirepass(self);
        self.observe_apply_config();
        self.cluster_apply_config();
        // As Redis's updateMaxmemory: a lowered limit takes effect at once (with its `evicted` events and AOF
        // DELs), not only at the next command.
        if self.budget.limit() != 0 && self.budget.over_limit() {
            let _ = self.reclaim(0, cached_ms());
        }
    }

    /// The periodic tasks: active expiry, idle timeouts, ops/sec sampling.
    fn cron(&mut self) {
        if self.engine.debug.cron_paused {
            return;
        }
        let now_ms = unix_ms();
        let budget_us = 1_000_000 / self.settings.hz / 4;
        // A replica waits for its master's DELs (Redis's activeExpireCycle runs only on masters).
        if !self.engine.repl.is_replica() && self.engine.debug.active_expire {
            let report = self.expire_cycle(now_ms, Duration::from_micros(budget_us));
            if report.time_cap_reached {
                self.engine.stats.expire_time_cap_reached += 1;
            }
        }
        // Eviction that a command left unfinished (it stops after its time limit, as Redis's performEvictions
        // does) goes on here, as Redis's evictionTimeProc.
        if self.budget.limit() != 0 && self.budget.over_limit() {
            let _ = self.reclaim(0, now_ms);
        }
        self.aof_cron();
        let second = now_ms / 1000;
        if second != self.engine.repl_last_cron_s {
            self.engine.repl_last_cron_s = second;
            self.save_points_cron(second);
            zedis_deploy::log::refresh_timezone();
            self.repl_cron_second();
        }
        self.cron_clients(now_ms);
        self.cron_stats();
        zedis_util::ticks::calibrate();
        self.metrics_cron(now_ms);
        self.observe_recharge();
    }

    /// Redis's fast expire cycle, run before the loop sleeps: when the last cycle found many expired keys, spend
    /// up to 1 ms more reclaiming them (at most once per 2 ms), so keys nobody touches go away quickly.
    pub fn fast_expire_cycle(&mut self) {
        let now_ms = cached_ms();
        if self.engine.repl.is_replica()
            || !self.engine.debug.active_expire
            || self.engine.stats.expired_stale_perc < 10.0
            || now_ms - self.engine.last_fast_expire_ms < 2
        {
            return;
        }
        self.engine.last_fast_expire_ms = now_ms;
        self.expire_cycle(now_ms, Duration::from_millis(1));
    }

    /// One active expire cycle bounded by `budget`, with its effects logged and published.
    fn expire_cycle(
        &mut self,
        now_ms: i64,
        budget: Duration,
    ) -> zedis_keyspace::commands::expire::CycleReport {
        let started = Instant::now();
        let deadline = started + budget;
        self.engine.fx.reset();
        self.engine.fx.track_touched = self.track_touched_needed();
        let report = zedis_keyspace::commands::expire::active_expire_cycle(
            &mut self.engine.ks,
            now_ms,
            deadline,
            &mut self.engine.fx,
        );
        self.drain_effects(crate::dispatch::Origin::Housekeeping);
        self.engine.observe.latency.add_sample_if_needed(
            zedis_observe::latency::events::EXPIRE_CYCLE,
            started.elapsed().as_millis() as u64,
            now_ms / 1000,
        );
        if report.sampled > 0 {
            self.engine.stats.expired_stale_perc =
                report.expired as f64 * 100.0 / report.sampled as f64;
        }
        report
    }

    /// The instantaneous ops/sec sample.
    fn cron_stats(&mut self) {
        let now = Instant::now();
        match self.engine.stats.ops_sample_at {
            Some(at) if now.duration_since(at) >= Duration::from_secs(1) => {
                let ops =
                    self.engine.stats.commands_processed - self.engine.stats.ops_sample_at_commands;
                self.engine.stats.ops_per_sec =
                    (ops as f64 / now.duration_since(at).as_secs_f64()) as u64;
                self.engine.stats.ops_sample_at = Some(now);
                self.engine.stats.ops_sample_at_commands = self.engine.stats.commands_processed;
            }
            None => self.engine.stats.ops_sample_at = Some(now),
            _ => {}
        }
    }
}
