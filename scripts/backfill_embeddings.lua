-- system/backfill-embeddings {entity_type = "jobs" | "candidates", batch_size = 100}: fill missing
-- embeddings of active jobs or approved candidates in batches; a failing row is reported, not fatal.
local texts = require("texts")

local SOURCES = {
  jobs = {
    select = [[SELECT id, title, description, requirements, skills FROM job_postings
               WHERE status = 'active' AND embedding IS NULL AND id > $1 ORDER BY id LIMIT $2]],
    update = "UPDATE job_postings SET embedding = $1, embedding_updated_at = now() WHERE id = $2",
    text = texts.job,
  },
  candidates = {
    select = [[SELECT id, headline, summary, skills FROM candidates
               WHERE status IN ('approved', 'ready_for_assignment') AND embedding IS NULL AND id > $1 ORDER BY id LIMIT $2]],
    update = "UPDATE candidates SET embedding = $1, embedding_updated_at = now() WHERE id = $2",
    text = texts.candidate,
  },
}

return workflow {
  id = "backfill-embeddings",
  name = "Backfill embeddings",
  triggers = { { event = "system/backfill-embeddings" } },
  retries = 2,
  run = function(ctx, step)
    local kind = ctx.event.data.entity_type
    local source = SOURCES[kind]
    if source == nil then
      error(step.non_retriable("entity_type must be 'jobs' or 'candidates', got " .. tostring(kind)))
    end
    local batch_size = ctx.event.data.batch_size or 100
    local after, processed, failed, batches = 0, 0, {}, 0
    while true do
      local out = step.run("batch", function()
        local rows = db.query(source.select, after, batch_size)
        local done, errors = 0, {}
        for _, row in ipairs(rows) do
          -- Each row on its own (db.tx): one bad row must not undo the others.
          local ok, err = pcall(function()
            local v = embed.batch({ source.text(row) })[1]
            db.tx(function() db.exec(source.update, v, row.id) end)
          end)
          if ok then done = done + 1 else errors[#errors + 1] = { id = row.id, error = tostring(err) } end
        end
        return { count = #rows, done = done, errors = errors, last = rows[#rows] and rows[#rows].id or after }
      end)
      batches = batches + 1
      processed = processed + out.done
      for _, e in ipairs(out.errors) do failed[#failed + 1] = e end
      if out.count < batch_size then break end
      after = out.last
    end
    return { entity_type = kind, processed = processed, failed = failed, batches = batches }
  end,
}
