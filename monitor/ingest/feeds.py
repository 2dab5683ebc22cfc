"""Feed bytes → entries. feedparser only ever gets bytes (never a URL or a path).

Dates are re-parsed from the raw strings because feedparser reads the Indonesian zone names WIB/WITA/WIT
as UTC and does not know Indonesian day and month names. A missing or future date is stored as unknown.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import logging
import re
from dataclasses import dataclass, field

import feedparser

from monitor.ingest.urls import clean_url, url_key
from monitor.localtime import INDONESIAN_ZONES, LocalTime
from monitor.statuses import DateStatus

log = logging.getLogger(__name__)

UTC = dt.UTC
# "10:23 WIB" -> "10:23 <its offset>" before parsing (feedparser would read the zone names as UTC).
ZONES = {name: zone.tzname(None).replace("UTC", "").replace(":", "") for name, zone in INDONESIAN_ZONES.items()}
ID_MONTHS = {
    "januari": "Jan", "februari": "Feb", "pebruari": "Feb", "maret": "Mar", "april": "Apr", "mei": "May",
    "juni": "Jun", "juli": "Jul", "agustus": "Aug", "agu": "Aug", "agt": "Aug", "september": "Sep",
    "oktober": "Oct", "okt": "Oct", "november": "Nov", "nopember": "Nov", "desember": "Dec", "des": "Dec",
}
ID_DAYS = ("senin", "selasa", "rabu", "kamis", "jumat", "jum'at", "sabtu", "minggu", "ahad")
BENIGN_BOZO = {"CharacterEncodingOverride", "NonXMLContentType", "CharacterEncodingUnknown"}
FUTURE_TOLERANCE = dt.timedelta(minutes=30)
OLDEST_PLAUSIBLE = dt.datetime(1995, 1, 1, tzinfo=UTC)


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


def parse_date(raw: str | None, now: dt.datetime, local: LocalTime | None = None) -> tuple[dt.datetime | None, DateStatus]:
    """Parse an RFC 822 / ISO 8601 / Indonesian date string to UTC. Returns (value or None, status).
    A time without a zone is read in the local zone (Indonesian outlets publish in local time)."""
    if not raw or not raw.strip():
        return None, DateStatus.MISSING
    text = " ".join(raw.replace(",", ", ").split())
    for zone, offset in ZONES.items():
        text = re.sub(rf"\b{zone}\b", offset, text)
    lowered = text.lower()
    for day in ID_DAYS:
        lowered = re.sub(rf"^{re.escape(day)},?\s*", "", lowered)
    for name, short in ID_MONTHS.items():
        lowered = re.sub(rf"\b{re.escape(name)}\b", short, lowered)
    lowered = re.sub(r"\bpukul\b", "", lowered)
    parsed = _try_parsers(text) or _try_parsers(lowered)
    if parsed is None:
        return None, DateStatus.UNPARSED
    if parsed.tzinfo is None:
        parsed = (local or LocalTime()).assume_local(parsed)
    parsed = parsed.astimezone(UTC)
    if parsed > now + FUTURE_TOLERANCE:
        return None, DateStatus.FUTURE
    if parsed < OLDEST_PLAUSIBLE:
        return None, DateStatus.IMPLAUSIBLE
    return parsed, DateStatus.OK


def _try_parsers(text: str) -> dt.datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    iso = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return dt.datetime.fromisoformat(iso)
    except ValueError:
        pass
    match = re.match(r"^(\d{1,2})\s+([A-Za-z]{3})\s+(\d{2,4})(?:\s+(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?\s*([+-]\d{4})?", text.strip())
    if match:
        day, mon, year, hh, mm, ss, offset = match.groups()
        year = int(year) + (2000 if len(year) == 2 else 0)
        try:
            month = dt.datetime.strptime(mon.title(), "%b").month
            value = dt.datetime(year, month, int(day), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError:
            return None
        if offset:
            sign = 1 if offset[0] == "+" else -1
            value = value.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:]))))
        return value
    return None


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
        result.entries.append(Entry(
            url=absolute, url_key=key, guid=guid, title=title,
            summary=_clean(item.get("summary"))[:2000], published_at=published, date_status=status,
            raw_date=raw_date, source_name=_clean(source.get("title")) or None, source_url=source.get("href"),
        ))
    return result
