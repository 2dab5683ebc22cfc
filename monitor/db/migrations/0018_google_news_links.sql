-- v18: decoded Google News article ids (an id is asked of Google once)
CREATE TABLE IF NOT EXISTS google_news_links (
    google_id VARCHAR PRIMARY KEY, publisher_url VARCHAR, decoded_at TIMESTAMPTZ);
