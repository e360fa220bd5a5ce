//! How two replies are compared: exactly, by type, as sorted multisets, as pairs, or as "both errors".

use super::script::{Mode, Step};
use zedis_resp::frame::parse_frame;

/// Escapes bytes for a readable report.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    if out.len() > 2000 {
        let cut = (1900..)
            .find(|&i| out.is_char_boundary(i))
            .unwrap_or(out.len());
        format!("{}... ({} bytes)", &out[..cut], bytes.len())
    } else {
        out
    }
}

/// Splits an aggregate reply into its header line and its elements' raw bytes.
fn elements(frame: &[u8]) -> Option<(&[u8], Vec<&[u8]>)> {
    if !matches!(frame.first(), Some(b'*' | b'~' | b'%' | b'>')) {
        return None;
    }
    let header_end = frame.windows(2).position(|w| w == b"\r\n")? + 2;
    let mut elems = Vec::new();
    let mut pos = header_end;
    while pos < frame.len() {
        let (_, used) = parse_frame(&frame[pos..]).ok()??;
        elems.push(&frame[pos..pos + used]);
        pos += used;
    }
    Some((&frame[..header_end], elems))
}

/// The canonical sorted form of a frame: aggregates' elements normalized and sorted, recursively.
fn canonical_sorted(frame: &[u8]) -> Vec<u8> {
    match elements(frame) {
        None => frame.to_vec(),
        Some((header, elems)) => {
            let mut parts: Vec<Vec<u8>> = elems.iter().map(|e| canonical_sorted(e)).collect();
            parts.sort();
            let mut out = header.to_vec();
            for p in parts {
                out.extend_from_slice(&p);
            }
            out
        }
    }
}

/// The canonical form of a flat key/value array or map: pairs sorted by bytes.
fn canonical_pairs(frame: &[u8]) -> Vec<u8> {
    match elements(frame) {
        Some((header, elems)) if elems.len() % 2 == 0 => {
            let mut pairs: Vec<Vec<u8>> = elems.chunks(2).map(|c| [c[0], c[1]].concat()).collect();
            pairs.sort();
            let mut out = header.to_vec();
            for p in pairs {
                out.extend_from_slice(&p);
            }
            out
        }
        _ => frame.to_vec(),
    }
}

/// Replaces the value after an `id` key in a HELLO reply with `:0`.
pub fn mask_hello_id(frame: &[u8]) -> Vec<u8> {
    let Some((header, elems)) = elements(frame) else {
        return frame.to_vec();
    };
    let mut out = header.to_vec();
    let mut mask_next = false;
    for e in elems {
        if mask_next && e.first() == Some(&b':') {
            out.extend_from_slice(b":0\r\n");
        } else {
            out.extend_from_slice(e);
        }
        mask_next = e == b"$2\r\nid\r\n" || e == b"+id\r\n";
    }
    out
}

/// Whether the step sends HELLO (whose reply carries the connection id, masked before comparing).
pub fn is_hello(step: &Step) -> bool {
    match step {
        Step::Resp3 => true,
        Step::Command {
            mode: Mode::Exact,
            args,
            ..
        } => args[0].eq_ignore_ascii_case(b"hello"),
        _ => false,
    }
}

/// Whether two replies match under `mode`.
pub fn matches(mode: Mode, a: &[u8], b: &[u8]) -> bool {
    match mode {
        Mode::Exact => a == b,
        Mode::Type => a.first() == b.first(),
        Mode::Sorted => canonical_sorted(a) == canonical_sorted(b),
        Mode::Pairs => canonical_pairs(a) == canonical_pairs(b),
        Mode::Error => {
            matches!(a.first(), Some(b'-' | b'!')) && matches!(b.first(), Some(b'-' | b'!'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_pairs_canonical_forms() {
        let a = b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n";
        let b = b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n";
        assert!(matches(Mode::Sorted, a, b));
        assert!(!matches(Mode::Exact, a, b));
        let p = b"*4\r\n$1\r\nk\r\n$1\r\nv\r\n$1\r\na\r\n$1\r\nz\r\n";
        let q = b"*4\r\n$1\r\na\r\n$1\r\nz\r\n$1\r\nk\r\n$1\r\nv\r\n";
        assert!(matches(Mode::Pairs, p, q));
        let hello = b"%2\r\n$2\r\nid\r\n:7\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n";
        assert_eq!(
            mask_hello_id(hello),
            b"%2\r\n$2\r\nid\r\n:0\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
        );
    }
}
