//! RDB files: save -> load round trips every type with TTLs across databases, `redis-check-rdb` accepts
//! what is written, and corrupt files are refused with an error.

use super::rdb::{entry_value, store_value};
use super::rdb_file::{load, save, Extras, LoadError};
use crate::Keyspace;
use zedis_kv_pool::SystemAlloc;
use zedis_rdb::{AuxInfo, RdbValue, Stream, StreamEntry, StreamId};

const NOW: i64 = 1_700_000_000_000;

fn aux() -> AuxInfo {
    AuxInfo {
        redis_ver: "7.0.15".into(),
        redis_bits: 64,
        ctime_secs: NOW / 1000,
        used_mem_bytes: 1 << 20,
        aof_base: false,
    }
}

fn sample() -> Vec<(usize, Vec<u8>, RdbValue, Option<i64>)> {
    let mut out = vec![
        (
            0,
            b"str".to_vec(),
            RdbValue::String(b"hello".to_vec()),
            None,
        ),
        (
            0,
            b"int".to_vec(),
            RdbValue::String(b"-77".to_vec()),
            Some(NOW + 60_000),
        ),
        (
            0,
            b"big".to_vec(),
            RdbValue::String(b"xy".repeat(5000)),
            None,
        ),
        (
            0,
            b"gone".to_vec(),
            RdbValue::String(b"x".to_vec()),
            Some(NOW - 1),
        ),
        (
            1,
            b"list".to_vec(),
            RdbValue::List((0..3000).map(|i| format!("e{i}").into_bytes()).collect()),
            None,
        ),
        (
            1,
            b"set".to_vec(),
            RdbValue::Set((0..600).map(|i| i.to_string().into_bytes()).collect()),
            None,
        ),
        (
            2,
            b"hash".to_vec(),
            RdbValue::Hash(
                (0..300)
                    .map(|i| (format!("f{i}").into_bytes(), b"v".to_vec()))
                    .collect(),
            ),
            Some(NOW + 5),
        ),
        (
            2,
            b"zset".to_vec(),
            RdbValue::ZSet(
                (0..200)
                    .map(|i| (format!("m{i}").into_bytes(), f64::from(i) / 7.0))
                    .collect(),
            ),
            None,
        ),
    ];
    let entries = (1..=150)
        .map(|i| StreamEntry {
            id: StreamId { ms: i, seq: 0 },
            fields: vec![(b"k".to_vec(), i.to_string().into_bytes())],
        })
        .collect();
    let stream = Stream {
        entries,
        last_id: StreamId { ms: 150, seq: 0 },
        first_id: StreamId { ms: 1, seq: 0 },
        entries_added: 150,
        ..Stream::default()
    };
    out.push((
        3,
        b"stream".to_vec(),
        RdbValue::Stream(Box::new(stream)),
        None,
    ));
    out
}

fn build() -> Keyspace<SystemAlloc> {
    let mut ks = Keyspace::new(16, Default::default());
    for (db, key, value, expire) in sample() {
        store_value(&mut ks, db, &key, &value, expire, NOW - 10).unwrap();
    }
    ks
}

fn sorted(v: Option<RdbValue>) -> Option<RdbValue> {
    v.map(|v| match v {
        RdbValue::Set(mut m) => {
            m.sort();
            RdbValue::Set(m)
        }
        RdbValue::Hash(mut p) => {
            p.sort();
            RdbValue::Hash(p)
        }
        other => other,
    })
}

#[test]
fn save_and_load_round_trip() {
    let ks = build();
    let file = save(&ks, Vec::new(), &aux(), &Extras::default(), NOW).unwrap();
    let mut copy: Keyspace<SystemAlloc> = Keyspace::new(16, Default::default());
    let stats = load(&mut copy, &file[..], NOW, &mut no_functions).unwrap();
    assert_eq!(stats.keys, 8, "the expired key is not written");
    for (db, key, _, expire) in sample() {
        let a = ks.db(db).find(&key);
        let b = copy.db(db).find(&key);
        if key == b"gone" {
            assert!(b.is_none());
            continue;
        }
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(b.expire(), expire);
        assert_eq!(crate::value::encoding(a), crate::value::encoding(b));
        assert_eq!(
            sorted(entry_value::<SystemAlloc>(a)),
            sorted(entry_value::<SystemAlloc>(b))
        );
    }
    // Saving the loaded keyspace gives a file of the same size (key and hashtable order may differ).
    let again = save(&copy, Vec::new(), &aux(), &Extras::default(), NOW).unwrap();
    assert_eq!(again.len(), file.len());
}

#[test]
fn redis_check_rdb_accepts_the_file() {
    let file = save(&build(), Vec::new(), &aux(), &Extras::default(), NOW).unwrap();
    let path = std::env::temp_dir().join(format!("zedis-rdb-check-{}.rdb", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let out = std::process::Command::new("redis-check-rdb")
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let Ok(out) = out else {
        eprintln!("note: redis-check-rdb not installed, skipped");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "{text}"
    );
}

#[test]
fn corrupt_files_are_refused() {
    let file = save(&build(), Vec::new(), &aux(), &Extras::default(), NOW).unwrap();
    for at in (9..file.len()).step_by(97) {
        let mut bad = file.clone();
        bad[at] ^= 0x5a;
        let mut ks: Keyspace<SystemAlloc> = Keyspace::new(16, Default::default());
        assert!(
            load(&mut ks, &bad[..], NOW, &mut no_functions).is_err(),
            "flip at {at}"
        );
    }
    let mut ks: Keyspace<SystemAlloc> = Keyspace::new(16, Default::default());
    assert!(load(&mut ks, &file[..file.len() / 2], NOW, &mut no_functions).is_err());
    let mut small: Keyspace<SystemAlloc> = Keyspace::new(2, Default::default());
    assert!(matches!(
        load(&mut small, &file[..], NOW, &mut no_functions),
        Err(LoadError::DbRange(2, 2, _))
    ));
}

fn no_functions(_: Vec<u8>) -> Result<(), String> {
    Err("no function libraries expected".into())
}

#[test]
fn extra_aux_and_functions_round_trip_in_order() {
    let code: &[u8] = b"#!lua name=lib\nredis.register_function('f', function() return 1 end)";
    let extras = Extras {
        aux: &[(b"repl-stream-db", b"3"), (b"repl-offset", b"42")],
        functions: &[code],
    };
    let file = save(&build(), Vec::new(), &aux(), &extras, NOW).unwrap();
    let mut reader = zedis_rdb::RdbReader::new(&file[..], Default::default()).unwrap();
    let mut seen = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        match item {
            zedis_rdb::RdbItem::Aux { key, .. } => seen.push(String::from_utf8(key).unwrap()),
            zedis_rdb::RdbItem::Function(_) => seen.push("function".into()),
            zedis_rdb::RdbItem::SelectDb(_) => seen.push("selectdb".into()),
            _ => {}
        }
    }
    let at = |name: &str| seen.iter().position(|s| s == name).unwrap();
    assert!(at("repl-stream-db") < at("repl-offset") && at("repl-offset") < at("function"));
    assert!(at("function") < at("selectdb"), "{seen:?}");

    let mut loaded = Vec::new();
    let mut ks: Keyspace<SystemAlloc> = Keyspace::new(16, Default::default());
    load(&mut ks, &file[..], NOW, &mut |c| {
        loaded.push(c);
        Ok(())
    })
    .unwrap();
    assert_eq!(loaded, vec![code.to_vec()]);
    let mut ks: Keyspace<SystemAlloc> = Keyspace::new(16, Default::default());
    let refused = load(&mut ks, &file[..], NOW, &mut no_functions).unwrap_err();
    assert_eq!(refused.to_string(), "no function libraries expected");
}
