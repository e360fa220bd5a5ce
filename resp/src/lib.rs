//! TEMPORARY shim of the resp API (replaced by the real crate on merge).
#![allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol { #[default] Resp2, Resp3 }
pub mod reply {
    use super::Protocol;
    fn line(out: &mut Vec<u8>, p: u8, n: i64) { out.push(p); out.extend_from_slice(n.to_string().as_bytes()); out.extend_from_slice(b"\r\n"); }
    pub fn simple(out: &mut Vec<u8>, s: &[u8]) { out.push(b'+'); out.extend_from_slice(s); out.extend_from_slice(b"\r\n"); }
    pub fn error(out: &mut Vec<u8>, s: &[u8]) { out.push(b'-'); out.extend_from_slice(s); out.extend_from_slice(b"\r\n"); }
    pub fn ok(out: &mut Vec<u8>) { out.extend_from_slice(b"+OK\r\n"); }
    pub fn integer(out: &mut Vec<u8>, n: i64) { line(out, b':', n) }
    pub fn bulk(out: &mut Vec<u8>, b: &[u8]) { line(out, b'$', b.len() as i64); out.extend_from_slice(b); out.extend_from_slice(b"\r\n"); }
    pub fn bulk_int(out: &mut Vec<u8>, n: i64) { bulk(out, n.to_string().as_bytes()) }
    pub fn null(out: &mut Vec<u8>, p: Protocol) { out.extend_from_slice(if p == Protocol::Resp3 { b"_\r\n" } else { b"$-1\r\n" }) }
    pub fn null_array(out: &mut Vec<u8>, p: Protocol) { out.extend_from_slice(if p == Protocol::Resp3 { b"_\r\n" } else { b"*-1\r\n" }) }
    pub fn array_len(out: &mut Vec<u8>, n: usize) { line(out, b'*', n as i64) }
    pub fn map_len(out: &mut Vec<u8>, p: Protocol, n: usize) { if p == Protocol::Resp3 { line(out, b'%', n as i64) } else { line(out, b'*', 2 * n as i64) } }
    pub fn set_len(out: &mut Vec<u8>, p: Protocol, n: usize) { if p == Protocol::Resp3 { line(out, b'~', n as i64) } else { line(out, b'*', n as i64) } }
    pub fn push_len(out: &mut Vec<u8>, p: Protocol, n: usize) { if p == Protocol::Resp3 { line(out, b'>', n as i64) } else { line(out, b'*', n as i64) } }
    pub fn double(out: &mut Vec<u8>, p: Protocol, d: f64) { if p == Protocol::Resp3 { out.push(b','); out.extend_from_slice(d.to_string().as_bytes()); out.extend_from_slice(b"\r\n"); } else { bulk(out, d.to_string().as_bytes()) } }
    pub fn boolean(out: &mut Vec<u8>, p: Protocol, b: bool) { if p == Protocol::Resp3 { out.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" }) } else { integer(out, b as i64) } }
    pub fn verbatim(out: &mut Vec<u8>, p: Protocol, format: &[u8; 3], text: &[u8]) { if p == Protocol::Resp3 { line(out, b'=', text.len() as i64 + 4); out.extend_from_slice(format); out.push(b':'); out.extend_from_slice(text); out.extend_from_slice(b"\r\n"); } else { bulk(out, text) } }
}
