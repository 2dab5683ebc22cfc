"""The feed state step on its own: (state, outcome, now, schedule) -> (new state, fetch-log row), no I/O."""

import dataclasses
import datetime as dt

from monitor.config import FeedConfig
from monitor.errors import BlockedAddressError, PermanentFetchError, RateLimitedError, RetryableFetchError
from monitor.ingest.feed_state import (
    UNCONDITIONAL_EVERY,
    FeedOutcome,
    FeedSchedule,
    advance_feed_state,
    current_url,
    feed_entries,
)
from monitor.ingest.feeds import parse_feed
from monitor.ingest.fetch import FetchResult
from monitor.records import FeedRow
from monitor.statuses import DateStatus, FeedStatus

from helpers import rss

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
FEED = FeedConfig(name="uji", url="https://contoh.test/rss", outlet="Uji")
SCHEDULE = FeedSchedule(interval=dt.timedelta(minutes=60), max_backoff=dt.timedelta(hours=24), jitter=0.5)
BODY = rss([{"title": "KPK periksa saksi", "link": "https://contoh.test/a", "date": "Mon, 23 Nov 2026 09:00:00 +0700"}])


def read(body=BODY, **headers) -> FeedOutcome:
    result = FetchResult(FEED.url, FEED.url, 200, body, {k.replace("_", "-"): v for k, v in headers.items()})
    return FeedOutcome(FEED, FEED.url, result=result, parsed=parse_feed(body, FEED.url, now=NOW))


def failed(error) -> FeedOutcome:
    return FeedOutcome(FEED, FEED.url, error=error)


def step(state, outcome, now=NOW, schedule=SCHEDULE):
    return advance_feed_state(state, outcome, now, schedule, "run-1")


def test_a_first_read_saves_validators_and_is_due_after_the_interval():
    state, log_row = step(None, read(etag='"v1"'))
    assert (state.last_status, state.consecutive_failures, state.etag, state.items_last) == (FeedStatus.OK, 0, '"v1"', 1)
    assert state.next_fetch_at == NOW + dt.timedelta(minutes=60)  # jitter 0.5: exactly the interval
    assert state.last_unconditional_at == NOW and state.body_hash
    assert (log_row.status, log_row.items, log_row.http_status) == (FeedStatus.OK, 1, 200)


def test_failures_back_off_exponentially_up_to_the_cap_and_success_resets():
    state = None
    delays = []
    for hour in range(8):
        now = NOW + dt.timedelta(hours=hour)
        state, log_row = step(state, failed(RetryableFetchError("HTTP 503", status_code=503)), now)
        delays.append(state.next_fetch_at - now)
    assert delays[:4] == [dt.timedelta(hours=h) for h in (1, 2, 4, 8)]
    assert max(delays) == dt.timedelta(hours=24)
    assert state.consecutive_failures == 8 and state.failing_since == NOW and log_row.reason == "HTTP 503"
    state, _ = step(state, read(), NOW + dt.timedelta(hours=9))
    assert (state.consecutive_failures, state.failing_since) == (0, None)


def test_jitter_spreads_the_due_time_within_ten_percent():
    low = FeedSchedule(SCHEDULE.interval, SCHEDULE.max_backoff, jitter=0.0)
    high = FeedSchedule(SCHEDULE.interval, SCHEDULE.max_backoff, jitter=0.999)
    error = failed(RetryableFetchError("timeout"))
    assert step(None, error, schedule=low)[0].next_fetch_at == NOW + dt.timedelta(minutes=54)
    assert step(None, error, schedule=high)[0].next_fetch_at > NOW + dt.timedelta(minutes=65.9)


def test_retry_after_is_a_floor_for_the_next_fetch():
    state, _ = step(None, failed(RateLimitedError("HTTP 429", status_code=429, retry_after=7200)))
    assert state.last_status == FeedStatus.RATE_LIMITED and state.next_fetch_at == NOW + dt.timedelta(hours=2)


def test_the_failure_kind_comes_from_the_exception_type_not_its_words():
    assert step(None, failed(BlockedAddressError("refused 10.0.0.1")))[0].last_status == FeedStatus.BLOCKED
    assert step(None, failed(PermanentFetchError("blocked by the site's firewall")))[0].last_status == FeedStatus.ERROR
    not_a_feed = step(None, read(b"<html><body>Access denied</body></html>"))[0]
    assert not_a_feed.last_status == FeedStatus.NOT_A_FEED and not_a_feed.last_reason.startswith("not a feed")


def test_a_304_keeps_the_validators_and_an_unchanged_body_counts_as_not_modified():
    state, _ = step(None, read(etag='"v1"', last_modified="Mon, 23 Nov 2026 02:00:00 GMT"))
    later = NOW + dt.timedelta(hours=1)
    not_modified = FeedOutcome(FEED, FEED.url, result=FetchResult(FEED.url, FEED.url, 304, b"", {}, not_modified=True))
    after, log_row = step(state, not_modified, later)
    assert (after.etag, after.last_modified, after.last_status) == ('"v1"', "Mon, 23 Nov 2026 02:00:00 GMT", FeedStatus.NOT_MODIFIED)
    assert log_row.reason == "HTTP 304" and after.last_unconditional_at == NOW  # still within the day
    unchanged = FeedOutcome(FEED, FEED.url, result=FetchResult(FEED.url, FEED.url, 200, BODY, {}), unchanged_body=True)
    after, log_row = step(state, unchanged, later)
    assert after.last_status == FeedStatus.NOT_MODIFIED and log_row.reason == "body unchanged"


def test_validators_are_dropped_when_the_server_says_expires_0_and_refreshed_daily():
    state, _ = step(None, read(etag='"v1"', expires="0"))
    assert state.etag is None
    state, _ = step(None, read(etag='"v1"'))
    next_day = NOW + UNCONDITIONAL_EVERY
    assert step(state, read(etag='"v2"'), next_day)[0].last_unconditional_at == next_day


def test_a_permanent_redirect_moves_the_feed_until_the_operator_changes_its_url():
    moved = read()
    moved.result = dataclasses.replace(moved.result, permanent_redirect_to="https://baru.contoh.test/rss")
    state, _ = step(None, moved)
    assert state.url == "https://baru.contoh.test/rss" and current_url(FEED, state) == "https://baru.contoh.test/rss"
    edited = FEED.model_copy(update={"url": "https://lain.contoh.test/rss"})
    assert current_url(edited, state) == "https://lain.contoh.test/rss"
    outcome = FeedOutcome(edited, edited.url, error=RetryableFetchError("timeout"))
    assert step(state, outcome)[0].url == "https://lain.contoh.test/rss"


def test_the_step_does_not_change_the_state_it_was_given():
    state, _ = step(None, read(etag='"v1"'))
    before = dataclasses.replace(state)
    step(state, failed(RetryableFetchError("timeout")), NOW + dt.timedelta(hours=1))
    assert state == before and isinstance(state, FeedRow)


def test_entries_of_a_read_feed_and_none_of_a_failed_one():
    entries, sources = feed_entries(read(), NOW)
    assert [e.title for e in entries] == ["KPK periksa saksi"] and entries[0].date_status == DateStatus.OK
    assert sources[0].outlet == "Uji" and sources[0].entry_id == entries[0].entry_id
    assert feed_entries(failed(RetryableFetchError("timeout")), NOW) == ([], [])
