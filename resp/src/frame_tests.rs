//! Tests of `frame.rs`: byte-exact decoding, errors, depth bound and round trips.

use proptest::prelude::*;

use super::*;

fn parse_all(input: &[u8]) -> Frame {
    let (frame, used) = parse_frame(input).expect("valid").expect("complete");
    assert_eq!(used, input.len());
    frame
}

#[test]
fn decodes_every_type() {
    let bulk = |b: &[u8]| Frame::Bulk(b.to_vec());
    assert_eq!(parse_all(b"+OK\r\n"), Frame::Simple(b"OK".to_vec()));
    assert_eq!(parse_all(b"-ERR x\r\n"), Frame::Error(b"ERR x".to_vec()));
    assert_eq!(
        parse_all(b"!5\r\nE\r\nxy\r\n"),
        Frame::Error(b"E\r\nxy".to_vec())
    );
    assert_eq!(parse_all(b":-7\r\n"), Frame::Integer(-7));
    assert_eq!(parse_all(b"$0\r\n\r\n"), bulk(b""));
    assert_eq!(parse_all(b"$-1\r\n"), Frame::Null);
    assert_eq!(parse_all(b"_\r\n"), Frame::Null);
    assert_eq!(parse_all(b"*-1\r\n"), Frame::NullArray);
    assert_eq!(parse_all(b",1.5\r\n"), Frame::Double(1.5));
    assert_eq!(parse_all(b",-inf\r\n"), Frame::Double(f64::NEG_INFINITY));
    assert_eq!(parse_all(b",1e+17\r\n"), Frame::Double(1e17));
    assert!(matches!(parse_all(b",nan\r\n"), Frame::Double(d) if d.is_nan()));
    assert!(matches!(parse_all(b",-nan\r\n"), Frame::Double(d) if d.is_nan()));
    assert_eq!(parse_all(b"#t\r\n"), Frame::Boolean(true));
    assert_eq!(parse_all(b"(-123\r\n"), Frame::BigNumber(b"-123".to_vec()));
    assert_eq!(
        parse_all(b"=6\r\ntxt:hi\r\n"),
        Frame::Verbatim {
            format: *b"txt",
            text: b"hi".to_vec()
        }
    );
    assert_eq!(
        parse_all(b"~1\r\n:1\r\n"),
        Frame::Set(vec![Frame::Integer(1)])
    );
    assert_eq!(
        parse_all(b">1\r\n:1\r\n"),
        Frame::Push(vec![Frame::Integer(1)])
    );
    assert_eq!(
        parse_all(b"%1\r\n+a\r\n:1\r\n"),
        Frame::Map(vec![(Frame::Simple(b"a".to_vec()), Frame::Integer(1))])
    );
    assert_eq!(
        parse_all(b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n"),
        Frame::Attribute {
            attributes: vec![(Frame::Simple(b"ttl".to_vec()), Frame::Integer(3))],
            data: Box::new(bulk(b"v"))
        }
    );
}

#[test]
fn incomplete_and_invalid() {
    for partial in [
        &b""[..],
        b"+OK",
        b"+OK\r",
        b"$3\r\nab",
        b"$3\r\nabc\r",
        b"*2\r\n:1\r\n",
        b"|1\r\n+a\r\n+b\r\n",
    ] {
        assert_eq!(
            parse_frame(partial),
            Ok(None),
            "{:?}",
            String::from_utf8_lossy(partial)
        );
    }
    let cases: &[(&[u8], FrameError)] = &[
        (b"?\r\n", FrameError::InvalidType(b'?')),
        (b"+OK\rX", FrameError::MissingCrlf),
        (b"$3\r\nabcXY", FrameError::MissingCrlf),
        (b"$-2\r\n", FrameError::InvalidLength),
        (b"$x\r\n", FrameError::InvalidLength),
        (b"%-1\r\n", FrameError::InvalidLength),
        (b":1.5\r\n", FrameError::InvalidNumber),
        (b",abc\r\n", FrameError::InvalidNumber),
        (b"#x\r\n", FrameError::InvalidNumber),
        (b"(12a\r\n", FrameError::InvalidNumber),
        (b"=2\r\nab\r\n", FrameError::InvalidVerbatim),
        (b"$?\r\n", FrameError::Streamed),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parse_frame(input),
            Err(expected.clone()),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = b"*1\r\n".repeat(100_000);
    assert_eq!(parse_frame(&deep), Err(FrameError::TooDeep));
    let mut ok = b"*1\r\n".repeat(FRAME_DEPTH_MAX);
    ok.extend_from_slice(b":1\r\n");
    assert!(matches!(parse_frame(&ok), Ok(Some(_))));
}

#[test]
fn encode_command_is_a_multibulk() {
    let mut out = Vec::new();
    encode_command(&mut out, &[b"SET", b"k", b""]);
    assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..12,
    )
}

fn leaf() -> impl Strategy<Value = Frame> {
    prop_oneof![
        line_bytes().prop_map(Frame::Simple),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Frame::Error),
        any::<i64>().prop_map(Frame::Integer),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(Frame::Bulk),
        Just(Frame::Null),
        Just(Frame::NullArray),
        any::<f64>()
            .prop_filter("NaN != NaN", |d| !d.is_nan())
            .prop_map(Frame::Double),
        any::<bool>().prop_map(Frame::Boolean),
        (any::<bool>(), prop::collection::vec(b'0'..=b'9', 1..30)).prop_map(
            |(negative, mut digits)| {
                if negative {
                    digits.insert(0, b'-');
                }
                Frame::BigNumber(digits)
            }
        ),
        (any::<[u8; 3]>(), prop::collection::vec(any::<u8>(), 0..12))
            .prop_map(|(format, text)| Frame::Verbatim { format, text }),
    ]
}

fn frame_strategy() -> impl Strategy<Value = Frame> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        let pairs = prop::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
            pairs.clone().prop_map(Frame::Map),
            (pairs, inner).prop_map(|(attributes, data)| Frame::Attribute {
                attributes,
                data: Box::new(data)
            }),
        ]
    })
}

proptest! {
    #[test]
    fn frames_round_trip(frame in frame_strategy()) {
        let bytes = frame.to_bytes();
        prop_assert_eq!(parse_frame(&bytes), Ok(Some((frame.clone(), bytes.len()))));
        // Every strict prefix is incomplete, never an error.
        for end in 0..bytes.len() {
            prop_assert_eq!(parse_frame(&bytes[..end]), Ok(None));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), Just(b'*'), Just(b'$'), Just(b'1'), Just(b'%')],
            0..300,
        )
    ) {
        let _ = parse_frame(&input);
    }
}
