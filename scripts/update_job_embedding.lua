-- job-posting/updated {job_id, changed_fields}: when the text changed, regenerate the job's
-- embedding and re-score its existing matches.
local rules = require("matching")
local texts = require("texts")

local TEXT_FIELDS = { title = true, description = true, skills = true, requirements = true }

return workflow {
  id = "update-job-embedding",
  name = "Update a job's embedding",
  triggers = { { event = "job-posting/updated" } },
  retries = 3,
  run = function(ctx, step)
    local data = ctx.event.data
    local relevant = false
    for _, field in ipairs(data.changed_fields or {}) do
      if TEXT_FIELDS[field] then relevant = true end
    end
    if not relevant then return { job_id = data.job_id, skipped = true, reason = "no text field changed" } end

    step.run("regenerate-embedding", function()
      local row = db.one("SELECT id, title, description, requirements, skills FROM job_postings WHERE id = $1", data.job_id)
      if row == nil then error(step.non_retriable("job " .. tostring(data.job_id) .. " does not exist")) end
      db.exec("UPDATE job_postings SET embedding = $1, embedding_updated_at = now() WHERE id = $2",
              embed.batch({ texts.job(row) })[1], row.id)
    end)
    local stats = step.run("rescore-matches", function()
      return match.store([[SELECT candidate_id, job_posting_id AS job_id FROM candidate_job_matches WHERE job_posting_id = $1]],
                         { data.job_id }, rules, { mode = "upsert" })
    end)
    return { job_id = data.job_id, skipped = false, rescored = stats.pairs, kept = stats.stored, dropped = stats.removed }
  end,
}
