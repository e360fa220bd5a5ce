//! Differential test: random ACL SETUSER sequences applied to a real redis-server 7.0 and to the engine;
//! SETUSER replies (OK or error text), ACL LIST and ACL GETUSER must match byte for byte.

mod common;

use common::{catalog_from_reference, Client, RedisProcess, Reply};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use zedis_acl::{hash_password, Acl, AclError, SelectorInfo, UserInfo};

const COMMANDS: &[&str] = &[
    "get",
    "set",
    "GET",
    "config",
    "config|get",
    "config|set",
    "client",
    "client|list",
    "client|kill",
    "acl",
    "acl|whoami",
    "select",
    "debug",
    "keys",
    "info",
    "ping",
    "auth",
    "hello",
    "subscribe",
    "publish",
    "xinfo|stream",
    "object|encoding",
    "flushall",
    "eval",
    "multi",
    "exec",
    "nosuch",
    "config|nosuch",
    "config|get|x",
    "get|",
    "",
    "lpush",
    "zadd",
    "sort",
];
const FIRST_ARGS: &[&str] = &[
    "select|0",
    "select|1",
    "get|x",
    "debug|object",
    "SELECT|0",
    "config|",
];
const CATEGORY_NAMES: &[&str] = &[
    "all",
    "read",
    "write",
    "keyspace",
    "string",
    "admin",
    "dangerous",
    "fast",
    "slow",
    "pubsub",
    "connection",
    "scripting",
    "list",
    "hash",
    "set",
    "sortedset",
    "nosuch",
    "READ",
];
const KEYS: &[&str] = &["a", "b*", "*", "a?c", "x y", ""];
const CHANNELS: &[&str] = &["ch", "ch*", "*", "news.*"];

fn selector_rule() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (prop::bool::ANY, prop::sample::select(COMMANDS)).prop_map(|(plus, c)| format!("{}{c}", if plus { '+' } else { '-' })),
        1 => prop::sample::select(FIRST_ARGS).prop_map(|c| format!("+{c}")),
        3 => (prop::bool::ANY, prop::sample::select(CATEGORY_NAMES)).prop_map(|(plus, c)| format!("{}@{c}", if plus { '+' } else { '-' })),
        2 => (prop::sample::select(&["~", "%R~", "%W~", "%RW~", "%r~", "%WR~", "%", "%X~", "%~"][..]), prop::sample::select(KEYS))
            .prop_map(|(p, k)| format!("{p}{k}")),
        1 => prop::sample::select(&["allkeys", "resetkeys", "allchannels", "resetchannels", "allcommands", "nocommands", "~*", "&*"][..])
            .prop_map(str::to_string),
        1 => prop::sample::select(CHANNELS).prop_map(|c| format!("&{c}")),
        1 => prop::sample::select(&["bogus", "on"][..]).prop_map(str::to_string),
    ]
    .boxed()
}

fn user_rule() -> BoxedStrategy<Vec<String>> {
    let hash_a = String::from_utf8(hash_password(b"a").to_vec()).unwrap();
    let hash_b = String::from_utf8(hash_password(b"b").to_vec()).unwrap();
    let passwords = vec![
        ">a".to_string(),
        ">b".into(),
        "<a".into(),
        "<b".into(),
        format!("#{hash_a}"),
        format!("!{hash_b}"),
        "#abc".into(),
        "nopass".into(),
        "resetpass".into(),
    ];
    prop_oneof![
        6 => selector_rule().prop_map(|r| vec![r]),
        2 => prop::sample::select(&["on", "off", "reset", "clearselectors", "sanitize-payload", "skip-sanitize-payload", ""][..])
            .prop_map(|r| vec![r.to_string()]),
        2 => prop::sample::select(passwords).prop_map(|r| vec![r]),
        2 => (prop::collection::vec(selector_rule(), 0..4), prop::bool::ANY).prop_map(|(inner, split)| {
            let joined = format!("({})", inner.join(" "));
            if split { joined.split(' ').map(str::to_string).collect() } else { vec![joined] }
        }),
        1 => Just(vec!["(~a".to_string(), "+get".to_string()]),
    ]
    .boxed()
}

fn steps() -> impl Strategy<Value = Vec<(usize, Vec<String>)>> {
    prop::collection::vec(
        (0..2usize, prop::collection::vec(user_rule(), 1..6))
            .prop_map(|(user, rules)| (user, rules.concat())),
        1..8,
    )
}

fn setuser_reply(result: Result<zedis_acl::SetUserOutcome, AclError>) -> Reply {
    match result {
        Ok(_) => Reply::Simple(b"OK".to_vec()),
        Err(error) => Reply::Error([b"ERR ".as_slice(), &error.to_bytes()].concat()),
    }
}

fn selector_reply(info: &SelectorInfo) -> Vec<Reply> {
    vec![
        Reply::bulk("commands"),
        Reply::bulk(&info.commands),
        Reply::bulk("keys"),
        Reply::bulk(&info.keys),
        Reply::bulk("channels"),
        Reply::bulk(&info.channels),
    ]
}

/// ACL GETUSER as Redis sends it in RESP2.
pub fn getuser_reply(info: Option<UserInfo>) -> Reply {
    let Some(info) = info else {
        return Reply::Bulk(None);
    };
    let mut out = vec![
        Reply::bulk("flags"),
        Reply::Array(Some(info.flags.iter().map(Reply::bulk).collect())),
        Reply::bulk("passwords"),
        Reply::Array(Some(info.passwords.iter().map(Reply::bulk).collect())),
    ];
    out.extend(selector_reply(&info.root));
    out.push(Reply::bulk("selectors"));
    out.push(Reply::Array(Some(
        info.selectors
            .iter()
            .map(|s| Reply::Array(Some(selector_reply(s))))
            .collect(),
    )));
    Reply::Array(Some(out))
}

fn list_reply(acl: &Acl) -> Reply {
    Reply::Array(Some(acl.list().iter().map(Reply::bulk).collect()))
}

fn run_case(
    client: &mut Client,
    catalog: &zedis_acl::CommandCatalog,
    steps: &[(usize, Vec<String>)],
) -> Result<(), TestCaseError> {
    const NAMES: [&str; 2] = ["u1", "u2"];
    client.call(&["ACL", "DELUSER", "u1", "u2"]);
    let mut acl = Acl::new(catalog.clone(), false);
    for (user, rules) in steps {
        let mut args = vec!["ACL".to_string(), "SETUSER".into(), NAMES[*user].into()];
        args.extend(rules.iter().cloned());
        let theirs = client.call(&args);
        let rule_bytes: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        let ours = setuser_reply(acl.set_user(NAMES[*user].as_bytes(), &rule_bytes));
        prop_assert_eq!(&ours, &theirs, "SETUSER {:?}", rules);
        prop_assert_eq!(
            list_reply(&acl),
            client.call(&["ACL", "LIST"]),
            "ACL LIST after {:?}",
            rules
        );
        for name in NAMES {
            let theirs = client.call(&["ACL", "GETUSER", name]);
            prop_assert_eq!(
                getuser_reply(acl.get_user(name.as_bytes())),
                theirs,
                "GETUSER {} after {:?}",
                name,
                rules
            );
        }
    }
    Ok(())
}

#[test]
fn setuser_list_getuser_match_redis() {
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server not available: skipped");
        return;
    };
    let mut client = redis.client();
    let catalog = catalog_from_reference(&mut client);
    let client = std::cell::RefCell::new(client);
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    runner
        .run(&steps(), |steps| {
            run_case(&mut client.borrow_mut(), &catalog, &steps)
        })
        .unwrap();
}

#[test]
fn fixed_cases_match_redis() {
    let Some(redis) = RedisProcess::start(&[]) else {
        eprintln!("redis-server not available: skipped");
        return;
    };
    let mut client = redis.client();
    let catalog = catalog_from_reference(&mut client);
    let cases: Vec<Vec<&str>> = vec![
        vec!["on", "+@all", "-@dangerous", "~*", "&*"],
        vec![
            "-@all",
            "+@read",
            "+@write",
            "-set",
            "+config|get",
            "+select|0",
            "+select|1",
        ],
        vec!["+@all", "-config", "+config|get", "-@string", "+get"],
        vec!["+client", "-client|kill", "%R~r*", "%W~w*", "~rw", "%R~rw"],
        vec!["(~a +get)", "(", "+set", "%W~b)"],
        vec!["+@all", "-@all", "+acl|whoami", "+@pubsub", "-publish"],
    ];
    for rules in cases {
        let steps = vec![(0, rules.iter().map(|r| r.to_string()).collect())];
        run_case(&mut client, &catalog, &steps).unwrap();
    }
}
