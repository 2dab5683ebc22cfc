-- v2: the analysis stage (one row per article / per mention, replaced when re-analysed)
CREATE TABLE IF NOT EXISTS article_analysis (
    article_id VARCHAR PRIMARY KEY, model_version VARCHAR, tone VARCHAR, p_negative DOUBLE, p_neutral DOUBLE,
    p_positive DOUBLE, topics VARCHAR[], topic_scores DOUBLE[], analyzed_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS mention_tone (
    article_id VARCHAR, agency_id VARCHAR, model_version VARCHAR, tone VARCHAR, p_negative DOUBLE,
    p_neutral DOUBLE, p_positive DOUBLE, sentences_scored INTEGER, analyzed_at TIMESTAMPTZ,
    PRIMARY KEY (article_id, agency_id));
