//! REPLICAOF/SLAVEOF and ROLE.

use super::replica::LinkState;
use crate::server::Core;
use crate::Strategy;
use zedis_client_pool::ClientSlots;
use zedis_resp::reply;

/// # Format
/// `REPLICAOF host port | NO ONE` (and `SLAVEOF`)
pub fn replicaof<S: Strategy>(core: &mut Core<S>, ck: usize, argv: &[&[u8]]) {
    // In cluster mode the node decides whom to replicate (CLUSTER REPLICATE, failovers).
    if core.cluster.enabled() {
        return core.reply_error(ck, b"ERR REPLICAOF not allowed in cluster mode.");
    }
    if core.engine.repl.failover.is_some() {
        return core.reply_error(ck, b"ERR REPLICAOF not allowed while failing over.");
    }
    if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
        if core.engine.repl.is_replica() {
            core.repl_unset_master();
            zedis_deploy::notice!("MASTER MODE enabled (user request)");
        }
        return core.reply(ck, |out, _| reply::ok(out));
    }
    if core
        .clients
        .get(ck)
        .is_some_and(|c| c.replica.as_ref().is_some_and(|r| r.online))
    {
        return core.reply_error(ck, b"ERR Command is not valid when client is a replica.");
    }
    let port = std::str::from_utf8(argv[2])
        .ok()
        .and_then(|p| p.parse::<i64>().ok());
    let Some(port) = port.filter(|p| (0..=65535).contains(p)) else {
        return core.reply_error(ck, b"ERR Invalid master port");
    };
    let host = String::from_utf8_lossy(argv[1]).into_owned();
    if let Some(link) = &core.engine.repl.master {
        if link.host.eq_ignore_ascii_case(&host) && link.port == port as u16 {
            zedis_deploy::notice!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            return core.reply(ck, |out, _| {
                reply::simple(out, b"OK Already connected to specified master")
            });
        }
    }
    core.repl_set_master(host.clone(), port as u16);
    zedis_deploy::notice!("REPLICAOF {host}:{port} enabled (user request)");
    core.reply(ck, |out, _| reply::ok(out));
}

/// # Format
/// `ROLE`
pub fn role<S: Strategy>(core: &mut Core<S>, ck: usize, _argv: &[&[u8]]) {
    let mut out = Vec::new();
    let repl = &core.engine.repl;
    match &repl.master {
        Some(link) => {
            reply::array_len(&mut out, 5);
            reply::bulk(&mut out, b"slave");
            reply::bulk(&mut out, link.host.as_bytes());
            reply::integer(&mut out, i64::from(link.port));
            reply::bulk(&mut out, link.state_name().as_bytes());
            let offset = match link.state {
                LinkState::Connected(_) => repl.master_repl_offset as i64,
                _ => -1,
            };
            reply::integer(&mut out, offset);
        }
        None => {
            reply::array_len(&mut out, 3);
            reply::bulk(&mut out, b"master");
            reply::integer(&mut out, repl.master_repl_offset as i64);
            // Only replicas that stream (Redis skips those still syncing).
            let replicas: Vec<_> = repl
                .replicas
                .iter()
                .filter_map(|&r| core.clients.get(r))
                .filter_map(|c| Some((super::replica_ip(c).to_string(), c.replica.clone()?)))
                .filter(|(_, link)| link.is_online())
                .collect();
            reply::array_len(&mut out, replicas.len());
            for (ip, link) in replicas {
                reply::array_len(&mut out, 3);
                reply::bulk(&mut out, ip.as_bytes());
                reply::bulk(&mut out, link.listening_port.to_string().as_bytes());
                reply::bulk(&mut out, link.ack_offset.to_string().as_bytes());
            }
        }
    }
    core.reply(ck, |o, _| o.extend_from_slice(&out));
}
