//! Tests of `request.rs`: byte-exact Redis cases, resumption, and property tests.

use proptest::prelude::*;

use super::*;
use crate::frame::encode_command;

type Args = Vec<Vec<u8>>;

/// Parses requests from `input` (as one buffer) until incomplete or an error.
fn parse_stream(input: &[u8], parser: &mut RequestParser) -> (Vec<Args>, Option<ProtocolError>) {
    let mut buf = input.to_vec();
    let mut requests = Vec::new();
    loop {
        match parser.parse(&mut buf) {
            Ok(Some(consumed)) => {
                requests.push(
                    parser
                        .args()
                        .iter()
                        .map(|span| buf[span.clone()].to_vec())
                        .collect(),
                );
                buf.drain(..consumed);
            }
            Ok(None) => return (requests, None),
            Err(error) => return (requests, Some(error)),
        }
    }
}

fn parse_default(input: &[u8]) -> (Vec<Args>, Option<ProtocolError>) {
    parse_stream(input, &mut RequestParser::new(ParserLimits::default()))
}

/// Feeds `input` in chunks as the server does: append, parse until incomplete, drop consumed bytes.
fn parse_chunked(
    input: &[u8],
    cuts: &[usize],
    parser: &mut RequestParser,
) -> (Vec<Args>, Option<ProtocolError>) {
    let mut buf = Vec::new();
    let mut requests = Vec::new();
    let mut start = 0;
    let ends = cuts
        .iter()
        .copied()
        .filter(|&cut| cut < input.len())
        .chain([input.len()]);
    for end in ends {
        if end < start {
            continue;
        }
        buf.extend_from_slice(&input[start..end]);
        start = end;
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(consumed)) => {
                    requests.push(
                        parser
                            .args()
                            .iter()
                            .map(|span| buf[span.clone()].to_vec())
                            .collect(),
                    );
                    buf.drain(..consumed);
                }
                Ok(None) => break,
                Err(error) => return (requests, Some(error)),
            }
        }
    }
    (requests, None)
}

fn args(list: &[&[u8]]) -> Args {
    list.iter().map(|arg| arg.to_vec()).collect()
}

#[test]
fn inline_requests_match_redis() {
    assert_eq!(parse_default(b"PING\n"), (vec![args(&[b"PING"])], None));
    assert_eq!(parse_default(b"PING\r\n"), (vec![args(&[b"PING"])], None));
    let (requests, error) = parse_default(b"\r\n\n  \nPING\r\n");
    assert_eq!(requests, vec![vec![], vec![], vec![], args(&[b"PING"])]);
    assert_eq!(error, None);
    assert_eq!(
        parse_default(b"ECHO \"a\\x41\\n\\q\"\r\n").0,
        vec![args(&[b"ECHO", b"aA\nq"])]
    );
    assert_eq!(
        parse_default(b"ECHO 'a\\'b'\r\n").0,
        vec![args(&[b"ECHO", b"a'b"])]
    );
    assert_eq!(
        parse_default(b"ECHO a\"b c\"\r\n").0,
        vec![args(&[b"ECHO", b"ab c"])]
    );
    assert_eq!(
        parse_default(b"ECHO a\x0bb\r\n").0,
        vec![args(&[b"ECHO", b"a\x0bb"])]
    );
    // A \r not before the \n stays in the line, where it separates arguments.
    assert_eq!(parse_default(b"a\rb\r\r\n").0, vec![args(&[b"a", b"b"])]);
    // Incomplete: no \n yet.
    assert_eq!(parse_default(b"PING"), (vec![], None));
}

#[test]
fn inline_errors_match_redis() {
    for input in [
        &b"ECHO \"abc\"d\r\n"[..],
        b"ECHO 'abc'd\r\n",
        b"ECHO \"abc\r\n",
    ] {
        assert_eq!(
            parse_default(input),
            (vec![], Some(ProtocolError::UnbalancedQuotes))
        );
    }
    let limit = INLINE_BYTES_MAX_DEFAULT;
    assert_eq!(parse_default(&vec![b'A'; limit]), (vec![], None));
    assert_eq!(
        parse_default(&vec![b'A'; limit + 1]),
        (vec![], Some(ProtocolError::TooBigInlineRequest))
    );
    // As in Redis, a complete line is accepted whatever its length.
    let mut long = b"ECHO ".to_vec();
    long.extend(std::iter::repeat_n(b'A', 70_000));
    long.extend_from_slice(b"\r\n");
    let (requests, error) = parse_default(&long);
    assert_eq!((requests[0][1].len(), error), (70_000, None));
}

#[test]
fn multibulk_requests_match_redis() {
    let ping = vec![args(&[b"PING"])];
    assert_eq!(parse_default(b"*1\r\n$4\r\nPING\r\n"), (ping.clone(), None));
    // The two bytes after a bulk and the byte after a header's \r are skipped unchecked.
    assert_eq!(parse_default(b"*1\r\n$4\r\nPINGXX"), (ping.clone(), None));
    assert_eq!(parse_default(b"*1\rX$4\rYPING\r\n"), (ping.clone(), None));
    for empty in [&b"*0\r\n"[..], b"*-1\r\n", b"*-5\r\n"] {
        let mut input = empty.to_vec();
        input.extend_from_slice(b"PING\r\n");
        assert_eq!(
            parse_default(&input),
            (vec![vec![], args(&[b"PING"])], None)
        );
    }
    assert_eq!(
        parse_default(b"*2\r\n$0\r\n\r\n$1\r\n\0\r\n").0,
        vec![args(&[b"", b"\0"])]
    );
    // Huge declared counts and lengths are only limits, nothing is reserved for them.
    assert_eq!(parse_default(b"*2147483647\r\n"), (vec![], None));
    assert_eq!(parse_default(b"*1\r\n$536870912\r\n"), (vec![], None));
}

#[test]
fn multibulk_errors_match_redis() {
    use ProtocolError::*;
    let cases: &[(&[u8], ProtocolError)] = &[
        (b"*-0\r\n", InvalidMultibulkLength),
        (b"*01\r\n", InvalidMultibulkLength),
        (b"*+1\r\n", InvalidMultibulkLength),
        (b"*abc\r\n", InvalidMultibulkLength),
        (b"*\r\n", InvalidMultibulkLength),
        (b"*2147483648\r\n", InvalidMultibulkLength),
        (b"*99999999999999999999999\r\n", InvalidMultibulkLength),
        (b"*1\r\nx3\r\n", ExpectedDollar { got: b'x' }),
        (b"*1\r\n\r\n", ExpectedDollar { got: b'\r' }),
        (b"*1\r\n\n\r\n", ExpectedDollar { got: b'\n' }),
        (b"*1\r\n\xff\r\n", ExpectedDollar { got: 0xff }),
        (b"*1\r\n$-1\r\n", InvalidBulkLength),
        (b"*1\r\n$01\r\n", InvalidBulkLength),
        (b"*1\r\n$536870913\r\n", InvalidBulkLength),
        (b"*1\r\n$\r\n", InvalidBulkLength),
        (b"*1\r\n$ 4\r\nPING\r\n", InvalidBulkLength),
        // The \r found may be far ahead: everything before it is the header.
        (b"*1\r\n$4xxxxxxxx\r\n", InvalidBulkLength),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parse_default(input),
            (vec![], Some(expected.clone())),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    let limit = INLINE_BYTES_MAX_DEFAULT;
    let mut count = b"*".to_vec();
    count.extend(std::iter::repeat_n(b'1', limit - 1));
    assert_eq!(parse_default(&count), (vec![], None));
    count.push(b'1');
    assert_eq!(parse_default(&count), (vec![], Some(TooBigMultibulkCount)));
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', limit - 1));
    assert_eq!(parse_default(&bulk), (vec![], None));
    bulk.push(b'1');
    assert_eq!(parse_default(&bulk), (vec![], Some(TooBigBulkCount)));
    // Redis executes the requests before the bad one, then replies with the error.
    assert_eq!(
        parse_default(b"PING\r\n*1\r\nx\r\n"),
        (vec![args(&[b"PING"])], Some(ExpectedDollar { got: b'x' }))
    );
}

#[test]
fn unauthenticated_limits() {
    let mut parser = RequestParser::new(ParserLimits::default());
    parser.set_authenticated(false);
    let cases: &[(&[u8], Option<ProtocolError>)] = &[
        (
            b"*11\r\n",
            Some(ProtocolError::UnauthenticatedMultibulkLength),
        ),
        (b"*10\r\n", None),
        (b"*-5\r\n", None),
        (b"*11x\r\n", Some(ProtocolError::InvalidMultibulkLength)),
        (
            b"*1\r\n$16385\r\n",
            Some(ProtocolError::UnauthenticatedBulkLength),
        ),
        (b"*1\r\n$16384\r\n", None),
        (b"*1\r\n$-1\r\n", Some(ProtocolError::InvalidBulkLength)),
    ];
    for (input, expected) in cases {
        parser.reset();
        assert_eq!(
            &parse_stream(input, &mut parser).1,
            expected,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    parser.set_authenticated(true);
    parser.reset();
    assert_eq!(parse_stream(b"*11\r\n", &mut parser), (vec![], None));
}

#[test]
fn configured_limits_apply() {
    let limits = ParserLimits {
        bulk_bytes_max: 3,
        inline_bytes_max: 8,
        multibulk_len_max: 2,
    };
    let mut parser = RequestParser::new(limits);
    assert_eq!(
        parse_stream(b"*3\r\n", &mut parser).1,
        Some(ProtocolError::InvalidMultibulkLength)
    );
    assert_eq!(
        parse_stream(b"*1\r\n$4\r\n", &mut parser).1,
        Some(ProtocolError::InvalidBulkLength)
    );
    assert_eq!(
        parse_stream(b"123456789", &mut parser).1,
        Some(ProtocolError::TooBigInlineRequest)
    );
    parser.set_limits(ParserLimits::default());
    assert_eq!(parse_stream(b"*3\r\n", &mut parser), (vec![], None));
}

#[test]
fn large_bulk_is_resumed_not_rescanned() {
    let mut parser = RequestParser::new(ParserLimits::default());
    let len = 1 << 20;
    let mut buf = format!("*2\r\n$3\r\nSET\r\n${len}\r\n").into_bytes();
    let header_end = buf.len();
    assert_eq!(parser.parse(&mut buf), Ok(None));
    assert_eq!(parser.bytes_wanted(), Some(header_end + len + 2));
    for _ in 0..(len / 4096) {
        buf.extend(std::iter::repeat_n(b'v', 4096));
        assert_eq!(parser.parse(&mut buf), Ok(None));
        // The completed argument is kept: no rescan from the buffer start.
        assert_eq!(parser.args().len(), 1);
    }
    buf.extend_from_slice(b"\r\n");
    assert_eq!(parser.parse(&mut buf), Ok(Some(buf.len())));
    assert_eq!(parser.args(), &[8..11, header_end..header_end + len]);
    assert_eq!(parser.bytes_wanted(), None);
}

#[test]
fn a_shorter_buffer_than_promised_does_not_panic() {
    let mut parser = RequestParser::new(ParserLimits::default());
    assert_eq!(parser.parse(&mut b"*1\r\n$4\r\nPI".to_vec()), Ok(None));
    assert_eq!(parser.parse(&mut b"PING\r\n".to_vec()), Ok(Some(6)));
}

#[test]
fn error_resets_the_parser() {
    let mut parser = RequestParser::new(ParserLimits::default());
    assert!(parser.parse(&mut b"*x\r\n".to_vec()).is_err());
    assert_eq!(parser.parse(&mut b"PING\r\n".to_vec()), Ok(Some(6)));
}

/// Arbitrary requests: up to 6 arguments of arbitrary bytes.
fn request_strategy() -> impl Strategy<Value = Args> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6)
}

/// Inline-safe requests: arguments without blanks, quotes or backslashes, not starting with `*`.
fn inline_request_strategy() -> impl Strategy<Value = Args> {
    prop::collection::vec(prop::collection::vec(b'0'..=b'z', 1..12), 1..5)
        .prop_filter("not multibulk", |req| req[0][0] != b'*')
}

/// A pipelined stream mixing multibulk and inline requests.
fn stream_strategy() -> impl Strategy<Value = (Vec<u8>, Vec<Args>)> {
    let one = prop_oneof![
        request_strategy().prop_map(|req| (true, req)),
        inline_request_strategy().prop_map(|req| (false, req)),
    ];
    prop::collection::vec(one, 1..8).prop_map(|requests| {
        let mut stream = Vec::new();
        for (multibulk, request) in &requests {
            if *multibulk {
                let refs: Vec<&[u8]> = request.iter().map(Vec::as_slice).collect();
                encode_command(&mut stream, &refs);
            } else {
                stream.extend_from_slice(&request.join(&b' '));
                stream.extend_from_slice(b"\r\n");
            }
        }
        (stream, requests.into_iter().map(|(_, req)| req).collect())
    })
}

proptest! {
    #[test]
    fn encoded_requests_parse_back(requests in prop::collection::vec(request_strategy(), 1..6)) {
        let mut stream = Vec::new();
        for request in &requests {
            let refs: Vec<&[u8]> = request.iter().map(Vec::as_slice).collect();
            encode_command(&mut stream, &refs);
        }
        prop_assert_eq!(parse_default(&stream), (requests, None));
    }

    #[test]
    fn any_split_parses_the_same(
        (stream, requests) in stream_strategy(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut parser = RequestParser::new(ParserLimits::default());
        prop_assert_eq!(parse_chunked(&stream, &cuts, &mut parser), (requests, None));
    }

    #[test]
    fn byte_by_byte_matches_whole(input in prop::collection::vec(any::<u8>(), 0..200)) {
        // Growing prefixes of arbitrary bytes: same requests, same error as the whole buffer at once.
        let whole = parse_default(&input);
        let cuts: Vec<usize> = (1..input.len()).collect();
        let mut parser = RequestParser::new(ParserLimits::default());
        let pieces = parse_chunked(&input, &cuts, &mut parser);
        prop_assert_eq!(pieces, whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), Just(b'*'), Just(b'$'), Just(b'"'), Just(b'1')],
            0..300,
        ),
        authenticated in any::<bool>(),
    ) {
        let mut parser = RequestParser::new(ParserLimits { inline_bytes_max: 16, ..ParserLimits::default() });
        parser.set_authenticated(authenticated);
        let (_, _) = parse_stream(&input, &mut parser);
    }
}

/// What the general header path finds for `buf` (a header at offset 0): the `\r` offset and `string2ll`'s value.
fn general_header(buf: &[u8]) -> Option<(usize, i64)> {
    let cr = 1 + memchr(b'\r', buf.get(1..)?)?;
    if cr + 2 > buf.len() {
        return None;
    }
    Some((cr, parse_i64_strict(&buf[1..cr])?))
}

proptest! {
    /// The headers' fast path never disagrees with the general path: when it answers, the general path finds
    /// the same line end and value.
    #[test]
    fn short_header_agrees_with_the_general_path(
        body in proptest::collection::vec(
            prop_oneof![
                8 => b'0'..=b'9',
                1 => Just(b'\r'),
                1 => Just(b'\n'),
                1 => Just(b'-'),
                1 => Just(b'+'),
                1 => Just(b'x'),
            ],
            0..14,
        ),
        prefix in prop_oneof![Just(b'$'), Just(b'*')],
    ) {
        let mut buf = vec![prefix];
        buf.extend_from_slice(&body);
        if let Some((cr, value)) = short_header(&buf, 0, prefix) {
            prop_assert_eq!(general_header(&buf), Some((cr, value as i64)));
        }
        prop_assert_eq!(short_header(&buf, 0, if prefix == b'$' { b'*' } else { b'$' }), None);
    }
}

#[test]
fn short_header_takes_the_common_headers() {
    assert_eq!(short_header(b"$3\r\nGET\r\n", 0, b'$'), Some((2, 3)));
    assert_eq!(short_header(b"*0\r\n", 0, b'*'), Some((2, 0)));
    assert_eq!(
        short_header(b"$123456789\r\n", 0, b'$'),
        Some((10, 123_456_789))
    );
    // Left to the general path: incomplete, ten digits, leading zero, signed.
    assert_eq!(short_header(b"$3\r", 0, b'$'), None);
    assert_eq!(short_header(b"$1234567890\r\n", 0, b'$'), None);
    assert_eq!(short_header(b"$03\r\n", 0, b'$'), None);
    assert_eq!(short_header(b"*-1\r\n", 0, b'*'), None);
}
