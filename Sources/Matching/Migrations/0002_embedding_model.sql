-- Which embedder made each stored vector (issue 13). A cosine between vectors of two embedders means nothing (the
-- hashing embedder's dimensions are hashed features, MiniLM's are learned), so every vector carries the identity of
-- its embedder and version, e.g. 'all-minilm-l6-v2@1:53aa5117' or 'hashing-384@1' (EmbeddingProvider.identity), and
-- backfill-embeddings re-embeds the rows whose identity differs from the configured embedder's.
--
-- The identity is recorded by a trigger rather than by each workflow: `embed.text` / `embed.batch` set
-- blacklight.embedding_model for the step's transaction (set_config(..., true)), and any write of an embedding in that
-- transaction takes it. So the workflows need no change, and an embedding written by anything else (the app, a manual
-- UPDATE) gets NULL, "unknown", and is re-embedded by the next backfill, unless the statement names the model itself.
-- Rows embedded before this migration are unknown too: their vectors came from whatever embedder was configured then.

ALTER TABLE job_postings ADD COLUMN IF NOT EXISTS embedding_model text;
ALTER TABLE candidates ADD COLUMN IF NOT EXISTS embedding_model text;

CREATE OR REPLACE FUNCTION record_embedding_model() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    configured text := nullif(current_setting('blacklight.embedding_model', true), '');
BEGIN
    IF NEW.embedding IS NULL THEN
        NEW.embedding_model := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        NEW.embedding_model := coalesce(configured, NEW.embedding_model);
    ELSIF NEW.embedding IS DISTINCT FROM OLD.embedding THEN
        -- A new vector: the embedder of this transaction, else the model the statement itself named, else unknown
        -- (an unchanged embedding_model is the old vector's, not a statement about the new one).
        NEW.embedding_model := CASE
            WHEN configured IS NOT NULL THEN configured
            WHEN NEW.embedding_model IS DISTINCT FROM OLD.embedding_model THEN NEW.embedding_model
        END;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS job_postings_embedding_model ON job_postings;
CREATE TRIGGER job_postings_embedding_model BEFORE INSERT OR UPDATE ON job_postings
    FOR EACH ROW EXECUTE FUNCTION record_embedding_model();
DROP TRIGGER IF EXISTS candidates_embedding_model ON candidates;
CREATE TRIGGER candidates_embedding_model BEFORE INSERT OR UPDATE ON candidates
    FOR EACH ROW EXECUTE FUNCTION record_embedding_model();
