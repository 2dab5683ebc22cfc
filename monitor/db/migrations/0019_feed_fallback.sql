-- v19: an outlet whose own feed is blocked switches to a fallback source and back (monitor/ingest/fallback.py)
ALTER TABLE feeds ADD COLUMN IF NOT EXISTS blocked_fetches INTEGER DEFAULT 0;
ALTER TABLE feeds ADD COLUMN IF NOT EXISTS fallback_since TIMESTAMPTZ;
ALTER TABLE feeds ADD COLUMN IF NOT EXISTS fallback_reason VARCHAR;
ALTER TABLE feeds ADD COLUMN IF NOT EXISTS probe_at TIMESTAMPTZ;
CREATE TABLE IF NOT EXISTS feed_switches (
    feed_id VARCHAR, switched_at TIMESTAMPTZ, to_fallback BOOLEAN, url VARCHAR, reason VARCHAR, run_id VARCHAR,
    PRIMARY KEY (feed_id, switched_at));
