-- Nightly: completed roles go back to pending for a fresh scrape.
return workflow {
  id = "reset-completed-roles",
  name = "Reset completed roles",
  triggers = { { cron = "0 0 * * *" } },
  retries = 1,
  run = function(ctx, step)
    local reset = step.run("reset-roles", function()
      return db.exec("UPDATE global_roles SET scrape_status = 'pending' WHERE scrape_status = 'completed'")
    end)
    return { roles_reset = reset }
  end,
}
