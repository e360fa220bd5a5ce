//! No allocation follows a declared length: inputs declaring huge strings, collections, LZF
//! outputs, PELs and libraries but holding a few bytes are refused while the largest single
//! allocation and the peak of live heap bytes stay small. A counting global allocator measures both.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use zedis_rdb::{
    crc64, decode_dump_payload, decode_function_payload, rdb_type as t, Limits, RdbReader,
};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        LARGEST.fetch_max(layout.size(), Ordering::SeqCst);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns (largest single allocation, peak live bytes above the start).
fn measure(f: impl FnOnce()) -> (usize, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    LARGEST.store(0, Ordering::SeqCst);
    f();
    (
        LARGEST.load(Ordering::SeqCst),
        PEAK.load(Ordering::SeqCst).saturating_sub(base),
    )
}

fn len32(out: &mut Vec<u8>, n: u32) {
    out.push(0x80);
    out.extend_from_slice(&n.to_be_bytes());
}

fn sign(mut p: Vec<u8>) -> Vec<u8> {
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

const HUGE: u32 = 400 << 20;

/// Object bodies (type byte first) that declare far more than they hold.
fn hostile_objects() -> Vec<(&'static str, Vec<u8>)> {
    let mut string = vec![t::STRING];
    len32(&mut string, HUGE);
    string.extend_from_slice(b"only a few bytes");
    let mut lzf = vec![t::STRING, 0xC3, 5];
    len32(&mut lzf, HUGE);
    lzf.extend_from_slice(&[0x00, b'a', 0xE0, 0xFF, 0x00]);
    let mut set = vec![t::SET];
    len32(&mut set, u32::MAX);
    set.extend_from_slice(&[1, b'a', 1, b'b']);
    let mut quicklist = vec![t::LIST_QUICKLIST_2];
    len32(&mut quicklist, u32::MAX);
    quicklist.extend_from_slice(&[1, 1, b'x']);
    let mut listpack = vec![t::HASH_LISTPACK];
    len32(&mut listpack, HUGE);
    listpack.extend_from_slice(&HUGE.to_le_bytes());
    let mut intset = vec![t::SET_INTSET, 12];
    intset.extend_from_slice(&8u32.to_le_bytes());
    intset.extend_from_slice(&u32::MAX.to_le_bytes());
    intset.extend_from_slice(&7u32.to_le_bytes());
    // A stream with no nodes, length 0, IDs, then a group whose PEL claims 2^32 - 1 entries.
    let mut stream = vec![
        t::STREAM_LISTPACKS_2,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        1,
        b'g',
        0,
        0,
        0,
    ];
    len32(&mut stream, u32::MAX);
    stream.extend_from_slice(&[0u8; 20]);
    vec![
        ("string", string),
        ("LZF string", lzf),
        ("set", set),
        ("quicklist", quicklist),
        ("listpack", listpack),
        ("intset", intset),
        ("stream PEL", stream),
    ]
}

#[test]
fn declared_lengths_allocate_nothing() {
    let limit_largest = 256 << 10;
    let limit_peak = 4 << 20;
    for (name, object) in hostile_objects() {
        let payload = sign(object.clone());
        let (largest, peak) = measure(|| {
            assert!(
                decode_dump_payload(&payload, Limits::default()).is_err(),
                "{name}"
            );
        });
        assert!(
            largest < limit_largest,
            "{name} payload: allocated {largest} bytes at once"
        );
        assert!(peak < limit_peak, "{name} payload: peak {peak} bytes");

        let mut file = b"REDIS0010".to_vec();
        file.push(object[0]);
        file.extend_from_slice(&[1, b'k']);
        file.extend_from_slice(&object[1..]);
        let (largest, peak) = measure(|| {
            let reader = RdbReader::new(&file[..], Limits::default()).expect("header");
            let mut items = reader;
            let err = loop {
                match items.next_item() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("{name}: read to the end"),
                    Err(e) => break e,
                }
            };
            assert_eq!(err.key.as_deref(), Some(&b"k"[..]), "{name}: {err}");
        });
        assert!(
            largest < limit_largest,
            "{name} file: allocated {largest} bytes at once"
        );
        assert!(peak < limit_peak, "{name} file: peak {peak} bytes");
    }

    let mut library = vec![245];
    len32(&mut library, HUGE);
    library.extend_from_slice(b"#!lua name=x");
    let payload = sign(library);
    let (largest, peak) = measure(|| {
        assert!(decode_function_payload(&payload, Limits::default()).is_err());
    });
    assert!(
        largest < limit_largest,
        "library: allocated {largest} bytes at once"
    );
    assert!(peak < limit_peak, "library: peak {peak} bytes");
}
