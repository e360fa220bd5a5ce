//! Differential test: random ACL SETUSER sequences applied to a real redis-server 7.0 and to the engine;
//! SETUSER replies (OK or error text), ACL LIST and ACL GETUSER must match byte for byte.

mod common;

use common::rules::steps;
use common::{catalog_from_reference, Client, RedisProcess, Reply};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use zedis_acl::{Acl, AclError, SelectorInfo, UserInfo};

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
    pubsub_all: bool,
    steps: &[(usize, Vec<String>)],
) -> Result<(), TestCaseError> {
    const NAMES: [&str; 2] = ["u1", "u2"];
    client.call(&["ACL", "DELUSER", "u1", "u2"]);
    let mut acl = Acl::new(catalog.clone(), pubsub_all);
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

/// Runs `cases` random sequences against a reference started with `args`.
fn random_sequences(args: &[&str], pubsub_all: bool, cases: u32) {
    let redis =
        RedisProcess::start(args).expect("redis-server 7.0 must be installed (the reference)");
    let mut client = Client::connect(redis.port);
    let catalog = catalog_from_reference(&mut client);
    let client = std::cell::RefCell::new(client);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    runner
        .run(&steps(), |steps| {
            run_case(&mut client.borrow_mut(), &catalog, pubsub_all, &steps)
        })
        .unwrap();
}

#[test]
fn setuser_list_getuser_match_redis() {
    random_sequences(&[], false, 400);
}

#[test]
fn pubsub_default_allchannels_matches_redis() {
    random_sequences(&["--acl-pubsub-default", "allchannels"], true, 150);
}

#[test]
fn fixed_cases_match_redis() {
    let redis =
        RedisProcess::start(&[]).expect("redis-server 7.0 must be installed (the reference)");
    let mut client = Client::connect(redis.port);
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
        run_case(&mut client, &catalog, false, &steps).unwrap();
    }
}
