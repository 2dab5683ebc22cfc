"""Sitemap bytes → URLs (a `<urlset>`) or child sitemaps (a `<sitemapindex>`). No network here: the caller fetches.

Protocol: https://www.sitemaps.org/protocol.html (namespace http://www.sitemaps.org/schemas/sitemap/0.9; at most
50,000 entries and 50 MB uncompressed per file); Google News extension: namespace
http://www.google.com/schemas/sitemap-news/0.9, `<news:news><news:title>`, `<news:publication_date>`.
Elements are matched by local name, so the 0.9 namespace, no namespace at all and stray older namespaces all read.

Written here rather than taken from ultimate-sitemap-parser: that package is GPL-3.0 and this project is MIT.

Safety: lxml with entities left unexpanded, no DTD loading and no network (no XXE, no billion laughs: libxml2 also
refuses the amplification outright); gzip bodies (`sitemap.xml.gz`) are inflated in chunks and given up past
`max_bytes`. Nothing raises for a bad body: it comes back as kind "invalid" with a reason.

No recovery parsing: libxml2's `recover=True` turns `?a=1&b=2` into `?a=1=2` (and even mangles a correct `&amp;`
in the same file), storing wrong URLs as if right. The one repair made is the common publisher bug itself: when
the strict parse fails on an entity reference, bare `&` are escaped and the file is parsed strictly once more.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass, field
from html.entities import name2codepoint
from typing import Literal
from urllib.parse import urljoin, urlsplit

from lxml import etree

from monitor.ingest.dates import OLDEST_PLAUSIBLE, parse_datetime, zone_of
from monitor.localtime import LocalTime

UTC = dt.UTC
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
GZIP_MAGIC = b"\x1f\x8b"
MAX_URL_LENGTH = 2048
FUTURE_TOLERANCE = dt.timedelta(days=1)  # lastmods a few hours ahead are zone slips; a day ahead is a wrong date
_CHUNK = 256 * 1024
MAX_GZIP_MEMBERS = 64  # real sitemaps are one member; concatenated files a few
# W3C datetime (https://www.w3.org/TR/NOTE-datetime): YYYY, YYYY-MM, YYYY-MM-DD, then hh:mm[:ss[.s+]] and a zone.
_W3C = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?)?)?)?",
                  re.IGNORECASE)
_BARE_AMPERSAND = re.compile(rb"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z_][\w.-]*;)")
_HTML_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}


@dataclass(frozen=True)
class SitemapUrl:
    """One `<url>`: `loc` absolute http(s); dates aware UTC or None; `raw_date` the string that gave `published`
    (the news date first, else lastmod; when neither reads, the first one written, so a caller can say why)."""

    loc: str
    lastmod: dt.datetime | None
    news_title: str | None
    news_published: dt.datetime | None
    raw_date: str | None

    @property
    def published(self) -> dt.datetime | None:
        return self.news_published or self.lastmod


@dataclass(frozen=True)
class SitemapChild:
    """One `<sitemap>` of an index."""

    loc: str
    lastmod: dt.datetime | None


@dataclass
class Sitemap:
    """What one sitemap file holds. `reason` says why it is invalid, or what was odd in a valid one."""

    kind: Literal["urlset", "index", "invalid"]
    urls: list[SitemapUrl] = field(default_factory=list)
    children: list[SitemapChild] = field(default_factory=list)
    reason: str | None = None
    truncated: int = 0  # entries beyond max_entries, ignored
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (loc or "<no loc>", reason)


def is_sitemap_url(url: str) -> bool:
    """True for URLs that name a sitemap file: the path ends in .xml or .xml.gz and mentions "sitemap"."""
    path = urlsplit(url.strip()).path.lower()
    return path.endswith((".xml", ".xml.gz")) and "sitemap" in path


def parse_w3c_datetime(raw: str | None, now: dt.datetime, local: LocalTime | None = None) -> dt.datetime | None:
    """A sitemap date as aware UTC. W3C datetime first; other layouts (RFC 2822 from some news CMSs) through
    monitor.ingest.dates. No zone means local time (a date alone: local midnight). Unreadable, more than a day
    ahead of `now`, or before 1995 (placeholder lastmods such as 1970-01-01) → None, never "now"."""
    text = (raw or "").strip()
    if not text:
        return None
    match = _W3C.fullmatch(text)
    try:
        if match is None:
            value = parse_datetime(text, local)
        else:
            year, month, day, hour, minute, second, fraction, zone = match.groups()
            value = dt.datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                                int(second or 0), int((fraction or "0")[:6].ljust(6, "0")))
            tzinfo = zone_of(zone)  # "Z", "+08:00", "+0800"
            value = (value.replace(tzinfo=tzinfo) if tzinfo else (local or LocalTime()).assume_local(value)).astimezone(UTC)
    except (ValueError, OverflowError):  # month 13, hour 24, an offset of a day or more, year 1 or 9999 at the edge
        return None
    if value is None or value > now + FUTURE_TOLERANCE or value < OLDEST_PLAUSIBLE:
        return None
    return value


def _gunzip(body: bytes, max_bytes: int) -> bytes | str:
    """Inflate gzip members in chunks; the bytes, or a reason (too large, corrupt, cut short)."""
    out = bytearray()
    data = body
    members = 0
    while data[:2] == GZIP_MAGIC:
        members += 1
        if members > MAX_GZIP_MEMBERS:  # each member copies the rest of the body: many tiny ones cost quadratic time
            return f"more than {MAX_GZIP_MEMBERS} gzip members"
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = data
        while not inflater.eof:
            try:
                chunk = inflater.decompress(pending, _CHUNK)
            except zlib.error as exc:
                return f"corrupt gzip: {exc}"
            out += chunk
            if len(out) > max_bytes:
                return f"too large: more than {max_bytes} bytes once decompressed"
            pending = inflater.unconsumed_tail
            if not pending and not chunk and not inflater.eof:
                return "gzip stream cut short"
        data = inflater.unused_data  # a second member may follow; trailing garbage is ignored
    return bytes(out)


def _local(el) -> str:
    return el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""


def _child(el, name: str):
    for child in el:
        if _local(child) == name:
            return child
    return None


def _text(el) -> str | None:
    """Stripped text of a leaf element; None when absent or when it holds markup or an (unexpanded) entity."""
    if el is None or len(el):
        return None
    return (el.text or "").strip() or None


def _parse_xml(body: bytes) -> tuple[etree._Element | None, str | None]:
    """(root, note) or (None, reason)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False,
                             remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(body, parser), None
    except etree.XMLSyntaxError as exc:
        error = str(exc)
    if "EntityRef" in error and _BARE_AMPERSAND.search(body):
        try:
            return etree.fromstring(_BARE_AMPERSAND.sub(b"&amp;", body), parser), "bare '&' escaped before parsing"
        except etree.XMLSyntaxError as exc:
            error = str(exc)
    if "Entity '" in error and "not defined" in error:  # an HTML entity (&nbsp;, &eacute;) in a title
        try:
            return etree.fromstring(_HTML_ENTITY.sub(_numeric_entity, _BARE_AMPERSAND.sub(b"&amp;", body)), parser), \
                "HTML entities written as characters before parsing"
        except etree.XMLSyntaxError:
            pass
    return None, f"malformed XML: {error[:200]}"


def _numeric_entity(match: re.Match[bytes]) -> bytes:
    name = match.group(1).decode("ascii")
    code = name2codepoint.get(name)
    return f"&#{code};".encode() if code is not None and name not in _XML_ENTITIES else match.group(0)


def parse_sitemap(body: bytes, base_url: str, *, max_entries: int = 50_000, max_bytes: int = 50 * 1024 * 1024,
                  local: LocalTime | None = None, now: dt.datetime | None = None) -> Sitemap:
    """Read a sitemap or sitemap index (plain or gzip). Relative locs are joined against `base_url` (the URL the
    body came from); locs that are not http(s) or longer than 2048 characters are skipped with a reason; a loc
    repeated in one file is kept once. `now` (default: the clock) only serves the future-date check."""
    now = now or dt.datetime.now(UTC)
    if body[:2] == GZIP_MAGIC:
        inflated = _gunzip(body, max_bytes)
        if isinstance(inflated, str):
            return Sitemap("invalid", reason=inflated)
        body = inflated
    elif len(body) > max_bytes:
        return Sitemap("invalid", reason=f"too large: {len(body)} bytes > {max_bytes}")
    # A UTF-8 BOM or blank lines before <?xml (a stray newline in a PHP template) make strict XML fail.
    body = body.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not body:
        return Sitemap("invalid", reason="empty body")
    head = body[:1024].lower()
    if b"<!doctype html" in head or head.startswith(b"<html"):
        return Sitemap("invalid", reason="an HTML page, not a sitemap")
    root, note = _parse_xml(body)
    if root is None:
        return Sitemap("invalid", reason=note)
    kinds: dict[str, tuple[Literal["urlset", "index"], str]] = {"urlset": ("urlset", "url"), "sitemapindex": ("index", "sitemap")}
    if _local(root) not in kinds:
        what = "an HTML page" if _local(root) == "html" else f"root element <{_local(root)}>"
        return Sitemap("invalid", reason=f"{what}, not <urlset> or <sitemapindex>")
    kind, entry_name = kinds[_local(root)]
    result = Sitemap(kind)
    seen: set[str] = set()
    counted = 0
    for entry in root:
        if _local(entry) != entry_name:
            continue
        counted += 1
        if counted > max_entries:
            result.truncated += 1
            continue
        loc = _entry_loc(entry, base_url, result.skipped)
        if loc is None or loc in seen:
            continue
        seen.add(loc)
        raw_lastmod = _text(_child(entry, "lastmod"))
        lastmod = parse_w3c_datetime(raw_lastmod, now, local)
        if kind == "index":
            result.children.append(SitemapChild(loc, lastmod))
            continue
        news = _child(entry, "news")
        title = raw_news = None
        if news is not None:
            title = " ".join((_text(_child(news, "title")) or "").split()) or None
            raw_news = _text(_child(news, "publication_date"))
        published = parse_w3c_datetime(raw_news, now, local)
        raw_date = raw_news if published else raw_lastmod if lastmod else (raw_news or raw_lastmod)
        result.urls.append(SitemapUrl(loc, lastmod, title, published, raw_date))
    notes = [note] if note else []
    if result.truncated:
        notes.append(f"{result.truncated} entries over the cap of {max_entries} ignored")
    if result.skipped:
        notes.append(f"{len(result.skipped)} entries skipped")
    result.reason = "; ".join(notes) or None
    return result


def _entry_loc(entry, base_url: str, skipped: list[tuple[str, str]]) -> str | None:
    """The entry's absolute http(s) loc, or None after noting why it was skipped."""
    loc_el = _child(entry, "loc")
    if loc_el is not None and len(loc_el):
        skipped.append(("<no loc>", "loc holds markup or an entity reference"))
        return None
    raw = _text(loc_el)
    if not raw:
        skipped.append(("<no loc>", "entry has no <loc>"))
        return None
    try:
        loc = urljoin(base_url, raw)
        parts = urlsplit(loc)
        host = parts.hostname
    except ValueError:  # "http://[::1" and other unparseable hosts
        skipped.append((raw[:120], "loc is not a valid URL"))
        return None
    if len(loc) > MAX_URL_LENGTH:
        skipped.append((loc[:120], f"loc longer than {MAX_URL_LENGTH} characters"))
        return None
    if parts.scheme not in ("http", "https") or not host:
        skipped.append((loc[:120], "loc is not an http(s) URL"))
        return None
    return loc


def newest_children(sitemap: Sitemap, since: dt.datetime | None, limit: int) -> list[SitemapChild]:
    """At most `limit` children of an index worth reading: lastmod after `since` (all when `since` is None) or no
    lastmod (cannot tell, so kept); newest first, then the undated ones in document order."""
    dated = [(c.lastmod, c) for c in sitemap.children if c.lastmod is not None and (since is None or c.lastmod > since)]
    dated.sort(key=lambda pair: pair[0], reverse=True)  # stable: equal lastmods keep document order
    return ([c for _, c in dated] + [c for c in sitemap.children if c.lastmod is None])[: max(limit, 0)]
