//! Arbitrary bytes through the decoders and the compiler never panic: every outcome is a well-formed reply.

use proptest::prelude::*;
use zedis_resp::parse_frame;
use zedis_scripting::{CallCtx, Host, Limits, RestorePolicy, RunOptions, Scripting};

struct Echo;

impl Host for Echo {
    fn call(&mut self, argv: &[&[u8]], _: &CallCtx) -> Vec<u8> {
        let mut out = format!("${}\r\n", argv[0].len()).into_bytes();
        out.extend_from_slice(argv[0]);
        out.extend_from_slice(b"\r\n");
        out
    }
}

fn well_formed(reply: &[u8]) -> bool {
    matches!(parse_frame(reply), Ok(Some((_, used))) if used == reply.len())
        || reply.starts_with(b"*") // deeply nested replies exceed the test decoder's depth bound
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64), fmt in "[bBhHlLiIfdcsx!<> 0-9]{0,8}") {
        let mut s = Scripting::new(Limits::default()).unwrap();
        let args: [&[u8]; 2] = [&data, fmt.as_bytes()];
        for body in [
            "return {pcall(cjson.decode, ARGV[1])}",
            "return {pcall(cmsgpack.unpack, ARGV[1])}",
            "return {pcall(struct.unpack, ARGV[2], ARGV[1])}",
            "return {pcall(struct.pack, ARGV[2], 1, 2, 'abc')}",
            "return redis.call(ARGV[1])",
        ] {
            let reply = s.eval(body.as_bytes(), &[], &args, RunOptions::default(), &mut Echo);
            prop_assert!(well_formed(&reply), "{body}: {:?}", String::from_utf8_lossy(&reply));
        }
        let reply = s.eval(&data, &[], &[], RunOptions::default(), &mut Echo);
        prop_assert!(well_formed(&reply));
        let reply = s.function_restore(&data, RestorePolicy::Append);
        prop_assert!(well_formed(&reply));
        let mut code = b"#!lua name=x\n".to_vec();
        code.extend_from_slice(&data);
        prop_assert!(well_formed(&s.function_load(&code, false)));
    }
}
