-- The job-matching app's tables (names follow the app's models). Embeddings are float4 arrays
-- (`real[]`, default 384 values, L2-normalised by Blacklight when it writes them): plain SQL can
-- read them (`embedding[1]`) and write them (`'{0.1,0.2,...}'::real[]`) without an extension.

CREATE TABLE IF NOT EXISTS global_roles (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    onet_code       text UNIQUE,
    description     text,
    job_zone        int,                          -- O*NET job zone 1-5 (experience level)
    scrape_status   text NOT NULL DEFAULT 'pending'
                    CHECK (scrape_status IN ('pending', 'in_progress', 'completed', 'failed')),
    last_scraped_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS job_postings (
    id                   bigserial PRIMARY KEY,
    external_id          text UNIQUE,
    title                text NOT NULL,
    company              text,
    description          text,
    skills               text[] NOT NULL DEFAULT '{}',
    requirements         text,
    normalized_role_id   bigint REFERENCES global_roles (id),
    embedding            real[],
    embedding_updated_at timestamptz,
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'closed')),
    posted_date          date,
    imported_at          timestamptz NOT NULL DEFAULT now(),
    location             text,
    is_remote            boolean NOT NULL DEFAULT false,
    salary_min           int,
    salary_max           int,
    experience_min_years int,
    source               text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS job_postings_active_role ON job_postings (normalized_role_id) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS job_postings_status_dates ON job_postings (status, posted_date, imported_at);

CREATE TABLE IF NOT EXISTS candidates (
    id                  bigserial PRIMARY KEY,
    tenant_id           text NOT NULL,
    first_name          text,
    last_name           text,
    email               text,
    headline            text,
    summary             text,
    status              text NOT NULL DEFAULT 'pending_review'
                        CHECK (status IN ('pending_review', 'approved', 'ready_for_assignment', 'assigned', 'rejected', 'archived')),
    skills              text[] NOT NULL DEFAULT '{}',
    preferred_roles     jsonb NOT NULL DEFAULT '[]',   -- role ids and/or role names
    embedding           real[],
    embedding_updated_at timestamptz,
    years_experience    int,
    location            text,
    willing_to_relocate boolean NOT NULL DEFAULT false,
    expected_salary     int,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS candidates_tenant ON candidates (tenant_id);
CREATE INDEX IF NOT EXISTS candidates_status ON candidates (status);

CREATE TABLE IF NOT EXISTS candidate_job_matches (
    id                     bigserial PRIMARY KEY,
    candidate_id           bigint NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    job_posting_id         bigint NOT NULL REFERENCES job_postings (id) ON DELETE CASCADE,
    match_score            double precision NOT NULL,
    skill_match_score      double precision,
    experience_match_score double precision,
    location_match_score   double precision,
    salary_match_score     double precision,
    semantic_similarity    double precision,
    matched_skills         text[] NOT NULL DEFAULT '{}',
    missing_skills         text[] NOT NULL DEFAULT '{}',
    match_reasons          text[] NOT NULL DEFAULT '{}',
    is_recommended         boolean NOT NULL DEFAULT false,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (candidate_id, job_posting_id)
);
CREATE INDEX IF NOT EXISTS candidate_job_matches_job ON candidate_job_matches (job_posting_id);

CREATE TABLE IF NOT EXISTS scraper_sessions (
    id                bigserial PRIMARY KEY,
    role_id           bigint NOT NULL REFERENCES global_roles (id),
    status            text NOT NULL DEFAULT 'in_progress' CHECK (status IN ('in_progress', 'completed', 'failed')),
    started_at        timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at timestamptz,
    completed_at      timestamptz,
    jobs_found        int NOT NULL DEFAULT 0,
    error             text
);
CREATE INDEX IF NOT EXISTS scraper_sessions_in_progress ON scraper_sessions (last_heartbeat_at) WHERE status = 'in_progress';

-- The scraper's per-role queue: which roles to scrape next.
CREATE TABLE IF NOT EXISTS role_scrape_queue (
    id          bigserial PRIMARY KEY,
    role_id     bigint NOT NULL REFERENCES global_roles (id),
    priority    int NOT NULL DEFAULT 0,
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    claimed_at  timestamptz
);

-- updated_at moves on every change, so caches of job rows can tell a stale entry by comparing it.
CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS job_postings_touch ON job_postings;
CREATE TRIGGER job_postings_touch BEFORE UPDATE ON job_postings FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
DROP TRIGGER IF EXISTS candidates_touch ON candidates;
CREATE TRIGGER candidates_touch BEFORE UPDATE ON candidates FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
DROP TRIGGER IF EXISTS global_roles_touch ON global_roles;
CREATE TRIGGER global_roles_touch BEFORE UPDATE ON global_roles FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
