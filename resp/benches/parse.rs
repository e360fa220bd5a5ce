//! Request parse throughput: pipelined SET/GET batches (multibulk and inline), one large bulk (whole and
//! arriving in 64 KB reads), and reply encoding for comparison.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use zedis_resp::{encode_command, reply, ParserLimits, Protocol, RequestParser};

/// Parses every request in `buf`; returns the argument count seen (so nothing is optimised away).
fn parse_all(parser: &mut RequestParser, buf: &mut [u8]) -> usize {
    let mut offset = 0;
    let mut args = 0;
    while let Ok(Some(consumed)) = parser.parse(&mut buf[offset..]) {
        args += parser.args().len();
        offset += consumed;
    }
    args
}

fn pipelined_set_get(count: usize, value_bytes: usize) -> Vec<u8> {
    let value = vec![b'v'; value_bytes];
    let mut buf = Vec::new();
    for idx in 0..count {
        let key = format!("key:{idx:08}");
        if idx % 2 == 0 {
            encode_command(&mut buf, &[b"SET", key.as_bytes(), &value]);
        } else {
            encode_command(&mut buf, &[b"GET", key.as_bytes()]);
        }
    }
    buf
}

fn bench_pipelined(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipelined");
    for (name, value_bytes) in [("set_get_16B", 16), ("set_get_1KiB", 1024)] {
        let mut buf = pipelined_set_get(128, value_bytes);
        let mut parser = RequestParser::new(ParserLimits::default());
        group.throughput(Throughput::Bytes(buf.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| black_box(parse_all(&mut parser, black_box(&mut buf))))
        });
    }
    let mut inline = Vec::new();
    for idx in 0..128 {
        inline.extend_from_slice(format!("GET key:{idx:08}\r\n").as_bytes());
    }
    let mut parser = RequestParser::new(ParserLimits::default());
    group.throughput(Throughput::Bytes(inline.len() as u64));
    group.bench_function("inline_get", |b| {
        b.iter(|| black_box(parse_all(&mut parser, black_box(&mut inline))))
    });
    group.finish();
}

fn bench_large_bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("large_bulk");
    let value = vec![b'x'; 16 << 20];
    let mut buf = Vec::new();
    encode_command(&mut buf, &[b"SET", b"big", &value]);
    group.throughput(Throughput::Bytes(buf.len() as u64));
    let mut parser = RequestParser::new(ParserLimits::default());
    group.bench_function("whole_16MiB", |b| {
        b.iter(|| black_box(parse_all(&mut parser, black_box(&mut buf))))
    });
    // The server's view: the same buffer grows by 64 KB reads, parse is called after each one.
    group.bench_function("chunked_64KiB_16MiB", |b| {
        b.iter(|| {
            let mut end = 0;
            loop {
                end = (end + 64 * 1024).min(buf.len());
                match parser.parse(&mut buf[..end]) {
                    Ok(None) => continue,
                    other => break black_box(other),
                }
            }
        })
    });
    group.finish();
}

fn bench_replies(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply");
    let mut out = Vec::with_capacity(1 << 16);
    group.throughput(Throughput::Elements(128));
    group.bench_function("bulk_16B_x128", |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..128 {
                reply::bulk(&mut out, black_box(b"0123456789abcdef"));
            }
            black_box(out.len())
        })
    });
    group.bench_function("double_x128", |b| {
        b.iter(|| {
            out.clear();
            for idx in 0..128 {
                reply::double(&mut out, Protocol::Resp3, black_box(idx as f64 * 0.1));
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_pipelined, bench_large_bulk, bench_replies);
criterion_main!(benches);
