//! Arbitrary client-controlled arguments never panic any command entry point, and errors are Redis-style
//! single lines.

use proptest::prelude::*;
use zedis_observe::errorstats::error_code;
use zedis_observe::stats::parse_percentiles;
use zedis_observe::{
    ClientConn, ClientDirectory, ClientId, CommandStats, ErrorStats, LatencyMonitor, SlowLog,
    TrackingTable,
};
use zedis_resp::Protocol;

struct Some3;

impl ClientDirectory for Some3 {
    fn lookup(&self, id: ClientId) -> Option<ClientConn> {
        (id <= 3).then_some(ClientConn {
            proto: Protocol::Resp2,
            subscribed: id == 2,
        })
    }
}

fn word() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..12),
        prop::sample::select(vec![
            b"on".to_vec(),
            b"off".to_vec(),
            b"bcast".to_vec(),
            b"prefix".to_vec(),
            b"redirect".to_vec(),
            b"optin".to_vec(),
            b"optout".to_vec(),
            b"noloop".to_vec(),
            b"1".to_vec(),
            b"2".to_vec(),
            b"-1".to_vec(),
            b"get".to_vec(),
            b"len".to_vec(),
            b"reset".to_vec(),
            b"help".to_vec(),
            b"".to_vec(),
            b"yes".to_vec(),
            b"no".to_vec(),
            b"a".to_vec(),
            b"ab".to_vec(),
        ]),
    ]
}

fn one_error_line(out: &[u8]) -> bool {
    !out.starts_with(b"-") || (out.ends_with(b"\r\n") && !out[..out.len() - 2].contains(&b'\n'))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_arguments_never_panic(calls in proptest::collection::vec(proptest::collection::vec(word(), 0..6), 1..30)) {
        let mut slowlog = SlowLog::new(0, 4);
        let mut latency = LatencyMonitor::new(1);
        let mut tracking = TrackingTable::new(2);
        let mut stats = CommandStats::new();
        let mut errors = ErrorStats::default();
        let mut out_msgs = Vec::new();
        for args in &calls {
            let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let mut out = Vec::new();
            slowlog.push_if_needed(&argv, 1, b"p:1", b"", 1);
            slowlog.command(&mut out, Protocol::Resp3, &argv);
            prop_assert!(one_error_line(&out));
            let name = String::from_utf8_lossy(argv.first().copied().unwrap_or_default()).into_owned();
            latency.add_sample(&name, 5, 1);
            let mut out = Vec::new();
            latency.reply_graph(&mut out, Protocol::Resp3, argv.first().copied().unwrap_or_default(), 2);
            latency.reply_history(&mut out, argv.last().copied().unwrap_or_default());
            latency.reply_reset(&mut out, &argv[argv.len().min(1)..]);
            for id in 1..=3 {
                if let Err(e) = tracking.client_tracking(id, &argv, &Some3) {
                    prop_assert!(!e.to_string().contains('\n') || e.to_string().contains("Prefix"));
                }
                let _ = tracking.client_caching(id, argv.first().copied().unwrap_or_default());
                tracking.remember_keys(id, &argv);
                tracking.invalidate_key(argv.last().copied().unwrap_or_default(), Some(id), Some(id), &Some3, &mut out_msgs);
            }
            tracking.broadcast(&Some3, &mut out_msgs);
            tracking.limit_used_slots(&Some3, &mut out_msgs);
            let slot = stats.register(&name);
            stats.record_call(slot, i64::from(argv.len() as u8) * 1_000_000_000);
            let mut out = Vec::new();
            stats.reply_histogram(&mut out, Protocol::Resp2, &argv);
            let _ = parse_percentiles(&argv);
            errors.record(argv.first().copied().unwrap_or_default());
            let _ = error_code(argv.last().copied().unwrap_or_default());
        }
        prop_assert!(slowlog.len() <= 4);
        prop_assert!(tracking.total_keys() <= 2 + 6);
        let mut text = String::new();
        stats.write_latencystats(&mut text);
        errors.write_errorstats(&mut text);
    }
}
