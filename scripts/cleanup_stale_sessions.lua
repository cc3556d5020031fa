-- Every 15 minutes: scraper sessions in progress with no heartbeat for 30 minutes fail, and their
-- role goes back to pending so it is scraped again.
return workflow {
  id = "cleanup-stale-sessions",
  name = "Clean up stale scraper sessions",
  triggers = { { cron = "*/15 * * * *" } },
  retries = 1,
  run = function(ctx, step)
    return step.run("fail-stale-sessions", function()
      local cutoff = ctx.now - 30 * 60
      local sessions = db.query([[
        UPDATE scraper_sessions
        SET status = 'failed', completed_at = $2,
            error = 'no heartbeat since ' || coalesce(last_heartbeat_at, started_at)::text || ' (stale for over 30 minutes)'
        WHERE status = 'in_progress' AND coalesce(last_heartbeat_at, started_at) < $1
        RETURNING id, role_id]], cutoff, ctx.now)
      local roles = {}
      for _, s in ipairs(sessions) do roles[#roles + 1] = s.role_id end
      local reset = 0
      if #roles > 0 then
        reset = db.exec([[UPDATE global_roles SET scrape_status = 'pending'
                          WHERE id = ANY($1::bigint[]) AND scrape_status = 'in_progress']], roles)
      end
      return { sessions_failed = #sessions, roles_reset = reset }
    end)
  end,
}
