-- jobs/imported {job_ids, batch_id, source}: score the imported jobs against every candidate who
-- prefers their role (by role id or by role name, case-insensitive) and store the new matches.
local rules = require("matching")
local texts = require("texts")

-- Candidates qualify when approved or ready for assignment, with an embedding, and a preferred
-- role equal to the job's normalized role. Existing pairs are skipped.
local PAIRS = [[
  WITH jobs AS (
    SELECT id, normalized_role_id FROM job_postings WHERE id = ANY($1::bigint[]) AND status = 'active'
  ), prefs AS (
    SELECT DISTINCT c.id AS candidate_id, r.id AS role_id
    FROM candidates c
    CROSS JOIN LATERAL jsonb_array_elements(c.preferred_roles) p
    JOIN global_roles r ON (jsonb_typeof(p) = 'number' AND r.id = (p #>> '{}')::numeric)
                        OR (jsonb_typeof(p) = 'string' AND (lower(r.name) = lower(p #>> '{}') OR r.id::text = p #>> '{}'))
    WHERE c.status IN ('approved', 'ready_for_assignment') AND c.embedding IS NOT NULL
      AND r.id IN (SELECT normalized_role_id FROM jobs)
  )
  SELECT p.candidate_id, j.id AS job_id
  FROM jobs j JOIN prefs p ON p.role_id = j.normalized_role_id
  WHERE NOT EXISTS (SELECT 1 FROM candidate_job_matches m WHERE m.candidate_id = p.candidate_id AND m.job_posting_id = j.id)
]]

return workflow {
  id = "match-jobs-to-candidates",
  name = "Match imported jobs to candidates",
  triggers = { { event = "jobs/imported" } },
  retries = 3,
  run = function(ctx, step)
    local data = ctx.event.data
    local job_ids = data.job_ids or {}
    local result = { batch_id = data.batch_id, source = data.source, jobs_processed = 0,
                     embeddings_generated = 0, candidates_found = 0, matches_created = 0 }
    if #job_ids == 0 then return result end

    local jobs = step.run("get-jobs-with-roles", function()
      return db.query([[
        SELECT j.id, j.normalized_role_id AS role_id, r.name AS role_name, j.embedding IS NULL AS needs_embedding
        FROM job_postings j LEFT JOIN global_roles r ON r.id = j.normalized_role_id
        WHERE j.id = ANY($1::bigint[]) AND j.status = 'active' ORDER BY j.id]], job_ids)
    end)
    result.jobs_processed = #jobs

    result.embeddings_generated = step.run("ensure-job-embeddings", function()
      local missing = {}
      for _, job in ipairs(jobs) do
        if job.needs_embedding then missing[#missing + 1] = job.id end
      end
      if #missing == 0 then return 0 end
      local rows = db.query([[SELECT id, title, description, requirements, skills
                              FROM job_postings WHERE id = ANY($1::bigint[]) ORDER BY id]], missing)
      local vectors = embed.batch(texts.jobs(rows))
      for i, row in ipairs(rows) do
        db.exec("UPDATE job_postings SET embedding = $1, embedding_updated_at = now() WHERE id = $2", vectors[i], row.id)
      end
      return #rows
    end)

    result.candidates_found = step.run("find-matching-candidates", function()
      return db.one("SELECT count(DISTINCT candidate_id) AS n FROM (" .. PAIRS .. ") pairs", job_ids).n
    end)

    local stats = step.run("generate-matches", function()
      return match.store(PAIRS, { job_ids }, rules, { mode = "insert_new" })
    end)
    result.matches_created = stats.stored
    return result
  end,
}
