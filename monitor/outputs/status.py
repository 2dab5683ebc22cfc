"""`monitor status`: last runs, per-feed health and row counts, read from the database read-only."""

from __future__ import annotations

import datetime as dt

from monitor.db.store import Store, counts, dict_rows, scalar
from monitor.localtime import LocalTime
from monitor.statuses import EntryState, SchedulerEvent

UTC = dt.UTC


def newest_file(folder: str, pattern: str) -> dict | None:
    """The newest file matching `pattern` in `folder`: {path, modified} or None."""
    from pathlib import Path

    files = sorted(Path(folder).glob(pattern), key=lambda p: p.stat().st_mtime) if Path(folder).is_dir() else []
    if not files:
        return None
    return {"path": str(files[-1]), "modified": dt.datetime.fromtimestamp(files[-1].stat().st_mtime, UTC)}


COVERAGE_DAYS = 7


def follow_coverage(con, follows: dict[str, list[str]], since: dt.datetime) -> list[dict]:
    """Per followed agency, articles since `since` (published, else fetched) that mention it: how many came through
    its search feeds, how many through the other feeds (the outlets' own and site: feeds) and through both; and how
    many articles its searches brought that do not mention it (search noise)."""
    search_feeds = sorted({feed for feeds in follows.values() for feed in feeds})
    out = []
    for agency_id, feeds in follows.items():
        if not feeds:
            continue
        row = con.execute(
            "WITH seen AS (SELECT e.article_id, bool_or(list_contains(?, s.feed_id)) AS by_search, "
            "                     bool_or(NOT list_contains(?, s.feed_id)) AS by_outlets "
            "              FROM entries e JOIN entry_sources s ON s.entry_id = e.entry_id "
            "              WHERE e.article_id IS NOT NULL GROUP BY e.article_id), "
            "     recent AS (SELECT seen.*, EXISTS (SELECT 1 FROM mentions m WHERE m.article_id = seen.article_id "
            "                                      AND m.agency_id = ?) AS mentioned "
            "                FROM seen JOIN articles a ON a.article_id = seen.article_id "
            "                WHERE coalesce(a.published_at, a.fetched_at) >= ?) "
            "SELECT count(*) FILTER (mentioned AND by_search), count(*) FILTER (mentioned AND by_outlets), "
            "       count(*) FILTER (mentioned AND by_search AND by_outlets), "
            "       count(*) FILTER (by_search AND NOT mentioned) FROM recent",
            [feeds, search_feeds, agency_id, since]).fetchone()
        out.append({"agency_id": agency_id, "days": COVERAGE_DAYS, "by_search": row[0], "by_outlet_feeds": row[1],
                    "both": row[2], "search_without_mention": row[3]})
    return out


def collect_status(db: str, now: dt.datetime | None = None, exports_dir: str = "data/exports",
                   reports_dir: str = "data/reports", follows: dict[str, list[str]] | None = None) -> dict:
    """A plain dict (JSON-ready) describing the state of the monitor database. `follows`: followed agency id → the
    names of its search feeds (monitor/follow.py), for the coverage lines."""
    now = now or dt.datetime.now(UTC)
    store = Store(db, lock_timeout_s=5.0)
    with store.session():  # bring an older file up to the current schema first (a brief write)
        pass
    with store.session(read_only=True) as con:
        def rows(sql: str) -> list[dict]:
            return dict_rows(con, sql)

        runs = rows("SELECT run_id, started_at, finished_at, status, feeds_due, feeds_ok, feeds_not_modified, "
                    "feeds_failed, new_articles, duplicates, extraction_failures, pages_failed, error "
                    "FROM runs ORDER BY started_at DESC LIMIT 10")
        feeds = rows("SELECT feed_id, outlet, last_status, last_reason, last_success_at, consecutive_failures, "
                     "failing_since, next_fetch_at, fallback_since, fallback_reason, probe_at FROM feeds "
                     "ORDER BY consecutive_failures DESC, feed_id")
        coverage = follow_coverage(con, follows or {}, now - dt.timedelta(days=COVERAGE_DAYS))
        article_status = rows("SELECT status, count(*) AS n FROM articles GROUP BY status ORDER BY n DESC")
        pending = scalar(con, "SELECT count(*) FROM entries WHERE state IN (?, ?)", [EntryState.PENDING, EntryState.RETRY])
        table_counts = counts(con)
        models = rows("SELECT model_version, count(*) AS articles, max(analyzed_at) AS last_used FROM article_analysis "
                      "GROUP BY 1 ORDER BY last_used DESC")
        tone_models = rows("SELECT model_version, count(DISTINCT article_id) AS articles, max(analyzed_at) AS last_used "
                           "FROM mention_tone GROUP BY 1 ORDER BY last_used DESC")
        events = rows("SELECT event_at, job, event, detail, slot_at FROM scheduler_events ORDER BY event_at DESC LIMIT 10")
        not_run = dict_rows(con, "SELECT job, event, slot_at, event_at, detail FROM scheduler_events "
                                 "WHERE event IN (?, ?, ?) AND event_at >= ? ORDER BY event_at DESC",
                            [SchedulerEvent.MISSED, SchedulerEvent.SKIPPED, SchedulerEvent.ERROR, now - dt.timedelta(days=8)])
        alerts = rows("SELECT alert_key, created_at, sent_at, attempts, last_error FROM alerts ORDER BY created_at DESC LIMIT 10")
    from pathlib import Path

    return {"database": db, "database_bytes": Path(db).stat().st_size, "generated_at": now, "runs": runs, "feeds": feeds,
            "counts": table_counts, "articles_by_status": article_status, "pages_pending": pending, "models": models, "tone_models": tone_models,
            "scheduler_events": events, "scheduler_not_run": not_run, "alerts": alerts, "follow_coverage": coverage,
            "last_export": newest_file(exports_dir, "monitor-weekly-*"), "last_report": newest_file(reports_dir, "*.html")}


def render_status(report: dict, local: LocalTime | None = None) -> str:
    """The report as text; times in the local zone."""
    local = local or LocalTime()

    def _fmt(value) -> str:
        if isinstance(value, dt.datetime):
            return local.format(value)
        return "-" if value is None else str(value)

    lines = [f"database: {report['database']} ({report['database_bytes'] / 1e6:.1f} MB)"]
    for event in report.get("scheduler_not_run", []):  # a weekly report that was not written must not go unnoticed
        lines.append(f"WARNING: scheduler job {event['job']} {event['event']}"
                     + (f" for the {_fmt(event['slot_at'])} slot" if event["slot_at"] else f" at {_fmt(event['event_at'])}")
                     + f": {event['detail']}")
    lines += ["", "last runs:"]
    for run in report["runs"]:
        duration = (run["finished_at"] - run["started_at"]).total_seconds() if run["finished_at"] else None
        lines.append(f"  {_fmt(run['started_at'])}  {run['status']:<9} "
                     f"{f'{duration:.1f}s' if duration is not None else 'unfinished':>10}  "
                     f"feeds ok/304/failed {run['feeds_ok']}/{run['feeds_not_modified']}/{run['feeds_failed']}  "
                     f"new {run['new_articles']} dup {run['duplicates']}" + (f"  error: {run['error']}" if run["error"] else ""))
    failing = [f for f in report["feeds"] if f["consecutive_failures"]]
    lines += ["", f"feeds: {len(report['feeds'])} known, {len(failing)} failing"]
    for feed in report["feeds"]:
        lines.append(f"  {feed['feed_id']:<32} {(feed['last_status'] or '-'):<12} last ok {_fmt(feed['last_success_at'])}"
                     f"  failures {feed['consecutive_failures']}  next {_fmt(feed['next_fetch_at'])}"
                     + (f"  ({feed['last_reason']})" if feed["consecutive_failures"] else ""))
        if feed.get("fallback_since"):
            lines.append(f"  {'':<32} ON FALLBACK since {_fmt(feed['fallback_since'])}: {feed['fallback_reason']}; "
                         f"own feed tried again {_fmt(feed['probe_at'])}")
    if report.get("follow_coverage"):
        lines += ["", f"followed agencies (articles naming them, last {COVERAGE_DAYS} days):"]
        lines += [f"  {c['agency_id']:<32} by search {c['by_search']}, by outlet feeds {c['by_outlet_feeds']}, "
                  f"both {c['both']}; search items not naming it {c['search_without_mention']}"
                  for c in report["follow_coverage"]]
    lines += ["", "rows: " + ", ".join(f"{k} {v}" for k, v in report["counts"].items()),
              "articles by status: " + (", ".join(f"{r['status']} {r['n']}" for r in report["articles_by_status"]) or "none"),
              f"pages waiting: {report['pages_pending']}"]
    for key, label in (("last_export", "last export"), ("last_report", "last report")):
        item = report.get(key)
        lines.append(f"{label}: " + (f"{item['path']} ({_fmt(item['modified'])})" if item else "none yet"))
    for key, label in (("models", "model in use"), ("tone_models", "tone toward agencies by")):
        if report[key]:  # views read only the newest version's rows: older ones wait for reanalyze
            lines.append(f"{label}: " + report[key][0]["model_version"] +
                         (f" (other versions in {sum(m['articles'] for m in report[key][1:])} articles: run monitor reanalyze)"
                          if len(report[key]) > 1 else ""))
    if report["scheduler_events"]:
        lines += ["", "scheduler events:"] + [f"  {_fmt(e['event_at'])}  {e['job']:<7} {e['event']:<8} {e['detail']}"
                                              for e in report["scheduler_events"]]
    if report["alerts"]:
        lines += ["", "alerts:"] + [f"  {_fmt(a['created_at'])}  {a['alert_key']}  "
                                    + (f"sent {_fmt(a['sent_at'])}" if a["sent_at"] else f"NOT SENT ({a['last_error']})")
                                    for a in report["alerts"]]
    return "\n".join(lines)
