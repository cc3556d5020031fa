-- job-match/generate-candidate {candidate_id, tenant_id, trigger}: (re)build one candidate's
-- matches against every active job, replacing the old set atomically.
local rules = require("matching")
local texts = require("texts")
local ids = require("ids")

return workflow {
  id = "generate-candidate-matches",
  name = "Generate matches for a candidate",
  triggers = { { event = "job-match/generate-candidate" } },
  retries = 3,
  concurrency = { limit = 1, key = "event.data.candidate_id" },
  run = function(ctx, step)
    local data = ctx.event.data
    local candidate = step.run("validate-candidate", function()
      local c = db.one("SELECT id, tenant_id, status, embedding IS NULL AS needs_embedding FROM candidates WHERE id = $1",
                       data.candidate_id)
      if c == nil then
        error(step.non_retriable("candidate " .. tostring(data.candidate_id) .. " does not exist"))
      end
      -- The app sends tenant_id as an integer; candidates.tenant_id is text.
      if not ids.same(c.tenant_id, data.tenant_id) then
        error(step.non_retriable("candidate " .. tostring(data.candidate_id) .. " belongs to tenant '" .. c.tenant_id ..
                                 "', not '" .. tostring(data.tenant_id) .. "'"))
      end
      return c
    end)

    local embedded = step.run("ensure-candidate-embedding", function()
      if not candidate.needs_embedding then return false end
      local row = db.one("SELECT headline, summary, skills FROM candidates WHERE id = $1", candidate.id)
      local v = embed.batch({ texts.candidate(row) })[1]
      db.exec("UPDATE candidates SET embedding = $1, embedding_updated_at = now() WHERE id = $2", v, candidate.id)
      return true
    end)

    local stats = step.run("replace-matches", function()
      return match.store([[SELECT $1::bigint AS candidate_id, id AS job_id FROM job_postings WHERE status = 'active']],
                         { candidate.id }, rules, { mode = "replace_candidate" })
    end)

    local status_updated = false
    if data.trigger == "onboarding_approval" then
      status_updated = step.run("mark-ready-for-assignment", function()
        return db.exec("UPDATE candidates SET status = 'ready_for_assignment' WHERE id = $1 AND status = 'approved'",
                       candidate.id) > 0
      end)
    end
    return { candidate_id = candidate.id, trigger = data.trigger, embedding_generated = embedded,
             jobs_scored = stats.pairs, matches_stored = stats.stored, recommended = stats.recommended,
             matches_removed = stats.removed, status_updated = status_updated }
  end,
}
