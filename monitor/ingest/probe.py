"""`monitor feeds check --fetch`: fetch each feed once and say whether it works, without writing anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from monitor.config import Config
from monitor.errors import FetchError
from monitor.ingest.feeds import parse_feed
from monitor.ingest.fetch import FetchPolicy, HostLimiter, fetch, make_client

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
        parsed = parse_feed(result.body, result.final_url, content_type=result.content_type, now=now)
        moved = f"; moved permanently to {result.permanent_redirect_to}" if result.permanent_redirect_to else ""
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
