//! Write load with a record of what was acknowledged, to check after a fault that nothing acknowledged is lost.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Threads that each SET `{prefix}{t}:{n}` to `n` for n = 0, 1, 2... over their own connection, and publish how
/// many were acknowledged. A thread stops at its first error (a closed connection, a refused write).
pub struct Writers {
    prefix: String,
    acked: Vec<Arc<AtomicU64>>,
    errors: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    /// Starts `count` writers against 127.0.0.1:`port` (connections are made before this returns).
    ///
    /// # Panics
    /// When a connection cannot be made.
    pub fn start(port: u16, count: usize, prefix: &str) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(AtomicU64::new(0));
        let mut acked = Vec::new();
        let mut threads = Vec::new();
        for t in 0..count {
            let done = Arc::new(AtomicU64::new(0));
            acked.push(Arc::clone(&done));
            let (stop, errors) = (Arc::clone(&stop), Arc::clone(&errors));
            let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
            let mut conn = client.get_connection().expect("connect");
            let prefix = format!("{prefix}{t}:");
            threads.push(std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let ok = redis::cmd("SET")
                        .arg(format!("{prefix}{n}"))
                        .arg(n)
                        .query::<()>(&mut conn);
                    if ok.is_err() {
                        errors.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    n += 1;
                    done.store(n, Ordering::SeqCst);
                }
            }));
        }
        Writers {
            prefix: prefix.to_string(),
            acked,
            errors,
            stop,
            threads,
        }
    }

    /// Writes acknowledged so far, all threads together.
    pub fn total(&self) -> u64 {
        self.acked.iter().map(|a| a.load(Ordering::SeqCst)).sum()
    }

    /// Stops the threads; returns what was acknowledged.
    pub fn finish(self) -> Acked {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        Acked {
            prefix: self.prefix,
            counts: self
                .acked
                .iter()
                .map(|a| a.load(Ordering::SeqCst))
                .collect(),
            errors: self.errors.load(Ordering::SeqCst),
        }
    }
}

/// What a [`Writers`] run had acknowledged.
#[derive(Debug, Clone)]
pub struct Acked {
    prefix: String,
    /// Per thread, how many of its writes were acknowledged.
    pub counts: Vec<u64>,
    /// Threads that stopped on an error.
    pub errors: u64,
}

impl Acked {
    /// Acknowledged writes, all threads together.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// How many acknowledged keys are missing or hold a wrong value on the server behind `conn`.
    pub fn missing(&self, conn: &mut redis::Connection) -> u64 {
        let mut lost = 0;
        for (t, &count) in self.counts.iter().enumerate() {
            let keys: Vec<String> = (0..count)
                .map(|n| format!("{}{t}:{n}", self.prefix))
                .collect();
            for (start, chunk) in keys.chunks(1000).enumerate() {
                let values: Vec<Option<u64>> =
                    redis::cmd("MGET").arg(chunk).query(conn).expect("MGET");
                let first = start as u64 * 1000;
                lost += values
                    .iter()
                    .enumerate()
                    .filter(|(i, v)| **v != Some(first + *i as u64))
                    .count() as u64;
            }
        }
        lost
    }
}
