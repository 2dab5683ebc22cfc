"""Articles split over several pages (issue 14, kind 4): fetch the one-page view, or the following pages.

Many Indonesian portals split an article into pages; the first page alone loses whatever (and whichever agency)
comes later. Two ways to the whole text, in this order:

1. **An outlet rule** (`settings.pagination`, operators extend it in feeds.yaml): the outlet's one-page view, a
   query parameter (`page=all`, `single=1`) or a path suffix (`/all`), applied to the article URL before fetching.
   Shipped rules (the forms documented by gvoze32/antisplitpage, a user script that does this for readers):
   Kompas, Tribunnews, Grid, Kontan, Kompasiana, Suara, Viva, Jawapos (`page=all`), Detik (`single=1`),
   iNews (`/all`).
2. **What the page itself offers**: a link whose text asks for the whole article ("Tampilkan semua", "Lihat semua
   halaman", "Baca dalam satu halaman", "Show all") is fetched instead; otherwise, when the page links the next page
   of the same article ("Halaman selanjutnya", "Berikutnya", `rel="next"`, `?page=2`), the following pages are
   fetched, at most `settings.max_article_pages` in all, and their texts appended in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

SHOW_ALL_TEXT = re.compile(r"^\s*(?:tampilkan\s+semua|lihat\s+semua(?:\s+halaman)?|baca\s+(?:dalam\s+)?satu\s+halaman|"
                           r"semua\s+halaman|show\s+all|view\s+all|single\s+page|baca\s+selengkapnya\s+tanpa\s+halaman)\s*$",
                           re.I)
NEXT_TEXT = re.compile(r"^\s*(?:halaman\s+(?:selanjutnya|berikutnya)|selanjutnya|berikutnya|next(?:\s+page)?|lanjut)\s*[»›>]*\s*$",
                       re.I)
_ANCHOR = re.compile(r"<a\s[^>]*?href\s*=\s*[\"']([^\"']+)[\"'][^>]*>(.*?)</a>", re.I | re.S)
_REL_NEXT = re.compile(r"<(?:a|link)\s[^>]*?rel\s*=\s*[\"']?(?:[\w-]+\s+)*next(?:\s+[\w-]+)*[\"']?[\s>][^>]*?href\s*=\s*[\"']([^\"']+)[\"']|"
                       r"<(?:a|link)\s[^>]*?href\s*=\s*[\"']([^\"']+)[\"'][^>]*?rel\s*=\s*[\"']?(?:[\w-]+\s+)*next\b", re.I)


@dataclass(frozen=True)
class OnePageRule:
    """An outlet's one-page view: for hosts ending in `host`, add `query` ("page=all") or `path_suffix` ("/all")."""

    host: str
    query: str | None = None
    path_suffix: str | None = None


def one_page_url(url: str, rules: list[OnePageRule]) -> str | None:
    """The one-page view of `url` under the first rule whose host matches, or None (no rule, or already it)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for rule in rules:
        if not (host == rule.host or host.endswith("." + rule.host)):
            continue
        if rule.query:
            wanted = parse_qsl(rule.query)
            current = parse_qsl(parts.query, keep_blank_values=True)
            if all(pair in current for pair in wanted):
                return None
            keys = {k for k, _ in wanted}
            query = urlencode([(k, v) for k, v in current if k not in keys] + wanted)
            return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        if rule.path_suffix:
            path = parts.path.rstrip("/")
            if path.endswith(rule.path_suffix.rstrip("/")):
                return None
            return urlunsplit((parts.scheme, parts.netloc, path + rule.path_suffix, parts.query, ""))
    return None


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


_PAGE_KEYS = {"page", "halaman", "hal", "pg", "paged"}  # not "p": WordPress's ?p= is the post id


def _article_page(url: str) -> tuple[str, str, tuple, int]:
    """(host, article path, other query parameters, page number) of a page URL: `/slug/2`, `?page=2` or
    `?halaman=2` name page 2; a trailing number of one or two digits counts only after a segment with a letter."""
    parts = urlsplit(url)
    path, number = parts.path.rstrip("/"), 1
    trailing = re.search(r"/([^/]*[a-z][^/]*)/(\d{1,2})$", path, re.I)
    if trailing:
        path, number = path[: trailing.start(2) - 1], int(trailing.group(2))
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in _PAGE_KEYS and value.isdigit():
            number = int(value)
        else:
            query.append((key, value))
    return (parts.hostname or "").lower(), path, tuple(sorted(query)), number


def _is_next_page(url: str, candidate: str) -> bool:
    host, path, query, number = _article_page(url)
    c_host, c_path, c_query, c_number = _article_page(candidate)
    return bool(host) and (host, path, query) == (c_host, c_path, c_query) and c_number > number


def _is_whole_view(url: str, candidate: str) -> bool:
    host, path, _, _ = _article_page(url)
    c_host, c_path, _, _ = _article_page(candidate)
    return bool(host) and host == c_host and (c_path == path or c_path.startswith(path + "/"))


def show_all_link(html: str, url: str) -> str | None:
    """The page's own link to the whole article on one page, if it has one."""
    for href, label in _ANCHOR.findall(html[:500_000]):
        if SHOW_ALL_TEXT.match(_text(label)):
            target = urljoin(url, href.strip())
            if target != url and _is_whole_view(url, target):
                return target
    return None


def next_page_link(html: str, url: str) -> str | None:
    """The page's link to a later page of the same article (same host, same article path, a higher page number),
    if it has one."""
    head = html[:500_000]
    for match in _REL_NEXT.finditer(head):
        target = urljoin(url, (match.group(1) or match.group(2)).strip())
        if _is_next_page(url, target):
            return target
    for href, label in _ANCHOR.findall(head):
        if NEXT_TEXT.match(_text(label)):
            target = urljoin(url, href.strip())
            if _is_next_page(url, target):
                return target
    return None
