"""`monitor feeds discover URL`: find a site's feeds and sitemaps, probe each once, and write feeds.yaml entries.

Where candidates come from, in this order (the first source that names a URL is the one reported):
1. the URL itself, when it already is a feed or sitemap ("given URL");
2. `<link rel="alternate" type="application/rss+xml | atom+xml | feed+json">` on that page ("link rel=alternate");
3. `Sitemap:` lines of the origin's robots.txt ("robots.txt");
4. COMMON_PATHS on the origin ("common path"; the origin after the home page's redirects, so that
   `kompas.com` → `www.kompas.com` costs one redirect, not one per path).

Every request goes through polite_fetch (timeouts, size caps, refusal of private addresses, per-host gaps and
Retry-After holds) and each distinct URL is requested once. The home page and robots.txt are not candidates: when
they fail, discovery goes on with what is left (logged), since the common paths still tell the user what works
and each failed probe carries the fetch error's reason. Nothing here raises for a bad site.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
import lxml.html
import yaml
from lxml import etree

from monitor.errors import FetchError
from monitor.ingest.feeds import parse_feed
from monitor.ingest.fetch import FetchPolicy, FetchResult, HostLimiter, polite_fetch
from monitor.ingest.sitemaps import Sitemap, parse_sitemap
from monitor.localtime import LocalTime

log = logging.getLogger(__name__)

# Each path costs one request per discovery: WordPress (/feed), common static names, Hugo (/index.xml), the usual
# sitemap and Google News sitemap names (Yoast: /sitemap_index.xml).
COMMON_PATHS: tuple[str, ...] = (
    "/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml",
    "/sitemap.xml", "/sitemap_index.xml", "/sitemap-news.xml", "/news-sitemap.xml", "/sitemap_news.xml",
)
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json"}
MAX_PROBES = 30  # a page may list hundreds of alternates, robots.txt dozens of sitemaps: each is a request
FEED_VERSIONS = {"rss20": "RSS 2.0", "rss10": "RSS 1.0", "rss090": "RSS 0.90", "rss091u": "RSS 0.91", "rss091n": "RSS 0.91",
                 "rss092": "RSS 0.92", "rss093": "RSS 0.93", "rss094": "RSS 0.94", "atom10": "Atom 1.0", "atom03": "Atom 0.3",
                 "json1": "JSON Feed 1.0", "json11": "JSON Feed 1.1"}
GIVEN, LINK, ROBOTS, COMMON = "given URL", "link rel=alternate", "robots.txt", "common path"


@dataclass(frozen=True)
class Candidate:
    """One feed or sitemap URL and what probing it once showed. `detail` summarises it ("RSS 2.0, 20 items,
    newest 2026-11-29 17:00 WIB") or gives the failure's reason. `url` is the target of a permanent redirect."""

    url: str
    kind: Literal["rss", "sitemap"]
    found_by: str  # "given URL", "link rel=alternate", "robots.txt" or "common path"
    ok: bool
    detail: str


def feed_links(html: bytes, base_url: str) -> list[str]:
    """Absolute http(s) hrefs of the page's feed `<link rel="alternate">`s, in document order, each once (a
    `<base href>` is honoured; fragments dropped). A page lxml cannot read gives []."""
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = next((b.get("href") for b in doc.iter("base") if b.get("href")), None)
    base = (_absolute(base_url, base) or base_url) if base else base_url
    links: list[str] = []
    for link in doc.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or kind not in FEED_TYPES or not href:
            continue
        url = _absolute(base, href)
        if url is not None and url not in links:
            links.append(url)
    return links


def _absolute(base: str, href: str) -> str | None:
    """`href` made absolute against `base`, without its fragment; None unless http(s) with a host that parses."""
    try:
        url = urldefrag(urljoin(base, href.strip())).url
        parts = urlsplit(url)
        return url if parts.scheme in ("http", "https") and parts.hostname else None
    except ValueError:  # "http://[::1" and other unparseable hosts
        return None


def robots_sitemaps(robots_txt: str, base_url: str) -> list[str]:
    """Absolute http(s) URLs of robots.txt `Sitemap:` lines (field name in any case), in order, each once.
    Not trafilatura's extract_robots_sitemaps: it returns nothing for a robots.txt over 10,000 characters, which
    large portals exceed."""
    urls: list[str] = []
    for line in robots_txt.splitlines():
        key, sep, value = line.split("#", 1)[0].partition(":")
        if not sep or key.strip().lower() != "sitemap" or not value.strip():
            continue
        url = _absolute(base_url, value)
        if url is not None and url not in urls:
            urls.append(url)
    return urls


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _classify(result: FetchResult, now: dt.datetime, local: LocalTime) -> tuple[Literal["rss", "sitemap"] | None, str]:
    """(kind, summary) of a fetched body; (None, why not) when it is neither a sitemap nor a feed. The sitemap
    reader goes first: its root check is strict, where feedparser is lenient."""
    sitemap = parse_sitemap(result.body, result.final_url, local=local, now=now)
    if sitemap.kind != "invalid":
        return "sitemap", _sitemap_detail(sitemap, local)
    feed = parse_feed(result.body, result.final_url, content_type=result.content_type, now=now, local=local)
    if feed.is_feed:
        dates = [e.published_at for e in feed.entries if e.published_at]
        newest = f"newest {local.format(max(dates))}" if dates else "no item dates"
        return "rss", f"{FEED_VERSIONS.get(feed.version, feed.version)}, {len(feed.entries)} items, {newest}"
    if (sitemap.reason or "").startswith("an HTML page"):
        return None, "an HTML page, not a feed or sitemap"
    return None, f"not a feed or sitemap ({sitemap.reason})"


def _sitemap_detail(sitemap: Sitemap, local: LocalTime) -> str:
    if sitemap.kind == "index":
        dates = [c.lastmod for c in sitemap.children if c.lastmod]
        text = f"sitemap index, {len(sitemap.children)} child sitemaps"
    else:
        dates = [u.published for u in sitemap.urls if u.published]
        titled = sum(1 for u in sitemap.urls if u.news_title)
        text = f"sitemap urlset, {len(sitemap.urls)} URLs" + (f" ({titled} with news titles)" if titled else "")
    text += f", newest {local.format(max(dates))}" if dates else ", no dates"
    return text + (f"; {sitemap.reason}" if sitemap.reason else "")


def discover(client: httpx.Client, policy: FetchPolicy, limiter: HostLimiter, site_url: str, now: dt.datetime, *,
             local: LocalTime | None = None, max_probes: int = MAX_PROBES) -> list[Candidate]:
    """Candidates for `site_url` (a bare host gets https://), in the order of the module doc. A candidate that
    fails to fetch has ok=False and the error's reason; its kind is guessed from where it was found (robots.txt
    lists sitemaps; a common path with "sitemap" in it is one). Candidates past `max_probes` are listed unprobed."""
    local = local or LocalTime()
    site_url = site_url.strip() if "://" in site_url else f"https://{site_url.strip()}"
    fetched: dict[str, FetchResult | FetchError] = {}

    def get(url: str) -> FetchResult | FetchError:
        if url not in fetched:
            try:
                fetched[url] = polite_fetch(client, url, policy, limiter, now)
            except FetchError as exc:
                fetched[url] = exc
        return fetched[url]

    found: dict[str, str] = {}  # url -> found_by; the first source wins
    home = get(site_url)
    origin = _origin(site_url)
    if isinstance(home, FetchResult):
        origin = _origin(home.final_url)
        if _classify(home, now, local)[0] is not None:
            found[site_url] = GIVEN
        for url in feed_links(home.body, home.final_url):
            found.setdefault(url, LINK)
    else:
        log.warning("discover %s: home page failed: %s", site_url, home.reason)
    robots = get(f"{origin}/robots.txt")
    if isinstance(robots, FetchResult):
        for url in robots_sitemaps(robots.body.decode("utf-8", errors="replace"), robots.final_url):
            found.setdefault(url, ROBOTS)
    else:
        log.warning("discover %s: robots.txt failed: %s", site_url, robots.reason)
    for path in COMMON_PATHS:
        found.setdefault(origin + path, COMMON)

    candidates: list[Candidate] = []
    reported: set[str] = set()
    probes = 0
    for url, found_by in found.items():
        guess: Literal["rss", "sitemap"] = "sitemap" if found_by == ROBOTS or "sitemap" in urlsplit(url).path.lower() else "rss"
        if url in reported:
            continue
        if url not in fetched:
            if probes >= max_probes:
                candidates.append(Candidate(url, guess, found_by, False, f"not probed: more than {max_probes} to probe"))
                continue
            probes += 1
        result = get(url)
        if isinstance(result, FetchError):
            candidates.append(Candidate(url, guess, found_by, False, result.reason))
            continue
        kind, detail = _classify(result, now, local)
        final = result.permanent_redirect_to or url
        if final != url:
            if final in reported:
                continue  # the same feed under its old address
            fetched.setdefault(final, result)
            detail += f"; moved permanently from {url}"
        reported.add(final)
        candidates.append(Candidate(final, kind or guess, found_by, kind is not None, detail))
    return candidates


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")


def yaml_entries(candidates: list[Candidate], outlet: str, name_prefix: str) -> str:
    """feeds.yaml entries (block style, ready to paste under `feeds:`) for the ok candidates: name, url, outlet and
    `kind: sitemap` for sitemaps (rss is the default). Names are `<prefix>-<path>` made lower-case [a-z0-9._-],
    unique (-2, -3 …). "" when no candidate is ok."""
    entries: list[dict[str, str]] = []
    names: set[str] = set()
    for candidate in candidates:
        if not candidate.ok:
            continue
        parts = urlsplit(candidate.url)
        path = re.sub(r"(\.xml\.gz|\.xml|\.rss|\.atom|\.json)$", "", parts.path.lower())
        base = _slug(f"{name_prefix}-{_slug(path + ' ' + parts.query) or candidate.kind}")
        name, number = base, 2
        while name in names:
            name, number = f"{base}-{number}", number + 1
        names.add(name)
        entry = {"name": name, "url": candidate.url, "outlet": outlet}
        if candidate.kind == "sitemap":
            entry["kind"] = "sitemap"
        entries.append(entry)
    if not entries:
        return ""
    return yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
