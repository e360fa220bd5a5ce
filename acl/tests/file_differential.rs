//! Differential tests of the aclfile against a real redis-server 7.0 started with `--aclfile`: ACL SAVE
//! writes the same bytes, ACL LOAD accepts the same files and refuses bad ones with the same text.

mod common;

use common::{catalog_from_reference, Client, RedisProcess, Reply};
use zedis_acl::{Acl, ConfigUsers};

fn ok() -> Reply {
    Reply::Simple(b"OK".to_vec())
}

#[test]
fn aclfile_round_trips_and_errors_match() {
    // The file must exist before redis-server starts with --aclfile.
    let redis = RedisProcess::builder()
        .file("users.acl", "user default on nopass ~* &* +@all\n")
        .args(&["--aclfile", "{dir}/users.acl"])
        .start()
        .expect("redis-server 7.0 must be installed (the reference)");
    let path = redis.dir.join("users.acl");
    let path_text = path.to_string_lossy().to_string();
    let mut client = Client::connect(redis.port);
    let catalog = catalog_from_reference(&mut client);
    let mut acl = Acl::new(catalog, false);

    let users: &[(&str, &[&str])] = &[
        (
            "alice",
            &[
                "on",
                ">secret",
                "~cache:*",
                "%R~ro:*",
                "&news",
                "+@read",
                "-keys",
                "+select|0",
            ],
        ),
        (
            "bob",
            &[
                "off",
                "nopass",
                "allkeys",
                "+@all",
                "-@dangerous",
                "(~x +set)",
                "(%W~w &c -@all +lpush)",
            ],
        ),
        ("carol", &["reset"]),
    ];
    for (name, rules) in users {
        let args = [&["ACL", "SETUSER", name][..], rules].concat();
        assert_eq!(client.call(&args), ok());
        let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        acl.set_user(name.as_bytes(), &rules).unwrap();
    }
    assert_eq!(client.call(&["ACL", "SAVE"]), ok());
    let saved = std::fs::read(&path).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&acl.save_text()),
        String::from_utf8_lossy(&saved)
    );

    // Loading what was saved changes nothing, on both sides.
    assert_eq!(client.call(&["ACL", "LOAD"]), ok());
    let before = acl.list();
    acl.load_text(&path_text, &saved).unwrap();
    assert_eq!(acl.list(), before);

    let files: &[&[u8]] = &[
        b"user default on nopass ~* &* +@all\nuser dave on >pw ~d* +get\n\n   \nuser erin\n",
        b"user default on nopass ~* &* +@all\r\nuser frank  on   +get\r\n",
        b"user dave on +nosuch +get|x|y -@bogus\n",
        b"user dave on ~a b #xyz\n",
        b"foo bar\nuser\nuser dave on\nuser dave off\n",
        b"User dave on\n",
        b"user dave on %X~a <nopw\n",
        b"user dave ~* ~a &* &b\n",
        // An unclosed selector after other rules crashes redis-server 7.0.15 (NULL rules array); the engine
        // reports it like this one, where Redis survives.
        b"user dave (+set\n",
        b"user dave on (~a +get) (+set x)\n",
        b"# comment\n",
        b"user default off nopass ~* &* +@all -debug\n",
    ];
    for file in files {
        std::fs::write(&path, file).unwrap();
        let theirs = client.call(&["ACL", "LOAD"]);
        let ours = match acl.load_text(&path_text, file) {
            Ok(_) => ok(),
            Err(error) => Reply::Error([b"ERR ".as_slice(), &error.to_bytes()].concat()),
        };
        assert_eq!(ours, theirs, "loading {:?}", String::from_utf8_lossy(file));
        let list: Vec<Vec<u8>> = client
            .call(&["ACL", "LIST"])
            .items()
            .iter()
            .map(Reply::bytes)
            .collect();
        assert_eq!(
            acl.list(),
            list,
            "ACL LIST after loading {:?}",
            String::from_utf8_lossy(file)
        );
    }
    drop(redis);
}

#[test]
fn config_file_users_match_redis() {
    let declarations: &[&[&str]] = &[
        &[
            "user",
            "app",
            "on",
            ">pw",
            "~app:*",
            "&jobs",
            "+@read",
            "+@write",
            "-flushall",
        ],
        &[
            "user", "default", "on", "nopass", "~*", "&*", "+@all", "-debug",
        ],
        &[
            "user",
            "ro",
            "on",
            "#2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
            "%R~*",
            "+@read",
            "(~w +set)",
        ],
    ];
    let mut args: Vec<&str> = Vec::new();
    for declaration in declarations {
        args.push("--user");
        args.extend_from_slice(&declaration[1..]);
    }
    let redis =
        RedisProcess::start(&args).expect("redis-server 7.0 must be installed (the reference)");
    let mut client = Client::connect(redis.port);
    let catalog = catalog_from_reference(&mut client);
    let mut acl = Acl::new(catalog, false);
    let mut users = ConfigUsers::new();
    for declaration in declarations {
        let argv: Vec<&[u8]> = declaration.iter().map(|a| a.as_bytes()).collect();
        users.add(&acl, &argv).unwrap();
    }
    users.apply(&mut acl).unwrap();
    let theirs: Vec<Vec<u8>> = client
        .call(&["ACL", "LIST"])
        .items()
        .iter()
        .map(Reply::bytes)
        .collect();
    assert_eq!(acl.list(), theirs);
}
