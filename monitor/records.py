"""One typed record per stored row kind, and the batch that carries them to the database.

Each record's fields are its table's columns, in order; the column lists of the writer are derived from them, a
test compares them with the migrated schema (monitor/db) and with docs/schema.md, so the three cannot drift. A
record is written whole: every column is set (None is NULL), so a field missing from one row can never drop a
column for the whole batch. Partial updates of a queue row are records of their own (`EntryUpdate`,
`AlertUpdate`).

Statuses are `monitor.statuses` enums (stored as their string values).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from monitor.statuses import (
    AlertKind,
    ArticleStatus,
    CorrectionKind,
    DateSource,
    DateStatus,
    EntryState,
    FeedStatus,
    RunStatus,
    SchedulerEvent,
)


@dataclass
class FeedRow:
    """feeds: one row per configured feed, its validators and its schedule (the feed state)."""

    table: ClassVar[str] = "feeds"
    key: ClassVar[tuple[str, ...]] = ("feed_id",)
    feed_id: str
    configured_url: str | None = None
    url: str | None = None
    outlet: str | None = None
    language: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_status: FeedStatus | None = None
    last_reason: str | None = None
    last_http_status: int | None = None
    consecutive_failures: int = 0
    failing_since: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_fetch_at: dt.datetime | None = None
    next_fetch_at: dt.datetime | None = None
    items_last: int | None = None
    last_unconditional_at: dt.datetime | None = None
    blocked_fetches: int = 0  # the outlet's own feed refused us (401/403, a bot wall) this many fetches in a row
    fallback_since: dt.datetime | None = None  # reading the fallback source instead of the own feed since then
    fallback_reason: str | None = None
    probe_at: dt.datetime | None = None  # when the own feed is tried again while on the fallback


@dataclass
class FeedFetchRow:
    """feed_fetches: the log of every fetch of every feed."""

    table: ClassVar[str] = "feed_fetches"
    key: ClassVar[tuple[str, ...]] = ("run_id", "feed_id")
    run_id: str
    feed_id: str
    fetched_at: dt.datetime | None = None
    status: FeedStatus | None = None
    http_status: int | None = None
    reason: str | None = None
    items: int | None = None
    new_entries: int | None = None
    elapsed_ms: int | None = None
    url: str | None = None


@dataclass
class EntryRow:
    """entries: every distinct item link seen in a feed; the page work queue. First seen wins."""

    table: ClassVar[str] = "entries"
    key: ClassVar[tuple[str, ...]] = ("entry_id",)
    on_conflict: ClassVar[str] = "nothing"
    entry_id: str
    url: str | None = None
    first_feed_id: str | None = None
    title: str | None = None
    summary: str | None = None
    published_at: dt.datetime | None = None
    date_status: DateStatus | None = None
    raw_date: str | None = None
    source_name: str | None = None
    discovered_at: dt.datetime | None = None
    state: EntryState = EntryState.PENDING
    attempts: int = 0
    last_reason: str | None = None
    next_attempt_at: dt.datetime | None = None
    article_id: str | None = None


@dataclass
class EntryUpdate:
    """A change of an entry's queue state (written over the `entries` row)."""

    table: ClassVar[str] = "entries"
    key: ClassVar[tuple[str, ...]] = ("entry_id",)
    entry_id: str
    attempts: int
    state: EntryState
    last_reason: str | None = None
    next_attempt_at: dt.datetime | None = None
    article_id: str | None = None


@dataclass
class EntrySourceRow:
    """entry_sources: which feed carried which entry. First seen wins."""

    table: ClassVar[str] = "entry_sources"
    key: ClassVar[tuple[str, ...]] = ("entry_id", "feed_id")
    on_conflict: ClassVar[str] = "nothing"
    entry_id: str
    feed_id: str
    outlet: str | None = None
    guid: str | None = None
    entry_title: str | None = None
    entry_published_at: dt.datetime | None = None
    first_seen_at: dt.datetime | None = None


@dataclass
class ArticleRow:
    """articles: one row per canonical URL. `local_day` is derived by the store (see DERIVED_COLUMNS)."""

    table: ClassVar[str] = "articles"
    key: ClassVar[tuple[str, ...]] = ("article_id",)
    article_id: str
    url: str | None = None
    canonical_url: str | None = None
    final_url: str | None = None
    outlet: str | None = None
    site_name: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: dt.datetime | None = None
    date_source: DateSource | None = None
    fetched_at: dt.datetime | None = None
    language: str | None = None
    text: str | None = None
    lead: str | None = None
    content_hash: str | None = None
    minhash: list[int] | None = None
    same_text_as: str | None = None
    cluster_id: str | None = None
    status: ArticleStatus | None = None
    status_reason: str | None = None
    updated_at: dt.datetime | None = None


@dataclass
class MentionRow:
    """mentions: one row per (article, agency)."""

    table: ClassVar[str] = "mentions"
    key: ClassVar[tuple[str, ...]] = ("article_id", "agency_id")
    article_id: str
    agency_id: str
    mention_count: int = 0
    in_title: bool = False
    in_lead: bool = False
    forms: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    legacy_name: bool = False


@dataclass
class AgencyRow:
    """agencies: the register as of the last run."""

    table: ClassVar[str] = "agencies"
    key: ClassVar[tuple[str, ...]] = ("agency_id",)
    agency_id: str
    name: str | None = None
    type: str | None = None
    parent: str | None = None
    abbreviations: list[str] = field(default_factory=list)


@dataclass
class RunRow:
    """runs: one row per ingest run."""

    table: ClassVar[str] = "runs"
    key: ClassVar[tuple[str, ...]] = ("run_id",)
    run_id: str
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    status: RunStatus | None = None
    feeds_due: int = 0
    feeds_ok: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    duplicates: int = 0
    extraction_failures: int = 0
    pages_failed: int = 0
    spooled_batches: int = 0
    error: str | None = None
    pid: int | None = None
    trigger: str | None = None


@dataclass
class ArticleAnalysisRow:
    """article_analysis: tone (title + lead) and topics of an article."""

    table: ClassVar[str] = "article_analysis"
    key: ClassVar[tuple[str, ...]] = ("article_id",)
    article_id: str
    model_version: str | None = None
    tone: str | None = None
    p_negative: float | None = None
    p_neutral: float | None = None
    p_positive: float | None = None
    topics: list[str] = field(default_factory=list)
    topic_scores: list[float] = field(default_factory=list)
    analyzed_at: dt.datetime | None = None


@dataclass
class MentionToneRow:
    """mention_tone: tone toward each agency an article mentions."""

    table: ClassVar[str] = "mention_tone"
    key: ClassVar[tuple[str, ...]] = ("article_id", "agency_id")
    article_id: str
    agency_id: str
    model_version: str | None = None
    tone: str | None = None
    p_negative: float | None = None
    p_neutral: float | None = None
    p_positive: float | None = None
    sentences_scored: int = 0
    analyzed_at: dt.datetime | None = None
    # per mention sentence (mentions.sentences, in order): the model's tone and probabilities before aggregation
    sentence_tones: list[str] = field(default_factory=list)
    sentence_p_negative: list[float] = field(default_factory=list)
    sentence_p_positive: list[float] = field(default_factory=list)


@dataclass
class CorrectionRow:
    """corrections: an analyst's correction (never replaced: the newest per article, agency and kind applies)."""

    table: ClassVar[str] = "corrections"
    key: ClassVar[tuple[str, ...]] = ("correction_id",)
    on_conflict: ClassVar[str] = "nothing"
    correction_id: str
    article_id: str
    agency_id: str | None = None  # NULL for kind 'article'
    kind: CorrectionKind | None = None
    previous_value: str | None = None
    new_value: str | None = None
    note: str | None = None
    user_name: str | None = None
    created_at: dt.datetime | None = None


@dataclass
class AlertRow:
    """alerts: each alert once; sending is retried until it succeeds. First recorded wins."""

    table: ClassVar[str] = "alerts"
    key: ClassVar[tuple[str, ...]] = ("alert_key",)
    on_conflict: ClassVar[str] = "nothing"
    alert_key: str
    kind: AlertKind | None = None
    subject: str | None = None
    body: str | None = None
    created_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    attachments: list[str] = field(default_factory=list)  # files an e-mail attaches (the weekly report PDF)
    delivered_to: list[str] = field(default_factory=list)  # channels that already have it: webhook, email


@dataclass
class AlertUpdate:
    """The outcome of one attempt to send an alert (written over the `alerts` row)."""

    table: ClassVar[str] = "alerts"
    key: ClassVar[tuple[str, ...]] = ("alert_key",)
    alert_key: str
    sent_at: dt.datetime | None
    attempts: int
    last_error: str | None = None
    delivered_to: list[str] = field(default_factory=list)


@dataclass
class SchedulerEventRow:
    """scheduler_events: skipped, missed, failed and written scheduler jobs."""

    table: ClassVar[str] = "scheduler_events"
    key: ClassVar[tuple[str, ...]] = ("event_at", "job", "event")
    on_conflict: ClassVar[str] = "nothing"
    event_at: dt.datetime
    job: str
    event: SchedulerEvent
    detail: str | None = None
    slot_at: dt.datetime | None = None  # the cron slot a digest/weekly event is about


@dataclass
class HostHoldRow:
    """host_holds: a host that asked (429/503 with Retry-After) to be left alone until a time."""

    table: ClassVar[str] = "host_holds"
    key: ClassVar[tuple[str, ...]] = ("host",)
    host: str
    held_until: dt.datetime | None = None
    reason: str | None = None
    set_at: dt.datetime | None = None


@dataclass
class FeedSwitchRow:
    """feed_switches: an outlet switched to its fallback source or back to its own feed (monitor/ingest/fallback.py)."""

    table: ClassVar[str] = "feed_switches"
    key: ClassVar[tuple[str, ...]] = ("feed_id", "switched_at")
    feed_id: str
    switched_at: dt.datetime
    to_fallback: bool
    url: str
    reason: str | None = None
    run_id: str | None = None


@dataclass
class GoogleLinkRow:
    """google_news_links: the publisher URL behind a new-style Google News article id (monitor/ingest/gnews.py)."""

    table: ClassVar[str] = "google_news_links"
    key: ClassVar[tuple[str, ...]] = ("google_id",)
    google_id: str
    publisher_url: str
    decoded_at: dt.datetime


Record = (FeedRow | FeedFetchRow | EntryRow | EntryUpdate | EntrySourceRow | ArticleRow | MentionRow | AgencyRow
          | RunRow | ArticleAnalysisRow | MentionToneRow | AlertRow | AlertUpdate | SchedulerEventRow | HostHoldRow
          | GoogleLinkRow | FeedSwitchRow)

# Write order inside one batch's transaction (entries before their updates; articles before their mentions).
RECORD_TYPES: tuple[type[Any], ...] = (
    FeedRow, FeedFetchRow, EntryRow, EntryUpdate, EntrySourceRow, ArticleRow, MentionRow, AgencyRow,
    ArticleAnalysisRow, MentionToneRow, RunRow, AlertRow, AlertUpdate, SchedulerEventRow, HostHoldRow, GoogleLinkRow,
    FeedSwitchRow, CorrectionRow,
)
# Full-row records, one per table (the updates above are partial rows of these tables).
TABLE_RECORDS: dict[str, type[Any]] = {cls.table: cls for cls in RECORD_TYPES if cls not in (EntryUpdate, AlertUpdate)}
# Columns the store computes itself after writing (from other columns, in the configured zone).
DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {"articles": ("local_day",)}


def columns(record_type: type[Any]) -> list[str]:
    """The record's columns, in table order."""
    return [f.name for f in dataclasses.fields(record_type)]


def on_conflict(record_type: type[Any]) -> str:
    """'update' (the row is replaced, key kept) or 'nothing' (first seen wins)."""
    return str(getattr(record_type, "on_conflict", "update"))


def as_row(record: Any) -> dict[str, Any]:
    """A record's values by column name (shallow: lists are shared, not copied)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


@dataclass
class Batch:
    """Records written together in one transaction. Rows of one kind keep their order."""

    records: dict[type[Any], list[Any]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Iterable[Any]) -> Batch:
        batch = cls()
        batch.extend(records)
        return batch

    def add(self, *records: Any) -> None:
        for record in records:
            self.records.setdefault(type(record), []).append(record)

    def extend(self, records: Iterable[Any]) -> None:
        self.add(*records)

    def of(self, record_type: type[Any]) -> list[Any]:
        return self.records.get(record_type, [])

    def merge(self, other: Batch) -> None:
        for kind, rows in other.records.items():
            self.records.setdefault(kind, []).extend(rows)

    def __bool__(self) -> bool:
        return any(self.records.values())

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """A JSON-ready form for the spool: record type name -> rows (datetimes as ISO strings)."""
        return {kind.__name__: [{k: _jsonable(v) for k, v in as_row(r).items()} for r in rows]
                for kind, rows in self.records.items() if rows}

    @classmethod
    def from_json(cls, data: dict[str, list[dict[str, Any]]]) -> Batch:
        """The inverse of `to_json`; unknown record kinds or columns raise ValueError."""
        by_name = {kind.__name__: kind for kind in RECORD_TYPES}
        batch = cls()
        for name, rows in data.items():
            if name not in by_name:
                raise ValueError(f"unknown record kind {name!r} in spooled batch")
            kind = by_name[name]
            hints = typing.get_type_hints(kind)
            for row in rows:
                batch.add(kind(**{k: _from_json(hints[k], v) for k, v in row.items()}))
        return batch


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _from_json(hint: Any, value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if dt.datetime in options:
        return dt.datetime.fromisoformat(value)
    if dt.date in options:
        return dt.date.fromisoformat(value)
    return value
