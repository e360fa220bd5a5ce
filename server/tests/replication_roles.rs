//! Roles changing under replication: a restarted master, FAILOVER to redis-server, sub-replicas that join
//! while the stream is in another database.

mod common;

use common::reference::RedisProcess;
use common::replication::{
    assert_same, dataset, info_field, wait_for, wait_in_sync, write_everything, FixedRedis,
};
use common::{cmd, err, Server};
use redis::Value;

#[test]
fn zedis_replica_follows_a_restarted_master() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(first) = FixedRedis::start(port) else {
        return;
    };
    let connect = || {
        redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap()
    };
    let mut master = connect();
    write_everything(&mut master, "old");
    let zedis = Server::start(&["--replicaof", &format!("127.0.0.1 {port}")]);
    let mut replica = zedis.conn();
    wait_in_sync(&mut master, &mut replica);
    assert_same(
        &dataset(&mut master),
        &dataset(&mut replica),
        "first master",
    );
    drop(first);
    wait_for("the link to go down", || {
        info_field(&mut replica, "replication", "master_link_status").as_deref() == Some("down")
    });
    // The replica serves its (stale) data meanwhile.
    assert!(dataset(&mut replica).contains_key("0:old:str"));
    let Some(_second) = FixedRedis::start(port) else {
        return;
    };
    let mut master = connect();
    write_everything(&mut master, "new");
    wait_in_sync(&mut master, &mut replica);
    let data = dataset(&mut master);
    assert!(!data.contains_key("0:old:str"));
    assert_same(&data, &dataset(&mut replica), "restarted master");
}

#[test]
fn failover_hands_the_master_role_to_a_redis_replica() {
    let zedis = Server::start(&[]);
    let mut old_master = zedis.conn();
    assert_eq!(
        err(&mut old_master, &["FAILOVER"]),
        "ERR FAILOVER requires connected replicas."
    );
    assert_eq!(
        err(&mut old_master, &["FAILOVER", "ABORT"]),
        "ERR No failover in progress."
    );
    write_everything(&mut old_master, "pre");
    let port = zedis.port.to_string();
    let Some(redis) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    let mut target = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let other = Server::start(&["--replicaof", &format!("127.0.0.1 {port}")]);
    let mut other_conn = other.conn();
    wait_in_sync(&mut old_master, &mut target);
    wait_in_sync(&mut old_master, &mut other_conn);
    assert_eq!(
        err(
            &mut old_master,
            &["FAILOVER", "TO", "127.0.0.1", "1", "TIMEOUT", "100"]
        ),
        "ERR FAILOVER target HOST and PORT is not a replica."
    );
    let redis_port = redis.port.to_string();
    cmd(
        &mut old_master,
        &[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &redis_port,
            "TIMEOUT",
            "30000",
        ],
    )
    .unwrap();
    wait_for("the roles to switch", || {
        info_field(&mut target, "replication", "role").as_deref() == Some("master")
            && info_field(&mut old_master, "replication", "master_link_status").as_deref()
                == Some("up")
    });
    assert_eq!(
        info_field(&mut old_master, "replication", "master_port"),
        Some(redis_port.clone())
    );
    assert_eq!(
        info_field(&mut old_master, "replication", "master_failover_state").as_deref(),
        Some("no-failover")
    );
    // The new master's writes reach the old master; the other replica still follows the old master.
    write_everything(&mut target, "post");
    wait_in_sync(&mut target, &mut old_master);
    wait_in_sync(&mut target, &mut other_conn);
    let data = dataset(&mut target);
    assert!(data.contains_key("0:pre:str") && data.contains_key("0:post:str"));
    assert_same(
        &data,
        &dataset(&mut old_master),
        "old master after failover",
    );
    assert_same(
        &data,
        &dataset(&mut other_conn),
        "its replica after failover",
    );
}

#[test]
fn sub_replicas_start_in_the_database_the_stream_is_in() {
    let top = Server::start(&[]);
    let mut master = top.conn();
    let middle = Server::start(&["--replicaof", &format!("127.0.0.1 {}", top.port)]);
    let mut middle_conn = middle.conn();
    // The top master's stream is now in database 1 and stays there: no SELECT follows.
    cmd(&mut master, &["SELECT", "1"]).unwrap();
    cmd(&mut master, &["SET", "first", "1"]).unwrap();
    wait_in_sync(&mut master, &mut middle_conn);
    let via = format!("127.0.0.1 {}", middle.port);
    let zedis_leaf = Server::start(&["--replicaof", &via]);
    let mut zedis_leaf_conn = zedis_leaf.conn();
    let middle_port = middle.port.to_string();
    let redis_leaf = RedisProcess::start(&["--replicaof", "127.0.0.1", &middle_port]);
    wait_in_sync(&mut master, &mut zedis_leaf_conn);
    cmd(&mut master, &["SET", "second", "2"]).unwrap();
    cmd(&mut master, &["RPUSH", "list", "a"]).unwrap();
    wait_in_sync(&mut master, &mut middle_conn);
    wait_in_sync(&mut master, &mut zedis_leaf_conn);
    let data = dataset(&mut master);
    assert!(data.contains_key("1:second"));
    assert_same(&data, &dataset(&mut zedis_leaf_conn), "zedis sub-replica");
    if let Some(redis_leaf) = redis_leaf {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{}/", redis_leaf.port))
            .unwrap()
            .get_connection()
            .unwrap();
        wait_in_sync(&mut master, &mut conn);
        assert_same(&data, &dataset(&mut conn), "redis-server sub-replica");
    }
}

#[test]
fn a_replica_with_an_aof_keeps_the_synced_data_across_a_restart() {
    let master = Server::start(&[]);
    let mut master_conn = master.conn();
    write_everything(&mut master_conn, "early");
    let dir = common::TempDir::new("repl-aof");
    let args = ["--appendonly", "yes", "--dir", dir.path()];
    let via = format!("127.0.0.1 {}", master.port);
    let replica = Server::start(&[&args[..], &["--replicaof", &via]].concat());
    let mut replica_conn = replica.conn();
    wait_in_sync(&mut master_conn, &mut replica_conn);
    // After the full sync the AOF is rewritten from the loaded data; the stream is appended after it.
    wait_for("the AOF rewrite after the sync", || {
        info_field(&mut replica_conn, "persistence", "aof_rewrite_in_progress").as_deref()
            == Some("0")
            && info_field(&mut replica_conn, "persistence", "aof_rewrites").as_deref() == Some("1")
    });
    write_everything(&mut master_conn, "late");
    wait_in_sync(&mut master_conn, &mut replica_conn);
    let data = dataset(&mut master_conn);
    drop(replica_conn);
    drop(replica);
    let restarted = Server::start(&args);
    assert_same(
        &data,
        &dataset(&mut restarted.conn()),
        "replica's AOF after a restart",
    );
}

#[test]
fn evicted_and_expired_keys_reach_a_redis_replica_as_dels() {
    let zedis = Server::start(&["--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut master = zedis.conn();
    let port = zedis.port.to_string();
    let Some(redis) = RedisProcess::start(&["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    let mut replica = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    wait_in_sync(&mut master, &mut replica);
    let value = "x".repeat(1000);
    for i in 0..20_000 {
        cmd(&mut master, &["SET", &format!("key:{i}"), &value]).unwrap();
        if i % 1000 == 0 {
            cmd(
                &mut master,
                &["SET", &format!("short:{i}"), "v", "PX", "50"],
            )
            .unwrap();
        }
    }
    // Let the short keys expire; the active cycle deletes them on the master.
    std::thread::sleep(std::time::Duration::from_millis(500));
    // No more eviction while the datasets are read (over the limit, even reads evict).
    cmd(&mut master, &["CONFIG", "SET", "maxmemory", "0"]).unwrap();
    wait_in_sync(&mut master, &mut replica);
    let size = |c: &mut redis::Connection| -> i64 { redis::cmd("DBSIZE").query(c).unwrap() };
    let kept = size(&mut master);
    assert!(kept > 0 && kept < 20_000, "some keys were evicted: {kept}");
    assert_eq!(size(&mut replica), kept);
    assert_same(
        &dataset(&mut master),
        &dataset(&mut replica),
        "after eviction",
    );
}

/// As Redis's replicas: a key whose time is up reads as missing on the replica but is not deleted there
/// (DBSIZE still counts it) until the master's DEL arrives.
#[test]
fn replica_hides_expired_keys_until_the_master_deletes_them() {
    let Some(redis) = RedisProcess::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]) else {
        return;
    };
    let mut master = redis::Client::open(format!("redis://127.0.0.1:{}/", redis.port))
        .unwrap()
        .get_connection()
        .unwrap();
    // The master must not expire the key on its own before we look at the replica.
    cmd(&mut master, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]).unwrap();
    let zedis = Server::start(&["--replicaof", &format!("127.0.0.1 {}", redis.port)]);
    let mut replica = zedis.conn();
    // One key expires before the full sync (it travels in the RDB), one after (in the stream).
    cmd(&mut master, &["SET", "k0", "v", "PX", "1"]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    wait_in_sync(&mut master, &mut replica);
    cmd(&mut master, &["SET", "k", "v", "PX", "400"]).unwrap();
    cmd(&mut master, &["SET", "plain", "v"]).unwrap();
    wait_in_sync(&mut master, &mut replica);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(cmd(&mut replica, &["GET", "k"]).unwrap(), Value::Nil);
    assert_eq!(cmd(&mut replica, &["EXISTS", "k"]).unwrap(), Value::Int(0));
    assert_eq!(cmd(&mut replica, &["GET", "k0"]).unwrap(), Value::Nil);
    assert_eq!(
        cmd(&mut replica, &["DBSIZE"]).unwrap(),
        Value::Int(3),
        "not deleted by the replica, nor dropped when loading the RDB"
    );
    // The master's lazy expiry sends the DELs.
    assert_eq!(cmd(&mut master, &["GET", "k"]).unwrap(), Value::Nil);
    assert_eq!(cmd(&mut master, &["GET", "k0"]).unwrap(), Value::Nil);
    wait_for("the master's DELs", || {
        cmd(&mut replica, &["DBSIZE"]).unwrap() == Value::Int(1)
    });
}
