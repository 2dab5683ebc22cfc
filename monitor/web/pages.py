"""What each dashboard page shows, read from the trend views (monitor/db/views.py) on one short-lived read-only
connection. Plain functions: a connection and the page's parameters in, dicts and lists out (the templates in
monitor/web/templates render them; nothing here writes HTML except the article's highlighted text segments).

Every figure is of local days (settings.timezone), corrected values applied (monitor/db/corrections.py).
Parameters reach SQL only as bound values; a text search is a substring match on title and lead (`contains` on
lower-cased text, so `%` and `_` are plain characters).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from monitor.db import corrections
from monitor.db.store import dict_rows
from monitor.db.views import spikes_sql
from monitor.localtime import LocalTime
from monitor.outputs.charts import enough_points, tone_chart, volume_chart

TONE_WORDS = {"negative": "negatif", "neutral": "netral", "positive": "positif"}
OVERVIEW_TOP = 10     # agencies on the overview when none is followed
STORIES_PER_PAGE = 50
# the columns a page reads from the window (fewer columns: less to decompress and copy)
WINDOW_COLUMNS = "agency_id, article_id, cluster_id, title, outlet, day, ts, tone, p_negative, corrected"
DailySeries = tuple[list[dt.date], dict[str, list[int]], list]  # days, mentions per tone per day, net tone per day
PEERS = 6             # agencies of the same type beside the one shown in share of voice


def period(today: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """[first, end) of the `days` local days that end today."""
    return today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1)


def _window(con: duckdb.DuckDBPyConnection, agencies: list[str], first: dt.date, until: dt.date,
            columns: str = WINDOW_COLUMNS) -> None:
    """The mentions of `agencies` on local days [first, until) as the temporary table `window_mentions` (this
    connection only, gone when it closes): a page reads the views once, then its figures read this small table."""
    marks = ", ".join("?" for _ in agencies) or "NULL"
    con.execute(f"CREATE OR REPLACE TEMP TABLE window_mentions AS SELECT {columns} FROM agency_mentions "
                f"WHERE agency_id IN ({marks}) AND day >= ? AND day < ?", [*agencies, first, until])


def _figures(con: duckdb.DuckDBPyConnection, since: dt.date, until: dt.date) -> dict[str, dict]:
    """agency -> mentions, stories, tone counts, net tone, corrected tones over [since, until) of `window_mentions`."""
    rows = dict_rows(con, """
        SELECT agency_id, count(*) AS mentions, count(DISTINCT cluster_id) AS stories,
               count(*) FILTER (tone = 'positive') AS positive, count(*) FILTER (tone = 'neutral') AS neutral,
               count(*) FILTER (tone = 'negative') AS negative, count(tone) AS toned,
               round((count(*) FILTER (tone = 'positive') - count(*) FILTER (tone = 'negative')) / nullif(count(tone), 0), 3) AS net_tone,
               count(*) FILTER (corrected) AS corrected
        FROM window_mentions WHERE day >= ? AND day < ? GROUP BY agency_id""", [since, until])
    return {r["agency_id"]: r for r in rows}


def _spikes(con: duckdb.DuckDBPyConnection, since: dt.date) -> list[dict]:
    """Spike days (the rule of monitor/db/views.py) from `since` on, over `window_mentions` (which must hold the
    29 days before `since` as the baseline)."""
    source = ("SELECT agency_id, day, count(*) AS mentions, count(*) FILTER (tone = 'negative') AS negative, "
              "count(tone) AS toned FROM window_mentions GROUP BY agency_id, day")
    return dict_rows(con, spikes_sql(source, extra_where=" AND day >= $1::DATE") + " ORDER BY day DESC, agency_id", [since])


def _volumes(con: duckdb.DuckDBPyConnection, since: dt.date, until: dt.date, agency_type: str | None = None,
             any_type: bool = True) -> dict[str, int]:
    """agency -> mentions on local days [since, until), units counted for their parent once per article as in
    `agency_mentions`, removed mentions left out: read from the base tables without the tone join (volume needs
    no tone), for rankings over many agencies. `agency_type`: only agencies of that type (unless `any_type`)."""
    rows = con.execute("""
        WITH named AS (
            SELECT m.article_id, m.agency_id FROM mentions m JOIN articles a ON a.article_id = m.article_id
            WHERE a.local_day >= ? AND a.local_day < ?
              AND NOT EXISTS (SELECT 1 FROM removed_mentions r WHERE r.article_id = m.article_id AND r.agency_id = m.agency_id)),
        rolled AS (SELECT article_id, agency_id FROM named
                   UNION SELECT n.article_id, g.parent FROM named n JOIN agencies g ON g.agency_id = n.agency_id WHERE g.parent IS NOT NULL)
        SELECT r.agency_id, count(*) FROM rolled r JOIN agencies g ON g.agency_id = r.agency_id
        WHERE ? OR g.type IS NOT DISTINCT FROM ? GROUP BY r.agency_id""", [since, until, any_type, agency_type]).fetchall()
    return {agency: int(n) for agency, n in rows}


def names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT agency_id, name FROM agencies").fetchall())


def overview(con: duckdb.DuckDBPyConnection, followed: list[str], today: dt.date, days: int = 7) -> dict[str, Any]:
    """The followed agencies (else the `OVERVIEW_TOP` most mentioned) over the last `days` days against the `days`
    before: mentions, unique stories, net tone and changes, spike days; the last run, feed health, corrections."""
    since, until = period(today, days)
    before = since - dt.timedelta(days=days)
    shown = list(followed)
    if not shown:
        top = _volumes(con, since, until)
        shown = [a for a, _ in sorted(top.items(), key=lambda kv: (-kv[1], kv[0]))][:OVERVIEW_TOP]
    _window(con, shown, min(before, since - dt.timedelta(days=29)), until, "agency_id, cluster_id, day, tone, corrected")
    now, previous = _figures(con, since, until), _figures(con, before, since)
    spikes = _spikes(con, since)
    agency_names = names(con)
    rows = []
    for agency in shown:
        this, last = now.get(agency, {}), previous.get(agency, {})
        net, net_last = this.get("net_tone"), last.get("net_tone")
        rows.append({"agency_id": agency, "name": agency_names.get(agency, agency), "followed": agency in followed,
                     "mentions": this.get("mentions", 0), "mentions_change": this.get("mentions", 0) - last.get("mentions", 0),
                     "stories": this.get("stories", 0), "net_tone": net,
                     "net_tone_change": round(net - net_last, 3) if net is not None and net_last is not None else None,
                     "negative": this.get("negative", 0), "corrected": this.get("corrected", 0),
                     "spike_days": [s["day"] for s in spikes if s["agency_id"] == agency]})
    last_run = dict_rows(con, "SELECT run_id, started_at, finished_at, status, new_articles, feeds_ok, feeds_failed, error "
                              "FROM runs ORDER BY started_at DESC LIMIT 1")
    feeds = dict_rows(con, "SELECT count(*) AS feeds, count(*) FILTER (consecutive_failures > 0) AS failing FROM feeds")[0]
    failing = dict_rows(con, "SELECT feed_id, outlet, last_status, last_reason, failing_since FROM feeds "
                             "WHERE consecutive_failures > 0 ORDER BY failing_since LIMIT 5")
    return {"since": since, "until": until, "last": until - dt.timedelta(days=1), "days": days, "rows": rows, "followed": bool(followed),
            "last_run": last_run[0] if last_run else None, "feeds": feeds, "failing": failing,
            "corrections": corrections.counts(con, since, until, shown)}


def agency(con: duckdb.DuckDBPyConnection, agency_id: str, today: dt.date, days: int = 28) -> dict[str, Any] | None:
    """One agency over the last `days` days: daily volume by tone and net tone (charts), share of voice against
    agencies of the same type, topics, outlets, spike days, stories to read first; None for an unknown id."""
    info = dict_rows(con, "SELECT agency_id, name, type, parent, abbreviations FROM agencies WHERE agency_id = ?", [agency_id])
    if not info:
        return None
    since, until = period(today, days)
    _window(con, [agency_id], since - dt.timedelta(days=29), until)
    day_list, series, net = _daily_series(con, since, days)
    volume = [sum(day) for day in zip(*series.values(), strict=True)]
    volumes = _volumes(con, since, until, info[0]["type"], any_type=False)
    total_volume = sum(volumes.values())
    agency_names = names(con)
    peers = [{"agency_id": a, "name": agency_names.get(a, a), "mentions": n, "share": round(n / total_volume, 4)}
             for a, n in sorted(volumes.items(), key=lambda kv: (-kv[1], kv[0]))]
    shown_peers = peers[:PEERS] + [p for p in peers[PEERS:] if p["agency_id"] == agency_id]
    total = _figures(con, since, until)
    return {
        **info[0], "since": since, "until": until, "last": until - dt.timedelta(days=1), "days": days,
        "total": total.get(agency_id, {}),
        "volume_chart": enough_points(volume), "tone_chart": enough_points(net, zero_is_data=True),
        "series": (day_list, series, net),
        "active_days": sum(1 for v in volume if v),
        "peers": shown_peers, "peer_count": len(peers),
        "topics": dict_rows(con, "SELECT topic_id, count(*) AS articles FROM (SELECT unnest(x.topics) AS topic_id FROM "
                                 "window_mentions w JOIN article_analysis x USING (article_id) WHERE w.day >= ?) "
                                 "GROUP BY ALL ORDER BY articles DESC, topic_id LIMIT 8", [since]),
        "outlets": dict_rows(con, "SELECT outlet, count(*) AS mentions, count(*) FILTER (tone = 'negative') AS negative "
                                  "FROM window_mentions WHERE day >= ? GROUP BY ALL ORDER BY mentions DESC, outlet LIMIT 10", [since]),
        "spikes": _spikes(con, since),
        "stories": stories(con, StoryFilter(agency=agency_id, since=since, until=until, order="negative"), per_page=10,
                           source="window_mentions")["rows"],
        "corrections": corrections.counts(con, since, until, [agency_id]),
    }


def _daily_series(con: duckdb.DuckDBPyConnection, since: dt.date, days: int) -> DailySeries:
    """(days, mentions per tone per day as charts.volume_chart takes them, net tone per day) from `window_mentions`."""
    daily = {r["day"]: r for r in dict_rows(
        con, "SELECT day, count(*) AS mentions, count(*) FILTER (tone = 'positive') AS positive, "
             "count(*) FILTER (tone = 'neutral') AS neutral, count(*) FILTER (tone = 'negative') AS negative, "
             "count(tone) AS toned, round((count(*) FILTER (tone = 'positive') - count(*) FILTER (tone = 'negative')) "
             "/ nullif(count(tone), 0), 3) AS net_tone FROM window_mentions WHERE day >= ? GROUP BY day", [since])}
    day_list = [since + dt.timedelta(days=i) for i in range(days)]
    series = {"Negatif": [daily.get(d, {}).get("negative", 0) for d in day_list],
              "Netral": [daily.get(d, {}).get("neutral", 0) for d in day_list],
              "Positif": [daily.get(d, {}).get("positive", 0) for d in day_list]}
    untoned = [daily[d]["mentions"] - daily[d]["toned"] if d in daily else 0 for d in day_list]
    if any(untoned):
        series["Belum dinilai"] = untoned
    return day_list, series, [daily.get(d, {}).get("net_tone") for d in day_list]


def daily_series(con: duckdb.DuckDBPyConnection, agency_id: str, today: dt.date, days: int) -> DailySeries:
    """The agency page's chart data alone (its chart requests use it when the page's own copy is not at hand)."""
    since, until = period(today, days)
    _window(con, [agency_id], since, until, "day, tone")
    return _daily_series(con, since, days)


def chart_svg(kind: str, data: DailySeries) -> str | None:
    """The agency page's chart as an SVG document: kind 'volume' (daily mentions by tone) or 'tone' (daily net
    tone); None for another kind. Served apart from the page so that the page itself is not held up by drawing."""
    day_list, series, net = data
    if kind == "volume":
        return volume_chart(day_list, series, uri=False)
    if kind == "tone":
        return tone_chart(day_list, net, uri=False)
    return None


@dataclass
class StoryFilter:
    """The stories page's filters (all optional; `since`/`until` are local days, `until` exclusive)."""

    since: dt.date
    until: dt.date
    agency: str | None = None
    tone: str | None = None      # the story's most common tone toward the agencies it names
    outlet: str | None = None
    topic: str | None = None
    text: str | None = None      # substring of title or lead, any case
    order: str = "newest"        # newest | negative (most negative first) | carried (most outlets first)
    page: int = 1


ORDERS = {"newest": "first_ts DESC, cluster_id",
          "negative": "negative_share DESC, max_p_negative DESC NULLS LAST, outlets DESC, first_ts DESC, cluster_id",
          "carried": "outlets DESC, articles DESC, cluster_id"}


def stories(con: duckdb.DuckDBPyConnection, f: StoryFilter, per_page: int = STORIES_PER_PAGE,
            source: str = "agency_mentions") -> dict[str, Any]:
    """One row per story cluster in the period matching the filters, with its pickups (articles, outlets), the
    agencies it names and its tone; `more` when a next page exists. `source`: the view, or `window_mentions`."""
    where: list[str] = ["day >= ?", "day < ?"]
    params: list[Any] = [f.since, f.until]
    if f.agency:
        where.append("agency_id = ?")
        params.append(f.agency)
    if f.outlet:
        where.append("outlet = ?")
        params.append(f.outlet)
    if f.topic:
        where.append("article_id IN (SELECT article_id FROM article_analysis WHERE list_contains(topics, ?))")
        params.append(f.topic)
    if f.text:
        where.append("article_id IN (SELECT article_id FROM articles WHERE local_day >= ? AND local_day < ? AND "
                     "(contains(lower(title), ?) OR contains(lower(coalesce(lead, '')), ?)))")
        params += [f.since, f.until, f.text.lower(), f.text.lower()]
    having = ""
    if f.tone:
        having = "HAVING mode(tone) = ?"
        params.append(f.tone)
    order = ORDERS.get(f.order, ORDERS["newest"])
    if f.order == "negative" and not f.tone:
        having = "HAVING count(*) FILTER (tone = 'negative') > 0"
    offset = (max(f.page, 1) - 1) * per_page
    rows = dict_rows(con, f"""
        SELECT cluster_id, min(ts) AS first_ts, arg_min(title, ts) AS title, arg_min(article_id, ts) AS article_id,
               arg_min(outlet, ts) AS first_outlet, count(DISTINCT article_id) AS articles, count(DISTINCT outlet) AS outlets,
               list(DISTINCT outlet ORDER BY outlet)[:5] AS outlet_names, list(DISTINCT agency_id ORDER BY agency_id) AS agencies,
               mode(tone) AS tone, max(p_negative) AS max_p_negative,
               count(*) FILTER (tone = 'negative') / count(*) AS negative_share, count(*) FILTER (corrected) AS corrected
        FROM {source} WHERE {' AND '.join(where)}
        GROUP BY cluster_id {having} ORDER BY {order} LIMIT {per_page + 1} OFFSET {offset}""", params)
    return {"rows": rows[:per_page], "more": len(rows) > per_page, "page": max(f.page, 1)}


def filter_choices(con: duckdb.DuckDBPyConnection, since: dt.date, until: dt.date) -> dict[str, list]:
    """Outlets and topics seen in the period (for the stories page's menus)."""
    return {"outlets": [r[0] for r in con.execute(
                "SELECT outlet FROM articles WHERE local_day >= ? AND local_day < ? AND outlet IS NOT NULL "
                "GROUP BY outlet ORDER BY count(*) DESC, outlet LIMIT 200", [since, until]).fetchall()],
            "topics": [r[0] for r in con.execute(
                "SELECT DISTINCT unnest(topics) AS t FROM article_analysis WHERE article_id IN "
                "(SELECT article_id FROM articles WHERE local_day >= ? AND local_day < ?) ORDER BY t", [since, until]).fetchall()]}


def article(con: duckdb.DuckDBPyConnection, article_id: str, local: LocalTime) -> dict[str, Any] | None:
    """The article, its analysis, each agency mention with its sentences (and their tones), the values in force
    (model or corrected) and the correction history; None for an unknown id."""
    found = dict_rows(con, "SELECT article_id, url, canonical_url, final_url, outlet, title, author, published_at, date_source, "
                           "fetched_at, text, lead, status, status_reason, cluster_id FROM articles WHERE article_id = ?", [article_id])
    if not found:
        return None
    row = found[0]
    analysis = dict_rows(con, "SELECT * FROM article_analysis WHERE article_id = ?", [article_id])
    mentions = dict_rows(con, """
        SELECT m.agency_id, g.name, m.mention_count, m.in_title, m.forms, m.sentences,
               t.model_version, t.tone AS model_tone, t.p_negative, t.p_neutral, t.p_positive, t.sentence_tones,
               t.sentence_p_negative, t.sentence_p_positive, t.sentences_scored
        FROM mentions m LEFT JOIN agencies g USING (agency_id) LEFT JOIN current_tone t USING (article_id, agency_id)
        WHERE m.article_id = ? ORDER BY m.mention_count DESC, m.agency_id""", [article_id])
    current = {(c["agency_id"], c["kind"]): c for c in dict_rows(
        con, "SELECT * FROM current_corrections WHERE article_id = ?", [article_id])}
    for m in mentions:
        tone_fix = current.get((m["agency_id"], "tone"))
        mention_fix = current.get((m["agency_id"], "mention"))
        m["tone"] = tone_fix["new_value"] if tone_fix else m["model_tone"]
        m["tone_correction"] = tone_fix
        m["wrong"] = bool(mention_fix and mention_fix["new_value"] == "wrong")
        sentences = list(m["sentences"] or []) or ([row["title"]] if m["in_title"] and row["title"] else [])
        tones = list(m["sentence_tones"] or [])
        p_neg, p_pos = list(m["sentence_p_negative"] or []), list(m["sentence_p_positive"] or [])
        m["scored_sentences"] = [{"text": s, "tone": tones[i] if i < len(tones) else None,
                                  "p_negative": p_neg[i] if i < len(p_neg) else None,
                                  "p_positive": p_pos[i] if i < len(p_pos) else None} for i, s in enumerate(sentences)]
    irrelevant = current.get((None, "article"))
    published = row["published_at"]
    return {**row, "published_local": local.local(published) if published else None,
            "fetched_local": local.local(row["fetched_at"]) if row["fetched_at"] else None,
            "analysis": analysis[0] if analysis else None, "mentions": mentions,
            "irrelevant": bool(irrelevant and irrelevant["new_value"] == "irrelevant"),
            "segments": highlight(row["text"] or "", mentions),
            "history": corrections.history(con, article_id),
            "pickups": dict_rows(con, "SELECT article_id, outlet, title, url FROM articles WHERE cluster_id = ? AND article_id != ? "
                                      "ORDER BY coalesce(published_at, fetched_at) LIMIT 20", [row["cluster_id"], article_id])}


def highlight(text: str, mentions: list[dict]) -> list[list[dict]]:
    """The text as paragraphs of segments {'text', 'marks'}: `marks` lists (agency name, tone) for a mention
    sentence found in the text, else is empty. Overlapping sentences keep the first found; a sentence that is not
    in the text verbatim (the title) is not marked."""
    spans: list[tuple[int, int, list[tuple[str, str | None]]]] = []
    for m in mentions:
        for s in m.get("scored_sentences", []):
            needle = s["text"].strip()
            start = text.find(needle) if needle else -1
            if start < 0:
                continue
            end = start + len(needle)
            same = next((sp for sp in spans if sp[0] == start and sp[1] == end), None)
            if same:
                same[2].append((m["name"] or m["agency_id"], s["tone"]))
            elif not any(a < end and start < b for a, b, _ in spans):
                spans.append((start, end, [(m["name"] or m["agency_id"], s["tone"])]))
    spans.sort()
    paragraphs: list[list[dict]] = [[]]
    position = 0

    def emit(chunk: str, marks: list) -> None:
        lines = chunk.split("\n")
        for i, line in enumerate(lines):
            if i:
                paragraphs.append([])
            if line:
                paragraphs[-1].append({"text": line, "marks": marks})

    for start, end, marks in spans:
        emit(text[position:start], [])
        emit(text[start:end], marks)
        position = end
    emit(text[position:], [])
    return [p for p in paragraphs if p]
