//! A toy cluster node: `ClusterNode` wired into a tiny mio server, the way `zedis-server` is meant to wire
//! it (see README "Wiring it into the server"). It keeps string keys in a `HashMap` and answers PING,
//! GET, SET, DEL, DBSIZE, INFO, READONLY / READWRITE / ASKING, CLUSTER, MIGRATE and RESTORE(-ASKING),
//! with the route check in front of every keyed command, so `redis-cli -c` follows its redirections and
//! `redis-cli --cluster reshard` moves slots to and from it.
//!
//! `cargo run -p zedis-cluster --example mini_node -- <port> <dir> [node-timeout-ms]`

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use zedis_cluster::runtime::migrate::{parse_migrate, MigrateItem, Migrator};
use zedis_cluster::runtime::ServerPorts;
use zedis_cluster::{
    key_hash_slot, ClientFlags, ClusterNode, CommandCtx, CommandKind, Event, Keyspace, NodeConfig,
};
use zedis_rdb::{create_dump_payload, decode_dump_payload, EncodingConfig, Limits, RdbValue};
use zedis_resp::{parse_frame, reply, Frame, Protocol};

const LISTENER: Token = Token(0);
/// Clients are `ck + 1`; the bus gets the range from here.
const BUS_TOKEN_BASE: usize = 1 << 20;

/// db 0.
#[derive(Default)]
struct Db(HashMap<Vec<u8>, Vec<u8>>);

impl Keyspace for Db {
    fn db_keys(&mut self) -> u64 {
        self.0.len() as u64
    }
    fn count_keys_in_slot(&mut self, slot: u16) -> u64 {
        self.0.keys().filter(|k| key_hash_slot(k) == slot).count() as u64
    }
    fn keys_in_slot(&mut self, slot: u16, count: usize) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = self
            .0
            .keys()
            .filter(|k| key_hash_slot(k) == slot)
            .cloned()
            .collect();
        keys.sort();
        keys.truncate(count);
        keys
    }
}

struct Client {
    stream: TcpStream,
    input: Vec<u8>,
    out: Vec<u8>,
    flags: ClientFlags,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(7000);
    let dir = PathBuf::from(args.get(2).cloned().unwrap_or_else(|| ".".into()));
    let timeout = args.get(3).cloned().unwrap_or_else(|| "15000".into());
    let mut poll = Poll::new().expect("poll");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut listener = TcpListener::bind(addr).expect("bind the client port");
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .expect("register");
    // Step "config" and "startup" of the wiring: directives → NodeConfig → ClusterNode::start.
    let directive = |name: &str| match name {
        "cluster-node-timeout" => timeout.clone(),
        other => zedis_cluster::runtime::DIRECTIVES
            .iter()
            .find(|d| d.name == other)
            .map_or(String::new(), |d| d.default.to_string()),
    };
    let ports = ServerPorts {
        port,
        tls_port: 0,
        tls_cluster: false,
    };
    let mut cfg = NodeConfig::from_directives(directive, ports, vec!["127.0.0.1".into()], &dir)
        .unwrap_or_else(|e| fail(&e));
    cfg.token_base = BUS_TOKEN_BASE;
    cfg.tokens_max = 4096;
    let mut node =
        ClusterNode::start(cfg, poll.registry(), now_ms()).unwrap_or_else(|e| fail(&e.to_string()));
    let mut db = Db::default();
    let mut migrator = Migrator::default();
    let mut clients: Slab<Client> = Slab::new();
    let mut events = Events::with_capacity(256);
    let mut next_tick = now_ms();
    loop {
        let wait = next_tick.saturating_sub(now_ms());
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(wait))) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            fail(&e.to_string());
        }
        for event in events.iter() {
            let token = event.token();
            if token == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let entry = clients.vacant_entry();
                    let token = Token(entry.key() + 1);
                    if poll
                        .registry()
                        .register(&mut stream, token, Interest::READABLE)
                        .is_ok()
                    {
                        entry.insert(Client {
                            stream,
                            input: Vec::new(),
                            out: Vec::new(),
                            flags: ClientFlags::default(),
                        });
                    }
                }
            } else if node.owns_token(token) {
                // Step "event loop": bus tokens go to the node.
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                node.ready(token, readable, event.is_writable(), now_ms());
            } else {
                serve(&mut clients, token.0 - 1, &mut node, &mut db, &mut migrator);
            }
        }
        // Step "timer": every 100 ms.
        if now_ms() >= next_tick {
            node.tick(now_ms());
            migrator.cron(now_ms());
            next_tick = now_ms() + 100;
        }
        // Step "before sleep": what the server must do.
        for event in node.take_events() {
            act(event, &mut db);
        }
    }
}

fn fail(text: &str) -> ! {
    eprintln!("# {text}");
    std::process::exit(1)
}

fn act(event: Event, db: &mut Db) {
    match event {
        Event::DeleteKeysInSlot { slot } => db.0.retain(|k, _| key_hash_slot(k) != slot),
        Event::EmptyData => db.0.clear(),
        Event::UnsubscribeShardSlot { .. } => {}
        Event::Log { level, text } => eprintln!("{level:?} {text}"),
        Event::ConfigSaveFailed { error } => fail(&error),
        // No replication, pause or pub/sub in this toy.
        other => eprintln!("event {other:?}"),
    }
}

/// Reads a client's input, runs its commands, writes the replies.
fn serve(
    clients: &mut Slab<Client>,
    ck: usize,
    node: &mut ClusterNode,
    db: &mut Db,
    migrator: &mut Migrator,
) {
    let Some(client) = clients.get_mut(ck) else {
        return;
    };
    let mut chunk = [0u8; 16384];
    let mut closed = false;
    loop {
        match client.stream.read(&mut chunk) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => client.input.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    while let Ok(Some((frame, used))) = parse_frame(&client.input) {
        client.input.drain(..used);
        let Frame::Array(items) = frame else { break };
        let argv: Vec<Vec<u8>> = items
            .into_iter()
            .filter_map(|f| match f {
                Frame::Bulk(b) => Some(b),
                _ => None,
            })
            .collect();
        let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        if !argv.is_empty() {
            run(client, &argv, node, db, migrator);
        }
    }
    // A toy: replies are small, so one nonblocking write is taken to send them all (the server keeps its
    // own output path with writable interest).
    let _ = client.stream.write_all(&client.out);
    client.out.clear();
    if closed {
        clients.remove(ck);
    }
}

fn run(
    client: &mut Client,
    argv: &[&[u8]],
    node: &mut ClusterNode,
    db: &mut Db,
    migrator: &mut Migrator,
) {
    let name = argv[0].to_ascii_lowercase();
    let out = &mut client.out;
    let migrate = if name == b"migrate" && argv.len() >= 6 {
        match parse_migrate(argv) {
            Ok(req) => Some(req),
            Err(text) => return reply::error(out, text.as_bytes()),
        }
    } else {
        None
    };
    // Step "route check": keyed commands only.
    let (keys, is_write): (&[&[u8]], bool) = match name.as_slice() {
        b"get" if argv.len() == 2 => (&argv[1..], false),
        b"set" if argv.len() == 3 => (&argv[1..2], true),
        b"del" if argv.len() >= 2 => (&argv[1..], true),
        b"restore" | b"restore-asking" if argv.len() >= 4 => (&argv[1..2], true),
        _ => (&[], false),
    };
    let migrate_keys: Vec<&[u8]> = migrate.as_ref().map_or(Vec::new(), |r| r.keys.clone());
    let keys = if migrate.is_some() {
        &migrate_keys[..]
    } else {
        keys
    };
    if !keys.is_empty() {
        let kind = CommandKind {
            is_write: is_write || migrate.is_some(),
            asking_flag: name == b"restore-asking",
            is_migrate: migrate.is_some(),
            ..CommandKind::default()
        };
        if let Err(redirect) = node.check_route(keys, kind, client.flags, |k| db.0.contains_key(k))
        {
            out.extend_from_slice(&redirect);
            client.flags.after_command(false, false);
            return;
        }
    }
    match name.as_slice() {
        b"ping" => reply::simple(out, b"PONG"),
        b"get" if argv.len() == 2 => match db.0.get(argv[1]) {
            Some(v) => reply::bulk(out, v),
            None => reply::null(out, Protocol::Resp2),
        },
        b"set" if argv.len() == 3 => {
            db.0.insert(argv[1].to_vec(), argv[2].to_vec());
            reply::ok(out);
        }
        b"del" if argv.len() >= 2 => {
            let n = argv[1..]
                .iter()
                .filter(|k| db.0.remove(**k).is_some())
                .count();
            reply::integer(out, n as i64);
        }
        b"dbsize" => reply::integer(out, db.0.len() as i64),
        // Cluster mode has db 0 only (MIGRATE sends SELECT 0 first).
        b"select" if argv.len() == 2 && argv[1] == b"0" => reply::ok(out),
        b"select" => reply::error(out, b"ERR SELECT is not allowed in cluster mode"),
        b"migrate" => {
            let Some(req) = migrate else {
                return reply::error(out, b"ERR wrong number of arguments for 'migrate' command");
            };
            // The keys present here, with their DUMP payloads (no TTLs in this toy).
            let payloads: Vec<(&[u8], Vec<u8>)> = req
                .keys
                .iter()
                .filter_map(|k| {
                    let v = db.0.get(*k)?;
                    let value = RdbValue::String(v.clone());
                    Some((*k, create_dump_payload(&value, &EncodingConfig::default())))
                })
                .collect();
            let items: Vec<MigrateItem<'_>> = payloads
                .iter()
                .map(|(key, payload)| MigrateItem {
                    key,
                    ttl_ms: 0,
                    payload,
                })
                .collect();
            let outcome = migrator.migrate(&req, &items, true, now_ms());
            if !req.copy {
                for &i in &outcome.accepted {
                    db.0.remove(items[i].key);
                }
            }
            out.extend_from_slice(&outcome.reply);
        }
        b"restore" | b"restore-asking" if argv.len() >= 4 => {
            let replace = argv[4..].iter().any(|a| a.eq_ignore_ascii_case(b"replace"));
            if !replace && db.0.contains_key(argv[1]) {
                reply::error(out, b"BUSYKEY Target key name already exists.");
            } else {
                match decode_dump_payload(argv[3], Limits::default()) {
                    Ok(RdbValue::String(v)) => {
                        db.0.insert(argv[1].to_vec(), v);
                        reply::ok(out);
                    }
                    _ => reply::error(out, b"ERR DUMP payload version or checksum are wrong"),
                }
            }
        }
        b"info" => {
            let keys = db.0.len();
            let mut text = String::from("# Cluster\r\ncluster_enabled:1\r\n");
            if keys > 0 {
                text.push_str(&format!(
                    "# Keyspace\r\ndb0:keys={keys},expires=0,avg_ttl=0\r\n"
                ));
            }
            reply::bulk(out, text.as_bytes());
        }
        b"readonly" => client.flags.readonly_command(out),
        b"readwrite" => client.flags.readwrite_command(out),
        b"asking" => client.flags.asking_command(out),
        b"cluster" => {
            // Step "commands": the whole CLUSTER command is the node's.
            let mut ctx = CommandCtx {
                proto: Protocol::Resp2,
                now_ms: now_ms(),
                keyspace: db,
            };
            let bytes = node.command(argv, &mut ctx);
            out.extend_from_slice(&bytes);
            for event in node.take_events() {
                act(event, db);
            }
        }
        _ => reply::error(out, b"ERR unknown command"),
    }
    client.flags.after_command(name == b"asking", false);
}
