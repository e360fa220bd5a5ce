//! The Lua heaps stay small: a fresh state is far below Redis's `used_memory_lua` test bound (100 KB),
//! and a run leaves so little garbage that thousands of runs stay below it too (Redis's "EVAL does not
//! leak in the Lua stack").

use zedis_scripting::{CallCtx, Host, Limits, RunOptions, Scripting};

/// Answers every command with `:1`.
struct One;

impl Host for One {
    fn call(&mut self, _: &[&[u8]], _: &CallCtx) -> Vec<u8> {
        b":1\r\n".to_vec()
    }
}

const FRESH_STATE_BYTES_MAX: usize = 80 * 1024;
const AFTER_RUNS_BYTES_MAX: usize = 100 * 1024;

#[test]
fn fresh_states_are_small() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    assert!(
        s.eval_memory_bytes() < FRESH_STATE_BYTES_MAX,
        "{}",
        s.eval_memory_bytes()
    );
    assert!(s.functions_memory_bytes() < FRESH_STATE_BYTES_MAX);
    assert_eq!(
        s.used_memory_bytes(),
        s.eval_memory_bytes() + s.functions_memory_bytes()
    );
    // SCRIPT FLUSH and FUNCTION FLUSH start from the same small state.
    s.script_flush().unwrap();
    s.function_flush().unwrap();
    assert!(s.eval_memory_bytes() < FRESH_STATE_BYTES_MAX);
    assert!(s.functions_memory_bytes() < FRESH_STATE_BYTES_MAX);
}

#[test]
fn ten_thousand_runs_stay_below_redis_bound() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let mut peak = 0;
    for _ in 0..10_000 {
        let reply = s.eval(
            b"return redis.call('incr', KEYS[1])",
            &[b"x"],
            &[],
            RunOptions::default(),
            &mut One,
        );
        assert_eq!(reply, b":1\r\n");
        peak = peak.max(s.eval_memory_bytes());
    }
    assert!(peak < AFTER_RUNS_BYTES_MAX, "peak {peak}");
    let code = b"#!lua name=l\nredis.register_function('f', function(keys) return redis.call('incr', keys[1]) end)";
    s.function_load(code, false);
    let mut peak = 0;
    for _ in 0..10_000 {
        let reply = s.fcall(b"f", &[b"x"], &[], RunOptions::default(), &mut One);
        assert_eq!(reply, b":1\r\n");
        peak = peak.max(s.functions_memory_bytes());
    }
    assert!(peak < AFTER_RUNS_BYTES_MAX, "peak {peak}");
}
