-- v1: the ingest spine
CREATE TABLE IF NOT EXISTS feeds (
    feed_id VARCHAR PRIMARY KEY, configured_url VARCHAR, url VARCHAR, outlet VARCHAR, language VARCHAR,
    etag VARCHAR, last_modified VARCHAR, body_hash VARCHAR,
    last_status VARCHAR, last_reason VARCHAR, last_http_status INTEGER,
    consecutive_failures INTEGER DEFAULT 0, failing_since TIMESTAMPTZ, last_success_at TIMESTAMPTZ,
    last_fetch_at TIMESTAMPTZ, next_fetch_at TIMESTAMPTZ, items_last INTEGER, last_unconditional_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS feed_fetches (
    run_id VARCHAR, feed_id VARCHAR, fetched_at TIMESTAMPTZ, status VARCHAR, http_status INTEGER,
    reason VARCHAR, items INTEGER, new_entries INTEGER, elapsed_ms INTEGER, url VARCHAR,
    PRIMARY KEY (run_id, feed_id));
CREATE TABLE IF NOT EXISTS entries (
    entry_id VARCHAR PRIMARY KEY, url VARCHAR, first_feed_id VARCHAR, title VARCHAR, summary VARCHAR,
    published_at TIMESTAMPTZ, date_status VARCHAR, raw_date VARCHAR, source_name VARCHAR,
    discovered_at TIMESTAMPTZ, state VARCHAR, attempts INTEGER, last_reason VARCHAR,
    next_attempt_at TIMESTAMPTZ, article_id VARCHAR);
CREATE TABLE IF NOT EXISTS entry_sources (
    entry_id VARCHAR, feed_id VARCHAR, outlet VARCHAR, guid VARCHAR, entry_title VARCHAR,
    entry_published_at TIMESTAMPTZ, first_seen_at TIMESTAMPTZ, PRIMARY KEY (entry_id, feed_id));
CREATE TABLE IF NOT EXISTS articles (
    article_id VARCHAR PRIMARY KEY, url VARCHAR, canonical_url VARCHAR, final_url VARCHAR, outlet VARCHAR,
    site_name VARCHAR, title VARCHAR, author VARCHAR, published_at TIMESTAMPTZ, date_source VARCHAR,
    fetched_at TIMESTAMPTZ, language VARCHAR, text VARCHAR, lead VARCHAR, content_hash VARCHAR,
    minhash UBIGINT[], same_text_as VARCHAR, cluster_id VARCHAR, status VARCHAR, status_reason VARCHAR,
    updated_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS mentions (
    article_id VARCHAR, agency_id VARCHAR, mention_count INTEGER, in_title BOOLEAN, in_lead BOOLEAN,
    forms VARCHAR[], sentences VARCHAR[], legacy_name BOOLEAN, PRIMARY KEY (article_id, agency_id));
CREATE TABLE IF NOT EXISTS agencies (
    agency_id VARCHAR PRIMARY KEY, name VARCHAR, type VARCHAR, parent VARCHAR, abbreviations VARCHAR[]);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
    feeds_due INTEGER, feeds_ok INTEGER, feeds_not_modified INTEGER, feeds_failed INTEGER,
    new_articles INTEGER, duplicates INTEGER, extraction_failures INTEGER, pages_failed INTEGER,
    spooled_batches INTEGER, error VARCHAR, pid INTEGER, trigger VARCHAR);
CREATE OR REPLACE VIEW article_sources AS
    SELECT e.article_id, s.feed_id, s.outlet, e.url AS entry_url, s.guid, s.entry_title,
           s.entry_published_at, s.first_seen_at
    FROM entry_sources s JOIN entries e USING (entry_id) WHERE e.article_id IS NOT NULL;
