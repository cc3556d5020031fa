-- Identifiers as the app sends them. The app's payloads carry ids as numbers (approve_candidate_onboarding
-- sends tenant_id as an int) or as strings ("1"), and the database holds some as text (candidates.tenant_id)
-- and some as bigint, so `==` on them says 1 ~= "1". Compare ids with ids.same instead.
local M = {}

-- The integer an id stands for: an integer, a float with an integral value, or a string of decimal digits
-- (optionally signed) that fits 64 bits; nil for anything else.
local function integer(v)
  if type(v) == "number" then return math.tointeger(v) end
  if type(v) == "string" and v:match("^%s*[-+]?%d+%s*$") then
    local n = tonumber(v)
    -- A digit string beyond 64 bits reads as a float; math.tointeger refuses it, and it is compared as text.
    return n and math.tointeger(n)
  end
  return nil
end

-- True when a and b are the same id: equal integers however each was written (1, 1.0, "1", " 01"),
-- otherwise equal text (tostring). nil is the same only as nil.
function M.same(a, b)
  if a == nil or b == nil then return a == b end
  local x, y = integer(a), integer(b)
  if x ~= nil and y ~= nil then return x == y end
  return tostring(a) == tostring(b)
end

return M
