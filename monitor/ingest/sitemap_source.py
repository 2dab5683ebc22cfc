"""`kind: sitemap` feeds: a Google News sitemap or a plain sitemap read as a feed (issue 15, part 3).

Rules:
- The feed's URL is a sitemap (`urlset`) or a sitemap index. From an index, the children changed inside the
  window below (by their `lastmod`; a child without one is always read) are fetched, newest first, at most
  `settings.max_sitemap_children` per fetch and one level deep (an index inside an index is noted, not followed;
  children over the limit are counted in the fetch reason): a hostile index of 50,000 children costs at most that
  many requests. Every fetch goes through `polite_fetch` (timeouts, the body cap, private-address refusal,
  per-host politeness); the parser caps entries and decompressed size (monitor/ingest/sitemaps.py).
- Incremental with a look-back: a URL is listed when it is dated inside `settings.sitemap_first_days` (2) before
  the last successful read (the first read: before now). The look-back covers date-only `lastmod`s, publication
  lag, clocks that disagree and a child that failed once; a URL listed again is already in the queue and is not
  fetched twice. The date is the Google News `publication_date`, else `lastmod`. A URL without either cannot be
  told new from old and is skipped with a reason (counted in the fetch log).
- Of the URLs in the window, the newest `max_items_per_feed` are listed (the rest counted): a sitemap ordered
  oldest-first loses nothing new to the cap.
- Only URLs and children on the feed's own site (the same registrable domain; the protocol asks for the same
  host) are read: a sitemap cannot credit another site's pages to this outlet.
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
from monitor.ingest.urls import clean_url, registrable_domain, url_key
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
    """The entries of a fetched sitemap (or index) dated inside the window before `since` (None: the first read).
    Never raises for a bad sitemap: an unreadable root gives `is_feed=False` with the reason; a failing child is
    noted in `skipped`."""
    root = parse_sitemap(result.body, result.final_url, max_entries=PROTOCOL_MAX_URLS, local=local, now=now)
    if root.kind == "invalid":
        return ParsedFeed(is_feed=False, bozo_reason=f"not a sitemap ({root.reason})")
    parsed = ParsedFeed(is_feed=True, version=f"sitemap-{root.kind}", truncated=root.truncated)
    parsed.skipped.extend(root.skipped)
    site = registrable_domain(result.final_url)
    cutoff = (since or now) - dt.timedelta(days=rules.first_days)
    documents: list[Sitemap] = [root]
    if root.kind == "index":
        documents = []
        children = [c for c in root.children if _same_site(c.loc, site, parsed)]
        changed = newest_children(Sitemap("index", children=children), cutoff, len(children))
        chosen, over = changed[: rules.max_children], len(changed) - rules.max_children
        if over > 0:
            parsed.skipped.append((result.final_url, f"{over} changed child sitemaps over max_sitemap_children "
                                                     "not read this time"))
        for child in chosen:
            try:
                fetched = polite_fetch(client, child.loc, policy, limiter, now)
            except FetchError as exc:
                parsed.skipped.append((child.loc, f"child sitemap not read: {exc.reason}"))
                continue
            document = parse_sitemap(fetched.body, fetched.final_url, max_entries=PROTOCOL_MAX_URLS, local=local, now=now)
            if document.kind != "urlset":
                parsed.skipped.append((child.loc, "child is an index (one level is followed)" if document.kind == "index"
                                       else f"child sitemap not read: {document.reason}"))
                continue
            parsed.truncated += document.truncated
            parsed.skipped.extend(document.skipped)
            documents.append(document)
    fresh: dict[str, tuple[dt.datetime, Entry]] = {}
    for document in documents:
        for url in document.urls:
            entry = _entry(url, cutoff, now, local, parsed) if _same_site(url.loc, site, parsed) else None
            if entry is not None and url.published is not None and entry.url_key not in fresh:
                fresh[entry.url_key] = (url.published, entry)
    newest = sorted(fresh.values(), key=lambda pair: pair[0], reverse=True)
    parsed.entries = [entry for _, entry in newest[:max_items]]
    parsed.truncated += max(0, len(newest) - max_items)
    return parsed


NO_DATE = "no publication_date or lastmod: cannot tell a new page from an old one"
PROTOCOL_MAX_URLS = 50_000  # a sitemap file holds at most 50,000 URLs (sitemaps.org)
def _same_site(loc: str, site: str, parsed: ParsedFeed) -> bool:
    if registrable_domain(loc) == site:
        return True
    parsed.skipped.append((loc[:120], f"on another site than {site}"))
    return False


def _entry(url: SitemapUrl, cutoff: dt.datetime, now: dt.datetime, local: LocalTime | None,
           parsed: ParsedFeed) -> Entry | None:
    if url.published is None:
        parsed.skipped.append((url.loc, NO_DATE))
        return None
    if url.published <= cutoff:
        return None  # listed before (or older than the first read's window)
    link = clean_url(url.loc)
    raw = url.raw_date if url.news_published is not None else None
    published, status = parse_date(raw, now, local) if raw else (None, DateStatus.MISSING)
    return Entry(url=link, url_key=url_key(link), guid=None, title=url.news_title or "", summary="",
                 published_at=published, date_status=status, raw_date=raw)
