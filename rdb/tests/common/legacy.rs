//! Payloads in the encodings Redis 7.0 no longer writes but still loads (ziplist, zipmap, quicklist
//! of ziplists, linked lists, text-double sorted sets), built here byte by byte.

use zedis_rdb::{crc64, rdb_type as t};

/// Appends an RDB length.
pub fn len(out: &mut Vec<u8>, n: usize) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Appends an RDB string (raw).
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    len(out, s.len());
    out.extend_from_slice(s);
}

/// A ziplist of `items`, integers in the narrowest ziplist integer encoding.
pub fn ziplist(items: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for item in items {
        let start = body.len();
        tail = 10 + start;
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        let as_int = std::str::from_utf8(item)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|v| v.to_string().as_bytes() == item.as_slice());
        match as_int {
            Some(v) if (0..=12).contains(&v) => body.push(0xF1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => body.extend_from_slice(&[0xFE, v as u8]),
            Some(v) if i16::try_from(v).is_ok() => {
                body.push(0xC0);
                body.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                body.push(0xF0);
                body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                body.push(0xD0);
                body.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                body.push(0xE0);
                body.extend_from_slice(&v.to_le_bytes());
            }
            None if item.len() < 64 => {
                body.push(item.len() as u8);
                body.extend_from_slice(item);
            }
            None if item.len() < 16384 => {
                body.extend_from_slice(&[0x40 | (item.len() >> 8) as u8, item.len() as u8]);
                body.extend_from_slice(item);
            }
            None => {
                body.push(0x80);
                body.extend_from_slice(&(item.len() as u32).to_be_bytes());
                body.extend_from_slice(item);
            }
        }
        prev = body.len() - start;
    }
    let total = 10 + body.len() + 1;
    let mut zl = Vec::with_capacity(total);
    zl.extend_from_slice(&(total as u32).to_le_bytes());
    zl.extend_from_slice(&(tail as u32).to_le_bytes());
    zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xFF);
    zl
}

/// A zipmap of `pairs` (no free bytes).
pub fn zipmap(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut zm = vec![pairs.len() as u8];
    for (k, v) in pairs {
        zm.push(k.len() as u8);
        zm.extend_from_slice(k);
        zm.push(v.len() as u8);
        zm.push(0);
        zm.extend_from_slice(v);
    }
    zm.push(0xFF);
    zm
}

/// `type | body | RDB version 9 | CRC64`.
pub fn payload(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![ty];
    p.extend_from_slice(body);
    p.extend_from_slice(&9u16.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// Owned byte strings.
pub fn strings(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// One payload per legacy encoding, named.
pub fn legacy_payloads() -> Vec<(&'static str, Vec<u8>)> {
    let list_items = strings(&[
        "a",
        "0",
        "12",
        "13",
        "-100",
        "1000",
        "-70000",
        "5000000",
        "3000000000",
        "-9223372036854775808",
        &"long".repeat(100),
    ]);
    let mut out = Vec::new();
    let mut b = Vec::new();
    string(&mut b, &ziplist(&list_items));
    out.push(("list-ziplist", payload(t::LIST_ZIPLIST, &b)));

    let mut b = Vec::new();
    len(&mut b, 2);
    string(&mut b, &ziplist(&list_items[..4]));
    string(&mut b, &ziplist(&list_items[4..]));
    out.push(("list-quicklist1", payload(t::LIST_QUICKLIST, &b)));

    let mut b = Vec::new();
    len(&mut b, list_items.len());
    for i in &list_items {
        string(&mut b, i);
    }
    out.push(("list-linked", payload(t::LIST, &b)));

    let mut b = Vec::new();
    string(
        &mut b,
        &ziplist(&strings(&["f1", "v1", "f2", "22", "f3", ""])),
    );
    out.push(("hash-ziplist", payload(t::HASH_ZIPLIST, &b)));

    let mut b = Vec::new();
    string(
        &mut b,
        &zipmap(&[(b"name", b"zedis"), (b"n", b"42"), (b"empty", b"")]),
    );
    out.push(("hash-zipmap", payload(t::HASH_ZIPMAP, &b)));

    let mut b = Vec::new();
    string(
        &mut b,
        &ziplist(&strings(&["a", "1", "b", "2.5", "c", "-3"])),
    );
    out.push(("zset-ziplist", payload(t::ZSET_ZIPLIST, &b)));

    let mut b = Vec::new();
    len(&mut b, 3);
    for (m, s) in [("x", "1.5"), ("y", "-2"), ("z", "1e+20")] {
        string(&mut b, m.as_bytes());
        b.push(s.len() as u8);
        b.extend_from_slice(s.as_bytes());
    }
    string(&mut b, b"inf");
    b.push(254);
    b[0] = 4;
    out.push(("zset-text-doubles", payload(t::ZSET, &b)));
    out
}
