/// Builds the script sandbox; runs once per VM with the full standard library as its _ENV.
///
/// Arguments: the C helpers (`readonly`, `rawset`), the host print function and the module
/// source lookup. Returns the frozen globals table and the metatable of per-chunk environments.
/// Environments are empty tables whose `__index` is the frozen globals table (a plain table, so
/// known globals are found without a function call) whose own `__index` rejects unknown names.
let luaSandboxPrelude = #"""
local helpers, host_print, host_module_source = ...
-- positioned(f): f returns true, ... or false, message; the wrapper raises message at the caller's
-- line, which error(message, 2) cannot do when the caller made a tail call.
local readonly, positioned = helpers.readonly, helpers.positioned
local error, type, tostring, select, load, setmetatable, getmetatable =
      error, type, tostring, select, load, setmetatable, getmetatable
local concat, real_collectgarbage = table.concat, collectgarbage

local BASE = {}
for _, name in ipairs({
  "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
  "rawlen", "select", "tonumber", "tostring", "type", "xpcall",
}) do
  BASE[name] = _G[name]
end
BASE._VERSION = _VERSION
-- rawset on a read-only proxy would shadow the host table for every script in this VM.
BASE.rawset = helpers.rawset

-- Refuses __gc: finalizers run inside garbage collection with hooks off, no limit could stop one.
BASE.setmetatable = helpers.setmetatable

function BASE.print(...)
  local n = select("#", ...)
  local parts = { ... }
  for i = 1, n do parts[i] = tostring(parts[i]) end
  host_print(concat(parts, "\t", 1, n))
end

-- Scripts may ask how much memory they use; collecting is the host's business.
function BASE.collectgarbage(option)
  if option == "count" then return real_collectgarbage("count") end
  return 0
end

local ENV_MT = {
  __index = BASE,
  __newindex = function(_, name)
    error("assignment to undeclared global '" .. tostring(name) .. "'", 2)
  end,
  __metatable = false,
}
setmetatable(BASE, {
  __index = function(_, name) error("unknown global '" .. tostring(name) .. "'", 2) end,
})
local function new_env() return setmetatable({}, ENV_MT) end

function BASE.load(chunk, chunkname, _, env)
  if type(chunk) == "string" and chunk:byte(1) == 27 then
    return nil, "binary chunks are not allowed in scripts: load accepts Lua source text only"
  end
  if env == nil then env = new_env() end
  return load(chunk, chunkname, "t", env)
end

BASE.string = readonly("string", string)
BASE.table = readonly("table", table)
BASE.math = readonly("math", math)
BASE.utf8 = readonly("utf8", utf8)
BASE.coroutine = readonly("coroutine", coroutine)

local function unavailable(name)
  return positioned(function() return false, "'" .. name .. "' is not available in scripts" end)
end
BASE.os = readonly("os", {
  time = os.time, clock = os.clock, date = os.date,
  execute = unavailable("os.execute"), exit = unavailable("os.exit"),
  getenv = unavailable("os.getenv"), remove = unavailable("os.remove"),
  rename = unavailable("os.rename"), tmpname = unavailable("os.tmpname"),
  setlocale = unavailable("os.setlocale"),
})

-- Strings index the real string table (fast method calls); scripts only ever see read-only views.
local string_metatable = getmetatable("")
string_metatable.__metatable = readonly("string metatable", { __index = BASE.string })

local loaded, LOADING = {}, {}
BASE.require = positioned(function(name)
  if type(name) ~= "string" then
    return false, "bad argument #1 to 'require' (string expected, got " .. type(name) .. ")"
  end
  local cached = loaded[name]
  if cached == LOADING then return false, "module '" .. name .. "' requires itself" end
  if cached ~= nil then return true, cached end
  local source, chunkname = host_module_source(name)
  if source == nil then
    return false, "module '" .. name .. "' not found (plugins are looked up in plugins/" .. name .. ".lua)"
  end
  local chunk, message = load(source, chunkname, "t", new_env())
  if chunk == nil then error(message, 0) end  -- already names the plugin and line
  loaded[name] = LOADING
  -- On error, forget the module so a later require tries again.
  local _ <close> = setmetatable({}, {
    __close = function() if loaded[name] == LOADING then loaded[name] = nil end end,
  })
  local result = chunk(name)
  if result == nil then result = true end
  loaded[name] = result
  return true, result
end)

return BASE, ENV_MT
"""#
