//! Limits: killed scripts, the Lua heap bound, deep recursion and huge or cyclic returns never crash or
//! wedge the engine, which keeps serving scripts afterwards.

use std::sync::atomic::Ordering;
use std::time::Duration;
use zedis_resp::{parse_frame, Frame};
use zedis_scripting::{CallCtx, Host, Limits, RunOptions, Scripting};

/// Answers every command with `+OK`.
struct Ok;

impl Host for Ok {
    fn call(&mut self, _: &[&[u8]], _: &CallCtx) -> Vec<u8> {
        b"+OK\r\n".to_vec()
    }
}

fn eval(s: &mut Scripting, body: &str) -> Vec<u8> {
    s.eval(body.as_bytes(), &[], &[], RunOptions::default(), &mut Ok)
}

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

fn still_works(s: &mut Scripting) {
    assert_eq!(text(&eval(s, "return redis.call('ping')")), "+OK\r\n");
}

/// A host that behaves as the server's busy handling: below `threshold` the interrupt does nothing; past
/// it, "another client" sends SCRIPT KILL, which is refused (`-UNKILLABLE`) once the script ran a write.
struct BusyHost {
    threshold: Duration,
    interrupts: usize,
    last_elapsed: Duration,
    wrote: bool,
    kill_replies: Vec<&'static str>,
}

impl BusyHost {
    fn new(threshold_ms: u64) -> Self {
        BusyHost {
            threshold: Duration::from_millis(threshold_ms),
            interrupts: 0,
            last_elapsed: Duration::ZERO,
            wrote: false,
            kill_replies: Vec::new(),
        }
    }
}

impl Host for BusyHost {
    fn call(&mut self, argv: &[&[u8]], _: &CallCtx) -> Vec<u8> {
        if argv[0].eq_ignore_ascii_case(b"set") {
            self.wrote = true;
        }
        b"+OK\r\n".to_vec()
    }

    fn interrupt(&mut self, elapsed: Duration) -> bool {
        assert!(elapsed >= self.last_elapsed, "elapsed goes forward");
        self.last_elapsed = elapsed;
        self.interrupts += 1;
        if elapsed < self.threshold {
            return false;
        }
        if self.wrote {
            self.kill_replies.push("-UNKILLABLE");
            return false;
        }
        self.kill_replies.push("+OK");
        true
    }
}

fn eval_on(s: &mut Scripting, host: &mut BusyHost, body: &str) -> String {
    text(&s.eval(body.as_bytes(), &[], &[], RunOptions::default(), host))
}

#[test]
fn interrupt_kills_an_infinite_loop() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let mut host = BusyHost::new(20);
    let reply = eval_on(
        &mut s,
        &mut host,
        "local i = 0\nwhile true do i = i + 1 end",
    );
    assert!(
        reply.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "),
        "{reply}"
    );
    assert!(reply.ends_with(", on @user_script:2.\r\n"), "{reply}");
    assert!(host.interrupts > 1, "called below the threshold too");
    assert!(host.last_elapsed >= Duration::from_millis(20));
    assert_eq!(host.kill_replies, ["+OK"]);
    // The simplest busy script of all.
    let mut host = BusyHost::new(10);
    let reply = eval_on(&mut s, &mut host, "while true do end");
    assert!(
        reply.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{reply}"
    );
    // A loop inside a coroutine is killed too (threads inherit the hook).
    let mut host = BusyHost::new(10);
    let reply = eval_on(
        &mut s,
        &mut host,
        "local co = coroutine.wrap(function() while true do end end) return co()",
    );
    assert!(reply.starts_with("-ERR "), "{reply}");
    assert!(
        reply.contains("Script killed by user with SCRIPT KILL..."),
        "{reply}"
    );
    // pcall cannot swallow the kill.
    let mut host = BusyHost::new(10);
    let reply = eval_on(
        &mut s,
        &mut host,
        "while true do pcall(function() while true do end end) end",
    );
    assert!(
        reply.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{reply}"
    );
    still_works(&mut s);
}

#[test]
fn a_script_that_wrote_is_not_killed_by_the_interrupt_host() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let mut host = BusyHost::new(1);
    let reply = eval_on(
        &mut s,
        &mut host,
        "redis.call('set', 'k', 'v') local n = 0 for i = 1, 5000000 do n = n + 1 end return n",
    );
    assert_eq!(reply, ":5000000\r\n");
    assert!(host.interrupts >= 10, "{} interrupts", host.interrupts);
    assert!(host.kill_replies.iter().all(|r| *r == "-UNKILLABLE"));
}

#[test]
fn interrupt_kills_a_function_with_the_same_text() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let code =
        b"#!lua name=spin\nredis.register_function('spin', function() while true do end end)";
    assert_eq!(text(&s.function_load(code, false)), "$4\r\nspin\r\n");
    let mut host = BusyHost::new(10);
    let reply = text(&s.fcall(b"spin", &[], &[], RunOptions::default(), &mut host));
    assert_eq!(
        reply,
        "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n"
    );
    // The kill does not stick: the next run of a finite function completes.
    let code = b"#!lua name=ok\nredis.register_function('ok', function() return 1 end)";
    assert_eq!(text(&s.function_load(code, false)), "$2\r\nok\r\n");
    let reply = text(&s.fcall(
        b"ok",
        &[],
        &[],
        RunOptions::default(),
        &mut BusyHost::new(0),
    ));
    assert_eq!(reply, ":1\r\n");
}

#[test]
fn kill_switch_from_another_thread_stops_functions_too() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let code =
        b"#!lua name=spin\nredis.register_function('spin', function() while true do end end)";
    assert_eq!(text(&s.function_load(code, false)), "$4\r\nspin\r\n");
    let switch = s.kill_switch();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        switch.store(true, Ordering::SeqCst);
    });
    let reply = text(&s.fcall(b"spin", &[], &[], RunOptions::default(), &mut Ok));
    killer.join().unwrap();
    assert!(
        reply.starts_with("-ERR Script killed by user with SCRIPT KILL... script: spin"),
        "{reply}"
    );
    // The flag is cleared after the run: a long but finite script completes.
    let reply = text(&eval(
        &mut s,
        "local n = 0 for i = 1, 3000000 do n = n + 1 end return n",
    ));
    assert_eq!(reply, ":3000000\r\n");
}

#[test]
fn function_load_times_out() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let reply = text(&s.function_load(b"#!lua name=slow\nwhile true do end", false));
    assert_eq!(
        reply,
        "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"
    );
    assert_eq!(
        text(&s.function_load(
            b"#!lua name=ok\nredis.register_function('f', function() return 1 end)",
            false
        )),
        "$2\r\nok\r\n"
    );
}

#[test]
fn heap_limit_fails_the_script_not_the_server() {
    let heap_bytes_max = 16 << 20;
    let mut s = Scripting::new(Limits {
        lua_heap_bytes_max: heap_bytes_max,
    })
    .unwrap();
    let reply = text(&eval(
        &mut s,
        "local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 64) .. i end return #t",
    ));
    assert!(reply.starts_with("-ERR "), "{reply}");
    assert!(reply.contains("not enough memory"), "{reply}");
    assert!(
        s.used_memory_bytes() <= 2 * heap_bytes_max,
        "{}",
        s.used_memory_bytes()
    );
    still_works(&mut s);
    let reply = text(&eval(&mut s, "return string.rep('x', 64 * 1024 * 1024)"));
    assert!(reply.contains("not enough memory"), "{reply}");
    still_works(&mut s);
}

#[test]
fn used_memory_grows_with_cached_scripts_and_resets_on_flush() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let before = s.used_memory_bytes();
    for i in 0..200 {
        s.script_load(format!("return {i} + {}", "1 + ".repeat(50) + "1").as_bytes());
    }
    assert!(s.used_memory_bytes() > before);
    assert_eq!(s.cached_scripts(), 200);
    s.script_flush().unwrap();
    assert_eq!(s.cached_scripts(), 0);
    assert!(s.used_memory_bytes() < before + 64 * 1024);
}

#[test]
fn deep_recursion_is_a_script_error() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let reply = text(&eval(
        &mut s,
        "local function f(n) return 1 + f(n + 1) end return f(1)",
    ));
    assert!(
        reply.starts_with("-ERR user_script:1: stack overflow"),
        "{reply}"
    );
    let reply = text(&eval(
        &mut s,
        "local function f(n) return pcall(f, n + 1) end return f(1)",
    ));
    assert!(!reply.is_empty());
    still_works(&mut s);
}

#[test]
fn huge_and_cyclic_returns_are_bounded() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let reply = eval(
        &mut s,
        "local t = {} for i = 1, 200000 do t[i] = i end return t",
    );
    let Some((Frame::Array(items), used)) = parse_frame(&reply).unwrap() else {
        panic!("not an array")
    };
    assert_eq!((items.len(), used), (200000, reply.len()));
    let reply = eval(&mut s, "local t = {} t[1] = t return t");
    assert!(text(&reply).contains("-ERR reached lua stack limit\r\n"));
    let reply = eval(
        &mut s,
        "local t = {} local c = t for i = 1, 100000 do c[1] = {} c = c[1] end return t",
    );
    assert!(text(&reply).contains("-ERR reached lua stack limit\r\n"));
    let reply = eval(&mut s, "local t = {} t.map = t return {map = {a = t}}");
    assert!(!reply.is_empty());
    still_works(&mut s);
}

#[test]
fn bytecode_is_never_loaded() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let reply = text(&s.eval(
        b"\x1bLuaQ\x00\x01\x04",
        &[],
        &[],
        RunOptions::default(),
        &mut Ok,
    ));
    assert_eq!(reply, "-ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'\r\n");
    let reply = text(&eval(
        &mut s,
        "return {loadstring(string.dump(function() return 1 end))}",
    ));
    assert_eq!(reply, "*0\r\n");
}

/// Counts the arguments of the last command.
struct ArgCount(usize);

impl Host for ArgCount {
    fn call(&mut self, argv: &[&[u8]], _: &CallCtx) -> Vec<u8> {
        self.0 = argv.len();
        format!(":{}\r\n", argv.len() - 2).into_bytes()
    }
}

#[test]
fn thousands_of_command_arguments_reach_the_host() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let mut host = ArgCount(0);
    let body =
        "local a = {} for i = 1, 7999 do a[i] = i end return redis.call('lpush', 'l', unpack(a))";
    let reply = text(&s.eval(body.as_bytes(), &[], &[], RunOptions::default(), &mut host));
    assert_eq!(reply, ":7999\r\n");
    assert_eq!(host.0, 8001);
    // A nil among many arguments is still refused.
    let body = "local a = {} for i = 1, 100 do a[i] = i end a[50] = nil \
                return redis.pcall('lpush', 'l', unpack(a, 1, 100))";
    let reply = text(&s.eval(body.as_bytes(), &[], &[], RunOptions::default(), &mut host));
    assert_eq!(
        reply,
        "-ERR Lua redis lib command arguments must be strings or integers\r\n"
    );
}

#[test]
fn huge_tables_round_trip_through_cmsgpack_and_cjson() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let body = "local arr, map = {}, {} \
                for i = 1, 100000 do arr[i] = i map[tostring(i)] = i end \
                local t = {a = arr, m = map} \
                local back = cmsgpack.unpack(cmsgpack.pack(t)) \
                local j = cjson.decode(cjson.encode(t)) \
                return {#back.a, back.m['99999'], #j.a, j.m['12345']}";
    let reply = text(&eval(&mut s, body));
    assert_eq!(reply, "*4\r\n:100000\r\n:99999\r\n:100000\r\n:12345\r\n");
}

/// Fails `select 99` as Redis does, answers `+OK` otherwise.
struct SelectFails;

impl Host for SelectFails {
    fn call(&mut self, argv: &[&[u8]], _: &CallCtx) -> Vec<u8> {
        if argv[0].eq_ignore_ascii_case(b"select") {
            return b"-ERR DB index is out of range\r\n".to_vec();
        }
        b"+OK\r\n".to_vec()
    }
}

#[test]
fn errors_from_commands_are_marked_as_already_counted() {
    let mut s = Scripting::new(Limits::default()).unwrap();
    let run = |s: &mut Scripting, body: &str| {
        let reply = s.eval(
            body.as_bytes(),
            &[],
            &[],
            RunOptions::default(),
            &mut SelectFails,
        );
        (text(&reply), s.last_error_already_counted())
    };
    let (reply, counted) = run(&mut s, "return redis.call('select', 99)");
    assert!(
        reply.starts_with("-ERR DB index is out of range script:"),
        "{reply}"
    );
    assert!(counted);
    let (reply, counted) = run(&mut s, "return redis.pcall('select', 99)");
    assert_eq!(reply, "-ERR DB index is out of range\r\n");
    assert!(counted);
    // The script's own errors are counted once, with the script's reply.
    let (reply, counted) = run(&mut s, "return redis.error_reply('MY_ERR x')");
    assert_eq!(reply, "-MY_ERR x\r\n");
    assert!(!counted);
    let (_, counted) = run(&mut s, "error('boom')");
    assert!(!counted);
    let (reply, counted) = run(&mut s, "return 1");
    assert_eq!((reply.as_str(), counted), (":1\r\n", false));
    // A refusal before running does not inherit the previous run's mark.
    run(&mut s, "return redis.call('select', 99)");
    let reply = s.evalsha(
        &[b'0'; 40],
        &[],
        &[],
        RunOptions::default(),
        &mut SelectFails,
    );
    assert!(text(&reply).starts_with("-NOSCRIPT"));
    assert!(!s.last_error_already_counted());
}
