//! Arena vs heap for per-request scratch memory: building argument vectors (and a small reply) for deep
//! pipelines and for large arguments, resetting after each batch as the server does.
//!
//! NOTE: `zedis_resp::RequestParser` did not exist in this worktree when this bench was written, so the
//! requests are split by the small local RESP multibulk splitter below. Swap in `RequestParser` (its
//! `args()` ranges) once the resp crate lands; the allocation pattern measured is the same.

use std::hint::black_box;

use allocator_api2::vec::Vec as AVec;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zedis_arena::{ArenaAlloc, HeapAlloc, RequestAlloc};

/// Parses one `*N\r\n$len\r\n<bytes>\r\n...` request at the start of `buf` into `argv`; returns the
/// bytes consumed, or None if the request is malformed or incomplete.
fn split_request<'q, A: allocator_api2::alloc::Allocator>(
    buf: &'q [u8],
    argv: &mut AVec<&'q [u8], A>,
) -> Option<usize> {
    fn line(buf: &[u8], at: usize) -> Option<(usize, usize)> {
        let end = at + buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        let n = std::str::from_utf8(buf.get(at + 1..end)?)
            .ok()?
            .parse()
            .ok()?;
        Some((n, end + 2))
    }
    let (argc, mut at) = line(buf, 0)?;
    argv.reserve(argc);
    for _ in 0..argc {
        let (len, start) = line(buf, at)?;
        argv.push(buf.get(start..start + len)?);
        at = start + len + 2;
    }
    Some(at)
}

fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// A batch: `depth` pipelined commands, each with `argc` arguments of `arg_bytes` bytes.
fn batch(depth: usize, argc: usize, arg_bytes: usize) -> Vec<u8> {
    let arg = vec![b'x'; arg_bytes];
    let mut args: Vec<&[u8]> = vec![b"SET"];
    args.extend(std::iter::repeat_n(arg.as_slice(), argc - 1));
    let mut out = Vec::new();
    for _ in 0..depth {
        encode(&args, &mut out);
    }
    out
}

/// Handles one batch the way the server does: an argv per command and a scratch reply, then reset.
fn handle_batch<R: RequestAlloc>(strategy: &mut R, query: &[u8]) -> usize {
    let mut replied = 0;
    {
        let alloc = strategy.allocator();
        let mut at = 0;
        while at < query.len() {
            let mut argv = AVec::new_in(alloc);
            let Some(used) = split_request(&query[at..], &mut argv) else {
                break;
            };
            at += used;
            let mut reply: AVec<u8, R::Alloc<'_>> = AVec::with_capacity_in(16, alloc);
            reply.extend_from_slice(b"+OK\r\n");
            replied += reply.len() + argv.len();
            black_box(&argv);
        }
    }
    strategy.reset();
    replied
}

fn parse(c: &mut Criterion) {
    let cases = [
        ("pipeline_1", 1, 3, 8),
        ("pipeline_64", 64, 3, 8),
        ("pipeline_512", 512, 5, 16),
        ("large_args", 4, 3, 256 * 1024),
    ];
    let mut group = c.benchmark_group("parse");
    for (name, depth, argc, arg_bytes) in cases {
        let query = batch(depth, argc, arg_bytes);
        group.throughput(Throughput::Bytes(query.len() as u64));
        let mut arena = ArenaAlloc::new(1 << 20);
        group.bench_with_input(BenchmarkId::new(ArenaAlloc::NAME, name), &query, |b, q| {
            b.iter(|| handle_batch(&mut arena, q))
        });
        let mut heap = HeapAlloc::new();
        group.bench_with_input(BenchmarkId::new(HeapAlloc::NAME, name), &query, |b, q| {
            b.iter(|| handle_batch(&mut heap, q))
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
