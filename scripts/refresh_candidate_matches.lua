-- job-match/refresh-candidate {candidate_id, tenant_id}: recompute the scores of the candidate's
-- existing matches and drop those now below the store threshold.
local rules = require("matching")
local ids = require("ids")

return workflow {
  id = "refresh-candidate-matches",
  name = "Refresh a candidate's matches",
  triggers = { { event = "job-match/refresh-candidate" } },
  retries = 3,
  run = function(ctx, step)
    local data = ctx.event.data
    step.run("validate-candidate", function()
      local c = db.one("SELECT tenant_id FROM candidates WHERE id = $1", data.candidate_id)
      if c == nil then error(step.non_retriable("candidate " .. tostring(data.candidate_id) .. " does not exist")) end
      if not ids.same(c.tenant_id, data.tenant_id) then
        error(step.non_retriable("candidate " .. tostring(data.candidate_id) .. " belongs to another tenant"))
      end
    end)
    local stats = step.run("rescore-matches", function()
      return match.store([[SELECT candidate_id, job_posting_id AS job_id FROM candidate_job_matches WHERE candidate_id = $1]],
                         { data.candidate_id }, rules, { mode = "upsert" })
    end)
    return { candidate_id = data.candidate_id, rescored = stats.pairs, kept = stats.stored, dropped = stats.removed }
  end,
}
