//! A PING server wired with `zedis-deploy` the way `zedis-server` should be: [`Service`] for the startup
//! and shutdown sequence, [`Listener`] / [`ClientStream`] in the event loop. The integration tests daemonize
//! it and check its pidfile, log, TCP and Unix listeners, SIGHUP log reopening, systemd notifications and
//! SIGTERM cleanup.
//!
//! `deploy_demo [--name value ...]` with the directives of `zedis_deploy::settings::DIRECTIVES`. Every
//! request containing `PING` gets `+PONG`, any other read one `-ERR unknown command`.

use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zedis_deploy::service::Service;
use zedis_deploy::stream::{ClientStream, Listener};
use zedis_deploy::{notice, DeploySettings};

fn main() {
    if let Err(e) = run() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts: HashMap<String, String> = HashMap::new();
    for pair in args.chunks(2) {
        let name = pair[0].trim_start_matches("--").to_string();
        opts.insert(name, pair.get(1).cloned().unwrap_or_default());
    }
    let settings = DeploySettings::from_config(|name| opts.get(name).map(String::as_str))?;
    // 1. Logging, then the fork into the background (before any thread).
    let mut service = Service::start(settings)?;
    notice!("oO0OoO0OoO0Oo Zedis deploy demo is starting oO0OoO0OoO0Oo");
    // 2. Signal handlers before readiness: a supervisor may send SIGTERM as soon as READY arrives.
    let term = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, term.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())?;
    // 3. Listeners, then readiness (pidfile, ready lines, READY=1, the daemon's parent exits 0).
    let mut listeners = service.listen()?;
    service.ready(false)?;
    serve(
        &mut listeners,
        service.settings().tcp_keepalive_s,
        &term,
        &hup,
    )?;
    // 4. Clean exit.
    notice!("User requested shutdown...");
    drop(listeners);
    service.shutdown();
    notice!("Zedis is now ready to exit, bye bye...");
    Ok(())
}

fn serve(
    listeners: &mut [Listener],
    keepalive_s: u32,
    term: &AtomicBool,
    hup: &AtomicBool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut poll = Poll::new()?;
    for (i, listener) in listeners.iter_mut().enumerate() {
        poll.registry()
            .register(listener, Token(i), Interest::READABLE)?;
    }
    let mut conns: HashMap<usize, ClientStream> = HashMap::new();
    let mut next = listeners.len();
    let mut events = Events::with_capacity(64);
    while !term.load(Ordering::Relaxed) {
        if hup.swap(false, Ordering::Relaxed) {
            notice!("Received SIGHUP, reopening the log file");
            zedis_deploy::log::reopen()?;
        }
        match poll.poll(&mut events, Some(Duration::from_millis(50))) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in events.iter() {
            let token = event.token().0;
            if let Some(listener) = listeners.get_mut(token) {
                while let Ok(mut accepted) = listener.accept(keepalive_s) {
                    zedis_deploy::verbose!("Accepted {}", accepted.addr);
                    accepted.stream.set_nodelay()?;
                    poll.registry().register(
                        &mut accepted.stream,
                        Token(next),
                        Interest::READABLE,
                    )?;
                    conns.insert(next, accepted.stream);
                    next += 1;
                }
            } else if let Some(conn) = conns.get_mut(&token) {
                if !answer(conn) {
                    conns.remove(&token);
                }
            }
        }
    }
    Ok(())
}

/// Reads what is there and answers `+PONG` per `PING`; false when the peer is gone.
fn answer(conn: &mut ClientStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        };
        let pings = buf[..n]
            .windows(4)
            .filter(|w| w.eq_ignore_ascii_case(b"PING"))
            .count();
        // Anything else (redis-benchmark's CONFIG GET at start) gets one error so the client goes on.
        let reply = if pings == 0 {
            b"-ERR unknown command\r\n".to_vec()
        } else {
            b"+PONG\r\n".repeat(pings)
        };
        if conn.write_all(&reply).is_err() {
            return false;
        }
    }
}
