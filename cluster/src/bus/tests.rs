//! Codec tests: layout vectors, proptest round trips, random bytes never panic, framing over any split.

use proptest::prelude::*;

use super::header::ip_to_field;
use super::*;
use crate::slot::SlotBitmap;

fn name() -> impl Strategy<Value = NodeName> {
    proptest::array::uniform20(any::<u8>()).prop_map(|h| {
        let mut n = [0u8; 40];
        for (i, b) in h.iter().enumerate() {
            n[2 * i..2 * i + 2].copy_from_slice(format!("{b:02x}").as_bytes());
        }
        n
    })
}

fn slots() -> impl Strategy<Value = SlotBitmap> {
    proptest::collection::vec((0u16..16384, any::<bool>()), 0..20).prop_map(|v| {
        let mut map = SlotBitmap::default();
        v.into_iter().for_each(|(s, on)| {
            map.set(s, on);
        });
        map
    })
}

fn ip() -> impl Strategy<Value = [u8; IP_BYTES]> {
    "[0-9a-f.:]{0,45}".prop_map(|s| ip_to_field(&s))
}

fn header(kind: MsgType) -> impl Strategy<Value = Header> {
    (
        (
            any::<u16>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            name(),
            slots(),
        ),
        (
            proptest::option::of(name()),
            ip(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
        ),
        any::<[u8; 3]>(),
    )
        .prop_map(
            move |(
                (port, ce, cfg, off, sender, myslots),
                (slaveof, myip, pport, cport, flags, state),
                mflags,
            )| {
                Header {
                    kind,
                    port,
                    current_epoch: ce,
                    config_epoch: cfg,
                    offset: off,
                    sender,
                    myslots,
                    slaveof,
                    myip,
                    pport,
                    cport,
                    flags,
                    state,
                    // The encoder owns the EXT_DATA bit.
                    mflags: [mflags[0] & !MFLAG0_EXT_DATA, mflags[1], mflags[2]],
                }
            },
        )
}

fn gossip() -> impl Strategy<Value = Gossip> {
    (
        name(),
        any::<u32>(),
        any::<u32>(),
        ip(),
        any::<u16>(),
        any::<u16>(),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(
            |(name, ping_sent_s, pong_received_s, ip, port, cport, flags, pport)| Gossip {
                name,
                ping_sent_s,
                pong_received_s,
                ip,
                port,
                cport,
                flags,
                pport,
            },
        )
}

fn ext() -> impl Strategy<Value = PingExt> {
    let text = proptest::collection::vec(1u8..=255, 0..40);
    prop_oneof![
        text.clone().prop_map(PingExt::Hostname),
        text.prop_map(PingExt::HumanNodename),
        (name(), any::<u64>()).prop_map(|(name, ttl_s)| PingExt::ForgottenNode { name, ttl_s }),
        name().prop_map(PingExt::ShardId),
        (4u16..100, proptest::collection::vec(any::<u8>(), 0..5)).prop_map(|(ext_type, words)| {
            PingExt::Unknown {
                ext_type,
                data: words.repeat(8),
            }
        }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (
            prop_oneof![
                Just(MsgType::Ping),
                Just(MsgType::Pong),
                Just(MsgType::Meet)
            ],
            proptest::collection::vec(gossip(), 0..6),
            proptest::collection::vec(ext(), 0..4)
        )
            .prop_flat_map(
                |(k, gossip, exts)| header(k).prop_map(move |header| Message {
                    header,
                    body: Body::Ping {
                        gossip: gossip.clone(),
                        exts: exts.clone()
                    }
                })
            ),
        (header(MsgType::Fail), name()).prop_map(|(header, about)| Message {
            header,
            body: Body::Fail { about }
        }),
        (
            prop_oneof![Just(MsgType::Publish), Just(MsgType::PublishShard)],
            bytes(),
            bytes()
        )
            .prop_flat_map(|(k, channel, message)| header(k).prop_map(move |header| {
                Message {
                    header,
                    body: Body::Publish {
                        channel: channel.clone(),
                        message: message.clone(),
                    },
                }
            })),
        prop_oneof![
            Just(MsgType::FailoverAuthRequest),
            Just(MsgType::FailoverAuthAck),
            Just(MsgType::MfStart)
        ]
        .prop_flat_map(|k| header(k).prop_map(|header| Message {
            header,
            body: Body::Empty
        })),
        (header(MsgType::Update), any::<u64>(), name(), slots()).prop_map(
            |(header, config_epoch, name, slots)| {
                Message {
                    header,
                    body: Body::Update {
                        config_epoch,
                        name,
                        slots,
                    },
                }
            }
        ),
        (
            header(MsgType::Module),
            any::<[u8; 8]>(),
            any::<u8>(),
            bytes()
        )
            .prop_map(|(header, module_id, kind, payload)| Message {
                header,
                body: Body::Module {
                    module_id,
                    kind,
                    payload
                }
            }),
        (11u16..500, bytes()).prop_flat_map(|(k, raw)| header(MsgType::Unknown(k)).prop_map(
            move |header| Message {
                header,
                body: Body::Raw(raw.clone())
            }
        )),
    ]
}

#[test]
fn layout_matches_redis_offsets() {
    let mut header = Header::new(MsgType::Meet, [b'a'; 40]);
    header.port = 7000;
    header.cport = 17000;
    header.flags = 1;
    header.current_epoch = 5;
    header.myslots.set(0, true);
    header.myslots.set(16383, true);
    header.myip = ip_to_field("127.0.0.1");
    let msg = Message {
        header,
        body: Body::Ping {
            gossip: vec![],
            exts: vec![PingExt::Hostname(b"host".to_vec())],
        },
    };
    let b = msg.to_bytes();
    assert_eq!(&b[..4], b"RCmb");
    assert_eq!(
        u32::from_be_bytes(b[4..8].try_into().unwrap()) as usize,
        b.len()
    );
    assert_eq!(b.len(), 2256 + 16);
    assert_eq!(&b[8..10], &[0, 1]); // version
    assert_eq!(&b[10..12], &7000u16.to_be_bytes());
    assert_eq!(&b[12..14], &[0, 2]); // MEET
    assert_eq!(&b[16..24], &5u64.to_be_bytes());
    assert_eq!(&b[40..80], &[b'a'; 40]);
    assert_eq!(b[80], 1); // slot 0: bit 0 of byte 0
    assert_eq!(b[80 + 2047], 0x80); // slot 16383: bit 7 of the last byte
    assert_eq!(&b[2128..2168], &[0; 40]); // no master
    assert_eq!(&b[2168..2177], b"127.0.0.1");
    assert_eq!(&b[2214..2216], &[0, 1]); // one extension
    assert_eq!(&b[2248..2250], &17000u16.to_be_bytes());
    assert_eq!(&b[2250..2252], &[0, 1]);
    assert_eq!(b[2253], MFLAG0_EXT_DATA);
    // Extension: length 16, type 0, "host\0" padded to 8.
    assert_eq!(&b[2256..2264], &[0, 0, 0, 16, 0, 0, 0, 0]);
    assert_eq!(&b[2264..2272], b"host\0\0\0\0");
    assert_eq!(Message::decode(&b), Ok(msg));
}

#[test]
fn redis_length_rules() {
    let mut fail = Message {
        header: Header::new(MsgType::Fail, [b'b'; 40]),
        body: Body::Fail { about: [b'c'; 40] },
    }
    .to_bytes();
    assert_eq!(fail.len(), 2296);
    fail.truncate(2290);
    fail[4..8].copy_from_slice(&2290u32.to_be_bytes());
    assert!(matches!(
        Message::decode(&fail),
        Err(crate::DecodeError::Length { expected: 2296, .. })
    ));
    let mut publish = Message {
        header: Header::new(MsgType::Publish, [b'b'; 40]),
        body: Body::Publish {
            channel: b"ch".to_vec(),
            message: b"hello".to_vec(),
        },
    }
    .to_bytes();
    assert_eq!(publish.len(), 2256 + 8 + 7);
    publish[2256..2260].copy_from_slice(&u32::MAX.to_be_bytes()); // channel_len lies
    assert!(matches!(
        Message::decode(&publish),
        Err(crate::DecodeError::Length { .. })
    ));
    let mut ping = Message {
        header: Header::new(MsgType::Ping, [b'b'; 40]),
        body: Body::Ping {
            gossip: vec![],
            exts: vec![],
        },
    }
    .to_bytes();
    ping[2214..2216].copy_from_slice(&3u16.to_be_bytes()); // extensions without EXT_DATA are ignored
    assert!(Message::decode(&ping).is_ok());
    ping[2253] = MFLAG0_EXT_DATA; // ...but with the flag they must be there
    assert!(matches!(
        Message::decode(&ping),
        Err(crate::DecodeError::ExtOverflow { .. })
    ));
    ping[8..10].copy_from_slice(&2u16.to_be_bytes());
    assert_eq!(
        Message::decode(&ping),
        Err(crate::DecodeError::BadVersion(2))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(msg in message()) {
        let bytes = msg.to_bytes();
        prop_assert_eq!(bytes.len(), msg.encoded_len());
        let decoded = Message::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &msg);
        prop_assert_eq!(decoded.to_bytes(), bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let _ = Message::decode(&bytes);
        let mut reader = FrameReader::new(1 << 16);
        reader.push(&bytes);
        while let Ok(Some(frame)) = reader.next_frame() {
            let _ = Message::decode(frame);
        }
    }

    #[test]
    fn mutated_packets_never_panic(msg in message(), edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut bytes = msg.to_bytes();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        let _ = Message::decode(&bytes);
        let len = cut.index(bytes.len() + 1);
        let _ = Message::decode(&bytes[..len]);
    }

    #[test]
    fn framing_over_any_split(msgs in proptest::collection::vec(message(), 1..4), split in 1usize..3000) {
        let stream: Vec<u8> = msgs.iter().flat_map(|m| m.to_bytes()).collect();
        let mut reader = FrameReader::default();
        let mut out = Vec::new();
        for chunk in stream.chunks(split) {
            reader.push(chunk);
            while let Some(frame) = reader.next_frame().unwrap() {
                out.push(Message::decode(frame).unwrap());
            }
        }
        prop_assert_eq!(out, msgs);
    }
}

#[test]
fn frame_errors() {
    let mut reader = FrameReader::new(4096);
    reader.push(b"XXXX\0\0\0\x10");
    assert_eq!(reader.next_frame(), Err(crate::FrameError::BadSignature));
    let mut reader = FrameReader::new(4096);
    reader.push(b"RCmb\0\0\0\x10");
    assert_eq!(reader.next_frame(), Err(crate::FrameError::TooShort(16)));
    let mut reader = FrameReader::new(4096);
    reader.push(b"RCmb\x7f\0\0\0");
    assert!(matches!(
        reader.next_frame(),
        Err(crate::FrameError::TooLong { .. })
    ));
}
