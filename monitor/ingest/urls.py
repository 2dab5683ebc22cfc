"""URL normalisation shared by feeds, extraction and dedupe: one key per article whatever the tracking noise."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "hsa_", "_hs", "itm_", "__")
TRACKING_KEYS = {
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mibextid", "ref", "ref_src", "referrer",
    "source", "src", "cmpid", "ncid", "_ga", "spm", "share", "amp", "page", "tag_from", "tracking",
    "trk", "from", "rss", "feed",
}
# Query keys that identify content on some CMSs and must survive normalisation.
CONTENT_KEYS = {"id", "p", "page_id", "news_id", "berita_id", "read", "mib", "idkanal"}
# Parameters that select the whole article on one page (monitor/ingest/pagination.py): kept, unlike page=2.
CONTENT_SELECTORS = {("page", "all"), ("page", "single"), ("single", "1"), ("showall", "1"), ("show", "all"),
                     ("view", "all"), ("full", "1"), ("singlepage", "1"), ("all", "1")}


def clean_url(url: str, base: str | None = None) -> str:
    """Absolute URL with lower-case scheme/host, no default port, no fragment, no tracking parameters.

    The result is still fetchable as it stands; `normalize_url` goes further for keys.
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if port in (None, 80 if scheme == "http" else 443) else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() in CONTENT_KEYS or (k.lower(), v.lower()) in CONTENT_SELECTORS
        or not (k.lower() in TRACKING_KEYS or k.lower().startswith(TRACKING_PREFIXES))
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def normalize_url(url: str, base: str | None = None) -> str:
    """`clean_url` plus the equivalences publishers use: www., trailing slash, /amp pages."""
    parts = urlsplit(clean_url(url, base))
    netloc = parts.netloc[4:] if parts.netloc.startswith("www.") else parts.netloc
    path = parts.path
    if path.endswith("/amp") or path.endswith("/amp/"):
        path = path.rsplit("/amp", 1)[0] or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def url_key(url: str) -> str:
    """Stable 16-hex-digit key of the normalised URL (the article id)."""
    return hashlib.sha1(normalize_url(url).encode("utf-8")).hexdigest()[:16]


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


GOOGLE_NEWS_HOSTS = ("news.google.com",)


def is_google_news_link(url: str) -> bool:
    return host_of(url) in GOOGLE_NEWS_HOSTS and ("/articles/" in url or "/read/" in url)


def decode_google_news_link(url: str) -> str | None:
    """Publisher URL embedded in an old-style Google News article id (base64 protobuf), or None.

    Newer ids (since July 2024) carry no URL: monitor/ingest/gnews.py asks Google for them.
    """
    import base64
    import re as _re

    match = _re.search(r"/(?:articles|read)/([A-Za-z0-9_-]+)", url)
    if not match:
        return None
    token = match.group(1)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    found = _re.search(rb"https?://[\x21-\x7e]+", raw)
    if not found:
        return None
    candidate = found.group(0).decode("ascii", errors="ignore")
    # The protobuf may glue a length byte or a second field after the URL; cut at the first non-URL byte.
    candidate = _re.split(r"[\x00-\x20\"<>\\^`{|}]", candidate)[0]
    return candidate if host_of(candidate) and host_of(candidate) not in GOOGLE_NEWS_HOSTS else None


# Second-level labels under a country code that are not a site of their own: co.id, go.id, ac.id, or.id, co.uk …
_SECOND_LEVEL = {"co", "go", "ac", "or", "web", "my", "sch", "net", "com", "org", "mil", "gov", "edu", "ponpes", "desa"}


def registrable_domain(url: str) -> str:
    """"news.detik.com" → "detik.com", "jogja.antaranews.com" → "antaranews.com", "x.kompas.co.id" → "kompas.co.id".
    A small rule (two labels, three under a country code's second-level label), not the Public Suffix List."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    if host.replace(".", "").isdigit() or ":" in host:
        return host  # an IP address is its own site
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])
