//! Structure-aware: the input is a list of elements (separated by 0xFF) packed into a valid
//! listpack, so that mutations reach what lies behind listpack validation: hash and sorted-set
//! pairs, set and list members, and stream nodes (master entry, flags, ID deltas, lp-counts).
//! Whatever decodes must round-trip through a DUMP payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zedis_rdb::listpack::ListpackBuilder;
use zedis_rdb::{
    crc64, create_dump_payload, decode_dump_payload, rdb_type as t, EncodingConfig, Limits,
    RdbValue,
};

fn len(out: &mut Vec<u8>, n: u64) {
    out.push(0x81);
    out.extend_from_slice(&n.to_be_bytes());
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    len(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn sign(mut p: Vec<u8>) -> Vec<u8> {
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn sorted(v: &RdbValue) -> RdbValue {
    match v {
        RdbValue::Set(m) => {
            let mut m = m.clone();
            m.sort();
            RdbValue::Set(m)
        }
        RdbValue::ZSet(p) => {
            let mut p = p.clone();
            p.sort_by(|a, b| a.0.cmp(&b.0));
            RdbValue::ZSet(p)
        }
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let mut lp = ListpackBuilder::new();
    let elements: Vec<&[u8]> = rest.split(|&b| b == 0xFF).collect();
    for e in &elements {
        lp.push_str(e);
    }
    let count = elements
        .first()
        .and_then(|e| std::str::from_utf8(e).ok()?.parse::<u64>().ok());
    let lp = lp.finish();
    let mut p = Vec::new();
    match kind % 5 {
        0 => {
            p.push(t::HASH_LISTPACK);
            string(&mut p, &lp);
        }
        1 => {
            p.push(t::ZSET_LISTPACK);
            string(&mut p, &lp);
        }
        2 => {
            p.push(t::SET_LISTPACK);
            string(&mut p, &lp);
        }
        3 => {
            p.push(t::LIST_QUICKLIST_2);
            len(&mut p, 1);
            len(&mut p, 2);
            string(&mut p, &lp);
        }
        _ => {
            // One node with master ID 5-5; the stream length is the node's live count.
            p.push(t::STREAM_LISTPACKS_2);
            len(&mut p, 1);
            let mut master = [0u8; 16];
            master[7] = 5;
            master[15] = 5;
            string(&mut p, &master);
            string(&mut p, &lp);
            len(&mut p, count.unwrap_or(0));
            for id in [u64::MAX, 0, 5, 5, 0, 0] {
                len(&mut p, id);
            }
            len(&mut p, 7); // entries added
            len(&mut p, 0); // groups
        }
    }
    let payload = sign(p);
    let Ok(value) = decode_dump_payload(&payload, Limits::default()) else {
        return;
    };
    let cfg = EncodingConfig::default();
    let ours = create_dump_payload(&value, &cfg);
    let back = decode_dump_payload(&ours, Limits::default()).expect("our payload decodes");
    assert_eq!(sorted(&back), sorted(&value));
});
