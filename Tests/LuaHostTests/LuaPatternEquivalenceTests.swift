import Testing

@testable import LuaHost

/// Runs every case through Lua's own matcher and the bridge's (both called the same way, so error
/// positions and function names agree) and returns the number of cases and the differences.
private let equivalenceScript = #"""
-- Runs every case through Lua's own matcher and the bridge's; returns the number of cases and a
-- list of differences (results or error messages).
return function(stock, mine)
local pack, select, type, tostring, pcall = table.pack, select, type, tostring, pcall
local function show(r)
  local parts = {}
  for i = 1, r.n do
    local v = r[i]
    if type(v) == "string" then parts[i] = string.format("%q", v)
    elseif type(v) == "number" then parts[i] = math.type(v) .. ":" .. tostring(v)
    else parts[i] = tostring(v) end
  end
  return "(" .. table.concat(parts, ", ") .. ")"
end
local count, differences = 0, {}
local function check(description, run)
  count = count + 1
  local a, b = show(pack(pcall(run, stock))), show(pack(pcall(run, mine)))
  if a ~= b then differences[#differences + 1] = description .. ": stock " .. a .. " vs bridge " .. b end
end
local function q(v) return type(v) == "string" and string.format("%q", v) or tostring(v) end

local subjects = {
  "", "a", "aaa", "hello world", "  x = 10, y = 20  ", "THE (quick) fox [jumps] over",
  "f(a(b)c)d", "abc\0def", "123abc456", "a.b-c+d*e?f", "\n\t mixed CASE 99 ^$%", "key=value; k2=v2",
  string.rep("ab", 20), "\195\188mlaut \195\169", "x$y^z", "[[nested]] [x]", "THE END",
}
local patterns = {
  "", "a", "a*", "a+", "a-", "a?", ".", ".-", ".*", "^a", "^", "$", "a$", "^$", "%a+", "%d+", "%s*",
  "%w+", "%p", "%u%l*", "%x+", "%c", "%g+", "%z", "%A+", "%D", "%S+", "%L", "%U+", "%W", "%X", "%P+",
  "%C+", "%G", "[aeiou]", "[^aeiou]+", "[a-z]+", "[%a_][%w_]*", "[]]", "[^]]", "[a-]", "[-a]", "[%]]",
  "[a-c-e]", "[%d%s]+", "[^%s]+", "(%w+)=(%w+)", "()a()", "()", "(a)(b)?", "(h)(e)(l)", "%b()",
  "%b[]", "%bxy", "%f[%a]%a+", "%f[%A]", "%f[%w]%w+", "%f[%z]", "%f[^%z]", "(%a+)%s*(%d*)",
  "((a)(b))", "(.)%1", "(a*(.)%w(%s*))", "^(%s*)(.-)(%s*)$", "x", "%.", "%%", "a.b", "%-", "b-c",
  "(%d+)(%a+)(%d+)", "%$", "^%s*(.-)%s*$", "(x)%$(y)", "[%^x]", "^^", "$$", "a-b", "a?b?c?",
  "(a-)(b-)", "()b()", "\0", "%z+", "c\0d", "[\0-\31]", ".-(%d)", "(.-)%s", "%(.-%)", "%[(.-)%]",
  "(%w-)%f[%s]", "%1", "(a)%2", "(", ")", "%", "[a", "[", "%b", "%ba", "%f", "%fa", "(()",
  "[^", "a)(", "%g(", "[%", "(a)(%1)", "(()%1)",
}
local inits = { false, 1, 2, -1, -3, 0, 5, 100, -100 }

for _, s in ipairs(subjects) do
  for _, p in ipairs(patterns) do
    local d = q(s) .. ", " .. q(p)
    check("find(" .. d .. ")", function(lib) return lib.find(s, p) end)
    check("match(" .. d .. ")", function(lib) return lib.match(s, p) end)
    check("gmatch(" .. d .. ")", function(lib)
      local out, n = {}, 0
      for a, b, c in lib.gmatch(s, p) do
        n = n + 1
        out[n] = tostring(a) .. "|" .. tostring(b) .. "|" .. tostring(c)
        if n > 200 then break end
      end
      return table.concat(out, ";"), n
    end)
    check("gsub(" .. d .. ", '<%0>')", function(lib) return lib.gsub(s, p, "<%0>") end)
  end
end

for _, s in ipairs({ "hello world", "aaa", "", "abc\0def", "  x = 10, y = 20  " }) do
  for _, p in ipairs({ "", "a", "o", "l+", "%w+", "(%w+)", "()", "x*", "^%s*", "$", "%s*$", "[aeiou]" }) do
    for _, init in ipairs(inits) do
      local d = q(s) .. ", " .. q(p) .. ", " .. tostring(init)
      local i = init or nil
      check("find(" .. d .. ")", function(lib) return lib.find(s, p, i) end)
      check("find plain(" .. d .. ")", function(lib) return lib.find(s, p, i, true) end)
      check("match(" .. d .. ")", function(lib) return lib.match(s, p, i) end)
      check("gmatch(" .. d .. ")", function(lib)
        local out = {}
        for a, b in lib.gmatch(s, p, i) do
          out[#out + 1] = tostring(a) .. "|" .. tostring(b)
          if #out > 100 then break end
        end
        return table.concat(out, ";")
      end)
    end
  end
end

local replacements = {
  "%0", "<%1>", "%2", "%%", "%x", "", "[%1|%2]", "%", "a%0b%0c", "%9", 42, 1.5,
  { hello = "HI", world = false, a = 1, x = "X", ["10"] = "ten" },
  { hello = {} },
  function(a, b) return a and a:upper() end,
  function() return nil end,
  function() return false end,
  function() return {} end,
  function(a, b) return tostring(a) .. "/" .. tostring(b) end,
  function(...) return select("#", ...) end,
}
for _, s in ipairs({ "hello world", "aaa", "", "  x = 10, y = 20  ", "a,b,,c" }) do
  for _, p in ipairs({ "", "%w+", "(%w+)", "(%w)(%w)", "()", "l", "(o)()", "^h", "%s*$", "x*", "[^,]*" }) do
    for ri, r in ipairs(replacements) do
      for _, n in ipairs({ false, 1, 2, 0, -1 }) do
        local d = q(s) .. ", " .. q(p) .. ", replacement " .. ri .. ", " .. tostring(n)
        local max = n or nil
        check("gsub(" .. d .. ")", function(lib) return lib.gsub(s, p, r, max) end)
      end
    end
  end
end

-- Argument errors, coercions and limits of the matcher itself.
local odd = {
  { "find", { nil, "a" } }, { "find", { "a", nil } }, { "find", { "a", {} } }, { "find", { "a", "a", "x" } },
  { "find", { 12345, 3 } }, { "find", { 12345, "3", 2.0 } }, { "find", { "a", "a", 1.5 } },
  { "match", { nil } }, { "match", { "abc", "b", "2" } }, { "gmatch", { nil, "a" } }, { "gmatch", { "a" } },
  { "gsub", { "a", "a" } }, { "gsub", { "a", "a", true } }, { "gsub", { 123, "x", "y" } },
  { "gsub", { 123, "2", "y" } }, { "gsub", { "abc", "b", 5 } }, { "gsub", { "abc", "b", "x", "y" } },
  { "gsub", { "abc", "b", "x", 1.5 } }, { "gsub", { "abc", "%w", "%1" } }, { "gsub", { "abc", "(b)", "%2" } },
  { "gsub", { "abc", "()", "%1" } }, { "gsub", { "abc", "(b)", "%0%1%%" } },
  { "find", { string.rep("a", 300), string.rep("a?", 300) } },
  { "match", { string.rep("a", 300), string.rep("(a)", 33) } },
  { "match", { string.rep("a", 40), string.rep("(a)", 32) } },
  { "find", { "a", "(()" } }, { "match", { "abc", "(a%)" } }, { "find", { "a\0b", "\0" } },
  { "find", { "a\0b", "%z" } }, { "find", { "a.b", ".", 1, true } }, { "find", { "a.b", ".", 1, false } },
  { "find", { "abc", "", 10 } }, { "find", { "abc", "", 4 } }, { "match", { "abc", "", 4 } },
  { "find", { "abc", "b", math.mininteger } }, { "find", { "abc", "b", math.maxinteger } },
  { "gsub", { "abc", "", "-" } }, { "gsub", { "abc", "b*", "-" } }, { "gsub", { "abc", ".", { a = 1, b = true } } },
}
for i, case in ipairs(odd) do
  local name, args = case[1], case[2]
  check("odd case " .. i .. " (" .. name .. ")", function(lib) return lib[name](table.unpack(args, 1, 4)) end)
end
check("gmatch over a coroutine boundary", function(lib)
  local it = lib.gmatch("one two three", "%a+")
  local co = coroutine.wrap(function() return it(), it() end)
  return it(), co()
end)
check("gsub callback that yields", function(lib)
  local co = coroutine.wrap(function() return lib.gsub("ab", ".", function(c) coroutine.yield(c) end) end)
  return co()
end)
check("method call on a number subject", function(lib) return lib.match(3.25, "%d+") end)
return count, differences
end
"""#

@Suite("The step-counting pattern functions behave like Lua's own")
struct LuaPatternEquivalenceTests {
    @Test("find, match, gmatch and gsub give the same results and errors as Lua's own")
    func sameResultsAndErrors() throws {
        let vm = try LuaVM(limits: .init(instructions: Int(Int64.max / 2)))
        let stock = try vm.stockStringFunctions()
        let compare = try vm.loadTrusted(equivalenceScript, chunkName: "equivalence.lua")
        let bridge = try vm.loadTrusted("return string", chunkName: "string.lua")
        guard case .function(let function)? = compare.first, let bridgeFunctions = bridge.first else {
            Issue.record("the comparison script did not return a function")
            return
        }
        let result = try vm.call(function, [stock, bridgeFunctions])
        guard result.count == 2, case .int(let count) = result[0], case .table(let differences) = result[1] else {
            Issue.record("unexpected result \(result)")
            return
        }
        #expect(count > 10_000)
        #expect(differences.array.isEmpty, "\(differences.array.prefix(20).map { $0.asString ?? "?" }.joined(separator: "\n"))")
    }

    @Test("the comparison notices a difference")
    func comparisonNoticesDifferences() throws {
        let vm = try LuaVM(limits: .init(instructions: Int(Int64.max / 2)))
        let stock = try vm.stockStringFunctions()
        let compare = try vm.loadTrusted(equivalenceScript, chunkName: "equivalence.lua")
        let fake = try vm.loadTrusted("""
            return setmetatable({ match = function(s, p, i)
              if p == "%f[%a]%a+" then return "different" end
              return string.match(s, p, i)
            end }, { __index = string })
            """, chunkName: "fake.lua")
        guard case .function(let function)? = compare.first, let fakeFunctions = fake.first else {
            Issue.record("the comparison script did not return a function")
            return
        }
        let result = try vm.call(function, [stock, fakeFunctions])
        guard result.count == 2, case .table(let differences) = result[1] else {
            Issue.record("unexpected result \(result)")
            return
        }
        #expect(!differences.array.isEmpty)
    }
}
