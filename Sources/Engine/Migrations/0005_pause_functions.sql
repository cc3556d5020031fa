-- Pausing a function (`blacklight functions pause ID`, POST /api/functions/:id/pause): events are still
-- stored and runs still created, but no run of the function is claimed until it resumes.
--
-- Why parking rather than a filter in the claim: the claim walks `runs_due` in run_at order and stops after
-- its LIMIT. A filter "function not paused" would make every claim step over all due runs of a paused
-- function first (100,000 queued runs of a paused function = 100,000 index entries read per claim, for every
-- worker, for as long as the pause lasts). Instead a paused function's runs are moved out of the way once:
-- their run_at becomes 'infinity' (the end of `runs_due`, never `<= now()`) and the time they were due is
-- kept in parked_run_at. The pause parks the runs that exist (one UPDATE); the claim parks, instead of
-- starting, any run of a paused function it meets later (new events, retries, ended sleeps); resume puts
-- every parked run back at its own time, so they start in their original order, ahead of newer work.
-- While no function is paused the claim pays one probe of the empty partial index below.
ALTER TABLE blacklight.functions ADD COLUMN paused_at timestamptz;
CREATE INDEX functions_paused ON blacklight.functions (id) WHERE paused_at IS NOT NULL;

-- Meaningful only while run_at = 'infinity' (a parked run); stale otherwise, and never read then.
ALTER TABLE blacklight.runs ADD COLUMN parked_run_at timestamptz;
