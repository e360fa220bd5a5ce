//! Pub/Sub frames, encoded by hand (`$len\r\nbytes\r\n`), once per publish and protocol, so the server
//! can share one `Rc<[u8]>` between every recipient.
//!
//! RESP2 frames are arrays (`*3`), RESP3 frames are pushes (`>3`); the elements are the same.

/// The protocol a client speaks (`HELLO 2` / `HELLO 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2: messages and subscription replies are arrays.
    #[default]
    Resp2,
    /// RESP3: messages and subscription replies are push frames.
    Resp3,
}

/// Appends `message` frame: `[message, channel, payload]`.
///
/// ```
/// use zedis_pubsub::{encode_message, Protocol};
/// let mut out = Vec::new();
/// encode_message(&mut out, Protocol::Resp2, b"news", b"hi");
/// assert_eq!(out, b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
/// ```
pub fn encode_message(out: &mut Vec<u8>, protocol: Protocol, channel: &[u8], payload: &[u8]) {
    header(out, protocol, 3);
    bulk(out, b"message");
    bulk(out, channel);
    bulk(out, payload);
}

/// Appends a `pmessage` frame: `[pmessage, pattern, channel, payload]`.
pub fn encode_pmessage(
    out: &mut Vec<u8>,
    protocol: Protocol,
    pattern: &[u8],
    channel: &[u8],
    payload: &[u8],
) {
    header(out, protocol, 4);
    bulk(out, b"pmessage");
    bulk(out, pattern);
    bulk(out, channel);
    bulk(out, payload);
}

/// Appends an `smessage` frame: `[smessage, shardchannel, payload]`.
pub fn encode_smessage(out: &mut Vec<u8>, protocol: Protocol, channel: &[u8], payload: &[u8]) {
    header(out, protocol, 3);
    bulk(out, b"smessage");
    bulk(out, channel);
    bulk(out, payload);
}

/// Appends a (un)subscribe reply: `[reply_name, name, count]`, with a nil name (`$-1` in RESP2, `_` in
/// RESP3) for the "nothing to unsubscribe from" reply. `reply_name` is
/// [`Kind::subscribe_reply_name`](crate::Kind::subscribe_reply_name) or
/// [`Kind::unsubscribe_reply_name`](crate::Kind::unsubscribe_reply_name).
///
/// ```
/// use zedis_pubsub::{encode_subscription_reply, Kind, Protocol};
/// let mut out = Vec::new();
/// encode_subscription_reply(&mut out, Protocol::Resp3, Kind::Channel.unsubscribe_reply_name(), None, 0);
/// assert_eq!(out, b">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
/// ```
pub fn encode_subscription_reply(
    out: &mut Vec<u8>,
    protocol: Protocol,
    reply_name: &[u8],
    name: Option<&[u8]>,
    count: usize,
) {
    header(out, protocol, 3);
    bulk(out, reply_name);
    match (name, protocol) {
        (Some(name), _) => bulk(out, name),
        (None, Protocol::Resp2) => out.extend_from_slice(b"$-1\r\n"),
        (None, Protocol::Resp3) => out.extend_from_slice(b"_\r\n"),
    }
    out.push(b':');
    decimal(out, count);
    out.extend_from_slice(b"\r\n");
}

fn header(out: &mut Vec<u8>, protocol: Protocol, len: usize) {
    out.push(match protocol {
        Protocol::Resp2 => b'*',
        Protocol::Resp3 => b'>',
    });
    decimal(out, len);
    out.extend_from_slice(b"\r\n");
}

fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    decimal(out, bytes.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal without allocating.
fn decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    // Expected bytes captured from redis-server 7.0.15 over a raw socket.

    #[test]
    fn message_frames_match_redis() {
        let mut out = Vec::new();
        encode_message(&mut out, Protocol::Resp2, b"c1", b"hi");
        encode_pmessage(&mut out, Protocol::Resp2, b"c*", b"c1", b"hi");
        assert_eq!(out, b"*3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nc1\r\n$2\r\nhi\r\n");
        out.clear();
        encode_message(&mut out, Protocol::Resp3, b"c1", b"hi");
        encode_pmessage(&mut out, Protocol::Resp3, b"c*", b"c1", b"hi");
        assert_eq!(out, b">3\r\n$7\r\nmessage\r\n$2\r\nc1\r\n$2\r\nhi\r\n>4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nc1\r\n$2\r\nhi\r\n");
        out.clear();
        encode_smessage(&mut out, Protocol::Resp2, b"s1", b"hi");
        assert_eq!(out, b"*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nhi\r\n");
        out.clear();
        encode_smessage(&mut out, Protocol::Resp3, b"s1", b"yo");
        assert_eq!(out, b">3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$2\r\nyo\r\n");
    }

    #[test]
    fn subscription_replies_match_redis() {
        let mut out = Vec::new();
        encode_subscription_reply(
            &mut out,
            Protocol::Resp2,
            Kind::Pattern.subscribe_reply_name(),
            Some(b"c*"),
            3,
        );
        assert_eq!(out, b"*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:3\r\n");
        out.clear();
        encode_subscription_reply(
            &mut out,
            Protocol::Resp2,
            Kind::ShardChannel.unsubscribe_reply_name(),
            None,
            0,
        );
        assert_eq!(out, b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
        out.clear();
        encode_subscription_reply(
            &mut out,
            Protocol::Resp3,
            Kind::ShardChannel.subscribe_reply_name(),
            Some(b"s1"),
            1,
        );
        assert_eq!(out, b">3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n");
    }

    #[test]
    fn empty_and_binary_payloads_and_big_numbers() {
        let mut out = Vec::new();
        encode_message(&mut out, Protocol::Resp2, b"", b"a\r\nb\0");
        assert_eq!(out, b"*3\r\n$7\r\nmessage\r\n$0\r\n\r\n$5\r\na\r\nb\0\r\n");
        out.clear();
        decimal(&mut out, usize::MAX);
        assert_eq!(out, usize::MAX.to_string().as_bytes());
        out.clear();
        decimal(&mut out, 0);
        assert_eq!(out, b"0");
    }
}
