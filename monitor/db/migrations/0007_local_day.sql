-- v7: the article's local day stored (kept by the store's writer), so trend queries filter the articles scan by day
ALTER TABLE articles ADD COLUMN IF NOT EXISTS local_day DATE;
UPDATE articles SET local_day = {local_day};
