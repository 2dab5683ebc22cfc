"""`kind: sitemap` feeds: a Google News sitemap or a plain sitemap read as a feed (issue 15, part 3).

Rules:
- The feed's URL is a sitemap (`urlset`) or a sitemap index. From an index, the children changed since the last
  successful read (by their `lastmod`; a child without one is always read) are fetched, newest first, at most
  `settings.max_sitemap_children` per fetch and one level deep (an index inside an index is noted, not followed):
  a hostile index of 50,000 children costs at most that many requests. Every fetch goes through `polite_fetch`
  (timeouts, the body cap, private-address refusal, per-host politeness); the parser caps entries and
  decompressed size (monitor/ingest/sitemaps.py).
- Incremental: only URLs dated after the last successful read are entries (the first read: the last
  `settings.sitemap_first_days` days). The date is the Google News `publication_date`, else `lastmod`. A URL
  without either cannot be told new from old and is skipped with a reason (counted in the fetch log).
- The entry's published time is the news `publication_date` only: `lastmod` says when a page changed, not when it
  was published, so an entry with only `lastmod` has no feed date and the article page's own date is used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx

from monitor.errors import FetchError
from monitor.ingest.dates import parse_date
from monitor.ingest.feeds import Entry, ParsedFeed
from monitor.ingest.fetch import FetchPolicy, FetchResult, HostLimiter, polite_fetch
from monitor.ingest.sitemaps import Sitemap, SitemapUrl, newest_children, parse_sitemap
from monitor.ingest.urls import clean_url, url_key
from monitor.localtime import LocalTime
from monitor.statuses import DateStatus


@dataclass(frozen=True)
class SitemapRules:
    """How much of a sitemap one fetch reads: the first read's window and the children of an index per fetch."""

    first_days: float = 2.0
    max_children: int = 5


def read_sitemap(client: httpx.Client, policy: FetchPolicy, limiter: HostLimiter, result: FetchResult,
                 since: dt.datetime | None, now: dt.datetime, *, rules: SitemapRules, max_items: int,
                 local: LocalTime | None = None) -> ParsedFeed:
    """The entries of a fetched sitemap (or index) newer than `since` (None: the first read). Never raises for a
    bad sitemap: an unreadable root gives `is_feed=False` with the reason; a failing child is noted in `skipped`."""
    root = parse_sitemap(result.body, result.final_url, max_entries=max_items, local=local, now=now)
    if root.kind == "invalid":
        return ParsedFeed(is_feed=False, bozo_reason=f"not a sitemap ({root.reason})")
    parsed = ParsedFeed(is_feed=True, version=f"sitemap-{root.kind}", truncated=root.truncated)
    parsed.skipped.extend(root.skipped)
    cutoff = since or now - dt.timedelta(days=rules.first_days)
    documents: list[Sitemap] = [root]
    if root.kind == "index":
        documents = []
        for child in newest_children(root, since, rules.max_children):
            try:
                fetched = polite_fetch(client, child.loc, policy, limiter, now)
            except FetchError as exc:
                parsed.skipped.append((child.loc, f"child sitemap not read: {exc.reason}"))
                continue
            document = parse_sitemap(fetched.body, fetched.final_url, max_entries=max_items, local=local, now=now)
            if document.kind != "urlset":
                parsed.skipped.append((child.loc, "child is an index (one level is followed)" if document.kind == "index"
                                       else f"child sitemap not read: {document.reason}"))
                continue
            parsed.truncated += document.truncated
            parsed.skipped.extend(document.skipped)
            documents.append(document)
    seen: set[str] = set()
    for document in documents:
        for url in document.urls:
            entry = _entry(url, cutoff, now, local, parsed)
            if entry is not None and entry.url_key not in seen and len(parsed.entries) < max_items:
                seen.add(entry.url_key)
                parsed.entries.append(entry)
    return parsed


NO_DATE = "no publication_date or lastmod: cannot tell a new page from an old one"


def _entry(url: SitemapUrl, cutoff: dt.datetime, now: dt.datetime, local: LocalTime | None,
           parsed: ParsedFeed) -> Entry | None:
    if url.published is None:
        parsed.skipped.append((url.loc, NO_DATE))
        return None
    if url.published <= cutoff:
        return None  # read before (or older than the first read's window)
    link = clean_url(url.loc)
    raw = url.raw_date if url.news_published is not None else None
    published, status = parse_date(raw, now, local) if raw else (None, DateStatus.MISSING)
    return Entry(url=link, url_key=url_key(link), guid=None, title=url.news_title or "", summary="",
                 published_at=published, date_status=status, raw_date=raw)
