//! Arena vs heap for per-request scratch memory: building argument vectors (and a small reply) for deep
//! pipelines and for large arguments, resetting after each batch as the server does.
//!
//! Requests are split by the server's own parser (`zedis_resp::RequestParser`, zero-copy spans into the query
//! buffer), and the argument vector is built from the spans in the strategy's allocator exactly as
//! `server::Server::process_input` does; only the allocation strategy differs between the two benches.

use std::hint::black_box;

use allocator_api2::vec::Vec as AVec;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use zedis_arena::{ArenaAlloc, HeapAlloc, RequestAlloc};
use zedis_resp::{ParserLimits, RequestParser};

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

/// Handles one batch the way the server does: parse each request, an argv per command and a scratch reply,
/// then reset. `query` is mutable because the parser unescapes inline requests in place (these are multibulk,
/// so it is left as is and can be parsed again).
fn handle_batch<R: RequestAlloc>(
    strategy: &mut R,
    parser: &mut RequestParser,
    query: &mut [u8],
) -> usize {
    let mut replied = 0;
    {
        let alloc = strategy.allocator();
        let mut at = 0;
        while at < query.len() {
            let Ok(Some(used)) = parser.parse(&mut query[at..]) else {
                break;
            };
            let data = &query[at..at + used];
            at += used;
            let spans = parser.args();
            let mut argv: AVec<&[u8], _> = AVec::new_in(alloc);
            if argv.try_reserve_exact(spans.len()).is_err() {
                break;
            }
            argv.extend(spans.iter().map(|span| &data[span.clone()]));
            let mut reply: AVec<u8, R::Alloc<'_>> = AVec::with_capacity_in(16, alloc);
            reply.extend_from_slice(b"+OK\r\n");
            replied += reply.len() + argv.len();
            black_box(&argv);
        }
        assert_eq!(at, query.len(), "the batch parses completely");
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
        let mut query = batch(depth, argc, arg_bytes);
        // Commands, not bytes: the zero-copy parser never reads a bulk's bytes, so bytes per second would
        // measure the argument size, not the work.
        group.throughput(Throughput::Elements(depth as u64));
        let mut parser = RequestParser::new(ParserLimits::default());
        let mut arena = ArenaAlloc::new(1 << 20);
        group.bench_function(BenchmarkId::new(ArenaAlloc::NAME, name), |b| {
            b.iter(|| handle_batch(&mut arena, &mut parser, &mut query))
        });
        let mut heap = HeapAlloc::new();
        group.bench_function(BenchmarkId::new(HeapAlloc::NAME, name), |b| {
            b.iter(|| handle_batch(&mut heap, &mut parser, &mut query))
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
