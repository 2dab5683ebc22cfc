"""Fetching one entry's page (monitor/ingest/pages.py): host holds, the one-page view and its fallback."""

import datetime as dt

from monitor.dev.localserver import Reply
from monitor.errors import HostHeldError, RateLimitedError
from monitor.ingest.fetch import FetchPolicy, HostLimiter, make_client
from monitor.ingest.pages import fetch_page, host_holds
from monitor.records import EntryRow
from monitor.statuses import EntryState

from helpers import PARAGRAPHS, article_html, make_config

HTML = {"Content-Type": "text/html; charset=utf-8"}
NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)


def entry(url):
    return EntryRow(entry_id="e1", url=url, first_feed_id="f", title="Judul", summary="", published_at=None,
                    date_status="missing", raw_date=None, source_name=None, discovered_at=NOW, state=EntryState.PENDING,
                    attempts=0, last_reason=None, next_attempt_at=None, article_id=None)


def fetch(server, url, limiter=None, **settings):
    config = make_config([], **settings)
    policy = FetchPolicy.from_settings(config.settings)
    with make_client(policy) as client:
        return fetch_page(client, policy, limiter or HostLimiter(2, 0.0), entry(url), "Uji", NOW, config.settings)


def test_a_held_host_gets_no_request_and_the_outcome_says_why(server):
    server.routes["/berita/a"] = Reply(200, article_html("Judul", PARAGRAPHS["banjir"]).encode(), HTML)
    limiter = HostLimiter(2, 0.0)
    limiter.hold(server.url("/"), NOW + dt.timedelta(hours=1), "HTTP 429")
    outcome = fetch(server, server.url("/berita/a"), limiter)
    assert isinstance(outcome.error, HostHeldError) and outcome.result is None
    assert server.hits("/berita/a") == 0
    assert host_holds([(server.url("/berita/a"), outcome.error)], NOW, limiter) == []  # a hold is not stored twice


def test_a_429_with_retry_after_becomes_a_hold_for_the_whole_host(server):
    server.routes["/berita/b"] = Reply(429, b"", {"Retry-After": "120"})
    limiter = HostLimiter(2, 0.0)
    outcome = fetch(server, server.url("/berita/b"), limiter)
    assert isinstance(outcome.error, RateLimitedError)
    (hold,) = host_holds([(server.url("/berita/b"), outcome.error)], NOW, limiter)
    assert hold.held_until == NOW + dt.timedelta(seconds=120) and hold.host == limiter.host_of(server.url("/x"))


def test_a_failing_one_page_view_falls_back_to_the_article_url(server):
    server.routes["/read/a"] = Reply(200, article_html("Judul", PARAGRAPHS["banjir"]).encode(), HTML)
    server.routes["/read/a?page=all"] = Reply(404, b"")
    outcome = fetch(server, server.url("/read/a"), pagination=[{"host": "127.0.0.1", "query": "page=all"}])
    assert outcome.error is None and outcome.page_url == server.url("/read/a")
    assert server.hits("/read/a?page=all") == 1 and server.hits("/read/a") == 1
