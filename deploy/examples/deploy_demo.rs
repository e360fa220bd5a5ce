//! A PING server wired with every part of `zedis-deploy`, in the order `zedis-server`'s `main` should use
//! them. The integration tests daemonize it and check its pidfile, log, TCP and Unix listeners, SIGHUP log
//! reopening and SIGTERM cleanup.
//!
//! `deploy_demo [--name value ...]` with `daemonize`, `pidfile`, `logfile`, `loglevel`, `syslog-enabled`,
//! `port`, `bind`, `unixsocket`, `unixsocketperm`, `tcp-keepalive`, `tcp-backlog`, `supervised`. Every
//! request containing `PING` gets `+PONG`.

use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zedis_deploy::notify::Notifier;
use zedis_deploy::{daemon, listen, notice, pidfile, warning, DeploySettings};

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

    // 1. Logging first: a bad logfile is refused in the foreground; a daemon child inherits the descriptor.
    zedis_deploy::log::init(&settings.log)?;
    // 2. Daemonize before any thread (supervised turns it off, as in Redis).
    let background = settings.background();
    let mut daemon = if background {
        Some(daemon::daemonize()?)
    } else {
        None
    };
    notice!("oO0OoO0OoO0Oo Zedis deploy demo is starting oO0OoO0OoO0Oo");
    // Signals before readiness: a supervisor may send SIGTERM as soon as READY arrives. (signal-hook
    // installs a handler, no thread.)
    let term = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, term.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, term.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())?;
    // 3. Listeners.
    let mut listeners = listen::open(&settings.listen)?;
    // 4. Pidfile, then readiness.
    let pid = pidfile::path_for(&settings.pidfile, background).and_then(|path| {
        match pidfile::PidFile::create(&path) {
            Ok(pid) => Some(pid),
            Err(e) => {
                warning!("Failed to write PID file: {e}");
                None
            }
        }
    });
    let notifier = Notifier::for_mode(settings.supervised)?;
    if !listeners.tcp.is_empty() {
        notice!("Ready to accept connections tcp");
    }
    if listeners.unix.is_some() {
        notice!("Ready to accept connections unix");
    }
    if let Some(n) = &notifier {
        n.notify(&zedis_deploy::notify::status("Ready to accept connections"))?;
        n.notify(zedis_deploy::notify::READY)?;
    }
    if let Some(d) = daemon.as_mut() {
        d.ready();
    }
    serve(&mut listeners, settings.tcp_keepalive_s, &term, &hup)?;
    // 6. Clean exit: Redis's order and words.
    notice!("User requested shutdown...");
    if let Some(n) = &notifier {
        n.notify(zedis_deploy::notify::STOPPING)?;
    }
    if let Some(pid) = pid {
        notice!("Removing the pid file.");
        pid.remove()?;
    }
    if let Some(socket) = listeners.unix.take() {
        notice!("Removing the unix socket file.");
        socket.remove()?;
    }
    notice!("Zedis is now ready to exit, bye bye...");
    Ok(())
}

/// Either kind of client connection.
enum Conn {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

fn serve(
    listeners: &mut listen::Listeners,
    keepalive_s: u32,
    term: &AtomicBool,
    hup: &AtomicBool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut poll = Poll::new()?;
    for (i, l) in listeners.tcp.iter_mut().enumerate() {
        poll.registry().register(l, Token(i), Interest::READABLE)?;
    }
    const UNIX: Token = Token(100);
    if let Some(u) = listeners.unix.as_mut() {
        poll.registry()
            .register(u.listener(), UNIX, Interest::READABLE)?;
    }
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let mut next = 1000;
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
            let token = event.token();
            if token.0 < listeners.tcp.len() {
                while let Ok((mut stream, peer)) = listeners.tcp[token.0].accept() {
                    zedis_deploy::listen::set_keepalive(&stream, keepalive_s)?;
                    zedis_deploy::verbose!("Accepted {peer}");
                    poll.registry()
                        .register(&mut stream, Token(next), Interest::READABLE)?;
                    conns.insert(next, Conn::Tcp(stream));
                    next += 1;
                }
            } else if token == UNIX {
                let unix = listeners.unix.as_mut().ok_or("no unix listener")?;
                while let Ok((mut stream, _)) = unix.listener().accept() {
                    zedis_deploy::verbose!("Accepted connection to {}", unix.path().display());
                    poll.registry()
                        .register(&mut stream, Token(next), Interest::READABLE)?;
                    conns.insert(next, Conn::Unix(stream));
                    next += 1;
                }
            } else if let Some(conn) = conns.get_mut(&token.0) {
                if !answer(conn) {
                    conns.remove(&token.0);
                }
            }
        }
    }
    Ok(())
}

/// Reads what is there and answers `+PONG` per `PING`; false when the peer is gone.
fn answer(conn: &mut Conn) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        let read = match conn {
            Conn::Tcp(s) => s.read(&mut buf),
            Conn::Unix(s) => s.read(&mut buf),
        };
        let n = match read {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        };
        let pings = buf[..n]
            .windows(4)
            .filter(|w| w.eq_ignore_ascii_case(b"PING"))
            .count();
        let reply = b"+PONG\r\n".repeat(pings);
        let written = match conn {
            Conn::Tcp(s) => s.write_all(&reply),
            Conn::Unix(s) => s.write_all(&reply),
        };
        if written.is_err() {
            return false;
        }
    }
}
