-- v22: analysts' corrections (issue 17) and the tone of each mention sentence (shown on the dashboard's article page)
-- correction ids come from a sequence: their order is the order corrections were made, whatever the clocks say
CREATE SEQUENCE IF NOT EXISTS correction_seq;
CREATE TABLE IF NOT EXISTS corrections (
    correction_id VARCHAR PRIMARY KEY, article_id VARCHAR NOT NULL, agency_id VARCHAR, kind VARCHAR NOT NULL,
    previous_value VARCHAR, new_value VARCHAR NOT NULL, note VARCHAR, user_name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL);
ALTER TABLE mention_tone ADD COLUMN IF NOT EXISTS sentence_tones VARCHAR[];
ALTER TABLE mention_tone ADD COLUMN IF NOT EXISTS sentence_p_negative DOUBLE[];
ALTER TABLE mention_tone ADD COLUMN IF NOT EXISTS sentence_p_positive DOUBLE[];
