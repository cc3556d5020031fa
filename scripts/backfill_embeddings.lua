-- system/backfill-embeddings {entity_type = "jobs" | "candidates", batch_size = 100}: (re-)embed the active jobs or
-- approved candidates whose embedding is missing or was made by another embedder than the configured one
-- (embedding_model differs from embed.model(), e.g. after the sentence model replaced the hashing embedder), in
-- batches; a failing row is reported, not fatal. `blacklight backfill-embeddings` sends the event and shows the progress
-- from the steps: "count" holds the total, each "batch" what it did.
local texts = require("texts")

local SOURCES = {
  jobs = {
    where = [[status = 'active' AND (embedding IS NULL OR embedding_model IS DISTINCT FROM $1)]],
    columns = "id, title, description, requirements, skills",
    table = "job_postings",
    text = texts.job,
  },
  candidates = {
    where = [[status IN ('approved', 'ready_for_assignment') AND (embedding IS NULL OR embedding_model IS DISTINCT FROM $1)]],
    columns = "id, headline, summary, skills",
    table = "candidates",
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
    -- The embedder is read once and memoized, so a replayed run selects the same rows as the first attempt did.
    local plan = step.run("count", function()
      local model = embed.model()
      local n = db.one("SELECT count(*) AS n FROM " .. source.table .. " WHERE " .. source.where, model).n
      return { total = n, model = model, provider = embed.provider() }
    end)
    local select = "SELECT " .. source.columns .. " FROM " .. source.table .. " WHERE " .. source.where
        .. " AND id > $2 ORDER BY id LIMIT $3"
    local update = "UPDATE " .. source.table .. " SET embedding = $1, embedding_updated_at = now() WHERE id = $2"
    local after, processed, failed, batches = 0, 0, {}, 0
    while true do
      local out = step.run("batch", function()
        local rows = db.query(select, plan.model, after, batch_size)
        local items = {}
        for i, row in ipairs(rows) do items[i] = source.text(row) end
        -- One call for the whole batch: the sentence model embeds a batch on every core.
        local vectors = #items > 0 and embed.batch(items) or {}
        local done, errors = 0, {}
        for i, row in ipairs(rows) do
          -- Each row on its own (db.tx): one bad row must not undo the others.
          local ok, err = pcall(function() db.tx(function() db.exec(update, vectors[i], row.id) end) end)
          if ok then done = done + 1 else errors[#errors + 1] = { id = row.id, error = tostring(err) } end
        end
        if #rows > 0 then
          log.info(string.format("%s: %d of %d embedded with %s", kind, processed + done, plan.total, plan.model))
        end
        return { count = #rows, done = done, errors = errors, last = rows[#rows] and rows[#rows].id or after }
      end)
      batches = batches + 1
      processed = processed + out.done
      for _, e in ipairs(out.errors) do failed[#failed + 1] = e end
      if out.count < batch_size then break end
      after = out.last
    end
    return { entity_type = kind, processed = processed, failed = failed, batches = batches, total = plan.total,
             model = plan.model }
  end,
}
