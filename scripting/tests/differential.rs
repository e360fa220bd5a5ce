//! Differential test: every script runs through `zedis-scripting` (its `redis.call`s forwarded to a real
//! `redis-server`) and through that server's own EVAL/FCALL; the replies must match byte for byte, in
//! RESP2 and RESP3. Skipped with a note when `redis-server` is not installed.

mod support;

use support::corpus::{CONVERSIONS, ERRORS, LIBRARIES, LIB_CODE, LOAD_ERRORS, TYPED_COMMANDS};
use support::{lua_bytes, Harness};
use zedis_resp::{parse_frame, Protocol};
use zedis_scripting::{RestorePolicy, RunOptions};

#[test]
fn eval_matches_redis() {
    let Some(mut h) = Harness::new() else { return };
    let setup: &[&[&[u8]]] = &[&[b"SET", b"str", b"notanumber"]];
    for script in CONVERSIONS.iter().chain(ERRORS).chain(LIBRARIES) {
        h.eval_case(script, &["k1", "k2"], &["v1", "v2", "v3"], setup);
    }
    // No keys and no arguments: KEYS and ARGV are still (empty) tables.
    h.eval_case(
        "return {#KEYS, #ARGV, type(KEYS), type(ARGV)}",
        &[],
        &[],
        setup,
    );
    h.eval_case("return #KEYS", &[], &["only-arg"], setup);
    let typed_setup: &[&[&[u8]]] = &[
        &[b"SET", b"str", b"text"],
        &[b"ZADD", b"z", b"1.5", b"a", b"2", b"b"],
        &[b"HSET", b"h", b"f", b"v", b"g", b"w"],
        &[b"SADD", b"s", b"m1", b"m2"],
    ];
    for command in TYPED_COMMANDS {
        for prefix in ["", "redis.setresp(3); "] {
            let direct = format!("{prefix}return redis.pcall({command})");
            h.eval_case(&direct, &[], &[], typed_setup);
            let inspect = format!(
                "{prefix}local v = redis.pcall({command}) \
                 if type(v) ~= 'table' then return {{type(v), tostring(v)}} end \
                 local keys = {{}} for k in pairs(v) do keys[#keys + 1] = tostring(k) end table.sort(keys) \
                 return {{type(v), keys}}"
            );
            h.eval_case(&inspect, &[], &[], typed_setup);
        }
    }
    h.report();
}

#[test]
fn functions_match_redis() {
    let Some(mut h) = Harness::new() else { return };
    h.reset(&[]);
    h.admin.cmd(&[b"FUNCTION", b"FLUSH"]);
    let expected = h.admin.cmd(&[b"FUNCTION", b"LOAD", LIB_CODE.as_bytes()]);
    let got = h.mine.function_load(LIB_CODE.as_bytes(), false);
    h.check("FUNCTION LOAD", &expected, &got);
    let expected = h.admin.cmd(&[b"FUNCTION", b"LOAD", LIB_CODE.as_bytes()]);
    let got = h.mine.function_load(LIB_CODE.as_bytes(), false);
    h.check("FUNCTION LOAD existing", &expected, &got);
    let expected = h
        .admin
        .cmd(&[b"FUNCTION", b"LOAD", b"REPLACE", LIB_CODE.as_bytes()]);
    let got = h.mine.function_load(LIB_CODE.as_bytes(), true);
    h.check("FUNCTION LOAD REPLACE", &expected, &got);
    for code in LOAD_ERRORS {
        let expected = h.admin.cmd(&[b"FUNCTION", b"LOAD", code.as_bytes()]);
        let got = h.mine.function_load(code.as_bytes(), false);
        h.check(&format!("FUNCTION LOAD {code:?}"), &expected, &got);
        if expected.starts_with(b"$") {
            h.admin.cmd(&[b"FUNCTION", b"DELETE", b"x"]);
            h.mine.function_delete(b"x");
        }
    }
    for p in [Protocol::Resp2, Protocol::Resp3] {
        h.caller.hello(p);
        for (pattern, code) in [
            (None, false),
            (None, true),
            (Some(&b"my*"[..]), false),
            (Some(&b"zz*"[..]), true),
        ] {
            let mut cmd: Vec<&[u8]> = vec![b"FUNCTION", b"LIST"];
            if let Some(pat) = pattern {
                cmd.extend([&b"LIBRARYNAME"[..], pat]);
            }
            if code {
                cmd.push(b"WITHCODE");
            }
            let expected = h.caller.cmd(&cmd);
            let got = h.mine.function_list(pattern, code, p);
            h.check_list(
                &format!("FUNCTION LIST {pattern:?} {code} {p:?}"),
                &expected,
                &got,
            );
        }
        let expected = h.caller.cmd(&[b"FUNCTION", b"STATS"]);
        let got = h.mine.function_stats(None, p);
        h.check(&format!("FUNCTION STATS {p:?}"), &expected, &got);
        for (name, keys, args) in [
            (&b"echo"[..], vec![&b"a"[..]], vec![&b"b"[..], b"c"]),
            (b"ro", vec![b"str"], vec![]),
            (b"fail", vec![], vec![]),
            (b"boom", vec![], vec![]),
            (b"nosuch", vec![], vec![]),
            (b"ECHO", vec![b"x"], vec![b"y"]),
            (b"Boom", vec![], vec![]),
        ] {
            let numkeys = keys.len().to_string();
            let mut cmd: Vec<&[u8]> = vec![b"FCALL", name, numkeys.as_bytes()];
            cmd.extend(keys.iter().copied());
            cmd.extend(args.iter().copied());
            h.reset(&[&[b"SET", b"str", b"value"]]);
            let expected = h.caller.cmd(&cmd);
            h.reset(&[&[b"SET", b"str", b"value"]]);
            let opts = RunOptions {
                protocol: p,
                read_only: false,
            };
            let got = h.mine.fcall(name, &keys, &args, opts, &mut h.host);
            h.check(
                &format!("FCALL {} ({p:?})", String::from_utf8_lossy(name)),
                &expected,
                &got,
            );
            cmd[0] = b"FCALL_RO";
            let expected = h.caller.cmd(&cmd);
            let opts = RunOptions {
                protocol: p,
                read_only: true,
            };
            let got = h.mine.fcall(name, &keys, &args, opts, &mut h.host);
            h.check(
                &format!("FCALL_RO {} ({p:?})", String::from_utf8_lossy(name)),
                &expected,
                &got,
            );
        }
    }
    h.caller.hello(Protocol::Resp2);

    // Redis's DUMP payload (LZF-compressed strings) restores into the registry, and ours into Redis.
    let dump_reply = h.admin.cmd(&[b"FUNCTION", b"DUMP"]);
    let Ok(Some((zedis_resp::Frame::Bulk(payload), _))) = parse_frame(&dump_reply) else {
        panic!("FUNCTION DUMP reply {dump_reply:?}");
    };
    let got = h.mine.function_restore(&payload, RestorePolicy::Append);
    let expected = h.admin.cmd(&[b"FUNCTION", b"RESTORE", &payload, b"APPEND"]);
    h.check("FUNCTION RESTORE APPEND (collision)", &expected, &got);
    let got = h.mine.function_restore(&payload, RestorePolicy::Replace);
    let expected = h
        .admin
        .cmd(&[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"]);
    h.check("FUNCTION RESTORE REPLACE", &expected, &got);
    h.mine.function_flush().expect("flush");
    let got = h.mine.function_restore(&payload, RestorePolicy::Flush);
    h.check("FUNCTION RESTORE FLUSH", b"+OK\r\n", &got);
    let expected = h.admin.cmd(&[b"FUNCTION", b"LIST", b"WITHCODE"]);
    let got = h.mine.function_list(None, true, Protocol::Resp2);
    h.check_list("FUNCTION LIST after RESTORE", &expected, &got);
    let mut bad = payload.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let expected = h.admin.cmd(&[b"FUNCTION", b"RESTORE", &bad]);
    let got = h.mine.function_restore(&bad, RestorePolicy::Append);
    h.check("FUNCTION RESTORE bad checksum", &expected, &got);
    let ours = h.mine.function_dump();
    h.admin.cmd(&[b"FUNCTION", b"FLUSH"]);
    let restored = h.admin.cmd(&[b"FUNCTION", b"RESTORE", &lua_bytes(&ours)]);
    h.check("Redis restores our DUMP", b"+OK\r\n", &restored);
    let expected = h.admin.cmd(&[b"FUNCTION", b"LIST", b"WITHCODE"]);
    let got = h.mine.function_list(None, true, Protocol::Resp2);
    h.check_list("FUNCTION LIST after RESTORE of our DUMP", &expected, &got);
    let expected = h.admin.cmd(&[b"FUNCTION", b"DELETE", b"nosuch"]);
    let got = h.mine.function_delete(b"nosuch");
    h.check("FUNCTION DELETE missing", &expected, &got);
    let expected = h.admin.cmd(&[b"FUNCTION", b"DELETE", b"mylib"]);
    let got = h.mine.function_delete(b"mylib");
    h.check("FUNCTION DELETE", &expected, &got);
    h.report();
}

#[test]
fn script_cache_matches_redis() {
    let Some(mut h) = Harness::new() else { return };
    let body = b"return redis.call('ping')";
    let expected = h.admin.cmd(&[b"SCRIPT", b"LOAD", body]);
    let got = h.mine.script_load(body);
    h.check("SCRIPT LOAD", &expected, &got);
    let expected = h.admin.cmd(&[b"SCRIPT", b"LOAD", b"return ("]);
    let got = h.mine.script_load(b"return (");
    h.check("SCRIPT LOAD error", &expected, &got);
    let sha = zedis_scripting::sha1_hex(body);
    let upper = sha.to_ascii_uppercase();
    let shas: [&[u8]; 3] = [
        sha.as_bytes(),
        upper.as_bytes(),
        b"0000000000000000000000000000000000000000",
    ];
    let mut cmd: Vec<&[u8]> = vec![b"SCRIPT", b"EXISTS"];
    cmd.extend(shas);
    let expected = h.admin.cmd(&cmd);
    let got = h.mine.script_exists(&shas);
    h.check("SCRIPT EXISTS", &expected, &got);
    for s in [
        sha.as_bytes(),
        upper.as_bytes(),
        b"abc",
        b"0000000000000000000000000000000000000000",
    ] {
        h.reset(&[]);
        let expected = h.caller.cmd(&[b"EVALSHA", s, b"0"]);
        let got = h
            .mine
            .evalsha(s, &[], &[], RunOptions::default(), &mut h.host);
        h.check(
            &format!("EVALSHA {}", String::from_utf8_lossy(s)),
            &expected,
            &got,
        );
    }
    for (body, ro) in [
        (&b"#!lua\nreturn 1"[..], true),
        (b"#!lua flags=no-writes\nreturn 1", true),
        (b"return 1", true),
    ] {
        let expected = h.caller.cmd(&[b"EVAL_RO", body, b"0"]);
        let got = h.mine.eval(
            body,
            &[],
            &[],
            RunOptions {
                protocol: Protocol::Resp2,
                read_only: ro,
            },
            &mut h.host,
        );
        h.check(
            &format!("EVAL_RO {}", String::from_utf8_lossy(body)),
            &expected,
            &got,
        );
    }
    h.admin.cmd(&[b"SCRIPT", b"FLUSH"]);
    h.mine.script_flush().expect("flush");
    let expected = h.admin.cmd(&[b"SCRIPT", b"EXISTS", sha.as_bytes()]);
    let got = h.mine.script_exists(&[sha.as_bytes()]);
    h.check("SCRIPT EXISTS after FLUSH", &expected, &got);
    h.report();
}
