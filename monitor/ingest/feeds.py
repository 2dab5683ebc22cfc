"""Feed bytes → entries. feedparser only ever gets bytes (never a URL or a path).

Dates are re-parsed from the raw strings (monitor/ingest/dates.py) because feedparser reads the Indonesian zone
names WIB/WITA/WIT as UTC and does not know Indonesian day and month names. A missing or future date is unknown.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field

import feedparser

from monitor.ingest.dates import parse_date
from monitor.ingest.urls import clean_url, url_key
from monitor.localtime import LocalTime
from monitor.statuses import DateStatus

log = logging.getLogger(__name__)

UTC = dt.UTC
BENIGN_BOZO = {"CharacterEncodingOverride", "NonXMLContentType", "CharacterEncodingUnknown"}


@dataclass(frozen=True)
class Entry:
    """One feed item, with its link already absolute and normalised."""

    url: str
    url_key: str
    guid: str | None
    title: str
    summary: str
    published_at: dt.datetime | None
    date_status: DateStatus
    raw_date: str | None
    source_name: str | None = None  # <source> element (Google News names the publisher here)
    source_url: str | None = None


@dataclass
class ParsedFeed:
    is_feed: bool
    entries: list[Entry] = field(default_factory=list)
    version: str = ""
    bozo: bool = False
    bozo_reason: str | None = None
    title: str | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (link or title, reason)
    truncated: int = 0


def _clean(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def parse_feed(body: bytes, final_url: str, *, content_type: str | None = None, now: dt.datetime | None = None,
               max_items: int = 2000, max_url_length: int = 2048, local: LocalTime | None = None) -> ParsedFeed:
    """Parse feed bytes. An HTML page, WAF page or empty body gives is_feed=False (never an exception)."""
    now = now or dt.datetime.now(UTC)
    if not body.strip():
        return ParsedFeed(is_feed=False, bozo_reason="empty body")  # an empty 200 is not "no news"
    headers = {"content-location": final_url}
    if content_type:
        headers["content-type"] = content_type
    # A bytes object that looks like a path is opened as a file by feedparser: hand it a stream instead.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    version = parsed.get("version") or ""
    bozo_exc = parsed.get("bozo_exception")
    if bozo_exc is not None and type(bozo_exc).__name__ in BENIGN_BOZO:
        bozo_exc = None  # the text is right; only the declared type or charset was off
    result = ParsedFeed(
        is_feed=bool(version),
        version=version,
        bozo=bozo_exc is not None,
        bozo_reason=f"{type(bozo_exc).__name__}: {str(bozo_exc)[:200]}" if bozo_exc else None,
        title=_clean(parsed.feed.get("title")) or None,
    )
    if not result.is_feed:
        detail = f" ({result.bozo_reason})" if result.bozo_reason else ""
        result.bozo_reason = f"no RSS/Atom root element{detail}"
        return result
    items = parsed.entries
    if len(items) > max_items:
        result.truncated = len(items) - max_items
        items = items[:max_items]
    seen: set[str] = set()
    for item in items:
        link = item.get("link") or ""
        if not link:
            links = [link.get("href") for link in item.get("links", []) if link.get("href")]
            link = links[0] if links else ""
        guid = item.get("id") or None
        if not link and guid and guid.startswith(("http://", "https://")):
            link = guid
        title = _clean(item.get("title"))
        if not link:
            result.skipped.append((title or "<untitled>", "entry has no link"))
            continue
        absolute = clean_url(link, base=final_url)
        if len(absolute) > max_url_length:
            result.skipped.append((absolute[:120], f"link longer than {max_url_length} characters"))
            continue
        if not absolute.startswith(("http://", "https://")):
            result.skipped.append((absolute[:120], "link is not http(s)"))
            continue
        key = url_key(absolute)
        if key in seen:
            # Same link twice in one feed (duplicate GUIDs are common): keep the first.
            continue
        seen.add(key)
        raw_date = item.get("published") or item.get("updated") or item.get("created")
        published, status = parse_date(raw_date, now, local)
        source = item.get("source") or {}
        source_name = _clean(source.get("title")) or None
        if source_name and title.endswith(f" - {source_name}"):  # Google News appends " - <publisher>"
            title = title[: -len(source_name) - 3].rstrip()
        result.entries.append(Entry(
            url=absolute, url_key=key, guid=guid, title=title,
            summary=_clean(item.get("summary"))[:2000], published_at=published, date_status=status,
            raw_date=raw_date, source_name=source_name, source_url=source.get("href"),
        ))
    return result
