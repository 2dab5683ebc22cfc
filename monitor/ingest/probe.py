"""`monitor feeds check --fetch` and `monitor feeds discover`: probe feeds once, without writing anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from monitor.config import Config
from monitor.errors import FetchError
from monitor.ingest.discover import Candidate, discover, yaml_entries
from monitor.ingest.feeds import parse_feed
from monitor.ingest.fetch import FetchPolicy, HostLimiter, fetch, make_client
from monitor.ingest.sitemaps import parse_sitemap
from monitor.localtime import local_time

UTC = dt.UTC


def probe_feeds(config: Config, only: list[str] | None = None, client=None) -> Iterator[dict]:
    """Yield {feed, status, detail} per feed: ok | http_error | not_a_feed | stale | empty."""
    settings = config.settings
    policy = FetchPolicy.from_settings(settings)
    limiter = HostLimiter(settings.per_host_concurrency, settings.per_host_gap_s)
    feeds = [f for f in config.feeds if not only or f.name in only]
    own_client = client is None
    client = client or make_client(policy)
    now = dt.datetime.now(UTC)

    def one(feed) -> dict:
        try:
            with limiter(feed.url):
                result = fetch(client, feed.url, policy)
        except FetchError as exc:
            return {"feed": feed.name, "status": "http_error", "detail": exc.reason}
        moved = f"; moved permanently to {result.permanent_redirect_to}" if result.permanent_redirect_to else ""
        if feed.kind == "sitemap":
            sitemap = parse_sitemap(result.body, result.final_url, now=now)
            if sitemap.kind == "invalid":
                return {"feed": feed.name, "status": "not_a_feed", "detail": f"not a sitemap: {sitemap.reason}{moved}"}
            size = f"{len(sitemap.children)} child sitemaps" if sitemap.kind == "index" else f"{len(sitemap.urls)} URLs"
            return {"feed": feed.name, "status": "ok" if sitemap.children or sitemap.urls else "empty",
                    "detail": f"HTTP {result.status_code}, sitemap {sitemap.kind}, {size}{moved}"}
        parsed = parse_feed(result.body, result.final_url, content_type=result.content_type, now=now)
        if not parsed.is_feed:
            return {"feed": feed.name, "status": "not_a_feed", "detail": (parsed.bozo_reason or "") + moved}
        if not parsed.entries:
            return {"feed": feed.name, "status": "empty", "detail": f"{parsed.version}, 0 items{moved}"}
        dates = [e.published_at for e in parsed.entries if e.published_at]
        newest = max(dates) if dates else None
        age = f"newest item {(now - newest).total_seconds() / 3600:.1f} h old" if newest else "no item dates"
        status = "stale" if newest and now - newest > dt.timedelta(days=3) else "ok"
        return {"feed": feed.name, "status": status,
                "detail": f"HTTP {result.status_code}, {parsed.version}, {len(parsed.entries)} items, {age}{moved}"}

    try:
        with ThreadPoolExecutor(max_workers=settings.fetch_workers) as pool:
            yield from pool.map(one, feeds)
    finally:
        if own_client:
            client.close()


def discover_site(config: Config, site_url: str, client=None) -> list[Candidate]:
    """The feeds and sitemaps of a site (monitor/ingest/discover.py), fetched with the configured limits."""
    settings = config.settings
    policy = FetchPolicy.from_settings(settings)
    limiter = HostLimiter(settings.per_host_concurrency, settings.per_host_gap_s)
    own_client = client is None
    client = client or make_client(policy)
    try:
        return discover(client, policy, limiter, site_url, dt.datetime.now(UTC), local=local_time(settings))
    finally:
        if own_client:
            client.close()


def discover_report(config: Config, site_url: str, outlet: str | None = None, client=None) -> list[str]:
    """`monitor feeds discover`: one line per candidate, then feeds.yaml entries for the ones that work."""
    candidates = discover_site(config, site_url, client)
    lines = [f"{'ok' if c.ok else 'no':<3} {c.kind:<8} {c.url}  [{c.found_by}] {c.detail}" for c in candidates]
    host = site_url.split("://")[-1].split("/")[0].removeprefix("www.")
    entries = yaml_entries(candidates, outlet or host, host.split(".")[0])
    return lines + (["", "# feeds.yaml entries:", entries.rstrip("\n")] if entries else ["", "no working feed or sitemap found"])
