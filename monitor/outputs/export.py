"""Weekly export for PR heads: a summary per agency and the week's stories, as CSV (UTF-8 with BOM, every field
quoted) or XLSX. Weeks are ISO weeks of local days (settings.timezone, monitor/localtime.py).

Safe to open: every text cell that starts with = + - @ TAB CR or LF gets a leading apostrophe (OWASP CSV
injection); file names are generated from the week, validated agency ids and the generation time, never from
article data, and every path is checked to stay inside the output directory.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from monitor.db.views import views_for
from monitor.localtime import LocalTime
from monitor.statuses import DateSource

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
SUMMARY_COLUMNS = ["agency_id", "agency_name", "mentions", "stories", "positive", "neutral", "negative", "net_tone",
                   "mentions_previous_week", "mentions_change", "net_tone_previous_week", "net_tone_change",
                   "top_topics", "spike_days", "tones_corrected", "mentions_removed_by_analysts"]
STORY_COLUMNS = ["date_local", "date_from", "agency_id", "outlet", "title", "url", "tone_toward_agency", "p_negative", "p_positive",
                 "topics", "outlets_carrying_story", "tone_corrected"]


@dataclass(frozen=True)
class Week:
    label: str  # 2026-W48
    start: dt.date  # Monday (local day)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=7)

    @property
    def last_day(self) -> dt.date:
        """Sunday, the week's last day (`end` is the Monday after)."""
        return self.start + dt.timedelta(days=6)

    @classmethod
    def parse(cls, value: str) -> Week:
        match = re.fullmatch(r"(\d{4})-W(\d{2})", value)
        if not match or not 1970 <= int(match.group(1)) <= 2999:
            raise ValueError(f"week must look like 2026-W48 (a year from 1970 to 2999), got {value!r}")
        start = dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        return cls(value, start)

    @classmethod
    def last_complete(cls, local: LocalTime | None = None, now: dt.datetime | None = None) -> Week:
        today = (local or LocalTime()).today(now)
        monday = today - dt.timedelta(days=today.weekday() + 7)
        year, week, _ = monday.isocalendar()
        return cls(f"{year}-W{week:02d}", monday)


# Characters XML 1.0 (and so XLSX) cannot hold: C0 controls other than tab, newline and carriage return, DEL, the
# C1 controls, surrogates and the non-characters U+FFFE/U+FFFF. Feeds carry them (a U+0016 inside a headline).
# ... and the bidirectional overrides and isolates (U+202A–202E, U+2066–2069), which reverse the text after them
ILLEGAL_IN_CELLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """`value` with every character a spreadsheet or XML cannot hold replaced by a space (runs collapsed)."""
    if not ILLEGAL_IN_CELLS.search(value):
        return value
    return re.sub(r" {2,}", " ", ILLEGAL_IN_CELLS.sub(" ", value))


def neutralise(value):
    """A text cell safe to open: characters a spreadsheet cannot hold replaced, and a leading apostrophe where a
    spreadsheet would read the text as a formula (OWASP CSV injection)."""
    if isinstance(value, str):
        value = clean_text(value)
        if value.startswith(TRIGGERS):
            return "'" + value
    return value


def story_columns(local: LocalTime) -> list[str]:
    """The stories' columns; the date column is named after the zone ("date_wib")."""
    return [f"date_{local.label.lower().replace('/', '_')}" if c == "date_local" else c for c in STORY_COLUMNS]


def weekly_rows(con: duckdb.DuckDBPyConnection, week: Week, agencies: list[str] | None,
                local: LocalTime | None = None, units: bool = True, with_stories: bool = True) -> tuple[list[dict], list[dict]]:
    """(summary rows, story rows) for the week; only agencies with mentions unless `agencies` names them.

    Set-based: a fixed number of queries whatever the number of agencies, each filtered by day first (the export
    over a 1,000,000-article history is measured in benchmarks/queries_scale.py). `units`: a unit's articles count
    for its parent too (default), or each agency alone."""
    from monitor.outputs.queries import run_named

    def sql(text: str) -> str:
        return views_for(text, units)

    prev = Week("prev", week.start - dt.timedelta(days=7))
    names = dict(con.execute("SELECT agency_id, name FROM agencies").fetchall())
    wanted = agencies or [r[0] for r in con.execute(
        sql("SELECT DISTINCT agency_id FROM agency_daily WHERE day >= ? AND day < ? ORDER BY 1"), [week.start, week.end]).fetchall()]
    # stories are counted over the whole week: a story picked up on two days is one story
    totals = {(agency, this_week): [int(v) for v in rest] for agency, this_week, *rest in con.execute(sql(
        "SELECT agency_id, day >= ? AS this_week, count(*), count(DISTINCT cluster_id), count(*) FILTER (tone = 'positive'), "
        "count(*) FILTER (tone = 'neutral'), count(*) FILTER (tone = 'negative'), count(tone), count(*) FILTER (corrected) "
        "FROM agency_mentions "
        "WHERE day >= ? AND day < ? AND agency_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1, 2"),
        [week.start, prev.start, week.end, wanted]).fetchall()}
    # mentions an analyst removed (marked wrong, or of an irrelevant article) are in no figure: counted here
    removed = dict(con.execute(
        "SELECT agency_id, count(*) FROM removed_mentions WHERE day >= ? AND day < ? AND agency_id IN (SELECT unnest(?::VARCHAR[])) "
        "GROUP BY 1", [week.start, week.end, wanted]).fetchall())
    topics: dict[str, list[str]] = {}
    for agency, topic, n in con.execute(sql(
            "SELECT agency_id, topic_id, n FROM (SELECT agency_id, topic_id, sum(articles) AS n, row_number() OVER "
            "(PARTITION BY agency_id ORDER BY sum(articles) DESC, topic_id) AS rank FROM agency_topic_daily "
            "WHERE day >= ? AND day < ? AND agency_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY agency_id, topic_id) WHERE rank <= 3 "
            "ORDER BY agency_id, rank"), [week.start, week.end, wanted]).fetchall():
        topics.setdefault(agency, []).append(f"{topic} ({n})")
    spike_days: dict[str, list[str]] = {}
    columns, rows = run_named(con, "spikes", None, week.start, week.end, units)
    for row in rows:
        spike = dict(zip(columns, row))
        spike_days.setdefault(spike["agency_id"], []).append(str(spike["day"]))

    def figures(agency: str, this_week: bool) -> dict:
        mentions, stories, pos, neu, neg, toned, corrected = totals.get((agency, this_week), [0] * 7)
        return {"mentions": mentions, "stories": stories, "positive": pos, "neutral": neu, "negative": neg,
                "net_tone": round((pos - neg) / toned, 3) if toned else None, "corrected": corrected}

    summary = []
    for agency in wanted:
        this, before = figures(agency, True), figures(agency, False)
        summary.append({
            "agency_id": agency, "agency_name": names.get(agency, agency), **{k: v for k, v in this.items() if k != "corrected"},
            "mentions_previous_week": before["mentions"], "mentions_change": this["mentions"] - before["mentions"],
            "net_tone_previous_week": before["net_tone"],
            "net_tone_change": round(this["net_tone"] - before["net_tone"], 3)
            if this["net_tone"] is not None and before["net_tone"] is not None else None,
            "top_topics": "; ".join(topics.get(agency, [])), "spike_days": "; ".join(spike_days.get(agency, [])),
            "tones_corrected": this["corrected"], "mentions_removed_by_analysts": removed.get(agency, 0)})
    stories = []
    if wanted and with_stories:
        cursor = con.execute(sql(
            "WITH wk AS (SELECT * FROM agency_mentions WHERE day >= ? AND day < ? AND agency_id IN (SELECT unnest(?::VARCHAR[]))), "
            "carried AS (SELECT agency_id, cluster_id, count(DISTINCT outlet) AS outlets FROM agency_mentions "
            "            WHERE cluster_id IN (SELECT cluster_id FROM wk) GROUP BY ALL) "
            "SELECT wk.ts, wk.date_source, wk.agency_id, wk.outlet, wk.title, wk.url, wk.tone, wk.p_negative, wk.p_positive, x.topics, "
            "c.outlets, wk.corrected FROM wk LEFT JOIN article_analysis x USING (article_id) "
            "LEFT JOIN carried c ON c.agency_id = wk.agency_id AND c.cluster_id = wk.cluster_id "
            "ORDER BY wk.agency_id, wk.ts, wk.url"), [week.start, week.end, wanted])
        for ts, date_source, agency, outlet, title, url, tone, p_neg, p_pos, topic_ids, outlets, corrected in cursor.fetchall():
            stories.append({"date_local": (local or LocalTime()).local(ts).strftime("%Y-%m-%d %H:%M"),
                            "date_from": "fetch time" if date_source == DateSource.UNKNOWN else date_source,
                            "agency_id": agency, "outlet": outlet,
                            "title": title, "url": url, "tone_toward_agency": tone,
                            "p_negative": round(p_neg, 3) if p_neg is not None else None,
                            "p_positive": round(p_pos, 3) if p_pos is not None else None,
                            "topics": "; ".join(topic_ids or []), "outlets_carrying_story": outlets,
                            "tone_corrected": "yes" if corrected else ""})
    return summary, stories


def _safe_path(out_dir: Path, name: str) -> Path:
    out_dir = out_dir.resolve()
    path = (out_dir / name).resolve()
    if path.parent != out_dir:
        raise ValueError(f"refusing to write outside {out_dir}: {name}")
    return path


def file_stem(week: Week, agencies: list[str] | None, generated: dt.datetime) -> str:
    scope = "all-agencies" if not agencies else ("-".join(agencies) if len(agencies) <= 3 else f"{len(agencies)}-agencies")
    if not re.fullmatch(r"[a-z0-9_-]+", scope):
        raise ValueError("agency ids must be register ids")
    return f"monitor-weekly-{week.label}-{scope}-{generated.strftime('%Y%m%dT%H%M%SZ')}"


def write_weekly(con: duckdb.DuckDBPyConnection, week: Week, agencies: list[str] | None, out_dir: str | Path,
                 fmt: str = "csv", now: dt.datetime | None = None, local: LocalTime | None = None,
                 units: bool = True) -> list[Path]:
    """Write the week's export; returns the files written. Raises ValueError for an unknown format."""
    local = local or LocalTime()
    generated = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    summary, stories = weekly_rows(con, week, agencies, local, units)
    headers = {"summary": SUMMARY_COLUMNS, "stories": story_columns(local)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(week, agencies, generated)
    if fmt == "csv":
        paths = []
        for part, columns, rows in (("summary", SUMMARY_COLUMNS, summary), ("stories", STORY_COLUMNS, stories)):
            path = _safe_path(out_dir, f"{stem}-{part}.csv")
            with open(path, "w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
                writer.writerow(headers[part])
                for row in rows:
                    writer.writerow(["" if row[c] is None else neutralise(row[c]) for c in columns])
            paths.append(path)
        return paths
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        info = book.active
        info.title = "Parameter"
        for key, value in ((f"minggu (ISO, {local.label})", week.label), ("dari", str(week.start)), ("sampai sebelum", str(week.end)),
                           ("instansi", ", ".join(agencies) if agencies else "semua"),
                           ("dibuat (UTC)", generated.isoformat(timespec="seconds"))):
            info.append([key, value])
        for title, columns, rows in (("Ringkasan", SUMMARY_COLUMNS, summary), ("Berita", STORY_COLUMNS, stories)):
            sheet = book.create_sheet(title)
            sheet.append(headers["summary" if title == "Ringkasan" else "stories"])
            for row in rows:
                sheet.append([neutralise(row[c]) for c in columns])
            for cells in sheet.iter_rows(min_row=2):
                for cell in cells:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # text, never a formula
        path = _safe_path(out_dir, f"{stem}.xlsx")
        book.save(path)
        return [path]
    raise ValueError(f"unknown format {fmt!r}: csv or xlsx")
