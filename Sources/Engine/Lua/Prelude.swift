/// Lua-side halves of the host API. Steps are written in Lua so that parking a run (sleep, wait) is a
/// `coroutine.yield` from code the coroutine itself runs: a yield from inside a Swift call would have
/// to cross a C boundary (see LUA_HOST_NOTES.md). The Swift halves live in the `H` table.
enum Prelude {
    static let source = #"""
return function(H)
local traceback = debug.traceback
local type, error, xpcall, tostring, yield, setmetatable, getmetatable, pairs, select, rawget =
      type, error, xpcall, tostring, coroutine.yield, setmetatable, getmetatable, pairs, select, rawget

-- Error tables print as their message: tostring(err), "failed: " .. err, and a handler's log line show what went
-- wrong instead of "table: 0x...".
local ERROR_MT = {
  __tostring = function(e) return tostring(rawget(e, "message")) end,
  __concat = function(a, b)
    local function text(v) if type(v) == "table" then return tostring(rawget(v, "message")) end return tostring(v) end
    return text(a) .. text(b)
  end,
  __name = "error",
}
local function as_error(e)
  if type(e) == "table" and getmetatable(e) == nil then setmetatable(e, ERROR_MT) end
  return e
end

local function check_id(fname, id, level)
  if type(id) ~= "string" or id == "" then
    error("step." .. fname .. ": the step id must be a non-empty string, got " .. type(id), level or 3)
  end
end

-- Keeps thrown tables (step.non_retriable, step.retry_after) intact and adds a traceback to the rest.
local function handler(e)
  if type(e) == "table" then
    if e.traceback == nil then e.traceback = traceback("", 2) end
    return as_error(e)
  end
  return as_error({ message = tostring(e), traceback = traceback(tostring(e), 2) })
end

local step = {}

function step.run(id, opts, fn)
  if fn == nil then fn, opts = opts, nil end
  check_id("run", id)
  if type(fn) ~= "function" then
    error("step.run('" .. tostring(id) .. "'): expected a function as the last argument, got " .. type(fn), 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("step.run('" .. id .. "'): options must be a table, got " .. type(opts), 2)
  end
  local key, found, value = H.begin(id, opts)
  if found then return value end
  local ok, res = xpcall(fn, handler)
  if ok then
    H.finish(key, res)
    return res
  end
  H.fail(key, res)
  error(res, 0)
end

function step.sleep(id, duration)
  check_id("sleep", id)
  if H.sleep(id, duration, false) then yield("park") end
  return nil
end

function step.sleep_until(id, when)
  check_id("sleep_until", id)
  if H.sleep(id, when, true) then yield("park") end
  return nil
end

function step.wait_for_event(id, opts)
  check_id("wait_for_event", id)
  if type(opts) ~= "table" then
    error("step.wait_for_event('" .. id .. "'): options must be a table {event = NAME, match = ..., timeout = ...}", 2)
  end
  local park, value = H.wait(id, opts)
  if park then
    yield("park")
    error("step.wait_for_event('" .. id .. "'): resumed without a result", 2)
  end
  return value
end

function step.invoke(id, opts)
  check_id("invoke", id)
  if type(opts) ~= "table" then
    error("step.invoke('" .. id .. "'): options must be a table {function_id = ID, data = {...}, timeout = \"10m\"}", 2)
  end
  local park, ok, value = H.invoke(id, opts)
  if park then
    yield("park")
    error("step.invoke('" .. id .. "'): resumed without a result", 2)
  end
  if not ok then
    -- The invoked run's error, final: it had its own retries, so this run does not retry the call.
    if type(value) == "table" then value.__blacklight = "non_retriable" end
    error(as_error(value), 2)
  end
  return value
end

function step.send_event(id, events)
  check_id("send_event", id)
  return step.run(id, function() return H.send(events) end)
end

function step.non_retriable(message)
  return as_error({ __blacklight = "non_retriable", message = tostring(message) })
end

function step.retry_after(seconds, message)
  if type(seconds) ~= "number" and type(seconds) ~= "string" then
    error("step.retry_after: seconds must be a number or a duration string", 2)
  end
  return as_error({ __blacklight = "retry_after", seconds = seconds, message = tostring(message or "retry requested") })
end

-- db.tx(fn): fn's SQL in a savepoint nested in the step's. An error inside rolls back fn's writes only and is
-- raised again; the step's other writes stay. (Scripts cannot send SAVEPOINT themselves.)
local pack, unpack = table.pack, table.unpack
local function db_tx(fn)
  if type(fn) ~= "function" then error("db.tx: expected a function, got " .. type(fn), 2) end
  local depth = H.tx_begin()
  local r = pack(pcall(fn))
  if r[1] then
    H.tx_end(depth, true)
    return unpack(r, 2, r.n)
  end
  H.tx_end(depth, false)
  error(r[2], 0)
end

-- on_failure(ctx, err) runs through this Lua function, so the error table it receives prints its message.
local function run_on_failure(handler, ctx, err)
  if type(err) == "table" then as_error(err) end
  ctx.error = err
  return handler(ctx, err)
end

return step, run_on_failure, db_tx
end
"""#
}
