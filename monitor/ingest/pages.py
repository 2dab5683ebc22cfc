"""Fetching an entry's page: the publisher's URL behind a Google News link (monitor/ingest/gnews.py), the outlet's
one-page view or the following pages of a split article (monitor/ingest/pagination.py), and the host holds that
a 429/503 with Retry-After asks for. Nothing is sent to a held host (HostHeldError); failures are data on the
outcome, never raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import httpx

from monitor.config import Settings
from monitor.errors import FetchError, HostHeldError, PermanentFetchError, RateLimitedError, RetryableFetchError
from monitor.ingest.extract import decode_html
from monitor.ingest.fetch import FetchPolicy, FetchResult, HostLimiter, polite_fetch
from monitor.ingest.pagination import OnePageRule, next_page_link, one_page_url, show_all_link
from monitor.ingest.urls import decode_google_news_link, is_google_news_link
from monitor.records import EntryRow, GoogleLinkRow, HostHoldRow

log = logging.getLogger(__name__)


@dataclass
class PageOutcome:
    """One queued entry and what fetching its page gave."""

    entry: EntryRow
    outlet: str | None = None  # of the first feed that carried it
    result: FetchResult | None = None
    error: FetchError | None = None
    page_url: str | None = None
    more: list[FetchResult] = field(default_factory=list)  # the following pages of a split article
    incomplete: str | None = None  # why a following page is missing
    decoded: GoogleLinkRow | None = None  # a Google News id decoded in this run, to store


def fetch_page(client: httpx.Client, policy: FetchPolicy, limiter: HostLimiter, entry: EntryRow,
               outlet: str | None, now: dt.datetime, settings: Settings, *,
               decoded: str | FetchError | None = None) -> PageOutcome:
    """Fetch one entry's page, the whole article when it is split over pages (monitor/ingest/pagination.py);
    nothing is sent to a host that asked to be left alone (HostHeldError). A Google News link is replaced by the
    publisher's URL: read from an old-style id, or `decoded` (monitor/ingest/gnews.py; a FetchError there is the
    outcome's error)."""
    url = entry.url or ""
    if isinstance(decoded, FetchError):
        return PageOutcome(entry, outlet, page_url=url, error=decoded)
    if is_google_news_link(url):
        url = decode_google_news_link(url) or decoded or url
    outcome = PageOutcome(entry, outlet, page_url=url)
    rules = [OnePageRule(r.host, r.query, r.path_suffix) for r in settings.pagination]
    one_page = one_page_url(url, rules)
    try:
        if one_page is not None:
            try:
                outcome.result = polite_fetch(client, one_page, policy, limiter, now)
                outcome.page_url = one_page
            except (PermanentFetchError, RetryableFetchError) as exc:
                if isinstance(exc, RateLimitedError):
                    raise
                log.info("one-page view %s failed (%s); fetching %s", one_page, exc.reason, url)
        if outcome.result is None:
            outcome.result = polite_fetch(client, url, policy, limiter, now)
        _whole_article(client, policy, limiter, now, outcome, settings.max_article_pages)
    except FetchError as exc:
        outcome.error = exc
    return outcome


def _whole_article(client: httpx.Client, policy: FetchPolicy, limiter: HostLimiter, now: dt.datetime,
                   outcome: PageOutcome, max_pages: int) -> None:
    """Replace a first page by the page's own one-page view, or collect the following pages (bounded)."""
    result = outcome.result
    if result is None or not result.body or "html" not in (result.content_type or "html").lower():
        return
    html = decode_html(result.body, result.content_type)
    whole = show_all_link(html, result.final_url)
    if whole is not None:
        try:
            outcome.result = polite_fetch(client, whole, policy, limiter, now)
            return
        except FetchError as exc:
            log.info("one-page link %s failed (%s): following pages instead", whole, exc.reason)
    seen = {result.final_url}
    following = next_page_link(html, result.final_url)
    while following is not None and following not in seen and len(outcome.more) + 1 < max_pages:
        seen.add(following)
        try:
            page = polite_fetch(client, following, policy, limiter, now)
        except FetchError as exc:  # the text so far is kept; the gap is recorded with the page
            outcome.incomplete = f"page {len(outcome.more) + 2} of the article not fetched: {exc.reason}"
            return
        outcome.more.append(page)
        following = next_page_link(decode_html(page.body, page.content_type), page.final_url)


def host_holds(errors: list[tuple[str, FetchError | None]], now: dt.datetime, limiter: HostLimiter) -> list[HostHoldRow]:
    """Holds to store for (url, error) pairs whose server answered 429/503 with a Retry-After."""
    rows = {}
    for url, error in errors:
        if isinstance(error, RateLimitedError) and not isinstance(error, HostHeldError) and error.retry_after:
            host = limiter.host_of(url)
            rows[host] = HostHoldRow(host=host, held_until=now + dt.timedelta(seconds=error.retry_after),
                                     reason=error.reason, set_at=now)
    return list(rows.values())
