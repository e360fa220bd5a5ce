//! The key-value load generator: N blocking connections, one thread each, pipelining P commands per batch.
//!
//! A fill phase writes every key once; the timed phase draws keys (uniform or Zipf) and a GET/DEL/SET mix,
//! records one latency sample per batch round trip, and counts GET hits (bulk reply) and misses (null reply).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use hdrhistogram::Histogram;
use zedis_resp::frame::{encode_command, parse_frame, Frame};

use crate::workload::{key_name, KeyPicker, Rng, SizePicker, Workload};

/// Latency histogram upper bound, microseconds.
const LATENCY_US_MAX: u64 = 60_000_000;
/// Fill batches carry at least this many SETs.
const FILL_BATCH_MIN: usize = 32;

/// One pipelined connection.
pub struct PipeConn {
    stream: TcpStream,
    out: Vec<u8>,
    buf: Vec<u8>,
    /// Offset of the first unparsed byte in `buf`.
    start: usize,
}

impl PipeConn {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Result<PipeConn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(PipeConn {
            stream,
            out: Vec::new(),
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
        })
    }

    /// Changes the read timeout (a timed-out read returns an `io::Error` of kind WouldBlock or TimedOut and
    /// keeps any partial reply buffered).
    pub fn set_read_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.stream.set_read_timeout(Some(timeout))?;
        Ok(())
    }

    /// Queues a command.
    pub fn push(&mut self, args: &[&[u8]]) {
        encode_command(&mut self.out, args);
    }

    /// Sends the queued commands.
    pub fn flush(&mut self) -> Result<()> {
        self.stream.write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    /// Reads the next reply.
    pub fn read_frame(&mut self) -> Result<Frame> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf[self.start..])? {
                self.start += used;
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                return Ok(frame);
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let len = self.buf.len();
            self.buf.resize(len + 64 * 1024, 0);
            let n = self.stream.read(&mut self.buf[len..]);
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e.into());
                }
            };
            self.buf.truncate(len + n);
            if n == 0 {
                bail!("connection closed by server");
            }
        }
    }
}

/// Counters and latencies of a timed phase.
#[derive(Debug, Clone)]
pub struct KvStats {
    /// Commands answered inside the measured window (after warmup).
    pub ops: u64,
    /// Commands answered over the whole timed phase, warmup included (for work per CPU-second).
    pub ops_all: u64,
    /// GETs answered with a value (measured window).
    pub hits: u64,
    /// GETs answered with null (measured window).
    pub misses: u64,
    /// Error replies (e.g. OOM under noeviction), whole phase.
    pub errors: u64,
    /// The first error reply, for the log.
    pub first_error: Option<String>,
    /// Batch round-trip latency in microseconds (measured window).
    pub latency_us: Histogram<u64>,
    /// Length of the measured window in seconds.
    pub window_s: f64,
}

impl KvStats {
    fn new() -> KvStats {
        KvStats {
            ops: 0,
            ops_all: 0,
            hits: 0,
            misses: 0,
            errors: 0,
            first_error: None,
            latency_us: Histogram::new_with_bounds(1, LATENCY_US_MAX, 3)
                .expect("valid histogram bounds"),
            window_s: 0.0,
        }
    }

    fn merge(&mut self, other: KvStats) {
        self.ops += other.ops;
        self.ops_all += other.ops_all;
        self.hits += other.hits;
        self.misses += other.misses;
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
        self.window_s = self.window_s.max(other.window_s);
    }

    fn note_error(&mut self, frame: &Frame) {
        if let Frame::Error(text) = frame {
            self.errors += 1;
            if self.first_error.is_none() {
                self.first_error = Some(String::from_utf8_lossy(text).into_owned());
            }
        }
    }
}

/// Builds SET commands with shared value bytes.
struct Writer {
    value: Vec<u8>,
    sizes: SizePicker,
}

impl Writer {
    fn new(workload: &Workload) -> Writer {
        Writer {
            value: vec![b'v'; workload.value_bytes_max()],
            sizes: SizePicker::new(workload),
        }
    }

    fn push_set(&self, conn: &mut PipeConn, workload: &Workload, rng: &mut Rng, index: u64) {
        let key = key_name(index);
        let value = &self.value[..self.sizes.pick(rng)];
        if let Some(ttl) = workload.ttl_of(index) {
            conn.push(&[b"SET", &key, value, b"EX", ttl.to_string().as_bytes()]);
        } else {
            conn.push(&[b"SET", &key, value]);
        }
    }
}

/// Writes every key once over `workload.connections` connections; returns the error replies seen.
pub fn fill(port: u16, workload: &Workload) -> Result<u64> {
    let threads: Vec<_> = (0..workload.connections)
        .map(|c| {
            let workload = workload.clone();
            std::thread::spawn(move || fill_one(port, &workload, c as u64))
        })
        .collect();
    let mut errors = 0;
    for thread in threads {
        errors += thread
            .join()
            .map_err(|_| anyhow::anyhow!("fill thread panicked"))??;
    }
    Ok(errors)
}

fn fill_one(port: u16, workload: &Workload, conn_idx: u64) -> Result<u64> {
    let mut conn = PipeConn::connect(port)?;
    let writer = Writer::new(workload);
    let mut rng = Rng::new(workload.seed ^ (conn_idx << 32) ^ 0xf111);
    let batch = workload.pipeline.max(FILL_BATCH_MIN) as u64;
    let step = workload.connections as u64;
    let mut errors = 0;
    let mut index = conn_idx;
    while index < workload.keys {
        let mut queued = 0;
        while queued < batch && index < workload.keys {
            writer.push_set(&mut conn, workload, &mut rng, index);
            index += step;
            queued += 1;
        }
        conn.flush()?;
        for _ in 0..queued {
            if let Frame::Error(_) = conn.read_frame()? {
                errors += 1;
            }
        }
    }
    Ok(errors)
}

/// Runs the timed phase and merges the connections' results.
pub fn run_timed(port: u16, workload: &Workload) -> Result<KvStats> {
    let picker = KeyPicker::new(workload);
    let threads: Vec<_> = (0..workload.connections)
        .map(|c| {
            let workload = workload.clone();
            let picker = picker.clone();
            std::thread::spawn(move || timed_one(port, &workload, &picker, c as u64))
        })
        .collect();
    let mut total = KvStats::new();
    for thread in threads {
        total.merge(
            thread
                .join()
                .map_err(|_| anyhow::anyhow!("load thread panicked"))??,
        );
    }
    Ok(total)
}

/// What a queued command was, to classify its reply.
#[derive(Clone, Copy)]
enum Op {
    Get(u64),
    Set,
    Del,
}

fn timed_one(port: u16, workload: &Workload, picker: &KeyPicker, conn_idx: u64) -> Result<KvStats> {
    let mut conn = PipeConn::connect(port)?;
    let writer = Writer::new(workload);
    let mut rng = Rng::new(workload.seed ^ (conn_idx << 32) ^ 0x7173);
    let mut stats = KvStats::new();
    let mut ops: Vec<Op> = Vec::with_capacity(workload.pipeline);
    let mut missed: Vec<u64> = Vec::new();
    let start = Instant::now();
    let window_start = start + Duration::from_secs_f64(workload.warmup_s);
    let end = start + Duration::from_secs_f64(workload.duration_s);
    loop {
        let sent_at = Instant::now();
        if sent_at >= end {
            break;
        }
        ops.clear();
        while ops.len() < workload.pipeline {
            if let Some(index) = missed.pop() {
                writer.push_set(&mut conn, workload, &mut rng, index);
                ops.push(Op::Set);
                continue;
            }
            let index = picker.pick(&mut rng);
            let r = rng.next_f64();
            if r < workload.read_ratio {
                conn.push(&[b"GET", &key_name(index)]);
                ops.push(Op::Get(index));
            } else if r < workload.read_ratio + workload.del_ratio {
                conn.push(&[b"DEL", &key_name(index)]);
                ops.push(Op::Del);
            } else {
                writer.push_set(&mut conn, workload, &mut rng, index);
                ops.push(Op::Set);
            }
        }
        conn.flush()?;
        let counting = sent_at >= window_start;
        for &op in &ops {
            let frame = conn.read_frame()?;
            stats.note_error(&frame);
            if let Op::Get(index) = op {
                let hit = !matches!(frame, Frame::Null | Frame::Error(_));
                if !hit && workload.set_on_miss && !matches!(frame, Frame::Error(_)) {
                    missed.push(index);
                }
                if counting {
                    stats.hits += u64::from(hit);
                    stats.misses += u64::from(!hit && !matches!(frame, Frame::Error(_)));
                }
            }
        }
        let micros = sent_at
            .elapsed()
            .as_micros()
            .clamp(1, u128::from(LATENCY_US_MAX)) as u64;
        stats.ops_all += ops.len() as u64;
        if counting {
            stats.ops += ops.len() as u64;
            let _ = stats.latency_us.record(micros);
        }
    }
    stats.window_s = (Instant::now().saturating_duration_since(window_start)).as_secs_f64();
    Ok(stats)
}
