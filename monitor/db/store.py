"""DuckDB store: schema migrations, idempotent batched upserts of typed records, and the spool.

DuckDB allows one writing process per file, and a read-only analyst session also blocks a writer. So the
pipeline opens the file only to read its state or to write one batch in one transaction (`Store.session()`),
never while it fetches or extracts. A lock held by someone else is retried with backoff; after that the batch
is spooled as JSON next to the database and written first thing on the next run.

Migrations are numbered files in monitor/db/migrations (``NNNN_name.sql``), applied in order, each in its own
transaction. Two directives stand for generated steps: ``-- @views`` (re-create the trend views of
monitor/db/views.py) and ``-- @status_checks`` (rebuild each table with a CHECK constraint per status column,
from monitor/statuses.py). ``{local_day}`` in a migration is the article's local day in the configured zone.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from monitor.errors import DatabaseLockedError
from monitor.localtime import LocalTime
from monitor.records import (
    RECORD_TYPES,
    ArticleRow,
    Batch,
    MentionRow,
    MentionToneRow,
    as_row,
    columns,
    on_conflict,
)
from monitor.statuses import CHECKED_COLUMNS, sql_values

log = logging.getLogger(__name__)
UTC = dt.UTC
LOCAL_DAY_SOURCE = "coalesce(published_at, fetched_at)"  # publication time, or fetch time when the date is unknown


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str  # the file's text; directives are expanded when applied


def load_migrations() -> list[Migration]:
    """The numbered migration files, in order; versions must run 1, 2, 3 ... without gaps."""
    folder = resources.files("monitor.db").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration files are not numbered 1..n: {[m.version for m in found]}")
    return found


MIGRATIONS = load_migrations()
SCHEMA_VERSION = len(MIGRATIONS)


def _is_lock_error(exc: Exception) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class Store:
    """Opens the DuckDB file briefly, per read or per batch. `path=':memory:'` keeps one connection open.

    `local_time` is the configured zone: it decides `articles.local_day`. `sleep` is injectable for tests.
    """

    def __init__(self, path: str | Path, *, lock_timeout_s: float = 20.0, spool_dir: str | Path | None = None,
                 local_time: LocalTime | None = None, sleep: Callable[[float], None] = time.sleep):
        self.path = str(path)
        self.lock_timeout_s = lock_timeout_s
        self.local_time = local_time or LocalTime()
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
        delay, waited = 0.1, 0.0  # short polls: a reader (an analyst, the dashboard) holds the file for milliseconds
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
                delay = min(delay * 2, 1.0)

    @contextlib.contextmanager
    def session(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection with the schema migrated."""
        con = self._connect(read_only)
        try:
            if not read_only:
                migrate(con, self.local_time)
            yield con
        finally:
            if self._memory is None:
                con.close()

    def write(self, batch: Batch) -> None:
        """Write one batch in one transaction (idempotent). Raises DatabaseLockedError if the file stays locked."""
        with self.session() as con:
            write_batch(con, batch, self.local_time)

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
        if self.spool_dir is None:
            raise RuntimeError("this store has no spool directory")
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"{dt.datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.json"
        tmp = self.spool_dir / (name + ".tmp")
        tmp.write_text(json.dumps(batch.to_json()), encoding="utf-8")
        os.replace(tmp, self.spool_dir / name)  # atomic: a half-written spool file is never replayed
        log.warning("database locked: batch spooled to %s", self.spool_dir / name)
        return self.spool_dir / name

    def replay_spool(self) -> int:
        """Write spooled batches (oldest first) and delete each once committed. Returns how many."""
        if self.spool_dir is None or not self.spool_dir.exists():
            return 0
        done = 0
        for path in sorted(self.spool_dir.glob("*.json")):
            self.write(Batch.from_json(json.loads(path.read_text(encoding="utf-8"))))
            path.unlink()
            done += 1
        return done


def migrate(con: duckdb.DuckDBPyConnection, local_time: LocalTime | None = None) -> int:
    """Apply forward migrations; returns the schema version. A database newer than this code is refused."""
    local_time = local_time or LocalTime()
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)")
    current = scalar(con, "SELECT coalesce(max(version), 0) FROM schema_version")
    if current > SCHEMA_VERSION:
        raise RuntimeError(f"database schema v{current} is newer than this monitor (v{SCHEMA_VERSION}); upgrade monitor")
    later_views = [m.version for m in MIGRATIONS if "-- @views" in m.sql]
    later_checks = [m.version for m in MIGRATIONS if "-- @status_checks" in m.sql]
    for migration in MIGRATIONS[current:]:
        con.execute("BEGIN TRANSACTION")
        try:
            if "-- @views" in migration.sql:
                # The views of today's code need later columns: only the last views step creates them.
                if migration.version == later_views[-1]:
                    from monitor.db.views import VIEWS

                    con.execute(VIEWS)
            elif "-- @status_checks" in migration.sql:
                # Today's enums name tables of later migrations: only the last checks step rebuilds them.
                if migration.version == later_checks[-1]:
                    _add_status_checks(con)
            else:
                con.execute(migration.sql.format(local_day=local_time.day_sql(LOCAL_DAY_SOURCE)))
            con.execute("INSERT INTO schema_version VALUES (?, ?)", [migration.version, dt.datetime.now(UTC)])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def _add_status_checks(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild each table that has a status column with CHECK constraints from today's enums (DuckDB cannot ADD
    or DROP a constraint): columns, defaults and the primary key as they are, the checks replaced."""
    tables: dict[str, list[str]] = {}
    for (table, column), enum in CHECKED_COLUMNS.items():
        tables.setdefault(table, []).append(f"CHECK ({column} IS NULL OR {column} IN ({sql_values(enum)}))")
    for table, checks in tables.items():
        described = con.execute(f"DESCRIBE {table}").fetchall()  # name, type, null, key, default, extra
        columns = [f"{name} {kind}" + (f" DEFAULT {default}" if default is not None else "")
                   for name, kind, _null, _key, default, *_ in described]
        key = [name for name, _kind, _null, is_key, *_ in described if is_key == "PRI"]
        parts = columns + ([f"PRIMARY KEY ({', '.join(key)})"] if key else []) + checks
        con.execute(f"CREATE TABLE {table}__rebuilt ({', '.join(parts)})")
        con.execute(f"INSERT INTO {table}__rebuilt SELECT * FROM {table}")
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE {table}__rebuilt RENAME TO {table}")


def upsert(con: duckdb.DuckDBPyConnection, record_type: type[Any], records: list[Any]) -> None:
    """Insert records of one kind with one statement; every column of the record is written.

    Duplicate keys inside one batch are collapsed first (DuckDB would keep one silently): an "update" record kind
    keeps the last row, a "nothing" kind (first seen wins) keeps the first.
    """
    if not records:
        return
    key, action, names = record_type.key, on_conflict(record_type), columns(record_type)
    rows = [{k: v.value if isinstance(v, Enum) else v for k, v in as_row(r).items()} for r in records]
    frame = pd.DataFrame(rows, columns=names).drop_duplicates(subset=list(key), keep="last" if action == "update" else "first")
    view = _view_name(record_type)
    con.register(view, frame)
    cols = ", ".join(names)
    updates = [c for c in names if c not in key]
    conflict = "DO NOTHING" if action == "nothing" or not updates else (
        "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates))
    con.execute(f"INSERT INTO {record_type.table} ({cols}) SELECT {cols} FROM {view} ON CONFLICT ({', '.join(key)}) {conflict}")
    con.unregister(view)  # on failure the caller rolls back first (an aborted transaction refuses even this)


def _view_name(record_type: type[Any]) -> str:
    return f"_batch_{record_type.__name__}"


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch, local_time: LocalTime | None = None) -> None:
    """All records of one batch in one transaction. Mentions and their tone of the batch's articles are replaced,
    not merged; each written article gets its local day."""
    local_time = local_time or LocalTime()
    article_ids = sorted({row.article_id for row in batch.of(ArticleRow)})
    con.execute("BEGIN TRANSACTION")
    try:
        for record_type in RECORD_TYPES:
            if record_type in (MentionRow, MentionToneRow) and article_ids:
                con.execute(f"DELETE FROM {record_type.table} WHERE article_id IN (SELECT unnest(?::VARCHAR[]))",
                            [article_ids])
            upsert(con, record_type, batch.of(record_type))
            if record_type is ArticleRow and article_ids:
                con.execute(f"UPDATE articles SET local_day = {local_time.day_sql(LOCAL_DAY_SOURCE)} "
                            "WHERE article_id IN (SELECT unnest(?::VARCHAR[]))", [article_ids])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        for record_type in RECORD_TYPES:
            with contextlib.suppress(duckdb.Error):
                con.unregister(_view_name(record_type))
        raise


def dict_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The query's rows as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the main tables."""
    return {t: scalar(con, f"SELECT count(*) FROM {t}") for t in ("feeds", "entries", "articles", "article_sources", "mentions", "runs")}


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first column of the first row (a query that returns no row is a bug here: RuntimeError)."""
    rows = con.execute(sql, params or []).fetchmany(2)  # not fetchone: it leaves the result open on the connection
    if not rows:
        raise RuntimeError(f"query returned no row: {sql}")
    return rows[0][0]
