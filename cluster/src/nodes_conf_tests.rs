//! nodes.conf: exact round trips, random topologies, corruption refused with line and problem.

use proptest::prelude::*;

use crate::state::{ClusterState, Config};

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "cccccccccccccccccccccccccccccccccccccccc";

fn sample() -> String {
    format!(
        "{A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 [5461-<-{B}] [6000->-{B}]\n\
         {B} 127.0.0.1:7001@17001,host-b master - 0 0 2 disconnected 5461-10922 12000\n\
         {C} 127.0.0.1:7002@17002 slave,fail {B} 0 0 2 disconnected\n\
         vars currentEpoch 7 lastVoteEpoch 3\n"
    )
}

#[test]
fn exact_round_trip() {
    let state = ClusterState::from_nodes_conf(cfg7000(), &sample(), 1000).unwrap();
    assert_eq!(state.to_nodes_conf(), sample());
    assert_eq!(state.current_epoch(), 7);
    assert_eq!(state.last_vote_epoch(), 3);
    let b = state.lookup(B.as_bytes()).unwrap();
    assert_eq!(state.slot_owner(12000), Some(b));
    assert_eq!(state.importing_from(5461), Some(b));
    assert_eq!(state.migrating_to(6000), Some(b));
    assert_eq!(state.myself().name_str(), A);
}

#[test]
fn epoch_raised_to_max_config_epoch_and_old_format_accepted() {
    let text = format!(
        "{A} 10.0.0.1:6379 myself,master - 0 0 9 connected\nvars currentEpoch 2 lastVoteEpoch 0\n"
    );
    let state = ClusterState::from_nodes_conf(Config::default(), &text, 1).unwrap();
    assert_eq!(state.current_epoch(), 9);
    assert_eq!(state.myself().ip, "10.0.0.1");
}

fn refused(text: &str) -> (usize, String) {
    let err = ClusterState::from_nodes_conf(Config::default(), text, 1).unwrap_err();
    (err.line, err.problem)
}

#[test]
fn corruption_names_line_and_problem() {
    let good = sample();
    let lines: Vec<&str> = good.lines().collect();
    let with = |n: usize, line: &str| {
        let mut l = lines.clone();
        l[n] = line;
        l.join("\n")
    };
    let cases = [
        (
            with(1, &format!("{B} 127.0.0.1:7001@17001 master - 0 0")),
            2,
            "at least 8 fields",
        ),
        (
            with(1, &format!("{B} 127.0.0.1 master - 0 0 2 connected")),
            2,
            "has no port",
        ),
        (
            with(
                1,
                &format!("{B} 127.0.0.1:x@17001 master - 0 0 2 connected"),
            ),
            2,
            "invalid port",
        ),
        (
            with(
                1,
                &format!("{B} 127.0.0.1:7001@17001 master,bogus - 0 0 2 connected"),
            ),
            2,
            "unknown node flag",
        ),
        (
            with(
                1,
                &format!("{B} 127.0.0.1:7001@17001 master - 0 0 2 connected 16384"),
            ),
            2,
            "invalid slot",
        ),
        (
            with(
                1,
                &format!("{B} 127.0.0.1:7001@17001 master - 0 0 2 connected 9-3"),
            ),
            2,
            "reversed",
        ),
        (
            with(
                1,
                &format!("{B} 127.0.0.1:7001@17001 master - 0 0 x connected"),
            ),
            2,
            "invalid config epoch",
        ),
        (
            with(1, "XYZ 127.0.0.1:7001@17001 master - 0 0 2 connected"),
            2,
            "invalid node id",
        ),
        (
            with(
                0,
                &format!("{A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected [5-<-{B}"),
            ),
            1,
            "unterminated",
        ),
        (
            with(
                0,
                &format!("{A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected [5-?-{B}]"),
            ),
            1,
            "neither",
        ),
        (with(3, "vars currentEpoch"), 4, "without a value"),
        (
            with(3, "vars currentEpoch abc lastVoteEpoch 0"),
            4,
            "not a number",
        ),
        (
            with(
                2,
                &format!("{C} 127.0.0.1:7002@17002 myself,slave {B} 0 0 2 disconnected"),
            ),
            3,
            "second node",
        ),
        (
            with(
                0,
                &format!("{A} 127.0.0.1:7000@17000 master - 0 0 1 connected"),
            ),
            0,
            "no node is flagged myself",
        ),
    ];
    for (text, line, problem) in cases {
        let (l, p) = refused(&text);
        assert_eq!(l, line, "{p}");
        assert!(p.contains(problem), "{p} should mention {problem}");
    }
}

/// Myself's ports come from the configuration at load time, as in Redis.
fn cfg7000() -> Config {
    Config {
        port: 7000,
        cport: 17000,
        ..Config::default()
    }
}

fn name(i: usize) -> String {
    format!("{:040x}", 0x1000 + i * 7919)
}

proptest! {
    #[test]
    fn random_topologies_round_trip(
        masters in 1usize..5,
        replicas in proptest::collection::vec(0usize..5, 0..4),
        owners in proptest::collection::vec(proptest::option::of(0usize..5), 64),
        epochs in proptest::collection::vec(0u64..100, 5),
        migrations in proptest::collection::vec((0u16..16384, any::<bool>(), 1usize..5), 0..4),
        hostnames in proptest::collection::vec(proptest::option::of("[a-z]{1,8}"), 5),
    ) {
        let mut lines = Vec::new();
        for m in 0..masters {
            let mut ranges: Vec<(usize, usize)> = Vec::new();
            for (chunk, owner) in owners.iter().enumerate() {
                if *owner != Some(m) { continue; }
                let (s, e) = (chunk * 256, chunk * 256 + 255);
                match ranges.last_mut() {
                    Some(last) if last.1 + 1 == s => last.1 = e,
                    _ => ranges.push((s, e)),
                }
            }
            let flags = if m == 0 { "myself,master" } else { "master" };
            let link = if m == 0 { "connected" } else { "disconnected" };
            let host = hostnames[m].as_ref().filter(|_| m != 0).map(|h| format!(",{h}")).unwrap_or_default();
            let mut line = format!("{} 127.0.0.1:{}@{}{host} {flags} - 0 0 {} {link}", name(m), 7000 + m, 17000 + m, epochs[m]);
            for (s, e) in ranges { line.push_str(&format!(" {s}-{e}")); }
            if m == 0 {
                let mut migs: Vec<_> = migrations.iter().filter(|(_, _, p)| *p < masters && *p != 0).collect();
                migs.sort_by_key(|(s, _, _)| *s);
                migs.dedup_by_key(|(s, _, _)| *s);
                for (slot, importing, peer) in migs {
                    let arrow = if *importing { "-<-" } else { "->-" };
                    line.push_str(&format!(" [{slot}{arrow}{}]", name(*peer)));
                }
            }
            lines.push(line);
        }
        // Myself's line names migration peers: it comes after them so table order equals file order.
        lines.rotate_left(1);
        for (i, master) in replicas.iter().enumerate() {
            let master = master % masters;
            let r = masters + i;
            lines.push(format!("{} 127.0.0.1:{}@{} slave {} 0 0 {} disconnected", name(r), 8000 + i, 18000 + i, name(master), epochs[master]));
        }
        let max_epoch = epochs[..masters].iter().copied().max().unwrap_or(0);
        lines.push(format!("vars currentEpoch {} lastVoteEpoch 0", max_epoch + 1));
        let text = lines.join("\n") + "\n";
        let state = ClusterState::from_nodes_conf(cfg7000(), &text, 1).unwrap();
        prop_assert_eq!(state.to_nodes_conf(), text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[a-z0-9 :@,\\[\\]<>?\\-\n]{0,400}") {
        let _ = ClusterState::from_nodes_conf(Config::default(), &text, 1);
        let with_myself = format!("{A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected\n{text}");
        let _ = ClusterState::from_nodes_conf(Config::default(), &with_myself, 1);
    }
}
