-- Match scoring rules, read by the native scorer (see README "Match scoring").
-- Edit and save: every workflow that requires this plugin is reloaded with the new rules.
return {
  weights = { skills = 0.35, semantic = 0.25, experience = 0.15, location = 0.15, salary = 0.10 },
  store_threshold = 50,        -- a match is stored at this score or above
  recommend_threshold = 70,    -- and recommended at this score or above
  unknown_score = 50,          -- a component whose data is missing
  remote_score = 100,
  relocate_score = 70,         -- different city, candidate willing to relocate
  other_location_score = 20,   -- different city, not willing to relocate
  salary_penalty_per_percent = 2,
}
