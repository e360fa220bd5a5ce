//! `zedis-server`: a Redis-compatible server on a single-threaded mio event loop.
//!
//! Started like redis-server: `zedis-server [path/to/zedis.conf] [--name value ...]`. The memory strategies
//! are chosen at startup (`--allocator zedis|system`, or per part with `--kv-allocator`, `--request-allocator`,
//! `--client-allocator`) and the whole server is monomorphised for the chosen combination: no dynamic
//! dispatch on the hot path.

mod access;
mod acl_absent;
mod acl_cmds;
mod aof;
mod auth;
mod blocking;
mod client;
mod clients;
mod cluster;
mod command_docs;
mod command_meta;
mod config;
mod conn;
mod debug_cmds;
mod dispatch;
mod info;
mod introspect;
mod memory_cmds;
mod metrics_port;
mod monitor_cmd;
mod multi;
mod observe;
mod observe_cmds;
mod outlimit;
mod pause;
mod persist;
mod proctitle;
mod pubsub_cmds;
mod rdb_save;
mod repl;
mod scripting_cmds;
mod server;
mod settings;
mod table;
mod tracking_cmds;

use client::Client;
use config::Config;
use std::marker::PhantomData;
use zedis_arena::{ArenaAlloc, HeapAlloc, RequestAlloc};
use zedis_client_pool::{ClientSlots, FixedPool, HeapClients};
use zedis_deploy::service::Service;
use zedis_kv_pool::{KvAllocator, PoolAlloc, SystemAlloc};

/// The Redis version Zedis answers as (HELLO, INFO): the reference it is compatible with.
pub const REDIS_VERSION: &str = "7.0.15";

/// The memory strategies the server is built for.
pub trait Strategy: Sized + 'static {
    /// Key-value storage.
    type Kv: KvAllocator;
    /// Per-request memory.
    type Req: RequestAlloc + RequestAllocNew + 'static;
    /// Client slots.
    type Clients: ClientSlots<Client> + 'static;
}

/// A strategy combination.
pub struct Chosen<K, R, C>(PhantomData<(K, R, C)>);

impl<
        K: KvAllocator,
        R: RequestAlloc + RequestAllocNew + 'static,
        C: ClientSlots<Client> + 'static,
    > Strategy for Chosen<K, R, C>
{
    type Kv = K;
    type Req = R;
    type Clients = C;
}

/// Building a request allocator from the configuration.
pub trait RequestAllocNew {
    /// The allocator for this configuration.
    fn new_from(config: &Config) -> Self;
}

impl RequestAllocNew for ArenaAlloc {
    fn new_from(config: &Config) -> Self {
        ArenaAlloc::new(config.int("arena-retained-bytes-max") as usize)
    }
}

impl RequestAllocNew for HeapAlloc {
    fn new_from(_config: &Config) -> Self {
        HeapAlloc::new()
    }
}

const HELP: &str = "Usage: ./zedis-server [/path/to/zedis.conf] [options] [-]
       ./zedis-server - (read config from stdin)
       ./zedis-server -v or --version
       ./zedis-server -h or --help

Examples:
       ./zedis-server (run the server with default config)
       ./zedis-server /etc/zedis/6379.conf
       ./zedis-server --port 7777
       ./zedis-server --port 7777 --maxmemory 100mb --maxmemory-policy allkeys-lru
       ./zedis-server --allocator system (every memory strategy on its plain heap baseline)
       ./zedis-server /etc/myzedis.conf --loglevel verbose

Every directive of the configuration file can be given as --name value. Memory strategies:
       --allocator zedis|system            preset: zedis = pool + arena + client pool; system = heap baselines
       --kv-allocator pool|system|segment  keys and values: fixed size-class pool, the global allocator, or
                                           plain strings in TTL-bucketed segments (the rest in the pool)
       --request-allocator arena|heap      per-request memory: bumpalo arena reset per batch, or the heap
       --client-allocator pool|heap        client slots: fixed preallocated pool, or allocated on demand
I/O strategy:
       --io epoll|uring                    the main TCP listener's clients on the mio (epoll) loop, or on io_uring
";

fn run<S: Strategy>(
    config: Config,
    budget: &'static zedis_budget::Budget,
    service: Service,
) -> anyhow::Result<()> {
    let server = server::Server::<S>::new(config, budget, service)?;
    proctitle::banner(&server.core.config, env!("CARGO_PKG_VERSION"));
    zedis_deploy::notice!(
        "Zedis {} (Redis {REDIS_VERSION} compatible) listening on port {} (kv={}, request={}, clients={})",
        env!("CARGO_PKG_VERSION"),
        server.core.config.get("port"),
        S::Kv::NAME,
        <S::Req as RequestAlloc>::NAME,
        <S::Clients as ClientSlots<Client>>::NAME,
    );
    server.run()
}

fn run_with_kv<K: KvAllocator>(
    config: Config,
    budget: &'static zedis_budget::Budget,
    service: Service,
) -> anyhow::Result<()> {
    match (
        config.get("request-allocator"),
        config.get("client-allocator"),
    ) {
        ("arena", "pool") => {
            run::<Chosen<K, ArenaAlloc, FixedPool<Client>>>(config, budget, service)
        }
        ("arena", _) => run::<Chosen<K, ArenaAlloc, HeapClients<Client>>>(config, budget, service),
        (_, "pool") => run::<Chosen<K, HeapAlloc, FixedPool<Client>>>(config, budget, service),
        _ => run::<Chosen<K, HeapAlloc, HeapClients<Client>>>(config, budget, service),
    }
}

/// Resolves the preset into per-part choices; explicit per-part flags win.
fn resolve_strategies(args: &[String], config: &mut Config) -> Result<(), String> {
    let system = config.get("allocator") == "system";
    for (part, zedis, baseline) in [
        ("kv-allocator", "pool", "system"),
        ("request-allocator", "arena", "heap"),
        ("client-allocator", "pool", "heap"),
    ] {
        let explicit = args.iter().any(|a| a == &format!("--{part}"));
        if !explicit {
            config.set(part, if system { baseline } else { zedis }, false)?;
        }
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{HELP}");
        return;
    }
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "Zedis server v={} (Redis {REDIS_VERSION} compatible) bits=64",
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    let mut config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = resolve_strategies(&args, &mut config) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    // Logging, syslog, and the fork into the background: before the budget, the pool and any thread.
    let service = zedis_deploy::DeploySettings::from_config(|name| Some(config.get(name)))
        .and_then(Service::start)
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    if !config.get("replicaof").is_empty() {
        zedis_deploy::log::set_role(zedis_deploy::log::Role::Replica);
    }
    // The title takes over the argument area: with one thread, after the command line was read.
    proctitle::start(&config);
    zedis_deploy::notice!("oO0OoO0OoO0Oo Zedis is starting oO0OoO0OoO0Oo");
    zedis_deploy::notice!(
        "Zedis version={}, Redis {REDIS_VERSION} compatible, bits=64, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    if config.file.is_some() {
        zedis_deploy::notice!("Configuration loaded");
    } else {
        zedis_deploy::warning!("Warning: no config file specified, using the default config. In order to specify a config file use ./zedis-server /path/to/zedis.conf");
    }
    let maxmemory = config.int("maxmemory") as usize;
    let budget = zedis_budget::Budget::leak(maxmemory);
    zedis_budget::install(budget);
    let kv = config.get("kv-allocator");
    if kv == "segment" {
        if config.get("cluster-enabled") == "yes" {
            zedis_deploy::warning!(
                "kv-allocator segment does not support cluster-enabled yes (no per-slot index for the segment store)"
            );
            std::process::exit(1);
        }
        // Plain strings go to segment stores; every other value (and a string moved out of a segment
        // store) lives in the pool, as with `kv-allocator pool`.
        // The index fills to 100% of its primary slots before doubling (overflow buckets take the rest):
        // about 9.4 B of index per key at 1M keys (three candidate buckets keep overflow near 4%).
        zedis_keyspace::seg::set_default_config(Some(zedis_keyspace::seg::SegConfig {
            index_load_max_percent: 100,
            ..zedis_keyspace::seg::SegConfig::default()
        }));
    }
    let result = if kv == "pool" || kv == "segment" {
        // The pool's address space: the budget plus room for size-class fragmentation (only touched pages
        // become resident). Unlimited budgets get the pool's large default.
        let capacity = if maxmemory == 0 {
            0
        } else {
            maxmemory + maxmemory / 2 + (64 << 20)
        };
        if let Err(e) = PoolAlloc::install(capacity) {
            zedis_deploy::warning!("Can't reserve the key-value pool: {e}");
            std::process::exit(1);
        }
        run_with_kv::<PoolAlloc>(config, budget, service)
    } else {
        run_with_kv::<SystemAlloc>(config, budget, service)
    };
    if let Err(e) = result {
        zedis_deploy::warning!("{e}");
        std::process::exit(1);
    }
}
