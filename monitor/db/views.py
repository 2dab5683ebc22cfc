"""Trend views (created by the schema migrations marked `@views`, documented in docs/schema.md).

- `current_tone`: mention_tone rows of the newest model version only.
- `agency_mentions`: one row per (agency, article) with its local day, story cluster, outlet and tone.
- `agency_daily`: per agency per local day: mentions, unique stories, tone counts, net tone = (pos − neg) / toned.
- `share_of_voice`: each agency's share of all agency mentions per day.
- `agency_topic_daily`: topics of the articles that mention each agency, per day.
- `agency_outlets`: mentions per agency per outlet per day.
- `agency_stories`: one row per (agency, story cluster): first article, outlets, tone, probabilities.
- `agency_weekly`: per agency per ISO week with the change from the previous week.
- `agency_spikes`: days whose volume or negative share is far above the agency's own last 28 days.

Days are `articles.local_day` (the configured zone, stored at write time: see monitor/db/store.py).

Spike rule: for each agency-day, the median and the interquartile range (IQR) of the previous 28 days (days with
no mention count as 0); robust z = (x − median) / (IQR / 1.349), the scale floored at 1 mention (volume) or 0.05
(negative share). A spike is volume z ≥ 3.5 with at least 5 mentions, or negative-share z ≥ 3.5 with at least 5
toned mentions. (IQR rather than MAD: it is a window aggregate, so the view stays fast on years of history.)
Only the latest model version's tone is counted (a re-analysis in progress never mixes versions in one figure).
"""

from __future__ import annotations

LOCAL_DAY = "a.local_day"  # stored at write time (store.LOCAL_DAY_SQL): a plain column lets day filters skip row groups

def spikes_sql(source: str, first_ctes: str = "", extra_where: str = "") -> str:
    """The spike rule as one query over `source` (agency_id, day, mentions, negative, toned rows)."""
    return f"""
    WITH {first_ctes}ad AS MATERIALIZED ({source}),
    bounds AS (SELECT min(day) - 28 AS first_day, max(day) AS last_day FROM ad),
    dense AS (
        SELECT ag.agency_id, d.day::DATE AS day
        FROM (SELECT DISTINCT agency_id FROM ad) ag,
             (SELECT unnest(range((SELECT first_day FROM bounds), (SELECT last_day FROM bounds) + 1, INTERVAL 1 DAY)) AS day) d),
    filled AS (
        SELECT dense.agency_id, dense.day, coalesce(ad.mentions, 0) AS mentions, coalesce(ad.toned, 0) AS toned,
               CASE WHEN ad.toned > 0 THEN ad.negative / ad.toned ELSE NULL END AS neg_share
        FROM dense LEFT JOIN ad USING (agency_id, day)),
    windowed AS (
        SELECT *,
            median(mentions) OVER w AS vol_median,
            quantile_cont(mentions, 0.75) OVER w - quantile_cont(mentions, 0.25) OVER w AS vol_iqr,
            median(neg_share) OVER w AS neg_median,
            quantile_cont(neg_share, 0.75) OVER w - quantile_cont(neg_share, 0.25) OVER w AS neg_iqr
        FROM filled
        WINDOW w AS (PARTITION BY agency_id ORDER BY day ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING)),
    scored AS (
        SELECT agency_id, day, mentions, toned, vol_median, neg_share, neg_median,
               round((mentions - vol_median) / greatest(coalesce(vol_iqr, 0) / 1.349, 1), 2) AS volume_z,
               round((neg_share - coalesce(neg_median, 0)) / greatest(coalesce(neg_iqr, 0) / 1.349, 0.05), 2) AS negative_z
        FROM windowed WHERE mentions > 0)
    SELECT agency_id, day, mentions, vol_median, volume_z, round(neg_share, 3) AS negative_share,
           round(neg_median, 3) AS negative_share_median, negative_z,
           (mentions >= 5 AND volume_z >= 3.5) AS volume_spike, (toned >= 5 AND coalesce(negative_z, 0) >= 3.5) AS negative_spike
    FROM scored WHERE ((mentions >= 5 AND volume_z >= 3.5) OR (toned >= 5 AND coalesce(negative_z, 0) >= 3.5)){extra_where}"""


VIEWS = f"""
CREATE OR REPLACE VIEW current_tone AS
    SELECT * FROM mention_tone WHERE model_version = (SELECT max_by(model_version, analyzed_at) FROM mention_tone);
CREATE OR REPLACE VIEW agency_mentions AS
    SELECT m.agency_id, m.article_id, a.cluster_id, a.title, a.url, a.outlet, {LOCAL_DAY} AS day,
           coalesce(a.published_at, a.fetched_at) AS ts, t.tone, t.p_negative, t.p_positive, m.in_title
    FROM mentions m JOIN articles a USING (article_id) LEFT JOIN current_tone t USING (article_id, agency_id);
CREATE OR REPLACE VIEW agency_daily AS
    SELECT agency_id, day, count(*) AS mentions, count(DISTINCT cluster_id) AS stories,
           count(*) FILTER (tone = 'positive') AS positive, count(*) FILTER (tone = 'neutral') AS neutral,
           count(*) FILTER (tone = 'negative') AS negative, count(tone) AS toned,
           round((count(*) FILTER (tone = 'positive') - count(*) FILTER (tone = 'negative')) / nullif(count(tone), 0), 3) AS net_tone
    FROM agency_mentions GROUP BY agency_id, day;
CREATE OR REPLACE VIEW share_of_voice AS
    SELECT agency_id, day, mentions, round(mentions / sum(mentions) OVER (PARTITION BY day), 4) AS share
    FROM agency_daily;
CREATE OR REPLACE VIEW agency_topic_daily AS
    SELECT agency_id, day, topic_id, count(*) AS articles FROM (
        SELECT am.agency_id, am.day, unnest(x.topics) AS topic_id
        FROM agency_mentions am JOIN article_analysis x USING (article_id)) GROUP BY ALL;
CREATE OR REPLACE VIEW agency_outlets AS
    SELECT agency_id, day, outlet, count(*) AS mentions, count(tone) FILTER (tone = 'negative') AS negative
    FROM agency_mentions GROUP BY ALL;
CREATE OR REPLACE VIEW agency_stories AS
    SELECT agency_id, cluster_id, min(day) AS day, arg_min(title, ts) AS title, arg_min(url, ts) AS url,
           arg_min(outlet, ts) AS first_outlet, count(*) AS articles, count(DISTINCT outlet) AS outlets,
           mode(tone) AS tone, round(avg(p_negative), 3) AS p_negative, round(avg(p_positive), 3) AS p_positive,
           bool_or(in_title) AS in_title
    FROM agency_mentions GROUP BY agency_id, cluster_id;
CREATE OR REPLACE VIEW agency_weekly AS
    WITH w AS (
        SELECT agency_id, strftime(day, '%G-W%V') AS week, count(*) AS mentions, count(DISTINCT cluster_id) AS stories,
               count(*) FILTER (tone = 'positive') AS positive, count(*) FILTER (tone = 'neutral') AS neutral,
               count(*) FILTER (tone = 'negative') AS negative, count(tone) AS toned
        FROM agency_mentions GROUP BY ALL)
    SELECT *, round((positive - negative) / nullif(toned, 0), 3) AS net_tone,
           mentions - lag(mentions) OVER (PARTITION BY agency_id ORDER BY week) AS mentions_change,
           round((positive - negative) / nullif(toned, 0)
                 - lag((positive - negative) / nullif(toned, 0)) OVER (PARTITION BY agency_id ORDER BY week), 3) AS net_tone_change
    FROM w;
CREATE OR REPLACE VIEW agency_spikes AS
{spikes_sql("SELECT agency_id, day, mentions, negative, toned FROM agency_daily")};
"""
