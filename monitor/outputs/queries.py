"""Named queries for analysts over the trend views (monitor/db/views.py). Days and weeks are local days.

The views and the spike rule are described in monitor/db/views.py.

Named queries bind their parameters (`?`), never paste them into SQL. Only the latest model version's tone is
counted (a re-analysis in progress never mixes versions in one figure). Analysts' corrections apply (the views
read through them: monitor/db/corrections.py); `daily`, `weekly`, `top-negative` and `top-positive` carry a
`corrected` column, and `monitor query` prints how many values of the period were corrected.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from monitor.db.views import spikes_sql, views_for

# The named query computes the same rule over the period and the 28 days before it only (fast on years of history).
# Parameters are numbered ($1 agency, $2 agency, $3 since, $4 until) and compared directly with columns, so the
# day range is pushed down to the articles scan instead of filtering after the joins.
SPIKES = spikes_sql(
    "SELECT agency_id, day, mentions, negative, toned FROM agency_daily WHERE ($1::VARCHAR IS NULL OR "
    "agency_id = $2::VARCHAR) AND day >= $3::DATE - 29 AND day < $4::DATE",
    extra_where=" AND day >= $3::DATE") + " ORDER BY day, agency_id"

# Stories of the period only: filter the mentions first, then group by cluster (same columns as agency_stories).
STORIES = """
    WITH m AS (SELECT * FROM agency_mentions WHERE (? IS NULL OR agency_id = ?) AND day >= ? AND day < ?)
    SELECT agency_id, min(day) AS day, arg_min(title, ts) AS title, arg_min(outlet, ts) AS first_outlet,
           count(DISTINCT outlet) AS outlets, mode(tone) AS tone, round(avg({score}), 3) AS {score}, arg_min(url, ts) AS url,
           count(*) FILTER (corrected) AS corrected
    FROM m GROUP BY agency_id, cluster_id HAVING mode(tone) = '{tone}'
    ORDER BY agency_id, {score} DESC, outlets DESC LIMIT 50"""
# Weeks of the period plus the week before it (for the change), aggregated from the filtered mentions.
WEEKLY = """
    WITH m AS (SELECT am.* FROM agency_mentions am
          WHERE ($1::VARCHAR IS NULL OR am.agency_id = $2::VARCHAR)
            AND am.day >= CAST(date_trunc('week', $3::DATE) - INTERVAL 7 DAY AS DATE) AND am.day < $4::DATE),
    w AS (SELECT agency_id, strftime(day, '%G-W%V') AS week, count(*) AS mentions, count(DISTINCT cluster_id) AS stories,
                 count(*) FILTER (tone = 'positive') AS positive, count(*) FILTER (tone = 'neutral') AS neutral,
                 count(*) FILTER (tone = 'negative') AS negative, count(tone) AS toned,
                 count(*) FILTER (corrected) AS corrected FROM m GROUP BY ALL),
    c AS (SELECT *, round((positive - negative) / nullif(toned, 0), 3) AS net_tone,
                 mentions - lag(mentions) OVER (PARTITION BY agency_id ORDER BY week) AS mentions_change,
                 round((positive - negative) / nullif(toned, 0)
                       - lag((positive - negative) / nullif(toned, 0)) OVER (PARTITION BY agency_id ORDER BY week), 3) AS net_tone_change
          FROM w)
    SELECT c.* FROM c WHERE week >= strftime($3::DATE, '%G-W%V') AND week < strftime($4::DATE, '%G-W%V')
    ORDER BY week, agency_id"""

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
                     STORIES.format(score="p_negative", tone="negative")),
    "top-positive": ("the most positive stories per agency",
                     STORIES.format(score="p_positive", tone="positive")),
    "weekly": ("per agency per ISO week with the change from the previous week", WEEKLY),
    "spikes": ("days far above the agency's own 28-day baseline (volume or negative share)", SPIKES),
}


def run_named(con: duckdb.DuckDBPyConnection, name: str, agency: str | None, since: dt.date, until: dt.date,
              units: bool = True) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of a named query; parameters are bound. `units`: count each unit (an office, a
    command, a regional parliament) for its parent as well (default), or show every agency alone."""
    if name not in NAMED:
        raise KeyError(f"unknown query {name!r}; known: {', '.join(NAMED)}")
    cursor = con.execute(views_for(NAMED[name][1], units), [agency, agency, since, until])
    return [d[0] for d in cursor.description], cursor.fetchall()


def read_only_connection(path: str) -> duckdb.DuckDBPyConnection:
    """An analyst connection: read-only, no access to files or the network outside the database."""
    con = duckdb.connect(path, read_only=True, config={"enable_external_access": False})
    con.execute("SET TimeZone = 'UTC'")
    return con


def render_rows(columns: list[str], rows: list[tuple], fmt: str, terminal: bool = False) -> str:
    """Rows as text for `monitor query` and `monitor sql`: "json" (one object a line), "csv" (a header line), or a
    table (colours and the terminal's width only when `terminal`, else 200 columns)."""
    import csv
    import io
    import json

    buffer = io.StringIO()
    if fmt == "json":
        buffer.writelines(json.dumps(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False) + "\n"
                          for row in rows)
    elif fmt == "csv":
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns)
        for row in rows:
            table.add_row(*["" if v is None else str(v) for v in row])
        Console(file=buffer, no_color=not terminal, width=None if terminal else 200).print(table)
    return buffer.getvalue()
