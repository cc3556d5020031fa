-- Nightly: active jobs posted or imported more than 30 days ago expire, and their matches go.
return workflow {
  id = "expire-old-jobs",
  name = "Expire Old Jobs",
  triggers = { { cron = "0 3 * * *" } },
  retries = 1,
  run = function(ctx, step)
    local expired = step.run("expire-jobs", function()
      return db.exec([[
        UPDATE job_postings SET status = 'expired'
        WHERE status = 'active' AND (posted_date <= $1::date OR imported_at <= $1)]],
        ctx.now - 30 * 86400)
    end)
    local deleted = step.run("cleanup-matches", function()
      return db.exec([[DELETE FROM candidate_job_matches m USING job_postings j
                       WHERE m.job_posting_id = j.id AND j.status = 'expired']])
    end)
    return { jobs_expired = expired, matches_deleted = deleted }
  end,
}
