-- The texts that are embedded for jobs and candidates. Skills are passed separately so the
-- embedder can weight them higher.
local M = {}

local function join(parts)
  local out = {}
  for _, p in ipairs(parts) do
    if p ~= nil and p ~= "" then out[#out + 1] = p end
  end
  return table.concat(out, "\n")
end

function M.job(row)
  return { text = join({ row.title, row.description, row.requirements }), skills = row.skills or {} }
end

function M.candidate(row)
  return { text = join({ row.headline, row.summary }), skills = row.skills or {} }
end

function M.jobs(rows)
  local out = {}
  for i, row in ipairs(rows) do out[i] = M.job(row) end
  return out
end

function M.candidates(rows)
  local out = {}
  for i, row in ipairs(rows) do out[i] = M.candidate(row) end
  return out
end

return M
