"""Trend views and named queries for analysts. Days and weeks are cut in Asia/Jakarta time.

Views (created by schema migration v3, documented in docs/schema.md):
- `agency_daily`: per agency per WIB day: mentions, unique stories, tone counts, net tone = (pos − neg) / toned.
- `share_of_voice`: each agency's share of all agency mentions per day.
- `agency_topic_daily`: topics of the articles that mention each agency, per day.
- `agency_outlets`: mentions per agency per outlet per day.
- `agency_stories`: one row per (agency, story cluster): first article, outlets, tone, probabilities.
- `agency_weekly`: per agency per ISO week (WIB) with the change from the previous week.
- `agency_spikes`: days whose volume or negative share is far above the agency's own last 28 days.

Spike rule: for each agency-day, the median and the median absolute deviation (MAD) of the previous 28 days
(days with no mention count as 0); robust z = (x − median) / (1.4826 × MAD), with MAD floored at 1 mention (volume)
or 0.05 (negative share). A spike is volume z ≥ 3.5 with at least 5 mentions, or negative-share z ≥ 3.5 with at
least 5 toned mentions.

Named queries bind their parameters (`?`), never paste them into SQL. Only the latest model version's tone is
counted (a re-analysis in progress never mixes versions in one figure).
"""

from __future__ import annotations

import datetime as dt

import duckdb

LOCAL_DAY = "CAST(timezone('Asia/Jakarta', coalesce(a.published_at, a.fetched_at)) AS DATE)"

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
    WITH days AS (
        SELECT ag.agency_id, d.day::DATE AS day
        FROM (SELECT DISTINCT agency_id FROM agency_daily) ag,
             (SELECT unnest(range((SELECT min(day) FROM agency_daily) - 28, (SELECT max(day) FROM agency_daily) + 1, INTERVAL 1 DAY)) AS day) d),
    filled AS (
        SELECT days.agency_id, days.day, coalesce(ad.mentions, 0) AS mentions, coalesce(ad.negative, 0) AS negative,
               coalesce(ad.toned, 0) AS toned, CASE WHEN ad.toned > 0 THEN ad.negative / ad.toned ELSE NULL END AS neg_share
        FROM days LEFT JOIN agency_daily ad USING (agency_id, day)),
    base AS (
        SELECT f.*, (SELECT median(p.mentions) FROM filled p WHERE p.agency_id = f.agency_id AND p.day BETWEEN f.day - 28 AND f.day - 1) AS vol_median,
               (SELECT median(p.neg_share) FROM filled p WHERE p.agency_id = f.agency_id AND p.day BETWEEN f.day - 28 AND f.day - 1) AS neg_median
        FROM filled f WHERE f.mentions > 0),
    mad AS (
        SELECT b.*, (SELECT median(abs(p.mentions - b.vol_median)) FROM filled p WHERE p.agency_id = b.agency_id AND p.day BETWEEN b.day - 28 AND b.day - 1) AS vol_mad,
               (SELECT median(abs(p.neg_share - b.neg_median)) FROM filled p WHERE p.agency_id = b.agency_id AND p.day BETWEEN b.day - 28 AND b.day - 1) AS neg_mad
        FROM base b)
    SELECT agency_id, day, mentions, vol_median, round((mentions - vol_median) / (1.4826 * greatest(vol_mad, 1)), 2) AS volume_z,
           round(neg_share, 3) AS negative_share, round(neg_median, 3) AS negative_share_median,
           round((neg_share - coalesce(neg_median, 0)) / (1.4826 * greatest(coalesce(neg_mad, 0), 0.05)), 2) AS negative_z,
           (mentions >= 5 AND (mentions - vol_median) / (1.4826 * greatest(vol_mad, 1)) >= 3.5) AS volume_spike,
           (toned >= 5 AND (neg_share - coalesce(neg_median, 0)) / (1.4826 * greatest(coalesce(neg_mad, 0), 0.05)) >= 3.5) AS negative_spike
    FROM mad WHERE (mentions >= 5 AND (mentions - vol_median) / (1.4826 * greatest(vol_mad, 1)) >= 3.5)
               OR (toned >= 5 AND (neg_share - coalesce(neg_median, 0)) / (1.4826 * greatest(coalesce(neg_mad, 0), 0.05)) >= 3.5);
"""

# name -> (description, SQL with ? placeholders for agency, since, until; agency NULL means all)
NAMED: dict[str, tuple[str, str]] = {
    "daily": ("mentions, stories, tone counts and net tone per agency per day",
              "SELECT * FROM agency_daily WHERE (? IS NULL OR agency_id = ?) AND day >= ? AND day < ? ORDER BY day, agency_id"),
    "share-of-voice": ("each agency's share of all agency mentions per day",
                       "SELECT * FROM share_of_voice WHERE (? IS NULL OR agency_id = ?) AND day >= ? AND day < ? ORDER BY day, share DESC"),
    "topics": ("topics of the articles mentioning each agency",
               "SELECT agency_id, topic_id, sum(articles) AS articles FROM agency_topic_daily WHERE (? IS NULL OR agency_id = ?) "
               "AND day >= ? AND day < ? GROUP BY ALL ORDER BY agency_id, articles DESC"),
    "outlets": ("mentions and negative mentions per agency per outlet",
                "SELECT agency_id, outlet, sum(mentions) AS mentions, sum(negative) AS negative FROM agency_outlets "
                "WHERE (? IS NULL OR agency_id = ?) AND day >= ? AND day < ? GROUP BY ALL ORDER BY agency_id, mentions DESC"),
    "top-negative": ("the most negative stories per agency",
                     "SELECT agency_id, day, title, first_outlet, outlets, tone, p_negative, url FROM agency_stories "
                     "WHERE (? IS NULL OR agency_id = ?) AND day >= ? AND day < ? AND tone = 'negative' "
                     "ORDER BY agency_id, p_negative DESC, outlets DESC LIMIT 50"),
    "top-positive": ("the most positive stories per agency",
                     "SELECT agency_id, day, title, first_outlet, outlets, tone, p_positive, url FROM agency_stories "
                     "WHERE (? IS NULL OR agency_id = ?) AND day >= ? AND day < ? AND tone = 'positive' "
                     "ORDER BY agency_id, p_positive DESC, outlets DESC LIMIT 50"),
    "weekly": ("per agency per ISO week with the change from the previous week",
               "SELECT * FROM agency_weekly WHERE (? IS NULL OR agency_id = ?) AND week >= strftime(?::DATE, '%G-W%V') "
               "AND week < strftime(?::DATE, '%G-W%V') ORDER BY week, agency_id"),
    "spikes": ("days far above the agency's own 28-day baseline (volume or negative share)",
               "SELECT * FROM agency_spikes WHERE (? IS NULL OR agency_id = ?) AND day >= ? AND day < ? ORDER BY day, agency_id"),
}


def run_named(con: duckdb.DuckDBPyConnection, name: str, agency: str | None, since: dt.date, until: dt.date):
    """(column names, rows) of a named query; parameters are bound."""
    if name not in NAMED:
        raise KeyError(f"unknown query {name!r}; known: {', '.join(NAMED)}")
    cursor = con.execute(NAMED[name][1], [agency, agency, since, until])
    return [d[0] for d in cursor.description], cursor.fetchall()


def read_only_connection(path: str) -> duckdb.DuckDBPyConnection:
    """An analyst connection: read-only, no access to files or the network outside the database."""
    con = duckdb.connect(path, read_only=True, config={"enable_external_access": False})
    con.execute("SET TimeZone = 'UTC'")
    return con
