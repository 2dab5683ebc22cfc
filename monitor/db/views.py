"""Trend views (created by the schema migrations marked `@views`, documented in docs/schema.md).

- `current_tone`: mention_tone rows of the newest model version only.
- `current_corrections`: the newest correction per (article, agency, kind) (monitor/db/corrections.py);
  `removed_mentions`: mentions an analyst marked wrong, or of articles marked irrelevant. Every view below leaves
  removed mentions out and takes a corrected tone over the model's (`corrected` says which; a corrected tone's
  probabilities are 1 for that class, 0 for the others: an analyst's reading is not a guess).
- `agency_mentions`: one row per (agency, article) with its local day, story cluster, outlet and tone, units
  rolled up into their parents (`direct` false, `via` the unit); `agency_mentions_direct`: the agencies alone.
  Every view below exists rolled up and alone (`…_direct`).
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

import re

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


def derived_views(suffix: str) -> str:
    """The views built on `agency_mentions{suffix}`: rolled up (suffix "") or the agencies alone ("_direct")."""
    return f"""
CREATE OR REPLACE VIEW agency_daily{suffix} AS
    SELECT agency_id, day, count(*) AS mentions, count(DISTINCT cluster_id) AS stories,
           count(*) FILTER (tone = 'positive') AS positive, count(*) FILTER (tone = 'neutral') AS neutral,
           count(*) FILTER (tone = 'negative') AS negative, count(tone) AS toned,
           round((count(*) FILTER (tone = 'positive') - count(*) FILTER (tone = 'negative')) / nullif(count(tone), 0), 3) AS net_tone,
           count(*) FILTER (corrected) AS corrected
    FROM agency_mentions{suffix} GROUP BY agency_id, day;
CREATE OR REPLACE VIEW share_of_voice{suffix} AS
    SELECT agency_id, day, mentions, round(mentions / sum(mentions) OVER (PARTITION BY day), 4) AS share
    FROM agency_daily{suffix};
CREATE OR REPLACE VIEW agency_topic_daily{suffix} AS
    SELECT agency_id, day, topic_id, count(*) AS articles FROM (
        SELECT am.agency_id, am.day, unnest(x.topics) AS topic_id
        FROM agency_mentions{suffix} am JOIN article_analysis x USING (article_id)) GROUP BY ALL;
CREATE OR REPLACE VIEW agency_outlets{suffix} AS
    SELECT agency_id, day, outlet, count(*) AS mentions, count(tone) FILTER (tone = 'negative') AS negative
    FROM agency_mentions{suffix} GROUP BY ALL;
CREATE OR REPLACE VIEW agency_stories{suffix} AS
    SELECT agency_id, cluster_id, min(day) AS day, arg_min(title, ts) AS title, arg_min(url, ts) AS url,
           arg_min(outlet, ts) AS first_outlet, count(*) AS articles, count(DISTINCT outlet) AS outlets,
           mode(tone) AS tone, round(avg(p_negative), 3) AS p_negative, round(avg(p_positive), 3) AS p_positive,
           bool_or(in_title) AS in_title, count(*) FILTER (corrected) AS corrected
    FROM agency_mentions{suffix} GROUP BY agency_id, cluster_id;
CREATE OR REPLACE VIEW agency_weekly{suffix} AS
    WITH w AS (
        SELECT agency_id, strftime(day, '%G-W%V') AS week, count(*) AS mentions, count(DISTINCT cluster_id) AS stories,
               count(*) FILTER (tone = 'positive') AS positive, count(*) FILTER (tone = 'neutral') AS neutral,
               count(*) FILTER (tone = 'negative') AS negative, count(tone) AS toned, count(*) FILTER (corrected) AS corrected
        FROM agency_mentions{suffix} GROUP BY ALL)
    SELECT *, round((positive - negative) / nullif(toned, 0), 3) AS net_tone,
           mentions - lag(mentions) OVER (PARTITION BY agency_id ORDER BY week) AS mentions_change,
           round((positive - negative) / nullif(toned, 0)
                 - lag((positive - negative) / nullif(toned, 0)) OVER (PARTITION BY agency_id ORDER BY week), 3) AS net_tone_change
    FROM w;
CREATE OR REPLACE VIEW agency_spikes{suffix} AS
{spikes_sql(f"SELECT agency_id, day, mentions, negative, toned FROM agency_daily{suffix}")};
"""


def mention_rows(units_only: bool = False) -> str:
    """One row per (agency, article) mention with the article's columns and the tone in force (an analyst's
    correction over the model's), removed mentions left out. `units_only`: only mentions of units, with their
    `parent` (joined first, so a filter on the parent narrows the scans before the tone is joined)."""
    unit_join = " JOIN agencies g ON g.agency_id = m.agency_id AND g.parent IS NOT NULL" if units_only else ""
    return f"""    SELECT m.agency_id, m.article_id, a.cluster_id, a.title, a.url, a.outlet, {LOCAL_DAY} AS day,
           coalesce(a.published_at, a.fetched_at) AS ts,
           CASE WHEN a.published_at IS NULL THEN 'unknown' ELSE coalesce(a.date_source, 'feed') END AS date_source,
           coalesce(c.new_value, t.tone) AS tone,
           CASE WHEN c.new_value IS NULL THEN t.p_negative ELSE (c.new_value = 'negative')::DOUBLE END AS p_negative,
           CASE WHEN c.new_value IS NULL THEN t.p_positive ELSE (c.new_value = 'positive')::DOUBLE END AS p_positive,
           m.in_title, true AS direct, NULL::VARCHAR AS via, c.new_value IS NOT NULL AS corrected{", g.parent" if units_only else ""}
    FROM mentions m{unit_join} JOIN articles a ON a.article_id = m.article_id
    LEFT JOIN current_tone t ON t.article_id = m.article_id AND t.agency_id = m.agency_id
    LEFT JOIN (SELECT article_id, agency_id, new_value FROM current_corrections WHERE kind = 'tone') c
           ON c.article_id = m.article_id AND c.agency_id = m.agency_id
    WHERE NOT EXISTS (SELECT 1 FROM removed_mentions r WHERE r.article_id = m.article_id AND r.agency_id = m.agency_id)"""


# Units (an eselon-I unit, a police command, a regional office or parliament) have a `parent` in `agencies`.
# agency_mentions_direct: every (agency, article) the matcher found. agency_mentions (rolled up): those rows plus,
# for each unit's row, a row for its parent unless the parent is named in that article itself; when several units
# of one parent are named, the parent's row takes the tone of the most negative one (PR reads the worst first).
VIEWS = f"""
CREATE OR REPLACE VIEW current_tone AS
    SELECT * FROM mention_tone WHERE model_version = (SELECT max_by(model_version, analyzed_at) FROM mention_tone);
CREATE OR REPLACE VIEW current_corrections AS
    SELECT * FROM corrections
    QUALIFY row_number() OVER (PARTITION BY article_id, agency_id, kind ORDER BY correction_id DESC) = 1;
CREATE OR REPLACE VIEW removed_mentions AS
    SELECT m.agency_id, m.article_id, a.local_day AS day, c.kind, c.user_name, c.created_at
    FROM current_corrections c JOIN mentions m ON m.article_id = c.article_id AND (c.kind = 'article' OR m.agency_id = c.agency_id)
    JOIN articles a ON a.article_id = m.article_id
    WHERE (c.kind = 'mention' AND c.new_value = 'wrong') OR (c.kind = 'article' AND c.new_value = 'irrelevant');
CREATE OR REPLACE VIEW agency_mentions_direct AS
{mention_rows()};
CREATE OR REPLACE VIEW agency_mentions AS
    SELECT * FROM agency_mentions_direct
    UNION ALL
    SELECT d.parent AS agency_id, d.article_id, d.cluster_id, d.title, d.url, d.outlet, d.day, d.ts, d.date_source,
           arg_max(d.tone, coalesce(d.p_negative, 0)) AS tone, max(d.p_negative) AS p_negative,
           arg_max(d.p_positive, coalesce(d.p_negative, 0)) AS p_positive, bool_or(d.in_title) AS in_title,
           false AS direct, arg_max(d.agency_id, coalesce(d.p_negative, 0)) AS via,
           arg_max(d.corrected, coalesce(d.p_negative, 0)) AS corrected
    FROM ({mention_rows(units_only=True)}) d
    WHERE NOT EXISTS (
        SELECT 1 FROM mentions own WHERE own.article_id = d.article_id AND own.agency_id = d.parent
        AND NOT EXISTS (SELECT 1 FROM removed_mentions r WHERE r.article_id = own.article_id AND r.agency_id = own.agency_id))
    -- the article's own columns are grouping keys (one value per article), so filters on day or agency reach the scans
    GROUP BY d.parent, d.article_id, d.cluster_id, d.title, d.url, d.outlet, d.day, d.ts, d.date_source;
{derived_views("")}
{derived_views("_direct")}
"""


_ROLLED_UP = re.compile(r"\b(agency_mentions|agency_daily|share_of_voice|agency_topic_daily|agency_outlets|agency_stories|"
                        r"agency_weekly|agency_spikes)\b(?!_direct)")


def views_for(sql: str, units: bool) -> str:
    """`sql` reading the rolled-up views (units counted for their parents) or, with units=False, the agencies alone
    (the same views with `_direct`). Only for the project's own queries, never for user SQL."""
    return sql if units else _ROLLED_UP.sub(r"\1_direct", sql)
