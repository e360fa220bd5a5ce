//! CLIENT TRACKING against a real redis-server: the same clients, reads and writes there and in
//! [`TrackingTable`] must produce the same invalidation bytes (RESP3 pushes, RESP2 `__redis__:invalidate`
//! messages through REDIRECT, BCAST arrays, flush nulls, broken redirects) and the same command replies.

mod common;

use common::{int, Client};
use std::collections::HashMap;
use zedis_observe::{ClientConn, ClientDirectory, ClientId, Invalidation, TrackingTable};
use zedis_resp::{reply, Protocol};

#[derive(Default)]
struct Dir(HashMap<ClientId, ClientConn>);

impl ClientDirectory for Dir {
    fn lookup(&self, id: ClientId) -> Option<ClientConn> {
        self.0.get(&id).copied()
    }
}

/// Connects a client in `proto`, registers it in `dir`, returns it and its id.
fn connect(redis: &common::RedisProcess, dir: &mut Dir, proto: Protocol) -> (Client, ClientId) {
    let mut client = redis.client();
    if proto == Protocol::Resp3 {
        client.cmd(&["HELLO", "3"]);
    }
    let id = int(&client.cmd(&["CLIENT", "ID"])) as ClientId;
    dir.0.insert(
        id,
        ClientConn {
            proto,
            subscribed: false,
        },
    );
    (client, id)
}

/// The bytes of the next `n` replies/pushes on `client`.
fn next_bytes(client: &mut Client, n: usize) -> Vec<u8> {
    (0..n).flat_map(|_| client.read_raw().0).collect()
}

fn bytes_for(out: &[Invalidation], to: ClientId) -> Vec<u8> {
    out.iter()
        .filter(|i| i.to == to)
        .flat_map(|i| i.bytes.clone())
        .collect()
}

fn assert_same(ours: &[u8], redis: &[u8]) {
    assert_eq!(
        String::from_utf8_lossy(ours),
        String::from_utf8_lossy(redis)
    );
}

#[test]
fn invalidations_match_redis() {
    let redis = reference_or_skip!();
    let mut dir = Dir::default();
    let mut table = TrackingTable::default();
    let (mut writer, w) = connect(&redis, &mut dir, Protocol::Resp2);

    // RESP3 default mode.
    let (mut a, a_id) = connect(&redis, &mut dir, Protocol::Resp3);
    a.cmd(&["CLIENT", "TRACKING", "ON"]);
    table.client_tracking(a_id, &[b"on"], &dir).unwrap();
    a.cmd(&["GET", "k"]);
    table.remember_keys(a_id, &[b"k"]);

    // RESP2 redirected to a subscribed RESP2 client.
    let (mut b, b_id) = connect(&redis, &mut dir, Protocol::Resp2);
    b.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    dir.0.get_mut(&b_id).unwrap().subscribed = true;
    let (mut a2, a2_id) = connect(&redis, &mut dir, Protocol::Resp2);
    let redirect = b_id.to_string();
    a2.cmd(&["CLIENT", "TRACKING", "ON", "REDIRECT", &redirect]);
    table
        .client_tracking(a2_id, &[b"on", b"redirect", redirect.as_bytes()], &dir)
        .unwrap();
    a2.cmd(&["MGET", "k", "k2"]);
    table.remember_keys(a2_id, &[b"k", b"k2"]);

    // BCAST with prefixes and NOLOOP.
    let (mut d, d_id) = connect(&redis, &mut dir, Protocol::Resp3);
    let bcast: [&str; 8] = [
        "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a:", "PREFIX", "b:",
    ];
    d.cmd(&[&bcast[..], &["NOLOOP"]].concat());
    let args: Vec<&[u8]> = bcast[2..]
        .iter()
        .chain(&["NOLOOP"])
        .map(|s| s.as_bytes())
        .collect();
    table.client_tracking(d_id, &args, &dir).unwrap();
    d.cmd(&["SET", "a:self", "1"]);
    let mut out = Vec::new();
    table.invalidate_key(b"a:self", Some(d_id), Some(d_id), &dir, &mut out);
    table.broadcast(&dir, &mut out);
    assert!(out.is_empty());

    writer.cmd(&["SET", "k", "v"]);
    writer.cmd(&["MSET", "a:1", "x", "b:2", "y", "a:3", "z", "k2", "w"]);
    let mut out = Vec::new();
    table.invalidate_key(b"k", Some(w), Some(w), &dir, &mut out);
    table.broadcast(&dir, &mut out);
    for key in [&b"a:1"[..], b"b:2", b"a:3", b"k2"] {
        table.invalidate_key(key, Some(w), Some(w), &dir, &mut out);
    }
    table.broadcast(&dir, &mut out);
    assert_same(&bytes_for(&out, a_id), &next_bytes(&mut a, 1));
    assert_same(&bytes_for(&out, b_id), &next_bytes(&mut b, 2));
    assert_same(&bytes_for(&out, d_id), &next_bytes(&mut d, 2));
    assert!(bytes_for(&out, a2_id).is_empty());

    // FLUSHALL: a null to every tracking client, in the tracking client's protocol.
    writer.cmd(&["FLUSHALL"]);
    let mut out = Vec::new();
    table.invalidate_all(&dir, &mut out);
    assert_same(&bytes_for(&out, a_id), &next_bytes(&mut a, 1));
    assert_same(&bytes_for(&out, b_id), &next_bytes(&mut b, 1));
    assert_same(&bytes_for(&out, d_id), &next_bytes(&mut d, 1));
    assert_eq!(table.total_keys(), 0);

    // RESP2 tracker redirecting to a RESP3 client (a push there); RESP2 tracker without redirect and one
    // redirecting to an unsubscribed RESP2 client (nothing: RESP2 has no pushes outside pub/sub).
    let (mut r1, r1_id) = connect(&redis, &mut dir, Protocol::Resp2);
    let (mut r2, r2_id) = connect(&redis, &mut dir, Protocol::Resp2);
    let (mut plain, plain_id) = connect(&redis, &mut dir, Protocol::Resp2);
    let to_a = a_id.to_string();
    let to_plain = plain_id.to_string();
    for (client, id, args) in [
        (&mut r1, r1_id, vec!["on", "redirect", to_a.as_str()]),
        (&mut r2, r2_id, vec!["on", "redirect", to_plain.as_str()]),
        (&mut plain, plain_id, vec!["on"]),
    ] {
        client.cmd(&[&["CLIENT", "TRACKING"][..], &args].concat());
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        table.client_tracking(id, &args, &dir).unwrap();
        client.cmd(&["GET", "r"]);
        table.remember_keys(id, &[b"r"]);
    }
    writer.cmd(&["SET", "r", "1"]);
    let mut out = Vec::new();
    table.invalidate_key(b"r", Some(w), Some(w), &dir, &mut out);
    assert_same(&bytes_for(&out, a_id), &next_bytes(&mut a, 1));
    assert_eq!(out.len(), 1, "{out:?}");
    for client in [&mut r1, &mut r2, &mut plain] {
        assert_eq!(client.raw(&["PING"]), b"+PONG\r\n");
    }

    // Broken redirect: the target left; the RESP3 tracking client is told, and TRACKINGINFO shows it.
    let (mut e, e_id) = connect(&redis, &mut dir, Protocol::Resp3);
    let (mut f, f_id) = connect(&redis, &mut dir, Protocol::Resp2);
    let redirect = f_id.to_string();
    e.cmd(&["CLIENT", "TRACKING", "ON", "REDIRECT", &redirect]);
    table
        .client_tracking(e_id, &[b"on", b"redirect", redirect.as_bytes()], &dir)
        .unwrap();
    f.cmd(&["QUIT"]);
    dir.0.remove(&f_id);
    // Wait until Redis has seen f go.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while writer.raw(&["CLIENT", "LIST", "ID", &redirect]) != b"$0\r\n\r\n" {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server kept the closed client"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    e.cmd(&["GET", "k3"]);
    table.remember_keys(e_id, &[b"k3"]);
    writer.cmd(&["SET", "k3", "v"]);
    let mut out = Vec::new();
    table.invalidate_key(b"k3", Some(w), Some(w), &dir, &mut out);
    assert_same(&bytes_for(&out, e_id), &next_bytes(&mut e, 1));
    let mut ours = Vec::new();
    table.reply_trackinginfo(&mut ours, Protocol::Resp3, e_id);
    assert_same(&ours, &e.raw(&["CLIENT", "TRACKINGINFO"]));
    let mut ours = Vec::new();
    table.reply_getredir(&mut ours, e_id);
    assert_same(&ours, &e.raw(&["CLIENT", "GETREDIR"]));
}

#[test]
fn tracking_command_replies_match_redis() {
    let redis = reference_or_skip!();
    let mut dir = Dir::default();
    let mut table = TrackingTable::default();
    let (mut other_client, other_id) = connect(&redis, &mut dir, Protocol::Resp2);
    let (mut g, g_id) = connect(&redis, &mut dir, Protocol::Resp2);
    let other = other_id.to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["TRACKINGINFO"],
        vec!["GETREDIR"],
        vec!["CACHING", "yes"],
        vec!["TRACKING", "on", "prefix", "x"],
        vec!["TRACKING", "on", "bcast", "optin"],
        vec!["TRACKING", "on", "optin", "optout"],
        vec!["TRACKING", "maybe"],
        vec!["TRACKING", "on", "redirect", "99999"],
        vec!["TRACKING", "on", "redirect", "abc"],
        vec!["TRACKING", "on", "redirect", &other, "redirect", &other],
        vec!["TRACKING", "on", "foo"],
        vec!["TRACKING", "on", "optin", "redirect", &other],
        vec!["GETREDIR"],
        vec!["CACHING", "no"],
        vec!["CACHING", "maybe"],
        vec!["CACHING", "yes"],
        vec!["TRACKINGINFO"],
        vec!["TRACKING", "on", "optout"],
        vec!["TRACKING", "on", "bcast"],
        vec!["TRACKING", "off"],
        vec!["TRACKING", "on", "optout", "noloop"],
        vec!["CACHING", "no"],
        vec!["TRACKINGINFO"],
        vec!["TRACKING", "off"],
        vec!["TRACKING", "on", "bcast", "prefix", "a", "prefix", "ab"],
        vec!["TRACKING", "on", "bcast", "prefix", "b", "prefix", "a"],
        vec!["TRACKING", "on", "bcast", "prefix", "ab"],
        vec!["TRACKING", "on", "bcast", "prefix", "c"],
        vec!["TRACKINGINFO"],
        vec!["TRACKING", "on"],
        vec!["TRACKING", "off", "prefix", "x"],
        vec!["TRACKINGINFO"],
    ];
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        if proto == Protocol::Resp3 {
            g.cmd(&["HELLO", "3"]);
        }
        for case in &cases {
            let mut cmd = vec!["CLIENT"];
            cmd.extend_from_slice(case);
            let expected = g.raw(&cmd);
            let args: Vec<&[u8]> = case[1..].iter().map(|a| a.as_bytes()).collect();
            let mut ours = Vec::new();
            let result = match case[0] {
                "TRACKINGINFO" => {
                    table.reply_trackinginfo(&mut ours, proto, g_id);
                    Ok(())
                }
                "GETREDIR" => {
                    table.reply_getredir(&mut ours, g_id);
                    Ok(())
                }
                "CACHING" => table.client_caching(g_id, args[0]),
                _ => table.client_tracking(g_id, &args, &dir),
            };
            match result {
                Ok(()) if ours.is_empty() => reply::ok(&mut ours),
                Ok(()) => {}
                Err(e) => reply::error(&mut ours, &e.reply_text()),
            }
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&expected),
                "{case:?}"
            );
            // CACHING lasts until a non-CLIENT command.
            if case[0] != "CACHING" {
                g.cmd(&["PING"]);
                table.command_done(g_id, false, false);
            }
        }
        table.disable(g_id);
        g.cmd(&["CLIENT", "TRACKING", "off"]);
    }
    other_client.cmd(&["PING"]);
}
