"""Automatic fallback for outlets that refuse us (issue 15, part 4).

Many outlets refuse datacenter addresses or library user agents (../shared/data/feeds lists them): their feed
answers 401/403, or a bot-wall ("Just a moment…", a captcha) instead of the feed. Rules:
- A fetch of the own feed counts as *blocked* when it answers 401 or 403 (with or without a recognised wall:
  either way the outlet refuses this client, and a fallback is what helps), a 503 or a page that is not a feed
  carrying a challenge marker (`WALL_MARKERS`). Other failures (timeouts, 5xx, 404, 429) neither count nor
  reset the count (an outlet that refuses and sometimes times out is still refusing); a feed read resets it.
- After `settings.fallback_after_failures` blocked fetches the outlet switches to its fallback: `fallback:` in
  the feed entry, "auto" (the default) being a Google News `site:` search for the feed's registrable domain in
  the feed's language edition (the way feeds.yaml already reads outlets that refuse datacenters; a feed on a
  feed-hosting service such as FeedBurner has no automatic fallback), "none" meaning no fallback; a fallback URL
  that names a sitemap is read as one. The switch is a `feed_switches` row with the reason; the fallback is read
  from the next run on. Turning the fallback off while switched switches back at once.
- While switched, each run reads the fallback; every `settings.fallback_probe_hours` it also fetches the own feed
  once (a probe). A probe that reads the feed switches back (another `feed_switches` row) and its items count.
- Articles keep the outlet's name either way (the feed's `outlet`, not the publisher name Google gives).
The state lives in the feed's row (`blocked_fetches`, `fallback_since`, `fallback_reason`, `probe_at`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from urllib.parse import quote

import httpx

from monitor.config import FeedConfig, Settings
from monitor.ingest.feed_state import FeedOutcome, FeedSchedule, advance_feed_state, fetch_feed
from monitor.ingest.fetch import FetchPolicy, HostLimiter
from monitor.ingest.sitemap_source import SitemapRules
from monitor.ingest.sitemaps import is_sitemap_url
from monitor.ingest.urls import registrable_domain
from monitor.localtime import LocalTime
from monitor.records import FeedFetchRow, FeedRow, FeedSwitchRow
from monitor.statuses import FeedStatus

# Lower-case substrings of bot-wall and challenge pages (Cloudflare, Akamai, Imperva/Incapsula, Sucuri, DataDome,
# PerimeterX, AWS WAF, captcha widgets), as their public pages show them; the name is what the reason says.
WALL_MARKERS = (
    ("cf-chl", "Cloudflare challenge"), ("challenge-platform", "Cloudflare challenge"),
    ("just a moment...", "Cloudflare challenge"), ("attention required! | cloudflare", "Cloudflare block"),
    ("cf-error-details", "Cloudflare block"), ("errors.edgesuite.net", "Akamai block"),
    ("incapsula incident", "Imperva block"), ("_incapsula_resource", "Imperva block"),
    ("sucuri website firewall", "Sucuri block"), ("captcha-delivery.com", "DataDome captcha"),
    ("px-captcha", "PerimeterX captcha"), ("awswaf", "AWS WAF challenge"), ("g-recaptcha", "captcha"),
    ("h-captcha", "captcha"), ("hcaptcha.com", "captcha"), ("checking your browser", "browser check"),
    ("ddos protection by", "DDoS protection page"), ("enable javascript and cookies to continue", "browser check"),
)
WALL_BYTES = 64 * 1024
SITE_SEARCH = "https://news.google.com/rss/search?q={query}&{edition}"
EDITIONS = {"id": "hl=id&gl=ID&ceid=ID:id", "en": "hl=en-ID&gl=ID&ceid=ID:en"}
FEED_HOSTS = {"feedburner.com", "feedproxy.google.com", "google.com", "rss.app", "fetchrss.com", "feedblitz.com"}


def wall_marker(body: bytes) -> str | None:
    """The name of the bot wall a page's first 64 KB shows, or None."""
    text = body[:WALL_BYTES].decode("utf-8", "replace").lower()
    return next((name for marker, name in WALL_MARKERS if marker in text), None)


def blocked_reason(outcome: FeedOutcome) -> str | None:
    """Why a fetch of an own feed counts as blocked (see the module docstring), or None."""
    error = outcome.error
    if error is not None and error.status_code in (401, 403):
        wall = wall_marker(error.body)
        return f"{error.reason}, {wall}" if wall else error.reason
    if error is not None and error.status_code == 503 and (wall := wall_marker(error.body)):
        return f"{error.reason}, {wall}"  # Cloudflare's "under attack" challenge answers 503
    if outcome.status is FeedStatus.NOT_A_FEED and outcome.result is not None:
        wall = wall_marker(outcome.result.body)
        return f"challenge page instead of the feed ({wall})" if wall else None
    return None


def fallback_url(feed: FeedConfig) -> str | None:
    """The fallback source of an outlet's feed: its `fallback` URL, a Google News site: search for the feed's
    registrable domain ("auto": sindikasi.okezone.com → okezone.com; Indonesian or English edition by the feed's
    language), or None ("none", a feed on a feed-hosting service, or a feed that is already a Google News or follow
    search)."""
    if feed.fallback == "none" or feed.kind == "google_news" or feed.follows:
        return None
    if feed.fallback != "auto":
        return feed.fallback
    site = registrable_domain(feed.url)
    if site in FEED_HOSTS:
        return None  # the outlet's own domain is not in the URL
    return SITE_SEARCH.format(query=quote(f"site:{site} when:1d", safe=""),
                              edition=EDITIONS.get(feed.language, EDITIONS["id"]))


class OncePerRun:
    """Fetches that several feeds share in one run (feeds of one outlet switched to the same automatic fallback):
    the first caller of a key computes it, later callers wait for that result instead of asking again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future] = {}

    def get(self, key: str, compute: Callable[[], FeedOutcome]) -> FeedOutcome:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if future is None:
                future = self._futures[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:  # the waiting callers see the same error
                future.set_exception(exc)
                raise
        return future.result()


@dataclass
class FeedRound:
    """One run's fetches of one feed: `main` is the own feed, or the fallback while the outlet is switched
    (`main.via_fallback`); `probe` is the own feed tried again while switched."""

    feed: FeedConfig
    main: FeedOutcome
    probe: FeedOutcome | None = None

    @property
    def outcomes(self) -> list[FeedOutcome]:
        return [self.main] + ([self.probe] if self.probe is not None else [])


def fetch_round(client: httpx.Client, policy: FetchPolicy, limiter: HostLimiter, feed: FeedConfig,
                state: FeedRow | None, now: dt.datetime, *, max_items: int, local: LocalTime | None = None,
                sitemap_rules: SitemapRules | None = None, shared: OncePerRun | None = None) -> FeedRound:
    """Fetch what this run reads of `feed` (never raises for a bad feed). A fallback URL that another feed of the
    run reads too is fetched once (`shared`)."""
    switched_url = fallback_url(feed) if state is not None and state.fallback_since is not None else None
    own = partial(fetch_feed, max_items=max_items, local=local, sitemap_rules=sitemap_rules)
    if switched_url is None:
        return FeedRound(feed, own(client, policy, limiter, feed, state, now))
    # The fallback is fetched without the own feed's validators; its items are credited to the outlet.
    source = feed.model_copy(update={"url": switched_url, "kind": "sitemap" if is_sitemap_url(switched_url) else "google_news"})
    fetch_fallback = partial(fetch_feed, client, policy, limiter, source, None, now, max_items=max_items, local=local,
                             sitemap_rules=sitemap_rules)
    main = (shared or OncePerRun()).get(switched_url, fetch_fallback)
    main = dataclasses.replace(main, feed=feed, via_fallback=True)  # a copy per feed: the outcome may be shared
    probe = None
    if state is not None and (state.probe_at is None or state.probe_at <= now):
        probe = own(client, policy, limiter, feed, state, now)
    return FeedRound(feed, main, probe)


OWN_FEED_FIELDS = ("configured_url", "url", "etag", "last_modified", "body_hash", "last_unconditional_at")


def settle_round(state: FeedRow | None, fetched: FeedRound, now: dt.datetime, schedule: FeedSchedule,
                 settings: Settings, run_id: str) -> tuple[FeedRow, FeedFetchRow, FeedSwitchRow | None]:
    """The feed's next state, the fetch-log row and a switch (or None), from its stored state and this round.
    Pure: no clock, no network."""
    feed, main, probe = fetched.feed, fetched.main, fetched.probe
    probe_hours = dt.timedelta(hours=settings.fallback_probe_hours)
    if not main.via_fallback:
        row, log_row = advance_feed_state(state, main, now, schedule, run_id)
        blocked = blocked_reason(main)
        row.blocked_fetches = (row.blocked_fetches or 0) + 1 if blocked else (0 if not main.failed else row.blocked_fetches)
        target = fallback_url(feed)
        if row.fallback_since is not None:  # switched, but the operator has since turned the fallback off
            row = dataclasses.replace(row, fallback_since=None, fallback_reason=None, probe_at=None)
            return row, log_row, FeedSwitchRow(feed_id=feed.name, switched_at=now, to_fallback=False, url=main.url,
                                               reason="fallback turned off in feeds.yaml", run_id=run_id)
        if blocked and target and row.blocked_fetches >= settings.fallback_after_failures:
            reason = f"own feed refused {row.blocked_fetches} fetches in a row ({blocked})"
            row = dataclasses.replace(row, fallback_since=now, fallback_reason=reason, probe_at=now + probe_hours,
                                      next_fetch_at=now)  # read the fallback from the next run on
            return row, log_row, FeedSwitchRow(feed_id=feed.name, switched_at=now, to_fallback=True, url=target,
                                               reason=reason, run_id=run_id)
        return row, log_row, None
    assert state is not None  # only a stored state can be switched
    if probe is not None and not probe.failed:
        row, log_row = advance_feed_state(state, probe, now, schedule, run_id)
        row = dataclasses.replace(row, blocked_fetches=0, fallback_since=None, fallback_reason=None, probe_at=None)
        return row, log_row, FeedSwitchRow(feed_id=feed.name, switched_at=now, to_fallback=False, url=probe.url,
                                           reason="own feed works again", run_id=run_id)
    row, log_row = advance_feed_state(state, main, now, schedule, run_id)
    row = dataclasses.replace(row, **{name: getattr(state, name) for name in OWN_FEED_FIELDS})
    log_row.reason = f"via fallback {main.url}" + (f": {log_row.reason}" if log_row.reason else "")
    if probe is not None:
        row.probe_at = now + probe_hours
        log_row.reason += f"; own feed probed: {blocked_reason(probe) or probe.reason or probe.status.value}"
    return row, log_row, None
