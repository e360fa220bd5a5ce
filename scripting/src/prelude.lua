-- Zedis's Lua environment, run once per VM (chunk name "=zedis": the error handler skips its frames).
-- Arguments: the real globals table, the debug library (captured here, then removed), the Rust
-- primitives table, and the VM kind ("eval" or "function").
local G, dbg, R, kind = ...
local error, type, tostring, rawget, rawset, setmetatable, getmetatable, select, unpack, xpcall, next =
  error, type, tostring, rawget, rawset, setmetatable, getmetatable, select, unpack, xpcall, next
local raw_pcall = pcall
local M = {killed = false}
local cwrap = R.cwrap

-- Readonly tables: Redis patches its Lua VM; here each protected table is an empty proxy whose metatable
-- reads through to the real table and refuses writes.
local proxies = setmetatable({}, {__mode = 'k'})
local function ro_error() error('Attempt to modify a readonly table', 2) end
local function protect(t)
  local p = setmetatable({}, {__index = t, __newindex = ro_error, __metatable = getmetatable(t)})
  proxies[p] = t
  return p
end
local function missing_global(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local error_mt = {__index = missing_global, __newindex = ro_error}

G.rawset = cwrap(function(t, k, v)
  if proxies[t] or t == G then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end)
G.rawget = cwrap(function(t, k) return rawget(proxies[t] or t, k) end)
G.setmetatable = cwrap(function(t, mt)
  if proxies[t] or t == G then error('Attempt to modify a readonly table', 0) end
  return setmetatable(t, mt)
end)
local wrapped_next = cwrap(function(t, k) return next(proxies[t] or t, k) end)
G.next = wrapped_next
G.pairs = cwrap(function(t) return wrapped_next, t, nil end)

local function pack(...) return {n = select('#', ...), ...} end
-- Redis's pcall turns a caught {err=...} table into its message. A plain Lua function (no trampoline):
-- it never raises, and it then costs one C call per nesting level as Redis's C version does.
G.pcall = function(...)
  local r = pack(raw_pcall(...))
  if not r[1] then
    if M.killed then error(r[2], 0) end
    local e = r[2]
    if type(e) == 'table' then
      local m = e.err
      if type(m) == 'string' or type(m) == 'number' then r[2] = m end
    end
  end
  return unpack(r, 1, r.n)
end
-- Redis's Lua never loads precompiled chunks (crafted bytecode can corrupt the VM): a chunk starting
-- with ESC is parsed as text, which fails on its first byte.
local function chunkid(name)
  local first = name:sub(1, 1)
  if first == '=' then return name:sub(2, 60) end
  if first == '@' then
    local rest = name:sub(2)
    if #rest > 45 then return '...' .. rest:sub(-45) end
    return rest
  end
  local nul = name:find('\0', 1, true)
  if nul then name = name:sub(1, nul - 1) end
  local line = name
  local nl = name:find('\n', 1, true)
  if nl then line = name:sub(1, nl - 1) end
  local truncated = #line < #name
  if #line > 45 then line = line:sub(1, 45); truncated = true end
  return '[string "' .. line .. (truncated and '..."]' or '"]')
end
local function binary_error(name)
  return chunkid(name) .. ":1: unexpected symbol near 'char(27)'"
end
local raw_loadstring, raw_load = loadstring, load
G.loadstring = cwrap(function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then return nil, binary_error(name or s) end
  return raw_loadstring(s, name)
end)
G.load = cwrap(function(f, name)
  if type(f) ~= 'function' then return raw_load(f, name) end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == '' then break end
    if type(piece) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = piece
  end
  local s = table.concat(parts)
  if s:byte(1) == 27 then return nil, binary_error(name or '=(load)') end
  return raw_loadstring(s, name or '=(load)')
end)
G.dofile, G.loadfile, G.print, G.getfenv, G.setfenv, G.newproxy, G.module, G.require = nil
G.debug = nil
G.gcinfo = gcinfo

local function err_table(msg)
  -- luaPushErrorBuff: "-CODE msg" keeps CODE, otherwise ERR; the message is trimmed of CR/LF.
  local code, text = 'ERR', msg
  if msg:sub(1, 1) == '-' then
    local space = msg:find(' ', 1, true)
    if space then code, text = msg:sub(2, space - 1), msg:sub(space + 1) else text = msg:sub(2) end
  end
  text = text:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return {err = code .. ' ' .. text}
end
M.err_table = err_table

local redis = {}
-- Redis's luaRedisCallCommand / luaRedisPCallCommand: C functions from Rust (no wrapper, no trampoline).
redis.call = R.call
redis.pcall = R.pcall
redis.sha1hex = function(...)
  if select('#', ...) ~= 1 then error(err_table('wrong number of arguments')) end
  local s = ...
  if type(s) ~= 'string' and type(s) ~= 'number' then s = '' end
  return R.sha1hex(tostring(s))
end
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then return err_table('wrong number or type of arguments') end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return err_table(e)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return err_table('wrong number or type of arguments') end
  return {ok = s}
end
local function register_log(t)
  t.log = function(...)
    local n = select('#', ...)
    if n < 2 then error(err_table('redis.log() requires two arguments or more.')) end
    local level = ...
    if type(tonumber(level)) ~= 'number' then error(err_table('First argument must be a number (log level).')) end
    level = math.floor(tonumber(level))
    if level < 0 or level > 3 then error(err_table('Invalid debug level.')) end
    local parts = {}
    for j = 2, n do
      local s = select(j, ...)
      if type(s) == 'string' or type(s) == 'number' then parts[#parts + 1] = tostring(s) end
    end
    R.log(level, table.concat(parts, ' '))
  end
  t.LOG_DEBUG, t.LOG_VERBOSE, t.LOG_NOTICE, t.LOG_WARNING = 0, 1, 2, 3
  t.REDIS_VERSION, t.REDIS_VERSION_NUM = '7.0.15', 0x07000f
end
register_log(redis)
redis.setresp = function(...)
  if select('#', ...) ~= 1 then error(err_table('redis.setresp() requires one argument.')) end
  local v = tonumber((...)) or 0
  v = v - v % 1
  if v ~= 2 and v ~= 3 then error(err_table('RESP version must be 2 or 3.')) end
  R.setresp(v)
end
redis.set_repl = function(...)
  if select('#', ...) ~= 1 then error(err_table('redis.set_repl() requires two arguments.')) end
  local v = tonumber((...)) or 0
  v = v - v % 1
  if v < 0 or v > 3 then
    error(err_table('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.'))
  end
  R.set_repl(v)
end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.acl_check_cmd = function(...)
  if select('#', ...) == 0 then error(err_table('Please specify at least one argument for this redis lib call')) end
  local r = R.acl(...)
  if type(r) == 'string' then error(err_table(r)) end
  return r
end
for k, v in pairs(redis) do
  if type(v) == 'function' and v ~= R.call and v ~= R.pcall then redis[k] = cwrap(v) end
end
if kind == 'eval' then
  redis.breakpoint = function() return false end
  redis.debug = function() end
  redis.replicate_commands = function() return true end
end

-- Error handler: Redis reports the source and line of the script frame that raised the error.
local function handler(err)
  local lvl = 2
  local i = dbg.getinfo(lvl, 'nSl')
  if i and i.what == 'C' then lvl = lvl + 1; i = dbg.getinfo(lvl, 'nSl') end
  -- Skip this file's frames (and tail-call markers), then the C trampoline that entered them.
  local internal = false
  while i and (i.source == '=zedis' or i.what == 'tail') do
    internal = true
    lvl = lvl + 1; i = dbg.getinfo(lvl, 'nSl')
  end
  if internal and i and i.what == 'C' then lvl = lvl + 1; i = dbg.getinfo(lvl, 'nSl') end
  if M.killed then
    err = {err = 'ERR Script killed by user with SCRIPT KILL...'}
  elseif type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if i then err['source'] = i.source; err['line'] = i.currentline end
  return err
end

-- Rust runs scripts with this handler as their error function.
M.handler = handler

-- Rust library functions return `ok, ...`; these raise the message as the C libraries' luaL_error does
-- (with the caller's position: level 3 is the script, above this wrapper and its C trampoline).
-- An argument error names the function as the caller called it ('?' from pcall), as luaL_argerror: level
-- 3 is the C trampoline, whose name comes from the calling instruction.
local function raise_or_return(ok, ...)
  if not ok then
    local msg = ...
    if type(msg) == 'string' and msg:find("^bad argument #") then
      local i = dbg.getinfo(3, 'n')
      local name = (i and i.name) or '?'
      msg = (msg:gsub("^(bad argument #%-?%d+ to )'[^']*'", function(head) return head .. "'" .. name .. "'" end))
    end
    error(msg, 4)
  end
  return ...
end
for _, lib in ipairs({'cmsgpack', 'struct', 'bit'}) do
  local t = R[lib]
  for k, f in pairs(t) do
    if type(f) == 'function' then
      t[k] = cwrap(function(...) return raise_or_return(f(...)) end)
    end
  end
end
-- A cjson table from Rust gets its Lua wrappers; `cjson.new()` makes another (with its own settings,
-- writable, as lua-cjson's).
local cjson_settings = {'encode_sparse_array', 'encode_max_depth', 'decode_max_depth',
  'encode_number_precision', 'encode_keep_buffer', 'encode_invalid_numbers', 'decode_invalid_numbers'}
local function wrap_cjson(t)
  local enc, dec = t.encode, t.decode
  t.encode = cwrap(function(v) local r, e = enc(v) if e then error(e, 3) end return r end)
  t.decode = cwrap(function(s)
    if type(s) ~= 'string' and type(s) ~= 'number' then
      error("bad argument #1 to 'decode' (string expected, got " .. type(s) .. ")", 0)
    end
    local r, e = dec(tostring(s))
    if e then error(e, 3) end
    return r
  end)
  for _, k in ipairs(cjson_settings) do
    local f = t[k]
    t[k] = cwrap(function(...) return raise_or_return(f(...)) end)
  end
  t.new = cwrap(function() return wrap_cjson(R.cjson_new()) end)
  return t
end
if R.cjson then wrap_cjson(R.cjson) end
for _, name in ipairs({'cjson', 'bit', 'struct', 'cmsgpack'}) do
  if R[name] then G[name] = R[name] end
end

-- math.random / math.randomseed on Redis's redisLrand48 (deterministic, shared by every script).
local function checkint(v, n, fname)
  local x = tonumber(v)
  if x == nil then
    local got = v == nil and 'no value' or type(v)
    error("bad argument #" .. n .. " to '" .. fname .. "' (number expected, got " .. got .. ")", 4)
  end
  if x >= 0 then return math.floor(x) end
  return math.ceil(x)
end
G.math.random = cwrap(function(...)
  local n = select('#', ...)
  local r = R.rand()
  if n == 0 then return r end
  if n == 1 then
    local u = checkint((...), 1, 'random')
    if u < 1 then error("bad argument #1 to 'random' (interval is empty)", 3) end
    return math.floor(r * u) + 1
  end
  if n == 2 then
    local l, u = ...
    l, u = checkint(l, 1, 'random'), checkint(u, 2, 'random')
    if l > u then error("bad argument #2 to 'random' (interval is empty)", 3) end
    return math.floor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 3)
end)
G.math.randomseed = cwrap(function(...)
  R.srand(checkint((...), 1, 'randomseed') % 4294967296)
end)

-- Coroutines get a count hook (mlua's hook covers the main thread only) that asks Rust whether the
-- script must die.
local tick
function M.install_tick(f) tick = f end
local function coroutine_hook()
  if tick and tick() then error({err = 'ERR Script killed by user with SCRIPT KILL...'}) end
end
local raw_create = coroutine.create
local function hooked_create(f)
  local co = raw_create(f)
  dbg.sethook(co, coroutine_hook, '', 100000)
  return co
end
G.coroutine.create = hooked_create
G.coroutine.wrap = function(f)
  local co = hooked_create(f)
  -- As lua's auxwrap: a string error gets the caller's position prepended.
  return cwrap(function(...)
    local r = pack(coroutine.resume(co, ...))
    if not r[1] then
      if type(r[2]) == 'string' or type(r[2]) == 'number' then error(r[2], 3) end
      error(r[2], 0)
    end
    return unpack(r, 2, r.n)
  end)
end

local protected_names = {'string', 'table', 'math', 'coroutine', 'cjson', 'bit', 'struct', 'cmsgpack'}
for _, name in ipairs(protected_names) do
  if G[name] then G[name] = protect(G[name]) end
end
local string_mt = getmetatable('')
string_mt.__index = G.string
-- The globals' and strings' metatables are readonly too (Redis protects them): scripts see proxies.
local error_mt_view, string_mt_view = protect({__index = missing_global}), protect(string_mt)
G.getmetatable = function(t)
  local mt
  if proxies[t] then mt = getmetatable(proxies[t]) else mt = getmetatable(t) end
  if mt == error_mt then return error_mt_view end
  if mt == string_mt then return string_mt_view end
  return mt
end

for _, k in ipairs({'breakpoint', 'debug', 'replicate_commands'}) do
  if redis[k] then redis[k] = cwrap(redis[k]) end
end
if kind == 'eval' then
  G.redis = protect(redis)
  local env = protect(G)
  G._G = env
  setmetatable(G, error_mt)
  M.env = env
else
  -- Functions: the code of FUNCTION LOAD sees only a `redis` with register_function and log; the
  -- registered callbacks later see the full globals.
  G.redis = protect(redis)
  local flag_bits = {['no-writes'] = 1, ['allow-oom'] = 2, ['allow-stale'] = 4, ['no-cluster'] = 8,
    ['allow-cross-slot-keys'] = 16}
  local function fail(msg) error(err_table(msg)) end
  local function read_named(t)
    if type(t) ~= 'table' then
      fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    local name, desc, cb, flags = nil, nil, nil, 0
    for k, v in next, t do
      if type(k) ~= 'string' and type(k) ~= 'number' then fail('named argument key given to redis.register_function is not a string') end
      local key = tostring(k):lower()
      if key == 'function_name' then
        if type(v) ~= 'string' and type(v) ~= 'number' then fail('function_name argument given to redis.register_function must be a string') end
        name = tostring(v)
      elseif key == 'description' then
        if type(v) ~= 'string' and type(v) ~= 'number' then fail('description argument given to redis.register_function must be a string') end
        desc = tostring(v)
      elseif key == 'callback' then
        if type(v) ~= 'function' then fail('callback argument given to redis.register_function must be a function') end
        cb = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then fail('flags argument to redis.register_function must be a table representing function flags') end
        local j = 1
        while true do
          local f = v[j]
          if f == nil then break end
          if type(f) ~= 'string' and type(f) ~= 'number' then fail('unknown flag given') end
          local bit = flag_bits[tostring(f):lower()]
          if not bit then fail('unknown flag given') end
          if flags % (2 * bit) < bit then flags = flags + bit end
          j = j + 1
        end
      else
        fail('unknown argument given to redis.register_function')
      end
    end
    if not name then fail('redis.register_function must get a function name argument') end
    if not cb then fail('redis.register_function must get a callback argument') end
    return name, desc, cb, flags
  end
  local lib_redis = {register_function = cwrap(function(...)
    local n = select('#', ...)
    if n < 1 or n > 2 then fail('wrong number of arguments to redis.register_function') end
    local name, desc, cb, flags
    if n == 1 then
      name, desc, cb, flags = read_named((...))
    else
      local a, b = ...
      if type(a) ~= 'string' and type(a) ~= 'number' then fail('first argument to redis.register_function must be a string') end
      if type(b) ~= 'function' then fail('second argument to redis.register_function must be a function') end
      name, desc, cb, flags = tostring(a), nil, b, 0
    end
    local e = R.register(name, desc, cb, flags)
    if e then fail(e) end
  end)}
  register_log(lib_redis)
  lib_redis.log = cwrap(lib_redis.log)
  setmetatable(lib_redis, error_mt)
  local lib_globals = setmetatable({redis = protect(lib_redis)}, error_mt)
  local env_mt = {__newindex = ro_error, __index = G}
  local env = setmetatable({}, env_mt)
  proxies[env] = G
  G._G = env
  setmetatable(G, error_mt)
  M.env = env
  function M.load_mode(on) env_mt.__index = on and lib_globals or G end
  -- Runs a library's top-level code; returns nil on success or the error message.
  function M.load(chunk)
    local ok, e = raw_pcall(chunk)
    if ok then return nil end
    if M.killed then return 'ERR FUNCTION LOAD timeout' end
    if type(e) == 'table' then return tostring(rawget(e, 'err')) end
    return 'ERR ' .. tostring(e)
  end
  M.err_table = err_table
end
return M
