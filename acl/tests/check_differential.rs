//! Differential tests of checking against a real redis-server 7.0: ACL DRYRUN for random users and
//! commands, ACL CAT, ACL LOG entries for real denials, ACL GENPASS.

mod common;

use common::rules::steps;
use common::{catalog_from_reference, Client, RedisProcess, Reply};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use zedis_acl::{
    genpass, Acl, AclCommandId, AclLog, ChannelRef, CommandCatalog, Denial, DenialReason, KeyRef,
    LogContext, LogEntry, Request, UserId,
};

/// Commands to try (argv), covering keys with read/write flags, subcommands, first-args, channels.
const CALLS: &[&str] = &[
    "get a",
    "get abc",
    "set a v",
    "set b1 v",
    "mset a 1 b 2",
    "mset b 1 a 2",
    "lpush l x",
    "del a b",
    "copy a b",
    "copy b a",
    "rename a b",
    "exists a",
    "sort a",
    "object encoding a",
    "config get maxmemory",
    "client list",
    "select 0",
    "select 1",
    "SELECT 0",
    "ping",
    "auth x y",
    "publish ch m",
    "publish news.1 m",
    "subscribe ch ch2",
    "psubscribe ch*",
    "psubscribe news.*",
    "ssubscribe ch",
    "spublish ch m",
    "unsubscribe ch",
    "keys *",
    "debug object a",
];

/// The argv positions of `keys` (in order, each after the previous one).
fn key_positions(argv: &[&str], keys: &[(Vec<u8>, bool, bool)]) -> Vec<usize> {
    let mut from = 1;
    keys.iter()
        .map(|(name, _, _)| {
            let pos = (from..argv.len())
                .find(|&i| argv[i].as_bytes() == name.as_slice())
                .unwrap_or(from);
            from = pos + 1;
            pos
        })
        .collect()
}

/// Keys and their read/write flags, from the reference's COMMAND GETKEYSANDFLAGS.
fn reference_keys(client: &mut Client, argv: &[&str]) -> Vec<(Vec<u8>, bool, bool)> {
    let mut args = vec!["COMMAND", "GETKEYSANDFLAGS"];
    args.extend_from_slice(argv);
    match client.call(&args) {
        Reply::Array(Some(items)) => items
            .iter()
            .map(|item| {
                let fields = item.items();
                let flags: Vec<Vec<u8>> = fields[1].items().iter().map(Reply::bytes).collect();
                let has = |f: &str| flags.iter().any(|x| x == f.as_bytes());
                (
                    fields[0].bytes(),
                    has("access"),
                    has("insert") || has("delete") || has("update"),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Channels a call publishes or subscribes to (the key specs do not say; Redis's channel getters do).
fn channels<'a>(argv: &[&'a str]) -> Vec<ChannelRef<'a>> {
    let all = |pattern: bool| {
        (1..argv.len())
            .map(|pos| ChannelRef {
                pos,
                name: argv[pos].as_bytes(),
                pattern,
            })
            .collect::<Vec<_>>()
    };
    match argv[0].to_ascii_lowercase().as_str() {
        "publish" | "spublish" => vec![ChannelRef {
            pos: 1,
            name: argv[1].as_bytes(),
            pattern: false,
        }],
        "subscribe" | "ssubscribe" => all(false),
        "psubscribe" => all(true),
        _ => Vec::new(),
    }
}

/// The command (or subcommand) and its first argument, as the server resolves them.
fn resolve(catalog: &CommandCatalog, argv: &[&str]) -> (AclCommandId, Option<usize>) {
    let top = catalog.get(argv[0]).expect("known command");
    if !catalog.entry(top).subcommands.is_empty() && argv.len() > 1 {
        if let Some(sub) = catalog.get(&format!("{}|{}", argv[0], argv[1])) {
            return (sub, (argv.len() > 2).then_some(2));
        }
    }
    (top, (argv.len() > 1).then_some(1))
}

/// The engine's verdict for `user` running `call` (keys from the reference's key specs).
fn engine_check(acl: &Acl, client: &mut Client, user: UserId, call: &str) -> Result<(), Denial> {
    let argv: Vec<&str> = call.split(' ').collect();
    let keys = reference_keys(client, &argv);
    let positions = key_positions(&argv, &keys);
    let key_refs: Vec<KeyRef<'_>> = keys
        .iter()
        .zip(&positions)
        .map(|((name, read, write), &pos)| KeyRef {
            pos,
            name,
            read: *read,
            write: *write,
        })
        .collect();
    let channel_refs = channels(&argv);
    let (command, first) = resolve(acl.catalog(), &argv);
    let request = Request {
        command,
        first_arg: first.map(|i| argv[i].as_bytes()),
        keys: &key_refs,
        channels: &channel_refs,
    };
    acl.check(user, &request)
}

fn engine_dryrun(acl: &Acl, client: &mut Client, user: &str, call: &str) -> Reply {
    let Some(id) = acl.user_id(user.as_bytes()) else {
        return Reply::Error(format!("ERR User '{user}' not found").into_bytes());
    };
    match engine_check(acl, client, id, call) {
        Ok(()) => Reply::Simple(b"OK".to_vec()),
        Err(denial) => Reply::Bulk(Some(denial.dryrun_message())),
    }
}

/// Applies random SETUSER steps to the reference and a fresh engine; their verdicts must agree.
fn apply_steps(
    client: &mut Client,
    catalog: &CommandCatalog,
    steps: &[(usize, Vec<String>)],
) -> Result<Acl, TestCaseError> {
    client.call(&["ACL", "DELUSER", "u1", "u2"]);
    let mut acl = Acl::new(catalog.clone(), false);
    for (user, rules) in steps {
        let name = ["u1", "u2"][*user];
        let mut args = vec!["ACL".to_string(), "SETUSER".into(), name.into()];
        args.extend(rules.iter().cloned());
        let theirs = client.call(&args);
        let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        prop_assert_eq!(
            acl.set_user(name.as_bytes(), &rules).is_ok(),
            theirs == Reply::Simple(b"OK".to_vec())
        );
    }
    Ok(acl)
}

fn start() -> (RedisProcess, Client, CommandCatalog) {
    let redis =
        RedisProcess::start(&[]).expect("redis-server 7.0 must be installed (the reference)");
    let mut client = Client::connect(redis.port);
    let catalog = catalog_from_reference(&mut client);
    (redis, client, catalog)
}

#[test]
fn dryrun_matches_redis() {
    let (_redis, client, catalog) = start();
    let client = std::cell::RefCell::new(client);
    // Replies seen: OK, command, key, channel denials (the run must exercise all four).
    let seen = std::cell::RefCell::new([0usize; 4]);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    let strategy = (
        steps(),
        prop::collection::vec(prop::sample::select(CALLS), 1..8),
    );
    runner
        .run(&strategy, |(steps, calls)| {
            let mut client = client.borrow_mut();
            let acl = apply_steps(&mut client, &catalog, &steps)?;
            for call in &calls {
                for user in ["u1", "u2", "default"] {
                    let mut args = vec!["ACL", "DRYRUN", user];
                    args.extend(call.split(' '));
                    let theirs = client.call(&args);
                    let ours = engine_dryrun(&acl, &mut client, user, call);
                    let kind = match &ours {
                        Reply::Simple(_) => 0,
                        Reply::Bulk(Some(m)) if m.ends_with(b"command") => 1,
                        Reply::Bulk(Some(m)) if m.ends_with(b"key") => 2,
                        _ => 3,
                    };
                    seen.borrow_mut()[kind] += 1;
                    prop_assert_eq!(ours, theirs, "DRYRUN {} {} with {:?}", user, call, steps);
                }
            }
            Ok(())
        })
        .unwrap();
    let seen = seen.into_inner();
    assert!(
        seen.iter().all(|&n| n > 0),
        "replies seen (ok, command, key, channel): {seen:?}"
    );
}

/// Calls that keep the connection usable (no subscribing, no AUTH) for real execution; DEBUG is refused
/// by its config before any ACL check.
fn runnable(call: &str) -> bool {
    !["subscribe", "psubscribe", "ssubscribe", "auth", "debug"]
        .contains(&call.split(' ').next().unwrap_or_default())
}

#[test]
fn noperm_replies_match_redis() {
    let (redis, client, catalog) = start();
    let client = std::cell::RefCell::new(client);
    let denied = std::cell::Cell::new(0usize);
    let mut runner = TestRunner::new(Config {
        cases: 150,
        ..Config::default()
    });
    let strategy = (
        steps(),
        prop::collection::vec(prop::sample::select(CALLS), 1..8),
    );
    runner
        .run(&strategy, |(steps, calls)| {
            let mut client = client.borrow_mut();
            let mut acl = apply_steps(&mut client, &catalog, &steps)?;
            for name in ["u1", "u2"] {
                // Only authentication changes: permissions stay as the random steps left them.
                client.call(&["ACL", "SETUSER", name, "on", "nopass"]);
                acl.set_user(name.as_bytes(), &[b"on", b"nopass"]).unwrap();
            }
            for name in ["u1", "u2"] {
                let mut conn = Client::connect(redis.port);
                prop_assert_eq!(
                    conn.call(&["AUTH", name, "x"]),
                    Reply::Simple(b"OK".to_vec())
                );
                let id = acl.user_id(name.as_bytes()).unwrap();
                for call in calls.iter().filter(|c| runnable(c)) {
                    let argv: Vec<&str> = call.split(' ').collect();
                    let theirs = conn.call(&argv);
                    match engine_check(&acl, &mut client, id, call) {
                        Ok(()) => prop_assert!(
                            !matches!(&theirs, Reply::Error(e) if e.starts_with(b"NOPERM")),
                            "{} {}: {:?}",
                            name,
                            call,
                            theirs
                        ),
                        Err(denial) => {
                            denied.set(denied.get() + 1);
                            prop_assert_eq!(
                                Reply::Error(denial.message()),
                                theirs,
                                "{} {}",
                                name,
                                call
                            );
                        }
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(denied.get() > 0);
}

#[test]
fn cat_matches_redis() {
    let (_redis, mut client, catalog) = start();
    let acl = Acl::new(catalog, false);
    let theirs = client.call(&["ACL", "CAT"]);
    assert_eq!(
        Reply::Array(Some(acl.categories().iter().map(Reply::bulk).collect())),
        theirs
    );
    let long = "x".repeat(200);
    for category in acl
        .categories()
        .iter()
        .copied()
        .chain(["READ", "nosuch", long.as_str()])
    {
        let theirs = client.call(&["ACL", "CAT", category]);
        let ours = match acl.category_commands(category.as_bytes()) {
            Ok(names) => Reply::Array(Some(names.iter().map(Reply::bulk).collect())),
            Err(error) => Reply::Error([b"ERR ".as_slice(), &error.to_bytes()].concat()),
        };
        assert_eq!(ours, theirs, "ACL CAT {category}");
    }
}

/// count, reason, context, object, username of one ACL LOG entry.
type LogFields = (i64, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

fn log_fields(reply: &Reply) -> Vec<LogFields> {
    reply
        .items()
        .iter()
        .map(|entry| {
            let f = entry.items();
            let Reply::Int(count) = f[1] else {
                panic!("count")
            };
            (
                count,
                f[3].bytes(),
                f[5].bytes(),
                f[7].bytes(),
                f[9].bytes(),
            )
        })
        .collect()
}

#[test]
fn log_entries_match_redis() {
    let (redis, mut admin, catalog) = start();
    let mut acl = Acl::new(catalog, false);
    let mut log = AclLog::new(5);
    assert_eq!(
        admin.call(&["CONFIG", "SET", "acllog-max-len", "5"]),
        Reply::Simple(b"OK".to_vec())
    );
    let rules = [
        "on", ">pw", "~a*", "&ch", "+@read", "+publish", "+multi", "+discard", "+exec", "+auth",
    ];
    admin.call(&[&["ACL", "SETUSER", "app"][..], &rules].concat());
    let rule_bytes: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
    acl.set_user(b"app", &rule_bytes).unwrap();
    let mut user = Client::connect(redis.port);
    assert_eq!(
        user.call(&["AUTH", "app", "pw"]),
        Reply::Simple(b"OK".to_vec())
    );
    let app = acl.user_id(b"app").unwrap();
    let now_ms = 1_000_000;
    let calls: &[(&str, bool)] = &[
        ("get b", false),
        ("get b", false),
        ("set a 1", false),
        ("get a", false),
        ("publish x m", false),
        ("publish ch m", false),
        ("get b", false),
        ("mget a b c", false),
        ("get b", true),
        ("set a 1", true),
    ];
    for &(call, in_multi) in calls {
        let argv: Vec<&str> = call.split(' ').collect();
        if in_multi {
            user.call(&["MULTI"]);
        }
        let reply = user.call(&argv);
        if in_multi {
            user.call(&["DISCARD"]);
        }
        let keys = reference_keys(&mut admin, &argv);
        let positions = key_positions(&argv, &keys);
        let key_refs: Vec<KeyRef<'_>> = keys
            .iter()
            .zip(&positions)
            .map(|((name, read, write), &pos)| KeyRef {
                pos,
                name,
                read: *read,
                write: *write,
            })
            .collect();
        let channel_refs = channels(&argv);
        let (command, first) = resolve(acl.catalog(), &argv);
        let request = Request {
            command,
            first_arg: first.map(|i| argv[i].as_bytes()),
            keys: &key_refs,
            channels: &channel_refs,
        };
        match acl.check(app, &request) {
            Ok(()) => assert!(
                !matches!(reply, Reply::Error(ref e) if e.starts_with(b"NOPERM")),
                "{call}: {reply:?}"
            ),
            Err(denial) => {
                assert_eq!(reply, Reply::Error(denial.message()), "{call}");
                log.add(LogEntry {
                    count: 1,
                    reason: denial.reason,
                    context: if in_multi {
                        LogContext::Multi
                    } else {
                        LogContext::Toplevel
                    },
                    object: denial.object.clone(),
                    username: b"app".to_vec(),
                    time_ms: now_ms,
                    client_info: Vec::new(),
                });
            }
        }
    }
    // Rules changed between queueing and EXEC: the queued command fails with the EXEC text and is logged
    // in the multi context.
    assert_eq!(user.call(&["MULTI"]), Reply::Simple(b"OK".to_vec()));
    assert_eq!(user.call(&["GET", "a1"]), Reply::Simple(b"QUEUED".to_vec()));
    assert_eq!(
        admin.call(&["ACL", "SETUSER", "app", "-get"]),
        Reply::Simple(b"OK".to_vec())
    );
    acl.set_user(b"app", &[b"-get"]).unwrap();
    let key = [KeyRef {
        pos: 1,
        name: b"a1",
        read: true,
        write: false,
    }];
    let get = acl.catalog().get("get").unwrap();
    let denial = acl
        .check(
            app,
            &Request {
                command: get,
                first_arg: Some(b"a1"),
                keys: &key,
                channels: &[],
            },
        )
        .unwrap_err();
    assert_eq!(
        user.call(&["EXEC"]),
        Reply::Array(Some(vec![Reply::Error(denial.exec_message().into_bytes())]))
    );
    log.add(LogEntry {
        count: 1,
        reason: denial.reason,
        context: LogContext::Multi,
        object: denial.object.clone(),
        username: b"app".to_vec(),
        time_ms: now_ms,
        client_info: Vec::new(),
    });
    // A failed AUTH is logged with the command as typed and the user tried.
    assert!(matches!(
        user.call(&["auth", "app", "wrong"]),
        Reply::Error(_)
    ));
    assert!(acl.authenticate(b"app", b"wrong").is_err());
    assert!(acl.authenticate(b"app", b"pw").is_ok());
    log.add(LogEntry {
        count: 1,
        reason: DenialReason::Auth,
        context: LogContext::Toplevel,
        object: b"auth".to_vec(),
        username: b"app".to_vec(),
        time_ms: now_ms,
        client_info: Vec::new(),
    });
    let theirs = log_fields(&admin.call(&["ACL", "LOG", "100"]));
    let ours: Vec<_> = log
        .newest(100)
        .map(|e| {
            (
                e.count as i64,
                e.reason.name().as_bytes().to_vec(),
                e.context.name().as_bytes().to_vec(),
                e.object.clone(),
                e.username.clone(),
            )
        })
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(
        log_fields(&admin.call(&["ACL", "LOG", "2"])),
        ours[..2].to_vec()
    );
}

#[test]
fn genpass_matches_redis() {
    let (_redis, mut client, _) = start();
    for bits in [1, 4, 5, 8, 255, 256, 4096] {
        let theirs = client.call(&["ACL", "GENPASS", &bits.to_string()]).bytes();
        let ours = genpass(bits).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{bits} bits");
        assert!(ours
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
    assert_ne!(genpass(256).unwrap(), genpass(256).unwrap());
    for bits in [0, -1, 4097] {
        let theirs = client.call(&["ACL", "GENPASS", &bits.to_string()]);
        let ours =
            Reply::Error([b"ERR ".as_slice(), &genpass(bits).unwrap_err().to_bytes()].concat());
        assert_eq!(ours, theirs);
    }
}
