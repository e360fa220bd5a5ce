//! Random ACL SETUSER rules for the differential tests.

use proptest::prelude::*;
use zedis_acl::hash_password;

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

pub fn selector_rule() -> BoxedStrategy<String> {
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

pub fn user_rule() -> BoxedStrategy<Vec<String>> {
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

pub fn steps() -> impl Strategy<Value = Vec<(usize, Vec<String>)>> {
    prop::collection::vec(
        (0..2usize, prop::collection::vec(user_rule(), 1..6))
            .prop_map(|(user, rules)| (user, rules.concat())),
        1..8,
    )
}
