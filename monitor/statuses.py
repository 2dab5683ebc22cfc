"""Every status the monitor stores, in one place.

Each enum is a ``StrEnum``: its members compare equal to the strings stored in DuckDB, the schema's CHECK
constraints are generated from them (monitor/db/migrations), and docs/schema.md lists them (a test compares the
three). Adding a member therefore needs a migration that widens the CHECK; the test fails until it exists.
"""

from __future__ import annotations

from enum import StrEnum


class FeedStatus(StrEnum):
    """feeds.last_status and feed_fetches.status: the outcome of the last fetch of a feed."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"  # HTTP 304, or a 200 whose body did not change
    ERROR = "error"                # any other fetch failure (see the reason)
    RATE_LIMITED = "rate_limited"  # 429/503, with Retry-After honoured
    BLOCKED = "blocked"            # the address was refused (private network guard)
    NOT_A_FEED = "not_a_feed"      # the body is not RSS/Atom


class EntryState(StrEnum):
    """entries.state: the page work queue."""

    PENDING = "pending"
    RETRY = "retry"  # a retryable page failure; tried again after next_attempt_at
    DONE = "done"    # an article row exists (or the page failed for good: the article row says why)


class ArticleStatus(StrEnum):
    """articles.status: what extraction made of the page."""

    OK = "ok"
    PARTIAL = "partial"                # paywall or subscription teaser
    TOO_SHORT = "too_short"            # below min_text_chars, or a page that needs JavaScript
    WRONG_LANGUAGE = "wrong_language"
    NO_TEXT = "no_text"
    FAILED = "failed"                  # the extractor raised
    TIMEOUT = "timeout"                # the extraction worker ran out of time or memory
    FETCH_FAILED = "fetch_failed"      # the page could not be fetched (title from the feed)
    UNRESOLVED = "unresolved"          # a Google News link that never reached the publisher
    INTERSTITIAL = "interstitial"      # a consent wall, bot check or similar page instead of the article (retried)

    @classmethod
    def with_text(cls) -> tuple[ArticleStatus, ...]:
        """Statuses whose row carries the page's own text."""
        return (cls.OK, cls.PARTIAL)


class DateStatus(StrEnum):
    """entries.date_status: how the feed's date was read."""

    OK = "ok"
    MISSING = "missing"
    UNPARSED = "unparsed"
    FUTURE = "future"
    IMPLAUSIBLE = "implausible"


class DateSource(StrEnum):
    """articles.date_source: where published_at came from."""

    FEED = "feed"
    PAGE = "page"
    UNKNOWN = "unknown"  # published_at is NULL: days fall back to the fetch time


class RunStatus(StrEnum):
    """runs.status."""

    RUNNING = "running"      # in progress, or the process was killed
    OK = "ok"
    SPOOLED = "spooled"      # the database was locked: batches wait in the spool
    STOPPED = "stopped"      # asked to stop (SIGTERM): the last batch was committed
    DB_LOCKED = "db_locked"
    FAILED = "failed"


class Tone(StrEnum):
    """article_analysis.tone and mention_tone.tone; also the labels of every tone data set."""

    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class SchedulerEvent(StrEnum):
    """scheduler_events.event."""

    SKIPPED = "skipped"      # the previous run still going, or a cron-started run held the run lock
    DB_LOCKED = "db_locked"
    MISSED = "missed"
    ERROR = "error"
    WRITTEN = "written"      # the weekly files were written
    DONE = "done"            # a digest slot ran


class AlertKind(StrEnum):
    """alerts.kind."""

    SPIKE = "spike"
    FEED = "feed"
    RUN = "run"
    REPORT = "report"  # the weekly report was written (its files attached or linked)


class CorrectionKind(StrEnum):
    """corrections.kind: what an analyst corrected (monitor/db/corrections.py lists each kind's values)."""

    TONE = "tone"        # the tone toward an agency: negative, neutral or positive
    MENTION = "mention"  # the mention itself: wrong (not that agency) or right (undoes wrong)
    ARTICLE = "article"  # the whole article: irrelevant (left out of every figure) or relevant (undoes it)


# (table, column) -> the enum its values come from; the schema's CHECK constraints and the docs follow this map.
CHECKED_COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("feeds", "last_status"): FeedStatus,
    ("feed_fetches", "status"): FeedStatus,
    ("entries", "state"): EntryState,
    ("entries", "date_status"): DateStatus,
    ("articles", "status"): ArticleStatus,
    ("articles", "date_source"): DateSource,
    ("runs", "status"): RunStatus,
    ("article_analysis", "tone"): Tone,
    ("mention_tone", "tone"): Tone,
    ("scheduler_events", "event"): SchedulerEvent,
    ("alerts", "kind"): AlertKind,
    ("corrections", "kind"): CorrectionKind,
}


def sql_values(enum: type[StrEnum]) -> str:
    """The members as a SQL list: ``'ok', 'partial', ...``."""
    return ", ".join(f"'{member.value}'" for member in enum)
