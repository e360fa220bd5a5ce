//! The functions section of RDB files and FUNCTION DUMP payloads, against a real redis-server 7.0:
//! its libraries read back from `dump.rdb` and from FUNCTION DUMP; our payload is byte-identical
//! and restores; a file written here (also in the 7.0 release candidates' layout, opcode 246, which
//! 7.0.15 still loads) loads into redis-server and `FUNCTION LIST` shows the libraries.

mod common;

use common::{have, Client, Redis, Reply, TempDir};
use zedis_rdb::{
    crc64, create_function_payload, decode_function_payload, FunctionDumpError, KeyMeta, Limits,
    RdbItem, RdbReader, RdbValue, RdbWriter, WriteOptions,
};

const SHORT: &str = "#!lua name=short\nredis.register_function('one', function() return 1 end)";

/// A library long and repetitive enough for Redis to LZF-compress it.
fn long_library() -> String {
    let mut code = String::from("#!lua name=long\n");
    for i in 0..40 {
        code.push_str(&format!(
            "redis.register_function('fn{i}', function(keys, args) return {i} end)\n"
        ));
    }
    code
}

/// The (name, code) of every library `FUNCTION LIST WITHCODE` reports, sorted by name.
fn listed(c: &mut Client) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for lib in c.ok(&["FUNCTION", "LIST", "WITHCODE"]).items() {
        let fields = lib.items();
        let field = |name: &str| {
            let i = fields
                .iter()
                .position(|f| matches!(f, Reply::Bulk(Some(b)) if b == name.as_bytes()))
                .unwrap_or_else(|| panic!("no {name} in {fields:?}"));
            fields[i + 1].text()
        };
        out.push((field("library_name"), field("library_code")));
    }
    out.sort();
    out
}

fn functions_in(file: &[u8]) -> Vec<Vec<u8>> {
    RdbReader::new(file, Limits::default())
        .expect("header")
        .map(|item| item.expect("item"))
        .filter_map(|item| match item {
            RdbItem::Function(code) => Some(code),
            _ => None,
        })
        .collect()
}

#[test]
fn libraries_read_from_redis_and_written_for_it() {
    if !have("redis-server") {
        return;
    }
    let long = long_library();
    let dir = TempDir::new("functions");
    let redis = Redis::start(&dir.0, "dump.rdb", &[]);
    let mut c = redis.client();
    c.ok(&["FUNCTION", "LOAD", SHORT]);
    c.ok(&["FUNCTION", "LOAD", &long]);
    c.ok(&["SET", "k", "v"]);
    c.ok(&["SAVE"]);
    let file = std::fs::read(dir.0.join("dump.rdb")).expect("dump.rdb");
    let mut read = functions_in(&file);
    read.sort();
    let mut want = vec![long.clone().into_bytes(), SHORT.as_bytes().to_vec()];
    want.sort();
    assert_eq!(read, want, "libraries in redis-server's dump.rdb");

    // FUNCTION DUMP: decoded here, and ours (same order) is byte-identical.
    let theirs = c.ok(&["FUNCTION", "DUMP"]).bytes();
    let codes = decode_function_payload(&theirs, Limits::default()).expect("their payload");
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(sorted, want);
    let ours = create_function_payload(codes.iter().map(Vec::as_slice), true);
    assert_eq!(
        ours.escape_ascii().to_string(),
        theirs.escape_ascii().to_string()
    );

    // Our file with both libraries loads into a fresh redis-server.
    let out = TempDir::new("functions-out");
    let mut w = RdbWriter::new(Vec::new(), WriteOptions::default()).expect("writer");
    w.function(SHORT.as_bytes()).expect("function");
    w.function(long.as_bytes()).expect("function");
    w.select_db(0, 1, 0).expect("select");
    w.key(b"k", &RdbValue::String(b"v".to_vec()), &KeyMeta::default())
        .expect("key");
    let bytes = w.finish().expect("finish");
    std::fs::write(out.0.join("ours.rdb"), &bytes).expect("write");
    let fresh = Redis::start(&out.0, "ours.rdb", &[]);
    let mut f = fresh.client();
    assert_eq!(listed(&mut f), listed(&mut c));
    assert_eq!(f.ok(&["FCALL", "fn7", "0"]), Reply::Int(7));
    assert_eq!(f.ok(&["GET", "k"]).text(), "v");

    // Our payload restores into an empty server.
    f.ok(&["FUNCTION", "FLUSH"]);
    assert_eq!(
        f.cmd_bytes(&[b"FUNCTION", b"RESTORE", &ours]),
        Reply::Status("OK".into())
    );
    assert_eq!(listed(&mut f), listed(&mut c));
}

/// A file holding one library in the 7.0 release candidates' layout (opcode 246).
fn pre_ga_file(name: &str, engine: &str, desc: Option<&str>, body: &str) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        assert!(s.len() < 64);
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
    let mut file = b"REDIS0010".to_vec();
    file.push(246);
    string(&mut file, name);
    string(&mut file, engine);
    match desc {
        Some(d) => {
            file.push(1);
            string(&mut file, d);
        }
        None => file.push(0),
    }
    string(&mut file, body);
    file.push(255);
    let crc = crc64(&file);
    file.extend_from_slice(&crc.to_le_bytes());
    file
}

#[test]
fn pre_ga_function_records_load_as_redis_7_0_loads_them() {
    let body = "redis.register_function('old', function() return 3 end)";
    let file = pre_ga_file("oldlib", "LUA", Some("a description"), body);
    let code = format!("#!LUA name=oldlib\n{body}");
    assert_eq!(functions_in(&file), vec![code.clone().into_bytes()]);
    assert_eq!(
        functions_in(&pre_ga_file("oldlib", "LUA", None, body)),
        vec![code.clone().into_bytes()]
    );

    // A truncated record names Redis's failing part and the byte offset.
    let cut = &file[..file.len() - 20];
    let err = RdbReader::new(cut, Limits::default())
        .expect("header")
        .find_map(Result::err)
        .expect("an error");
    assert!(
        err.to_string()
            .starts_with("corrupt data: Failed loading library blob"),
        "{err}"
    );
    assert_eq!(err.offset, cut.len() as u64);

    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("pre-ga");
    std::fs::write(dir.0.join("old.rdb"), &file).expect("write");
    let redis = Redis::start(&dir.0, "old.rdb", &[]);
    let mut c = redis.client();
    assert_eq!(listed(&mut c), vec![("oldlib".to_string(), code)]);
    assert_eq!(c.ok(&["FCALL", "old", "0"]), Reply::Int(3));
}

#[test]
fn bad_function_payloads_are_refused_with_redis_errors() {
    let good = create_function_payload([SHORT.as_bytes()], true);
    let resign = |mut p: Vec<u8>| {
        let n = p.len();
        let crc = crc64(&p[..n - 8]);
        p[n - 8..].copy_from_slice(&crc.to_le_bytes());
        p
    };
    let mut not_function = good.clone();
    not_function[0] = 0;
    let not_function = resign(not_function);
    let mut truncated = good[..good.len() - 30].to_vec();
    truncated.extend_from_slice(&good[good.len() - 10..]);
    let truncated = resign(truncated);
    let mut bad_crc = good.clone();
    bad_crc[3] ^= 1;
    let cases: [(&[u8], FunctionDumpError); 3] = [
        (&not_function, FunctionDumpError::NotAFunction),
        (
            &truncated,
            FunctionDumpError::Load("Failed loading library payload"),
        ),
        (&bad_crc, FunctionDumpError::VersionOrChecksum),
    ];
    for (payload, want) in &cases {
        assert_eq!(
            decode_function_payload(payload, Limits::default()).as_ref(),
            Err(want)
        );
    }
    assert_eq!(
        decode_function_payload(&good, Limits::default()),
        Ok(vec![SHORT.as_bytes().to_vec()])
    );
    if !have("redis-server") {
        return;
    }
    let dir = TempDir::new("function-errors");
    let redis = Redis::start(&dir.0, "dump.rdb", &[]);
    let mut c = redis.client();
    for (payload, want) in &cases {
        let reply = c.cmd_bytes(&[b"FUNCTION", b"RESTORE", payload]);
        assert_eq!(reply, Reply::Error(want.to_string()), "{want:?}");
    }
}
