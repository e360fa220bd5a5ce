use proptest::prelude::*;

use super::*;

fn refused(text: &[u8]) -> &'static str {
    Manifest::parse(text).unwrap_err().reason
}

#[test]
fn parses_redis_example_and_writes_it_back() {
    let text = b"file appendonly.aof.2.base.rdb seq 2 type b\n\
file appendonly.aof.1.incr.aof seq 1 type h\n\
file appendonly.aof.2.incr.aof seq 2 type h\n\
file appendonly.aof.4.incr.aof seq 4 type i\n\
file appendonly.aof.5.incr.aof seq 5 type i\n";
    let am = Manifest::parse(text).unwrap();
    assert_eq!(am.base().unwrap().seq, 2);
    assert_eq!(am.history().len(), 2);
    let order: Vec<String> = am.load_order().map(AofFile::name_lossy).collect();
    assert_eq!(
        order,
        [
            "appendonly.aof.2.base.rdb",
            "appendonly.aof.4.incr.aof",
            "appendonly.aof.5.incr.aof"
        ]
    );
    assert_eq!(am.to_bytes(), text);
    assert!(!am.is_dirty());
}

#[test]
fn refuses_what_redis_refuses() {
    assert_eq!(refused(b""), "Found an empty AOF manifest");
    assert_eq!(refused(b"\n"), "Invalid AOF manifest file format");
    assert_eq!(
        refused(b"file a seq 1\n"),
        "Invalid AOF manifest file format"
    );
    assert_eq!(
        refused(b"file a seq 1 type b extra\n"),
        "Invalid AOF manifest file format"
    );
    assert_eq!(
        refused(b"file a seq 0 type b\n"),
        "Invalid AOF manifest file format"
    );
    assert_eq!(
        refused(b"file a seq x type b\n"),
        "Invalid AOF manifest file format"
    );
    assert_eq!(
        refused(b"file \"a seq 1 type b\n"),
        "Invalid AOF manifest file format"
    );
    assert_eq!(
        refused(b"file d/a seq 1 type b\n"),
        "File can't be a path, just a filename"
    );
    assert_eq!(refused(b"file a seq 1 type x\n"), "Unknown AOF file type");
    assert_eq!(
        refused(b"file a seq 1 type b\nfile b seq 2 type b\n"),
        "Found duplicate base file information"
    );
    assert_eq!(
        refused(b"file a seq 2 type i\nfile b seq 2 type i\n"),
        "Found a non-monotonic sequence number"
    );
    assert_eq!(
        refused(b"file a seq 1 type b"),
        "The AOF manifest file contains too long line"
    );
    let mut long = b"file ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 1010));
    long.extend_from_slice(b" seq 1 type b\n");
    assert_eq!(
        refused(&long),
        "The AOF manifest file contains too long line"
    );
    let err = Manifest::parse(b"# comment\nfile a seq 1 type z\n").unwrap_err();
    assert_eq!((err.line, err.text.as_str()), (2, "file a seq 1 type z"));
    assert_eq!(
        err.to_string(),
        "reading the manifest file, at line 2: 'file a seq 1 type z': Unknown AOF file type"
    );
}

#[test]
fn accepts_what_redis_accepts() {
    // Keys in any case and order, extra key/value pairs for forward compatibility, comments, atoll seqs.
    let am = Manifest::parse(b"# hi\nTYPE i SEQ 7x FILE \"a b\" future 1\n").unwrap();
    assert_eq!(
        am.incrs()[0],
        AofFile {
            name: b"a b".to_vec(),
            seq: 7,
            kind: FileKind::Incr
        }
    );
    assert_eq!(am.to_bytes(), b"file \"a b\" seq 7 type i\n");
    assert!(Manifest::parse(b"# only a comment\n").unwrap().is_empty());
}

#[test]
fn rewrite_cycle_names_files_as_redis() {
    let mut am = Manifest::new();
    assert_eq!(
        am.new_base("appendonly.aof", true),
        "appendonly.aof.1.base.rdb"
    );
    assert_eq!(
        am.last_incr_or_new("appendonly.aof"),
        "appendonly.aof.1.incr.aof"
    );
    assert_eq!(
        am.last_incr_or_new("appendonly.aof"),
        "appendonly.aof.1.incr.aof"
    );
    // A rewrite starts: a new incr receives writes; when it is done, the old base and incr are history.
    assert_eq!(am.new_incr("appendonly.aof"), "appendonly.aof.2.incr.aof");
    assert_eq!(
        am.new_base("appendonly.aof", false),
        "appendonly.aof.2.base.aof"
    );
    am.mark_rewritten_incrs_as_history(true);
    assert_eq!(
        String::from_utf8(am.to_bytes()).unwrap(),
        "file appendonly.aof.2.base.aof seq 2 type b\n\
file appendonly.aof.1.incr.aof seq 1 type h\n\
file appendonly.aof.1.base.rdb seq 1 type h\n\
file appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let gone: Vec<String> = am.take_history().iter().map(AofFile::name_lossy).collect();
    assert_eq!(
        gone,
        ["appendonly.aof.1.incr.aof", "appendonly.aof.1.base.rdb"]
    );
    assert!(am.is_dirty());
    // With the AOF off, every incr becomes history.
    am.mark_rewritten_incrs_as_history(false);
    assert!(am.incrs().is_empty());
}

#[test]
fn single_quote_is_redis_own_gap() {
    // As Redis: the name is written as is, and sdssplitargs then opens a quote that never closes.
    let mut am = Manifest::new();
    am.incr.push(AofFile {
        name: b"it's".to_vec(),
        seq: 1,
        kind: FileKind::Incr,
    });
    assert_eq!(am.to_bytes(), b"file it's seq 1 type i\n");
    assert_eq!(refused(&am.to_bytes()), "Invalid AOF manifest file format");
}

fn arb_manifest() -> impl Strategy<Value = Manifest> {
    let name = proptest::collection::vec(
        // Not a path, not NUL, and no single quote: Redis writes a name with `'` unquoted
        // (`sdsneedsrepr` does not flag it) and then cannot read it back (see `single_quote_is_redis_own_gap`).
        any::<u8>().prop_filter("representable", |c| !matches!(*c, b'/' | b'\\' | 0 | b'\'')),
        1..20,
    );
    (
        proptest::option::of((name.clone(), 1..1000i64)),
        proptest::collection::vec((name.clone(), 1..1000i64), 0..4),
        proptest::collection::vec(name, 0..4),
    )
        .prop_map(|(base, history, incr)| {
            let mut am = Manifest::new();
            if let Some((name, seq)) = base {
                am.base = Some(AofFile {
                    name,
                    seq,
                    kind: FileKind::Base,
                });
                am.base_seq = seq;
            }
            am.history = history
                .into_iter()
                .map(|(name, seq)| AofFile {
                    name,
                    seq,
                    kind: FileKind::History,
                })
                .collect();
            for (i, name) in incr.into_iter().enumerate() {
                let seq = i as i64 + 1;
                am.incr.push(AofFile {
                    name,
                    seq,
                    kind: FileKind::Incr,
                });
                am.incr_seq = seq;
            }
            am
        })
}

proptest! {
    #[test]
    fn round_trips(am in arb_manifest()) {
        prop_assume!(am.base.is_some() || !am.history.is_empty() || !am.incr.is_empty());
        let bytes = am.to_bytes();
        prop_assert_eq!(Manifest::parse(&bytes).unwrap(), am);
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Manifest::parse(&bytes);
    }
}
