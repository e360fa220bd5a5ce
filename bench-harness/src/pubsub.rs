//! Pub/sub fan-out: one publisher, M subscribers on one channel; counts deliveries and verifies none is lost
//! or reordered (each payload starts with its 16-digit sequence number).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use zedis_resp::frame::Frame;

use crate::load::PipeConn;
use crate::workload::Workload;

const CHANNEL: &[u8] = b"zedis-bench";
/// How long subscribers may trail the publisher before the missing messages count as lost.
const DRAIN_WAIT_MIN: Duration = Duration::from_secs(5);

/// Outcome of a fan-out trial.
#[derive(Debug, Clone, Copy)]
pub struct PubsubResult {
    /// Messages published.
    pub published: u64,
    /// Sum of PUBLISH replies (receivers per message): the deliveries the server promised.
    pub expected: u64,
    /// Messages the subscribers received.
    pub delivered: u64,
    /// Messages received out of sequence (gaps or duplicates).
    pub out_of_order: u64,
    /// Subscribers the server disconnected (e.g. output buffer limit).
    pub disconnected: u64,
    /// From the first PUBLISH to the last delivery, seconds.
    pub elapsed_s: f64,
}

struct SubscriberResult {
    received: u64,
    out_of_order: u64,
    disconnected: bool,
    finished: Instant,
}

/// Runs the fan-out of `workload.messages` messages to `workload.subscribers` subscribers.
pub fn run(port: u16, workload: &Workload) -> Result<PubsubResult> {
    let done = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel();
    let subscribers: Vec<_> = (0..workload.subscribers)
        .map(|_| {
            let (done, ready_tx, expected) =
                (Arc::clone(&done), ready_tx.clone(), workload.messages);
            std::thread::spawn(move || subscriber(port, expected, &done, &ready_tx))
        })
        .collect();
    drop(ready_tx);
    for _ in 0..workload.subscribers {
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| anyhow!("a subscriber failed to subscribe"))?;
    }
    let start = Instant::now();
    let (published, expected) = publish(port, workload);
    let drain = DRAIN_WAIT_MIN.max(Duration::from_secs_f64(workload.duration_s));
    let deadline = Instant::now() + drain;
    while Instant::now() < deadline && !subscribers.iter().all(|s| s.is_finished()) {
        std::thread::sleep(Duration::from_millis(10));
    }
    done.store(true, Ordering::Relaxed);
    let (published, expected) = (published?, expected);
    let mut result = PubsubResult {
        published,
        expected,
        delivered: 0,
        out_of_order: 0,
        disconnected: 0,
        elapsed_s: 0.0,
    };
    for handle in subscribers {
        let sub = handle
            .join()
            .map_err(|_| anyhow!("subscriber panicked"))??;
        result.delivered += sub.received;
        result.out_of_order += sub.out_of_order;
        result.disconnected += u64::from(sub.disconnected);
        result.elapsed_s = result
            .elapsed_s
            .max(sub.finished.saturating_duration_since(start).as_secs_f64());
    }
    Ok(result)
}

/// Publishes in pipelined batches; returns (messages published, summed receiver counts).
fn publish(port: u16, workload: &Workload) -> (Result<u64>, u64) {
    let mut receivers = 0u64;
    let outcome = (|| -> Result<u64> {
        let mut conn = PipeConn::connect(port)?;
        let mut payload = vec![b'm'; workload.message_bytes];
        let mut seq = 0u64;
        while seq < workload.messages {
            let batch = (workload.pipeline as u64).min(workload.messages - seq);
            for _ in 0..batch {
                payload[..16].copy_from_slice(format!("{seq:016}").as_bytes());
                conn.push(&[b"PUBLISH", CHANNEL, &payload]);
                seq += 1;
            }
            conn.flush()?;
            for _ in 0..batch {
                match conn.read_frame()? {
                    Frame::Integer(n) => receivers += n.max(0) as u64,
                    other => bail!("PUBLISH replied {other:?}"),
                }
            }
        }
        Ok(seq)
    })();
    (outcome, receivers)
}

fn subscriber(
    port: u16,
    expected: u64,
    done: &AtomicBool,
    ready: &mpsc::Sender<()>,
) -> Result<SubscriberResult> {
    let mut conn = PipeConn::connect(port)?;
    conn.push(&[b"SUBSCRIBE", CHANNEL]);
    conn.flush()?;
    match conn.read_frame()? {
        Frame::Array(items) | Frame::Push(items)
            if items.first() == Some(&Frame::Bulk(b"subscribe".to_vec())) => {}
        other => bail!("SUBSCRIBE replied {other:?}"),
    }
    conn.set_read_timeout(Duration::from_millis(100))?;
    let _ = ready.send(());
    let mut result = SubscriberResult {
        received: 0,
        out_of_order: 0,
        disconnected: false,
        finished: Instant::now(),
    };
    let mut next_seq = 0u64;
    while result.received < expected {
        let frame = match conn.read_frame() {
            Ok(frame) => frame,
            Err(error) if is_timeout(&error) => {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                continue;
            }
            Err(_) => {
                result.disconnected = true;
                break;
            }
        };
        let (Frame::Array(items) | Frame::Push(items)) = frame else {
            continue;
        };
        let Some(Frame::Bulk(payload)) = items.get(2) else {
            continue;
        };
        let seq = std::str::from_utf8(&payload[..16.min(payload.len())])
            .ok()
            .and_then(|s| s.parse::<u64>().ok());
        if seq != Some(next_seq) {
            result.out_of_order += 1;
        }
        next_seq = seq.map_or(next_seq + 1, |s| s + 1);
        result.received += 1;
        result.finished = Instant::now();
    }
    Ok(result)
}

fn is_timeout(error: &anyhow::Error) -> bool {
    error.downcast_ref::<std::io::Error>().is_some_and(|e| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    })
}
