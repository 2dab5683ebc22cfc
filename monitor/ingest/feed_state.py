"""One feed fetch: fetching and parsing it, and the pure step from the feed's stored state to its next state.

`fetch_feed` does the network work and returns a `FeedOutcome` (never raises for a bad feed).
`advance_feed_state(state, outcome, now, schedule)` is a pure function: the new `FeedRow` (validators, backoff,
next due time, last status) and the fetch-log row. `feed_entries` turns a parsed feed into entry rows.

Schedule rules (docs/schema.md, `feeds`): after a success the feed is due again after its interval (±5%);
after a failure after interval × 2^(failures − 1) (±10%), capped at `max_backoff`, and never before a 429/503
Retry-After. Validators are not sent once a day (`UNCONDITIONAL_EVERY`), so a server that keeps answering 304
wrongly is caught; a server that does not honour validators is recognised by an unchanged body hash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass

import httpx

from monitor.config import FeedConfig
from monitor.errors import BlockedAddressError, FetchError, RateLimitedError
from monitor.ingest.feeds import ParsedFeed, parse_feed
from monitor.ingest.fetch import FetchPolicy, FetchResult, HostLimiter, polite_fetch
from monitor.ingest.sitemap_source import SitemapRules, read_sitemap
from monitor.localtime import LocalTime
from monitor.records import EntryRow, EntrySourceRow, FeedFetchRow, FeedRow
from monitor.statuses import DateStatus, FeedStatus

UNCONDITIONAL_EVERY = dt.timedelta(hours=24)  # validators can lie: refetch without them once a day


@dataclass(frozen=True)
class FeedSchedule:
    """How often a feed is due: its interval, the backoff cap, and a uniform draw in [0, 1) for jitter."""

    interval: dt.timedelta
    max_backoff: dt.timedelta
    jitter: float = 0.5


@dataclass
class FeedOutcome:
    """What one fetch of a feed gave: a result and its parse, or an error."""

    feed: FeedConfig
    url: str
    result: FetchResult | None = None
    error: FetchError | None = None
    parsed: ParsedFeed | None = None
    unchanged_body: bool = False
    via_fallback: bool = False  # read from the outlet's fallback source (monitor/ingest/fallback.py)

    @property
    def status(self) -> FeedStatus:
        if self.error is not None:
            if isinstance(self.error, RateLimitedError):
                return FeedStatus.RATE_LIMITED
            return FeedStatus.BLOCKED if isinstance(self.error, BlockedAddressError) else FeedStatus.ERROR
        if self.result is not None and (self.result.not_modified or self.unchanged_body):
            return FeedStatus.NOT_MODIFIED
        if self.parsed is not None and not self.parsed.is_feed:
            return FeedStatus.NOT_A_FEED
        return FeedStatus.OK

    @property
    def failed(self) -> bool:
        return self.status in (FeedStatus.ERROR, FeedStatus.BLOCKED, FeedStatus.RATE_LIMITED, FeedStatus.NOT_A_FEED)

    @property
    def reason(self) -> str | None:
        """Why it failed, or what was odd about a feed that was read (malformed, truncated)."""
        if self.error is not None:
            return self.error.reason
        parsed = self.parsed
        if self.status is FeedStatus.NOT_A_FEED and parsed is not None:
            return f"not a feed: {parsed.bozo_reason}"
        if self.status is not FeedStatus.OK or parsed is None:
            return None
        reason = f"malformed feed, entries recovered ({parsed.bozo_reason})" if parsed.bozo else None
        notes = [reason] if reason else []
        if parsed.truncated:
            notes.append(f"{parsed.truncated} items over the cap ignored")
        if parsed.skipped:
            reasons = Counter(why for _, why in parsed.skipped)
            notes.append(f"{len(parsed.skipped)} items skipped (" + "; ".join(f"{n}: {why}" for why, n in reasons.most_common(3)) + ")")
        return "; ".join(notes) or None


def current_url(feed: FeedConfig, state: FeedRow | None) -> str:
    """The URL to fetch: the state's (moved by a permanent redirect) unless the operator changed the feed's URL."""
    if state is not None and state.configured_url == feed.url and state.url:
        return state.url
    return feed.url


def fetch_feed(client: httpx.Client, policy: FetchPolicy, limiter: HostLimiter, feed: FeedConfig,
               state: FeedRow | None, now: dt.datetime, *, max_items: int, local: LocalTime | None = None,
               sitemap_rules: SitemapRules | None = None) -> FeedOutcome:
    """Fetch and parse one feed; failures come back in the outcome, never as exceptions. A sitemap is fetched
    without validators and read every time (an index can stay the same while its children change); what is new
    is decided by the entries' dates (monitor/ingest/sitemap_source.py)."""
    url = current_url(feed, state)
    outcome = FeedOutcome(feed, url)
    last_unconditional = state.last_unconditional_at if state else None
    conditional = (last_unconditional is not None and now - last_unconditional < UNCONDITIONAL_EVERY
                   and feed.kind != "sitemap")
    try:
        outcome.result = polite_fetch(client, url, policy, limiter, now,
                                      etag=state.etag if state and conditional else None,
                                      last_modified=state.last_modified if state and conditional else None)
    except FetchError as exc:
        outcome.error = exc
        return outcome
    result = outcome.result
    if result.not_modified:
        return outcome
    if feed.kind == "sitemap":
        try:
            outcome.parsed = read_sitemap(client, policy, limiter, result, state.last_success_at if state else None,
                                          now, rules=sitemap_rules or SitemapRules(), max_items=max_items, local=local)
        except Exception as exc:  # a reader bug must cost this feed, not the run (the reason is stored)
            outcome.parsed = ParsedFeed(is_feed=False, bozo_reason=f"sitemap not read: {type(exc).__name__}: {exc}")
        return outcome
    if state is not None and state.body_hash and state.body_hash == result.body_sha1:
        outcome.unchanged_body = True  # the server ignored our validators, but nothing changed
        return outcome
    outcome.parsed = parse_feed(result.body, result.final_url, content_type=result.content_type, now=now,
                                max_items=max_items, max_url_length=policy.max_url_length, local=local)
    return outcome


def backoff_delay(interval: dt.timedelta, failures: int, max_backoff: dt.timedelta, jitter: float) -> dt.timedelta:
    """interval × 2^(failures − 1), capped, times 0.9–1.1 (from `jitter` in [0, 1)) so feeds do not align."""
    base = min(interval * (2 ** max(0, failures - 1)), max_backoff)
    return base * (0.9 + 0.2 * jitter)


def advance_feed_state(state: FeedRow | None, outcome: FeedOutcome, now: dt.datetime, schedule: FeedSchedule,
                       run_id: str) -> tuple[FeedRow, FeedFetchRow]:
    """The feed's next state and the fetch-log row, from its stored state (None: never fetched) and the outcome."""
    feed = outcome.feed
    before = state or FeedRow(feed_id=feed.name)
    row = dataclasses.replace(before, feed_id=feed.name, configured_url=feed.url, url=before.url or feed.url,
                              outlet=feed.outlet, language=feed.language, last_fetch_at=now,
                              consecutive_failures=before.consecutive_failures or 0)
    if before.configured_url != feed.url:
        row.url = feed.url  # the operator changed the URL: start again from it
    log_row = FeedFetchRow(run_id=run_id, feed_id=feed.name, fetched_at=now, url=outcome.url)
    status, result = outcome.status, outcome.result
    if outcome.failed:
        failures = row.consecutive_failures + 1
        delay = backoff_delay(schedule.interval, failures, schedule.max_backoff, schedule.jitter)
        if isinstance(outcome.error, RateLimitedError) and outcome.error.retry_after is not None:
            delay = max(delay, dt.timedelta(seconds=outcome.error.retry_after))
        http_status = outcome.error.status_code if outcome.error is not None else (result.status_code if result else None)
        row = dataclasses.replace(row, consecutive_failures=failures, failing_since=row.failing_since or now,
                                  next_fetch_at=now + delay, last_status=status, last_reason=outcome.reason,
                                  last_http_status=http_status)
        log_row.status, log_row.reason, log_row.http_status = status, outcome.reason, http_status
        return row, log_row
    assert result is not None  # not failed: there is a result
    log_row.elapsed_ms, log_row.http_status = int(result.elapsed_s * 1000), result.status_code
    if result.permanent_redirect_to:
        row.url = result.permanent_redirect_to
    if result.validators_usable:
        row.etag = result.etag or (row.etag if result.not_modified else None)
        row.last_modified = result.last_modified or (row.last_modified if result.not_modified else None)
    else:
        row.etag = row.last_modified = None
    had_validators = state is not None and bool(state.etag or state.last_modified)
    if not had_validators or row.last_unconditional_at is None or now - row.last_unconditional_at >= UNCONDITIONAL_EVERY:
        row.last_unconditional_at = now
    row = dataclasses.replace(row, consecutive_failures=0, failing_since=None, last_success_at=now,
                              next_fetch_at=now + schedule.interval * (0.95 + 0.1 * schedule.jitter),
                              last_http_status=result.status_code, last_status=status, last_reason=outcome.reason)
    if status is FeedStatus.NOT_MODIFIED:
        log_row.status, log_row.reason = status, "HTTP 304" if result.not_modified else "body unchanged"
    else:
        assert outcome.parsed is not None
        row.body_hash, row.items_last = result.body_sha1, len(outcome.parsed.entries)
        log_row.status, log_row.reason, log_row.items = status, outcome.reason, len(outcome.parsed.entries)
    return row, log_row


def feed_entries(outcome: FeedOutcome, now: dt.datetime) -> tuple[list[EntryRow], list[EntrySourceRow]]:
    """Entry rows (the page work queue) and where each was seen, for a feed that was read."""
    if outcome.status is not FeedStatus.OK or outcome.parsed is None:
        return [], []
    feed = outcome.feed
    entries, sources = [], []
    for entry in outcome.parsed.entries:
        entries.append(EntryRow(entry_id=entry.url_key, url=entry.url, first_feed_id=feed.name, title=entry.title,
                                summary=entry.summary, published_at=entry.published_at,
                                date_status=DateStatus(entry.date_status), raw_date=entry.raw_date,
                                source_name=entry.source_name, discovered_at=now))
        sources.append(EntrySourceRow(
            entry_id=entry.url_key, feed_id=feed.name,
            outlet=entry.source_name if feed.kind == "google_news" and entry.source_name and not outcome.via_fallback
            else feed.outlet,
            guid=entry.guid, entry_title=entry.title, entry_published_at=entry.published_at, first_seen_at=now))
    return entries, sources
