/// Trusted Lua used by the REPL and the debugger. It runs with the full standard library (it needs
/// `debug.getlocal` and `debug.getupvalue`); the code a person types still runs in the sandbox, in
/// environments built here.
enum DebugLua {
    /// A chunk run by `loadTrusted` gets no arguments: make it return a function that takes them.
    static func wrapped(_ body: String) -> String {
        "return function(...)\n" + body + "\nend"
    }

    /// Argument: a sandboxed function returning a sandbox environment. Returns `tools`: `pretty(value)`,
    /// `eval(source, env, chunkname)`, `console(source)` (the REPL's own session), `set_overrides(t)`.
    /// Tables cross into Swift as copies, so every environment stays here and Swift calls functions.
    ///
    /// Pretty-printing is Lua because Lua knows every value (coroutines, userdata with `__tostring`,
    /// cycles) without a round trip through Swift, which cannot convert some of them.
    static let tools = #"""
local get_env = ...
local base_env = get_env()
local type, pairs, tostring, select, getmetatable, setmetatable, load, xpcall, pcall, rawget =
      type, pairs, tostring, select, getmetatable, setmetatable, load, xpcall, pcall, rawget
local concat, sort, mtype, traceback = table.concat, table.sort, math.type, debug.traceback

local function quote(s)
  return (string.format("%q", s):gsub("\\\n", "\\n"))
end

local function is_sequence(t)
  local n = #t
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n, n
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" then
    if mtype(v) == "float" and v == math.floor(v) and v > -1e15 and v < 1e15 then return string.format("%.1f", v) end
    return tostring(v)
  end
  if t == "userdata" then
    local name = getmetatable(v)
    if name == "blacklight.time" then return tostring(v) end
    local ok, text = pcall(tostring, v)
    local okn, n = pcall(function() return #v end)
    local label = type(name) == "string" and name or "userdata"
    if okn and type(n) == "number" then
      -- Vectors and other buffers: their size and a few values, never all of them.
      local head = {}
      for i = 1, math.min(n, 4) do
        local oki, x = pcall(function() return v[i] end)
        if not oki or type(x) ~= "number" then head = nil break end
        head[#head + 1] = string.format("%.4g", x)
      end
      if head and #head > 0 then
        return "<" .. label .. " " .. n .. ": " .. concat(head, ", ") .. (n > 4 and ", …" or "") .. ">"
      end
      return "<" .. label .. " #" .. n .. ">"
    end
    if ok and type(text) == "string" and not text:find("^userdata: ") then
      return #text > 80 and (text:sub(1, 77) .. "...") or text
    end
    return "<" .. label .. ">"
  end
  if t == "function" or t == "thread" then return "<" .. t .. ">" end
  return tostring(v)
end

local function key_text(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  return "[" .. scalar(k) .. "]"
end

local function sorted_keys(t, skip_sequence_upto)
  local keys = {}
  for k in pairs(t) do
    if not (mtype(k) == "integer" and k >= 1 and k <= skip_sequence_upto) then keys[#keys + 1] = k end
  end
  sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "string" or ta == "number" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

-- A sequence of flat records (what db.query returns) prints as an aligned table.
local function as_rows(t)
  local seq, n = is_sequence(t)
  if not seq or n == 0 then return nil end
  local columns, seen = {}, {}
  for i = 1, n do
    local row = t[i]
    if type(row) ~= "table" or getmetatable(row) ~= nil then return nil end
    local rseq, rn = is_sequence(row)
    if rn > 0 then return nil end
    for k, v in pairs(row) do
      if type(k) ~= "string" or type(v) == "table" then return nil end
      if not seen[k] then seen[k] = true columns[#columns + 1] = k end
    end
  end
  if #columns == 0 then return nil end
  sort(columns, function(a, b)
    if a == "id" then return b ~= "id" end
    if b == "id" then return false end
    return a < b
  end)
  local cells, widths = {}, {}
  for c, name in ipairs(columns) do widths[c] = utf8.len(name) or #name end
  for i = 1, n do
    cells[i] = {}
    for c, name in ipairs(columns) do
      local v = t[i][name]
      local text = v == nil and "" or (type(v) == "string" and v or scalar(v))
      text = text:gsub("\n", "\\n")
      if #text > 60 then text = text:sub(1, 57) .. "..." end
      cells[i][c] = text
      local w = utf8.len(text) or #text
      if w > widths[c] then widths[c] = w end
    end
  end
  local function line(values)
    local parts = {}
    for c, text in ipairs(values) do
      local pad = widths[c] - (utf8.len(text) or #text)
      parts[c] = text .. string.rep(" ", pad)
    end
    return (concat(parts, " | "):gsub("%s+$", ""))
  end
  local out = { line(columns) }
  local rule = {}
  for c = 1, #columns do rule[c] = string.rep("-", widths[c]) end
  out[2] = concat(rule, "-+-")
  for i = 1, n do out[#out + 1] = line(cells[i]) end
  out[#out + 1] = "(" .. n .. (n == 1 and " row)" or " rows)")
  return concat(out, "\n")
end

local function pretty(v, indent, seen)
  if type(v) ~= "table" then return scalar(v) end
  indent = indent or ""
  seen = seen or {}
  if seen[v] then return "<cycle>" end
  if #indent > 24 then return "{ ... }" end
  local mt = getmetatable(v)
  if mt ~= nil and type(mt) == "string" then return "<" .. mt .. ">" end
  if indent == "" then
    local rows = as_rows(v)
    if rows then return rows end
  end
  seen[v] = true
  local seq, n = is_sequence(v)
  local items = {}
  for i = 1, n do
    local x = v[i]
    items[#items + 1] = pretty(x, indent .. "  ", seen)
  end
  if not seq then
    for _, k in ipairs(sorted_keys(v, n)) do
      local x = v[k]
      items[#items + 1] = key_text(k) .. " = " .. pretty(x, indent .. "  ", seen)
    end
  end
  seen[v] = nil
  if #items == 0 then return "{}" end
  local inline = "{ " .. concat(items, ", ") .. " }"
  if #inline + #indent <= 72 and not inline:find("\n") then return inline end
  return "{\n" .. indent .. "  " .. concat(items, ",\n" .. indent .. "  ") .. ",\n" .. indent .. "}"
end

local function message_of(e)
  if type(e) == "table" then
    local m = rawget(e, "message")
    if m ~= nil then return tostring(m) end
    return pretty(e)
  end
  return tostring(e)
end

local function handler(e)
  local tb = traceback("", 2)
  -- Frames below the person's chunk are the debugger's own: cut them.
  local cut = tb:find("\n%s*%[C%]: in function 'xpcall'")
  if cut then tb = tb:sub(1, cut - 1) end
  tb = tb:gsub("\n\t[^\n]*blacklight%.debug[^\n]*", ""):gsub("\n\t%[LuaHost sandbox%][^\n]*", "")
  return message_of(e) .. tb
end

-- Compiles a chunk: first as an expression (so `1 + 1` prints 2), then as statements. The third
-- result tells an incomplete chunk (the error is at <eof>) from a wrong one.
local function compile(source, env, name)
  local f = load("return " .. source, name, "t", env)
  if f then return f end
  local g, err = load(source, name, "t", env)
  if g then return g end
  return nil, err, err:sub(-5) == "<eof>"
end

-- Returns "ok", text, count | "incomplete" | "syntax", message | "error", message with traceback.
local function eval(source, env, name)
  local f, err, incomplete = compile(source, env, name or "=repl")
  if not f then return incomplete and "incomplete" or "syntax", err end
  local res = table.pack(xpcall(f, handler))
  if not res[1] then return "error", res[2] end
  local parts = {}
  for i = 2, res.n do parts[#parts + 1] = pretty(res[i]) end
  return "ok", concat(parts, "\n"), res.n - 1
end

-- The REPL's global environment: assignments persist across chunks; names it does not hold come
-- from `overrides` (the console's db, step, ...) and then the sandbox (which rejects unknown names).
local overrides = {}
local function global(k)
  local ok, v = pcall(function() return base_env[k] end)
  if ok then return v end
  error("unknown global '" .. tostring(k) .. "'", 3)  -- at the person's line, not this function's
end

local session = setmetatable({}, {
  __index = function(_, k)
    local v = overrides[k]
    if v ~= nil then return v end
    local g = global(k)  -- not a tail call: global() raises at level 3, the person's chunk
    return g
  end,
})

local function set_overrides(t) overrides = t end
local function console(source) return eval(source, session, "=repl") end

return { pretty = pretty, eval = eval, compile = compile, console = console, set_overrides = set_overrides,
         message_of = message_of, global = global }
"""#

    /// Instruments a workflow VM: wraps the prelude's host functions (the `H` upvalue of `step.run`)
    /// so the debugger sees each step begin, finish and fail, can pause before a step (a Lua-side
    /// `coroutine.yield("pause", id)`, legal because step.run is Lua code the coroutine runs), and
    /// can skip sleeps and time out waits in a dry run. Wrapping from here keeps the engine's
    /// prelude untouched: a worker never pays for the debugger.
    ///
    /// Arguments: step.run, notify (a Swift function), tools, the sandbox environment getter. Returns
    /// `state` whose `eval(source, extra)` evaluates code at the pause point (locals first, then
    /// `extra`, then the sandbox's globals).
    static let hooks = #"""
local step_run, notify, tools, get_env = ...
local base_env = get_env()
local getupvalue, getinfo, getlocal = debug.getupvalue, debug.getinfo, debug.getlocal
local yield, pcall, setmetatable, type = coroutine.yield, pcall, setmetatable, type

local H
for i = 1, 255 do
  local name, value = getupvalue(step_run, i)
  if name == nil then break end
  if name == "H" then H = value break end
end
if type(H) ~= "table" then error("the step prelude changed: step.run has no H upvalue to instrument") end

local NIL = {}
local state = { vars = {} }
local orig_begin, orig_finish, orig_fail, orig_sleep, orig_wait, orig_invoke = H.begin, H.finish, H.fail, H.sleep, H.wait, H.invoke

local function is_host(source)
  return source == "=blacklight.prelude" or source == "=blacklight.debug"
end

-- Locals (and upvalues) of the script frames on the stack at the pause point, innermost first.
local function capture()
  local vars = {}
  local level = 3  -- 1 capture, 2 the wrapper, 3 step.run (or another prelude frame)
  while true do
    local info = getinfo(level, "Sf")
    if info == nil then break end
    if info.what ~= "C" and not is_host(info.source) then
      local i = 1
      while true do
        local name, value = getlocal(level, i)
        if name == nil then break end
        if name:sub(1, 1) ~= "(" and vars[name] == nil then
          if value == nil then vars[name] = NIL else vars[name] = value end
        end
        i = i + 1
      end
      if info.func then
        for u = 1, 255 do
          local name, value = getupvalue(info.func, u)
          if name == nil then break end
          if name ~= "_ENV" and vars[name] == nil then
            if value == nil then vars[name] = NIL else vars[name] = value end
          end
        end
      end
    end
    level = level + 1
  end
  state.vars = vars
end

function state.eval(source, extra)
  local vars = state.vars
  local env = setmetatable({}, {
    __index = function(_, k)
      local v = vars[k]
      if v ~= nil then
        if v == NIL then return nil end
        return v
      end
      v = extra[k]
      if v ~= nil then return v end
      local ok, g = pcall(function() return base_env[k] end)
      if ok then return g end
      error("'" .. tostring(k) .. "' is neither a local at this point of the script nor a global", 2)
    end,
  })
  return tools.eval(source, env, "=replay")
end

local pretty = tools.pretty

H.begin = function(id, opts)
  if notify("before", id) == "pause" then
    capture()
    yield("pause", id)
    state.vars = {}
  end
  local key, found, value = orig_begin(id, opts)
  if found then
    pcall(notify, "replayed", key, pretty(value))
  else
    pcall(notify, "started", key)
  end
  return key, found, value
end

H.finish = function(key, res)
  orig_finish(key, res)
  pcall(notify, "finished", key, pretty(res))
end

H.fail = function(key, err)
  orig_fail(key, err)
  pcall(notify, "failed", key, tools.message_of(err))
end

H.sleep = function(id, duration, is_until)
  if notify("sleep", id, duration, is_until) == "skip" then return false end
  return orig_sleep(id, duration, is_until)
end

H.wait = function(id, opts)
  if notify("wait", id, opts.event) == "skip" then return false, nil end
  return orig_wait(id, opts)
end

H.invoke = function(id, opts)
  if notify("invoke", id, opts.function_id) == "skip" then return false, true, nil end
  return orig_invoke(id, opts)
end

return state
"""#
}
