"""DuckDB store: schema, forward migrations, idempotent batched upserts, the run log, and the spool.

DuckDB allows one writing process per file, and a read-only analyst session also blocks a writer. So the
pipeline opens the file only to read its state or to write one batch in one transaction (`Store.session()`),
never while it fetches or extracts. A lock held by someone else is retried with backoff; after that the batch
is spooled as JSON next to the database and written first thing on the next run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from monitor.errors import DatabaseLockedError

log = logging.getLogger(__name__)
UTC = dt.timezone.utc

# An article's day in Asia/Jakarta (WIB): publication time, or fetch time when the date is unknown.
LOCAL_DAY_SQL = "CAST(timezone('Asia/Jakarta', coalesce(published_at, fetched_at)) AS DATE)"

MIGRATIONS: list[str] = [
    # v1: the ingest spine
    """
    CREATE TABLE IF NOT EXISTS feeds (
        feed_id VARCHAR PRIMARY KEY, configured_url VARCHAR, url VARCHAR, outlet VARCHAR, language VARCHAR,
        etag VARCHAR, last_modified VARCHAR, body_hash VARCHAR,
        last_status VARCHAR, last_reason VARCHAR, last_http_status INTEGER,
        consecutive_failures INTEGER DEFAULT 0, failing_since TIMESTAMPTZ, last_success_at TIMESTAMPTZ,
        last_fetch_at TIMESTAMPTZ, next_fetch_at TIMESTAMPTZ, items_last INTEGER, last_unconditional_at TIMESTAMPTZ);
    CREATE TABLE IF NOT EXISTS feed_fetches (
        run_id VARCHAR, feed_id VARCHAR, fetched_at TIMESTAMPTZ, status VARCHAR, http_status INTEGER,
        reason VARCHAR, items INTEGER, new_entries INTEGER, elapsed_ms INTEGER, url VARCHAR,
        PRIMARY KEY (run_id, feed_id));
    CREATE TABLE IF NOT EXISTS entries (
        entry_id VARCHAR PRIMARY KEY, url VARCHAR, first_feed_id VARCHAR, title VARCHAR, summary VARCHAR,
        published_at TIMESTAMPTZ, date_status VARCHAR, raw_date VARCHAR, source_name VARCHAR,
        discovered_at TIMESTAMPTZ, state VARCHAR, attempts INTEGER, last_reason VARCHAR,
        next_attempt_at TIMESTAMPTZ, article_id VARCHAR);
    CREATE TABLE IF NOT EXISTS entry_sources (
        entry_id VARCHAR, feed_id VARCHAR, outlet VARCHAR, guid VARCHAR, entry_title VARCHAR,
        entry_published_at TIMESTAMPTZ, first_seen_at TIMESTAMPTZ, PRIMARY KEY (entry_id, feed_id));
    CREATE TABLE IF NOT EXISTS articles (
        article_id VARCHAR PRIMARY KEY, url VARCHAR, canonical_url VARCHAR, final_url VARCHAR, outlet VARCHAR,
        site_name VARCHAR, title VARCHAR, author VARCHAR, published_at TIMESTAMPTZ, date_source VARCHAR,
        fetched_at TIMESTAMPTZ, language VARCHAR, text VARCHAR, lead VARCHAR, content_hash VARCHAR,
        minhash UBIGINT[], same_text_as VARCHAR, cluster_id VARCHAR, status VARCHAR, status_reason VARCHAR,
        updated_at TIMESTAMPTZ);
    CREATE TABLE IF NOT EXISTS mentions (
        article_id VARCHAR, agency_id VARCHAR, mention_count INTEGER, in_title BOOLEAN, in_lead BOOLEAN,
        forms VARCHAR[], sentences VARCHAR[], legacy_name BOOLEAN, PRIMARY KEY (article_id, agency_id));
    CREATE TABLE IF NOT EXISTS agencies (
        agency_id VARCHAR PRIMARY KEY, name VARCHAR, type VARCHAR, parent VARCHAR, abbreviations VARCHAR[]);
    CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
        feeds_due INTEGER, feeds_ok INTEGER, feeds_not_modified INTEGER, feeds_failed INTEGER,
        new_articles INTEGER, duplicates INTEGER, extraction_failures INTEGER, pages_failed INTEGER,
        spooled_batches INTEGER, error VARCHAR, pid INTEGER, trigger VARCHAR);
    CREATE OR REPLACE VIEW article_sources AS
        SELECT e.article_id, s.feed_id, s.outlet, e.url AS entry_url, s.guid, s.entry_title,
               s.entry_published_at, s.first_seen_at
        FROM entry_sources s JOIN entries e USING (entry_id) WHERE e.article_id IS NOT NULL;
    """,
    # v2: the analysis stage (one row per article / per mention, replaced when re-analysed)
    """
    CREATE TABLE IF NOT EXISTS article_analysis (
        article_id VARCHAR PRIMARY KEY, model_version VARCHAR, tone VARCHAR, p_negative DOUBLE, p_neutral DOUBLE,
        p_positive DOUBLE, topics VARCHAR[], topic_scores DOUBLE[], analyzed_at TIMESTAMPTZ);
    CREATE TABLE IF NOT EXISTS mention_tone (
        article_id VARCHAR, agency_id VARCHAR, model_version VARCHAR, tone VARCHAR, p_negative DOUBLE,
        p_neutral DOUBLE, p_positive DOUBLE, sentences_scored INTEGER, analyzed_at TIMESTAMPTZ,
        PRIMARY KEY (article_id, agency_id));
    """,
    # v3: trend views (monitor/queries.py)
    "VIEWS",
    # v4: operations (alerts sent once; scheduler events such as skipped or missed jobs)
    """
    CREATE TABLE IF NOT EXISTS alerts (
        alert_key VARCHAR PRIMARY KEY, kind VARCHAR, subject VARCHAR, body VARCHAR, created_at TIMESTAMPTZ,
        sent_at TIMESTAMPTZ, attempts INTEGER, last_error VARCHAR);
    CREATE TABLE IF NOT EXISTS scheduler_events (
        event_at TIMESTAMPTZ, job VARCHAR, event VARCHAR, detail VARCHAR, PRIMARY KEY (event_at, job, event));
    """,
    # v5: faster spike view (window IQR instead of correlated MAD subqueries)
    "VIEWS",
    # v6: the spike view reads agency_daily once
    "VIEWS",
    # v7: the article's WIB day stored (kept by write_batch), so trend queries filter the articles scan by day
    f"""
    ALTER TABLE articles ADD COLUMN IF NOT EXISTS local_day DATE;
    UPDATE articles SET local_day = {LOCAL_DAY_SQL};
    """,
    # v8: views read articles.local_day
    "VIEWS",
]
SCHEMA_VERSION = len(MIGRATIONS)

# table → (primary key columns, on conflict: "update" | "nothing")
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "feeds": (("feed_id",), "update"),
    "feed_fetches": (("run_id", "feed_id"), "update"),
    "entries": (("entry_id",), "nothing"),
    "entry_updates": (("entry_id",), "update"),  # same table as entries, but state changes overwrite
    "entry_sources": (("entry_id", "feed_id"), "nothing"),
    "articles": (("article_id",), "update"),
    "mentions": (("article_id", "agency_id"), "update"),
    "agencies": (("agency_id",), "update"),
    "article_analysis": (("article_id",), "update"),
    "mention_tone": (("article_id", "agency_id"), "update"),
    "runs": (("run_id",), "update"),
    "alerts": (("alert_key",), "nothing"),
    "alert_updates": (("alert_key",), "update"),
    "scheduler_events": (("event_at", "job", "event"), "nothing"),
}
Batch = dict[str, list[dict]]


def _is_lock_error(exc: Exception) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class Store:
    """Opens the DuckDB file briefly, per read or per batch. `path=':memory:'` keeps one connection open."""

    def __init__(self, path: str | Path, *, lock_timeout_s: float = 20.0, spool_dir: str | Path | None = None,
                 sleep=time.sleep):
        self.path = str(path)
        self.lock_timeout_s = lock_timeout_s
        self._sleep = sleep
        self._memory = duckdb.connect(":memory:") if self.path == ":memory:" else None
        if spool_dir is None and self._memory is None:
            spool_dir = Path(self.path).with_suffix(".spool")
        self.spool_dir = Path(spool_dir) if spool_dir else None
        if self._memory is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    def _connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        if self._memory is not None:
            return self._memory
        delay, waited = 0.25, 0.0
        while True:
            try:
                if read_only and not Path(self.path).exists():
                    read_only = False  # create it
                con = duckdb.connect(self.path, read_only=read_only)
                con.execute("SET TimeZone = 'UTC'")
                return con
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise
                if waited >= self.lock_timeout_s:
                    holder = re.search(r"\(PID (\d+)\)", str(exc))
                    who = f" by PID {holder.group(1)}" if holder else ""
                    raise DatabaseLockedError(
                        f"database {self.path} is locked{who} (waited {waited:.0f}s); close other sessions "
                        "(an analyst's read-only session also blocks writing) and run again") from None
                log.warning("database locked, retrying in %.1fs: %s", delay, str(exc).splitlines()[0])
                self._sleep(delay)
                waited += delay
                delay = min(delay * 2, 5.0)

    @contextlib.contextmanager
    def session(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection with the schema migrated."""
        con = self._connect(read_only)
        try:
            if not read_only:
                migrate(con)
            yield con
        finally:
            if self._memory is None:
                con.close()

    def write(self, batch: Batch) -> None:
        """Write one batch in one transaction (idempotent). Raises DatabaseLockedError if the file stays locked."""
        with self.session() as con:
            write_batch(con, batch)

    def write_or_spool(self, batch: Batch) -> bool:
        """Write the batch, or spool it to disk if the database stays locked. True if written."""
        try:
            self.write(batch)
            return True
        except DatabaseLockedError:
            if self.spool_dir is None:
                raise
            self.spool(batch)
            return False

    def spool(self, batch: Batch) -> Path:
        assert self.spool_dir is not None
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"{dt.datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.json"
        tmp = self.spool_dir / (name + ".tmp")
        tmp.write_text(json.dumps(batch, default=_json_default), encoding="utf-8")
        os.replace(tmp, self.spool_dir / name)  # atomic: a half-written spool file is never replayed
        log.warning("database locked: batch spooled to %s", self.spool_dir / name)
        return self.spool_dir / name

    def replay_spool(self) -> int:
        """Write spooled batches (oldest first) and delete each once committed. Returns how many."""
        if self.spool_dir is None or not self.spool_dir.exists():
            return 0
        done = 0
        for path in sorted(self.spool_dir.glob("*.json")):
            batch = json.loads(path.read_text(encoding="utf-8"))
            self.write(batch)
            path.unlink()
            done += 1
        return done


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"cannot spool {type(value).__name__}")


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply forward migrations; returns the schema version."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)")
    current = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise RuntimeError(f"database schema v{current} is newer than this monitor (v{SCHEMA_VERSION}); upgrade monitor")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            migration = MIGRATIONS[version - 1]
            if migration == "VIEWS" and "VIEWS" in MIGRATIONS[version:]:
                migration = None  # the views of today's code need later columns; the last VIEWS step creates them
            elif migration == "VIEWS":
                from monitor.queries import VIEWS as migration
            if migration:
                con.execute(migration)
            con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, dt.datetime.now(UTC)])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _table_columns(con, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]


def upsert(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict]) -> None:
    """Insert rows into a table from TABLES with one statement.

    Duplicate keys inside one batch are collapsed first (DuckDB would keep one silently): an "update" table keeps
    the last row, a "nothing" table (first seen wins) keeps the first.
    """
    if not rows:
        return
    key, action = TABLES[name]
    table = {"entry_updates": "entries", "alert_updates": "alerts"}.get(name, name)
    columns = list(rows[0].keys())
    frame = pd.DataFrame(rows, columns=columns).drop_duplicates(subset=list(key), keep="last" if action == "update" else "first")
    view = f"_batch_{name}"
    con.register(view, frame)
    try:
        cols = ", ".join(columns)
        if action == "nothing":
            conflict = "DO NOTHING"
        else:
            updates = [c for c in columns if c not in key]
            conflict = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)) if updates else "DO NOTHING"
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view} ON CONFLICT ({', '.join(key)}) {conflict}")
    finally:
        con.unregister(view)


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """All tables of one batch in one transaction. Mentions of the batch's articles are replaced, not merged."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name in TABLES:
            if name in ("mentions", "mention_tone") and batch.get("articles"):
                ids = sorted({row["article_id"] for row in batch["articles"]})
                con.execute(f"DELETE FROM {name} WHERE article_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
            upsert(con, name, batch.get(name, []))
            if name == "articles" and batch.get("articles"):
                con.execute(f"UPDATE articles SET local_day = {LOCAL_DAY_SQL} WHERE article_id IN (SELECT unnest(?::VARCHAR[]))",
                            [sorted({row["article_id"] for row in batch["articles"]})])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def dict_rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[dict]:
    """The query's rows as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the main tables."""
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("feeds", "entries", "articles", "article_sources", "mentions", "runs")}
