//! Differential test: every script runs through `zedis-scripting` (its `redis.call`s forwarded to a real
//! `redis-server`) and through that server's own EVAL/FCALL; the replies must match byte for byte, in
//! RESP2 and RESP3. Skipped with a note when `redis-server` is not installed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zedis_resp::{encode_command, parse_frame, Protocol};
use zedis_scripting::{CallCtx, Host, RestorePolicy, RunOptions, Scripting};

/// A `redis-server` child, killed by PID when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Option<Server> {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("note: redis-server not found; differential scripting test skipped");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--enable-debug-command",
            "yes",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("redis-server did not start on port {port}");
}

/// A raw RESP connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.stream.write_all(&out).expect("write");
        loop {
            if let Some(used) = frame_len(&self.buf) {
                return self.buf.drain(..used).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn hello(&mut self, p: Protocol) {
        let v: &[u8] = if p == Protocol::Resp3 { b"3" } else { b"2" };
        self.cmd(&[b"HELLO", v]);
    }
}

/// Length of the first complete RESP2/RESP3 value in `buf`, scanned iteratively (the `resp` crate's
/// decoder bounds nesting; deeply nested script replies are part of the corpus).
fn frame_len(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let mut remaining: u64 = 1;
    while remaining > 0 {
        let kind = *buf.get(pos)?;
        let end = pos + buf[pos..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&buf[pos + 1..end]).ok()?;
        pos = end + 2;
        remaining -= 1;
        match kind {
            b'$' | b'=' | b'!' => {
                let len: i64 = line.parse().ok()?;
                if len >= 0 {
                    pos += len as usize + 2;
                    if pos > buf.len() {
                        return None;
                    }
                }
            }
            b'*' | b'~' | b'>' => remaining += line.parse::<i64>().ok()?.max(0) as u64,
            b'%' | b'|' => {
                remaining += 2 * line.parse::<i64>().ok()?.max(0) as u64 + u64::from(kind == b'|')
            }
            _ => {}
        }
    }
    Some(pos)
}

/// Forwards each `redis.call` to the real server, in the protocol the script asked for.
struct Forward {
    conn: Conn,
    protocol: Protocol,
}

impl Host for Forward {
    fn acl_check_cmd(&mut self, argv: &[&[u8]]) -> Option<bool> {
        // The default user may run everything; whether the command exists is the server's table's answer.
        let reply = self.conn.cmd(&[b"COMMAND", b"INFO", argv[0]]);
        let unknown = [&b"*1\r\n*-1"[..], b"*1\r\n$-1", b"*1\r\n_"]
            .iter()
            .any(|p| reply.starts_with(p));
        (!unknown).then_some(true)
    }

    fn call(&mut self, argv: &[&[u8]], ctx: &CallCtx) -> Vec<u8> {
        if ctx.protocol != self.protocol {
            self.conn.hello(ctx.protocol);
            self.protocol = ctx.protocol;
        }
        let reply = self.conn.cmd(argv);
        // A script's client may not run some commands; the real server decides those from its table.
        rewrite_script_errors(argv, reply)
    }
}

/// Redis refuses these from scripts before running them; a plain connection would run them.
fn rewrite_script_errors(argv: &[&[u8]], reply: Vec<u8>) -> Vec<u8> {
    let name = String::from_utf8_lossy(argv[0]).to_ascii_lowercase();
    if reply.starts_with(b"-ERR unknown command") {
        return b"-ERR Unknown Redis command called from script\r\n".to_vec();
    }
    if reply.starts_with(b"-ERR wrong number of arguments") {
        return b"-ERR Wrong number of args calling Redis command from script\r\n".to_vec();
    }
    if [
        "multi",
        "exec",
        "subscribe",
        "blpop_deny",
        "eval",
        "evalsha",
        "fcall",
    ]
    .contains(&name.as_str())
    {
        return b"-ERR This Redis command is not allowed from script\r\n".to_vec();
    }
    reply
}

struct Harness {
    _server: Server,
    admin: Conn,
    caller: Conn,
    host: Forward,
    mine: Scripting,
    failures: Vec<String>,
}

impl Harness {
    fn new() -> Option<Harness> {
        let server = start_server()?;
        let port = server.port;
        Some(Harness {
            admin: Conn::open(port),
            caller: Conn::open(port),
            host: Forward {
                conn: Conn::open(port),
                protocol: Protocol::Resp2,
            },
            mine: Scripting::new(Default::default()).expect("lua"),
            failures: Vec::new(),
            _server: server,
        })
    }

    fn reset(&mut self, setup: &[&[&[u8]]]) {
        self.admin.cmd(&[b"FLUSHALL"]);
        for cmd in setup {
            self.admin.cmd(cmd);
        }
        self.host.conn.hello(Protocol::Resp2);
        self.host.protocol = Protocol::Resp2;
    }

    /// FUNCTION LIST replies with each library's functions sorted (Redis lists them in dict order).
    fn check_list(&mut self, label: &str, expected: &[u8], got: &[u8]) {
        let (expected, got) = (sort_functions(expected), sort_functions(got));
        self.check(label, &expected, &got);
    }

    fn check(&mut self, label: &str, expected: &[u8], got: &[u8]) {
        if expected != got {
            self.failures.push(format!(
                "{label}\n  redis: {:?}\n  zedis: {:?}",
                String::from_utf8_lossy(expected),
                String::from_utf8_lossy(got)
            ));
        }
    }

    fn eval_case(&mut self, script: &str, keys: &[&str], args: &[&str], setup: &[&[&[u8]]]) {
        for p in [Protocol::Resp2, Protocol::Resp3] {
            let numkeys = keys.len().to_string();
            let mut cmd: Vec<&[u8]> = vec![b"EVAL", script.as_bytes(), numkeys.as_bytes()];
            cmd.extend(keys.iter().map(|k| k.as_bytes()));
            cmd.extend(args.iter().map(|a| a.as_bytes()));
            self.reset(setup);
            self.caller.hello(p);
            let expected = self.caller.cmd(&cmd);
            self.reset(setup);
            let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let opts = RunOptions {
                protocol: p,
                read_only: false,
            };
            let got = self
                .mine
                .eval(script.as_bytes(), &keys, &args, opts, &mut self.host);
            self.check(&format!("EVAL {script:?} ({p:?})"), &expected, &got);
        }
    }

    fn report(&self) {
        if !self.failures.is_empty() {
            panic!(
                "{} mismatches:\n{}",
                self.failures.len(),
                self.failures.join("\n")
            );
        }
    }
}

const CONVERSIONS: &[&str] = &[
    "return 1",
    "return 3.99",
    "return -3.99",
    "return 'hello'",
    "return true",
    "return false",
    "return nil",
    "return {}",
    "return {1, 2, 3, 'x', nil, 5}",
    "return {1, {2, {3, {'deep'}}}}",
    "return {ok='fine'}",
    "return {ok='a\\r\\nb'}",
    "return {err='MYERR custom'}",
    "return {err='nospace'}",
    "return {double=1.5}",
    "return {double=3}",
    "return {map={a=1}}",
    "return {set={x=true}}",
    "return {big_number='123456789012345678901234567890'}",
    "return {verbatim_string={format='txt', string='hello'}}",
    "return redis.status_reply('PONG')",
    "return redis.error_reply('MY bad')",
    "return redis.error_reply('-WRONG x')",
    "return redis.error_reply('ERR')",
    "return redis.status_reply(1)",
    "return redis.error_reply()",
    "return 1e300",
    "return math.huge",
    "return 0/0",
    "return {1, true, false, 'a'}",
    "return redis.call('ping')",
    "return redis.call('set', KEYS[1], ARGV[1])",
    "redis.call('set', KEYS[1], ARGV[1]); return redis.call('get', KEYS[1])",
    "return redis.call('get', 'missing')",
    "return redis.call('incrby', KEYS[1], 5)",
    "return redis.call('set', 'n', 3.5) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 1e20) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 0.1) and redis.call('get', 'n')",
    "redis.call('rpush', 'l', 'a', 'b', 'c'); return redis.call('lrange', 'l', 0, -1)",
    "redis.call('hset', 'h', 'f', 'v'); return redis.call('hgetall', 'h')",
    "redis.setresp(3); redis.call('hset', 'h', 'f', 'v'); return redis.call('hgetall', 'h')",
    "redis.setresp(3); return redis.call('hgetall', 'h')",
    "redis.setresp(3); redis.call('sadd', 's', 'a'); return redis.call('smembers', 's')",
    "redis.setresp(3); redis.call('zadd', 'z', 1.5, 'a'); return redis.call('zscore', 'z', 'a')",
    "redis.setresp(3); return redis.call('get', 'missing')",
    "redis.setresp(3); return redis.call('get', 'missing') == nil",
    "redis.setresp(3); return true",
    "redis.setresp(3); return false",
    "redis.setresp(3); return redis.call('exists', 'x') ",
    "redis.setresp(3); local t = redis.call('hgetall', 'h'); return type(t.map)",
    "redis.setresp(3); local d = redis.call('zscore', 'z', 'a'); return type(d)",
    "local t = redis.call('hgetall', 'missing'); return #t",
    "return redis.pcall('incr', 'str')",
    "local r = redis.pcall('incr', 'str'); return r.err",
    "return redis.call('incr', 'str')",
    "return redis.pcall('nosuchcommand')",
    "return redis.call('nosuchcommand')",
    "return redis.call('get', 'a', 'b')",
    "return redis.call()",
    "return redis.pcall()",
    "return redis.call('get', {})",
    "return redis.call('get', nil)",
    "local ok, e = pcall(redis.call, 'nosuch'); return {tostring(ok), e}",
    "local ok, e = pcall(error, 'boom'); return {tostring(ok), e}",
    "local ok, e = pcall(error, {err='X y'}); return {tostring(ok), e}",
    "return redis.acl_check_cmd('get', 'x')",
    "return redis.acl_check_cmd('nosuchcommand')",
    "return redis.acl_check_cmd()",
    "return redis.acl_check_cmd('get', {})",
    "return redis.sha1hex('')",
    "return redis.sha1hex('abc')",
    "return redis.sha1hex()",
    "return redis.sha1hex(1)",
    "return KEYS[1] .. ARGV[1] .. #KEYS .. #ARGV",
    "local t = {} t[1] = t return t",
    "local t = {} local c = t for i = 1, 10000 do c[1] = {} c = c[1] end return t",
    "local t = {} local c = t for i = 1, 3000 do c.map = {k = {}} c = c.map.k end return t",
    "local t = {} local c = t for i = 1, 3000 do local n = {} c.set = {[n] = true} c = n end return {map = {a = t}}",
    "return {KEYS, ARGV}",
];

const ERRORS: &[&str] = &[
    "error('boom')",
    "error({err='CUSTOM failure'})",
    "error(1)",
    "local x = nil; return x.y",
    "return a",
    "a = 1",
    "_G.a = 1",
    "rawset(_G, 'a', 1)",
    "setmetatable(_G, {})",
    "string.x = 1",
    "table.insert = nil",
    "redis.call = nil",
    "cjson.encode = 1",
    "bit.x = 1",
    "return print",
    "return dofile",
    "return loadfile",
    "return debug",
    "return os",
    "return io",
    "return require",
    "return getfenv",
    "return newproxy",
    "return type(loadstring)",
    "return loadstring('return 7')()",
    "return select(2, loadstring(string.dump(function() return 1 end)))",
    "return select(2, loadstring(string.char(27) .. 'abc', 'name'))",
    "return select(2, loadstring(string.char(27) .. 'abc', '@name'))",
    "return select(2, loadstring(string.char(27) .. 'abc', '=name'))",
    "return select(2, loadstring('return +'))",
    "return select(2, loadstring('\\nreturn +'))",
    "return loadstring('return KEYS[1]')()",
    "local f = loadstring('x = 1') return f()",
    "\u{1b}Lua",
    "return type(rawget(_G, 'nothing'))",
    "return type(_G.string)",
    "return type(getmetatable(_G))",
    "return _VERSION",
    "return string.len('abc') .. ('x'):rep(3)",
    "return (foo",
    "return 1 +",
    "redis.setresp(4)",
    "redis.setresp()",
    "redis.set_repl(9)",
    "redis.set_repl()",
    "return redis.set_repl(redis.REPL_ALL)",
    "redis.log()",
    "redis.log('x', 'y')",
    "redis.log(9, 'y')",
    "return redis.log(redis.LOG_WARNING, 'from test')",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
    "return redis.REDIS_VERSION",
    "return redis.REDIS_VERSION_NUM",
    "return redis.replicate_commands()",
    "return redis.breakpoint()",
    "return redis.debug('x')",
    "local function f(n) return f(n + 1) + 1 end return f(1)",
    "#!lua flags=no-writes\nreturn redis.call('get', 'x')",
    "#!lua\nreturn 1",
    "#!lua flags=bogus\nreturn 1",
    "#!lua foo=1\nreturn 1",
    "#!python\nreturn 1",
    "#!lua",
    "#!lua\nreturn a",
    "\nreturn a",
];

const LIBRARIES: &[&str] = &[
    "return cjson.encode({1, 2, 3})",
    "return cjson.encode({a = 1})",
    "return cjson.encode({a = {b = {c = 'd'}}})",
    "return cjson.encode('a\"b\\\\c/d\\n')",
    "return cjson.encode(1.5)",
    "return cjson.encode(0.1)",
    "return cjson.encode(123456789012345)",
    "return cjson.encode({})",
    "return cjson.encode(true)",
    "return cjson.encode(cjson.null)",
    "return cjson.encode({1, nil, 3})",
    "return cjson.encode({[1] = 1, [100] = 2})",
    "return cjson.encode(function() end)",
    "return cjson.decode('[1,2,3]')",
    "return cjson.decode('{\"a\":[1,\"x\",{\"b\":true}]}').a",
    "return cjson.decode('\"\\\\u00e9\"')",
    "return type(cjson.decode('null'))",
    "return cjson.decode('[1, 2')",
    "return cjson.decode('')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('  42  ')",
    "return cjson.decode('-1.5e3')",
    "return {math.random(100), math.random(5, 10), tostring(math.random())}",
    "math.randomseed(42); return {math.random(1000), math.random(1000)}",
    "math.randomseed(-7); return math.random(1, 1000000)",
    "return math.random(0)",
    "return math.random(3, 1)",
    "return math.random(1, 2, 3)",
    "return math.random('x')",
    "return bit.band(0xff, 0x0f)",
    "return bit.bor(1, 2, 4)",
    "return bit.bxor(5, 3)",
    "return bit.bnot(0)",
    "return bit.lshift(1, 31)",
    "return bit.rshift(-1, 28)",
    "return bit.arshift(-256, 4)",
    "return bit.rol(0x12345678, 8)",
    "return bit.ror(0x12345678, 8)",
    "return bit.bswap(0x12345678)",
    "return bit.tohex(255)",
    "return bit.tohex(-1, -4)",
    "return bit.tohex(65535, 2)",
    "return bit.tobit(4294967296 + 5)",
    "return bit.tobit(2.5)",
    "return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 4294967296, -32, -33, -128, -129, -32768, -32769, -2147483649)",
    "return cmsgpack.pack(1.5, 0.1, -2.25, 1e300, 3.0)",
    "return cmsgpack.pack('', 'short', string.rep('x', 31), string.rep('y', 32), string.rep('z', 300), string.rep('w', 70000))",
    "return cmsgpack.pack({1, 2, 3}, {a = 1}, {}, true, false, nil)",
    "return cmsgpack.pack({[1] = 'a', [3] = 'c'})",
    "local t = {} t[1] = t return cmsgpack.pack(t)",
    "return cmsgpack.pack()",
    "return cmsgpack.pack(function() end)",
    "local t = {} for i = 1, 20 do t[i] = i end return cmsgpack.pack(t)",
    "local t = {} for i = 1, 20 do t['k' .. i] = i end return #cmsgpack.pack(t)",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, {five = 5}))}",
    "return cmsgpack.unpack(cmsgpack.pack(-1.5)) * 2",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}",
    "return cmsgpack.unpack('\\146\\1')",
    "return cmsgpack.unpack('\\193')",
    "return cmsgpack.unpack_one('\\1', 5)",
    "return cmsgpack.unpack_one('\\1', -1)",
    "return {cmsgpack.unpack('\\207\\0\\0\\0\\1\\0\\0\\0\\0')}",
    "return cmsgpack._VERSION",
    "return struct.pack('>I2', 258)",
    "return struct.pack('<i4', -2)",
    "return struct.pack('bBhHlLi', -1, 255, -2, 65535, -3, 4, 5)",
    "return struct.pack('!4 b i', 1, 2)",
    "return struct.pack('>d', 1.5) .. struct.pack('<f', -0.5)",
    "return struct.pack('c5', 'hello world')",
    "return struct.pack('c0', 'abc')",
    "return struct.pack('s', 'zero')",
    "return struct.pack('c9', 'short')",
    "return struct.pack('i4')",
    "return struct.pack('y', 1)",
    "return struct.pack('!3', 1)",
    "return struct.pack('i33', 1)",
    "return {struct.unpack('>I2', '\\1\\2')}",
    "return {struct.unpack('<i4', struct.pack('<i4', -7))}",
    "return {struct.unpack('bBhH', struct.pack('bBhH', -1, 255, -300, 60000))}",
    "return {struct.unpack('s', 'abc\\0def')}",
    "return {struct.unpack('B c0', '\\3abcdef')}",
    "return {struct.unpack('c2', 'abcdef', 3)}",
    "return {struct.unpack('>d', struct.pack('>d', 2.5))}",
    "return struct.unpack('i4', 'ab')",
    "return struct.unpack('s', 'abc')",
    "return struct.unpack('c0', 'abc')",
    "return struct.unpack('b', 'a', 0)",
    "return struct.size('i4 h b')",
    "return struct.size('!8 b d')",
    "return struct.size('s')",
    "return struct.size('c0')",
    "return struct.size('z')",
];

/// Commands whose replies cover the RESP3 types a script can receive (DEBUG PROTOCOL is not allowed from
/// scripts), seen by a RESP2 and a RESP3 script.
const TYPED_COMMANDS: &[&str] = &[
    "'get', 'str'",
    "'get', 'missing'",
    "'incr', 'n'",
    "'zscore', 'z', 'a'",
    "'zrange', 'z', 0, -1, 'withscores'",
    "'zincrby', 'z', 0.5, 'a'",
    "'hgetall', 'h'",
    "'smembers', 's'",
    "'lolwut', 'version', '5', '1', '1', '1'",
    "'lrange', 'missing', 0, -1",
    "'hmget', 'h', 'f', 'nofield'",
    "'type', 'h'",
    "'incr', 'str'",
];

#[test]
fn eval_matches_redis() {
    let Some(mut h) = Harness::new() else { return };
    let setup: &[&[&[u8]]] = &[&[b"SET", b"str", b"notanumber"]];
    for script in CONVERSIONS.iter().chain(ERRORS).chain(LIBRARIES) {
        h.eval_case(script, &["k1", "k2"], &["v1", "v2", "v3"], setup);
    }
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

const LIB_CODE: &str = "#!lua name=mylib\n\
local function echo(keys, args) return {keys, args} end\n\
redis.register_function('echo', echo)\n\
redis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end, \
flags={'no-writes', 'allow-oom'}, description='reads'}\n\
redis.register_function('fail', function() return redis.call('nosuch') end)\n\
redis.register_function('boom', function() error('bad') end)\n";

const LOAD_ERRORS: &[&str] = &[
    "return 1",
    "#!lua\nreturn 1",
    "#!lua name=x",
    "#!lua name=bad-name\nreturn 1",
    "#!lua name=x name=y\nreturn 1",
    "#!lua name=x foo=bar\nreturn 1",
    "#!js name=x\nreturn 1",
    "#!lua name=x\nreturn 1",
    "#!lua name=x\nreturn (",
    "#!lua name=x\nlocal s = string.len('a')",
    "#!lua name=x\nredis.call('ping')",
    "#!lua name=x\nredis.register_function('f')",
    "#!lua name=x\nredis.register_function(1, 2, 3)",
    "#!lua name=x\nredis.register_function({})",
    "#!lua name=x\nredis.register_function({function_name='f', callback=1})",
    "#!lua name=x\nredis.register_function({function_name='f', callback=function() end, flags={'bad'}})",
    "#!lua name=x\nredis.register_function({function_name='f', callback=function() end, extra=1})",
    "#!lua name=x\nredis.register_function('bad name', function() end)",
    "#!lua name=x\nredis.register_function('f', function() end) redis.register_function('f', function() end)",
    "#!lua name=x\nredis.register_function('echo', function() end)",
    "#!lua name=x\nerror('load failed')",
    "#!lua name=x\nerror({err='MY load'})",
    "#!lua name=x\nx = 1",
    "#!lua name=x\nredis.log(redis.LOG_NOTICE, 'loading') redis.register_function('f2', function() return redis.REDIS_VERSION end)",
];

fn sort_functions(reply: &[u8]) -> Vec<u8> {
    use zedis_resp::Frame;
    let Ok(Some((Frame::Array(mut libs), _))) = parse_frame(reply) else {
        return reply.to_vec();
    };
    for lib in &mut libs {
        let fields = match lib {
            Frame::Array(items) => items,
            Frame::Map(pairs) => {
                for (_, v) in pairs.iter_mut() {
                    if let Frame::Array(fs) = v {
                        fs.sort_by_key(|f| f.to_bytes());
                    }
                }
                continue;
            }
            _ => continue,
        };
        for v in fields.iter_mut() {
            if let Frame::Array(fs) = v {
                fs.sort_by_key(|f| f.to_bytes());
            }
        }
    }
    Frame::Array(libs).to_bytes()
}

fn lua_bytes(v: &[u8]) -> Vec<u8> {
    v.to_vec()
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
