"""Google News article links in the post-2024 form (issue 15, part 1): from the opaque id to the publisher's URL.

Since July 2024 the id in `https://news.google.com/rss/articles/<id>` no longer carries the publisher URL (old ids
do, and `urls.decode_google_news_link` reads them without a request). A new id is decoded in two steps, as the
open-source decoders do it (SSujitX/google-news-url-decoder, MIT, `googlenewsdecoder/new_decoderv1.py`; the
exchange is undocumented by Google and has changed before):

1. GET the article link. Google's page carries a signature and a Unix timestamp for the id
   (`<div jscontroller… data-n-a-sg="…" data-n-a-ts="…">`).
2. POST `<origin>/_/DotsSplashUi/data/batchexecute` with a form field `f.req`: a JSON list of envelopes
   `["Fbv4je", "<inner JSON>", null, "<request id>"]`, the inner one
   `["garturlreq", <client context>, "<id>", <timestamp>, "<signature>"]`. Several ids go in one POST.
   The answer starts with `)]}'`; each row `["wrb.fr", "Fbv4je", "<JSON>", …, "<request id>"]` carries
   `["garturlres", "<publisher URL>", 1]`.

Every request goes through the project's guarded client (`polite_fetch`: timeouts, size caps, private addresses
refused, per-host pacing, Retry-After holds). The endpoint's origin is the article link's, so a stand-in served on
127.0.0.1 answers tests. Failures are `FetchError`s: a throttled or unreachable Google is retryable; an answer in
a shape this module does not know is `GoogleFormatError` (permanent, with the reason), never a silent guess.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx

from monitor.errors import FetchError, PermanentFetchError, RetryableFetchError
from monitor.ingest.fetch import FetchPolicy, HostLimiter, polite_fetch
from monitor.ingest.urls import GOOGLE_NEWS_HOSTS, decode_google_news_link, host_of, is_google_news_link

ARTICLE_ID = re.compile(r"/(?:rss/)?(?:articles|read)/([A-Za-z0-9_-]{16,})")
SIGNATURE = re.compile(r'data-n-a-sg="([^"]+)"')
TIMESTAMP = re.compile(r'data-n-a-ts="(\d+)"')
BATCH_PATH = "/_/DotsSplashUi/data/batchexecute"
ANTI_HIJACK_PREFIX = ")]}'"
# The client context Google's web client sends with garturlreq, as the public decoders copy it.
CLIENT_CONTEXT = ["garturlreq", [["X", "X", ["X", "X"], None, None, 1, 1, "US:en", None, 1, None, None, None, None, None, 0, 1],
                                 "X", "X", 1, [1, 1, 1], 1, 1, None, 0, 0, None, 0]]
MAX_IDS_PER_POST = 20


class GoogleFormatError(PermanentFetchError):
    """Google answered in a shape this decoder does not know (the exchange changed): the reason says where."""


@dataclass(frozen=True)
class DecodeRequest:
    google_id: str
    timestamp: int
    signature: str


def needs_decoding(url: str) -> bool:
    """A Google News article link whose id does not carry the publisher URL."""
    return is_google_news_link(url) and decode_google_news_link(url) is None and google_id_of(url) is not None


def google_id_of(url: str) -> str | None:
    match = ARTICLE_ID.search(urlsplit(url).path)
    return match.group(1) if match else None


def decoding_params(html: str, google_id: str) -> DecodeRequest:
    """The signature and timestamp from Google's article page. Raises GoogleFormatError when they are missing."""
    signature, timestamp = SIGNATURE.search(html), TIMESTAMP.search(html)
    if signature is None or timestamp is None:
        raise GoogleFormatError("Google News page has no data-n-a-sg/data-n-a-ts attributes (decoding format changed?)")
    return DecodeRequest(google_id, int(timestamp.group(1)), signature.group(1))


def batch_request_body(requests: list[DecodeRequest]) -> bytes:
    """The form body (`f.req=…`) asking for the URLs of up to MAX_IDS_PER_POST ids; request ids are "1", "2", … (or
    "generic" for a single id, as Google's client sends it)."""
    envelopes = []
    for number, request in enumerate(requests, start=1):
        inner = [*CLIENT_CONTEXT, request.google_id, request.timestamp, request.signature]
        envelopes.append(["Fbv4je", json.dumps(inner, separators=(",", ":")), None,
                          "generic" if len(requests) == 1 else str(number)])
    return ("f.req=" + quote(json.dumps([envelopes], separators=(",", ":")))).encode("ascii")


def parse_batch_answer(text: str, count: int) -> list[str | None]:
    """Publisher URLs in request order; None where Google answered that request without a URL (its per-request
    error row has no payload). Raises GoogleFormatError for an answer in a shape this module does not know: no
    anti-hijacking prefix, unreadable JSON, no Fbv4je row, an unknown or repeated request id, a payload that is not
    garturlres, a URL that is not a publisher's."""
    stripped = text.lstrip()
    if not stripped.startswith(ANTI_HIJACK_PREFIX):
        raise GoogleFormatError("batchexecute answer does not start with )]}' (decoding format changed?)")
    rows: list = []
    for chunk in _json_chunks(stripped[len(ANTI_HIJACK_PREFIX):]):
        rows.extend(chunk)
    urls: list[str | None] = [None] * count
    answered: set[int] = set()
    for row in rows:
        if not (isinstance(row, list) and len(row) >= 3 and row[0] == "wrb.fr" and row[1] == "Fbv4je"):
            continue
        position = _position(row[6] if len(row) > 6 else None, count)
        if position in answered:
            raise GoogleFormatError(f"batchexecute answer has two rows for request {position + 1}")
        answered.add(position)
        if row[2] is None:  # Google's error row for this one request
            continue
        urls[position] = _publisher_url(row[2])
    if not answered:
        raise GoogleFormatError("batchexecute answer has no Fbv4je row (decoding format changed?)")
    return urls


def _position(request_id: object, count: int) -> int:
    if request_id in ("generic", None) and count == 1:
        return 0
    if isinstance(request_id, str) and request_id.isdigit() and 1 <= int(request_id) <= count:
        return int(request_id) - 1
    raise GoogleFormatError(f"batchexecute answer has an unknown request id {str(request_id)[:40]!r}")


def _publisher_url(payload_text: object) -> str:
    try:
        payload = json.loads(payload_text) if isinstance(payload_text, str) else None
    except (ValueError, RecursionError) as exc:
        raise GoogleFormatError(f"batchexecute row is not JSON: {str(payload_text)[:80]!r}") from exc
    if not (isinstance(payload, list) and len(payload) >= 2 and payload[0] == "garturlres" and isinstance(payload[1], str)):
        raise GoogleFormatError(f"batchexecute row is not a garturlres answer: {str(payload_text)[:80]!r}")
    url, host = payload[1], host_of(payload[1])
    if not url.startswith(("http://", "https://")) or not host or host in GOOGLE_NEWS_HOSTS or \
            host == "google.com" or host.endswith(".google.com"):
        raise GoogleFormatError(f"batchexecute answer is not a publisher URL: {url[:80]!r}")
    return url


def _json_chunks(body: str) -> list[list]:
    """The answer is one JSON array, or (the chunked form) JSON arrays each after a line holding its length."""
    body = body.strip()
    try:
        whole = json.loads(body)
        return [whole] if isinstance(whole, list) else []
    except RecursionError as exc:
        raise GoogleFormatError("batchexecute answer is nested too deeply") from exc
    except ValueError:
        pass
    chunks = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.isdigit():
            continue
        try:
            chunk = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise GoogleFormatError(f"batchexecute answer is not JSON: {line[:80]!r}") from exc
        if isinstance(chunk, list):
            chunks.append(chunk)
    return chunks


def decode_links(client: httpx.Client, policy: FetchPolicy, limiter: HostLimiter, links: list[str],
                 now: dt.datetime) -> dict[str, str | FetchError]:
    """link → publisher URL, or the FetchError that stopped it. One GET per link for its signature, then one POST per
    MAX_IDS_PER_POST links (per origin)."""
    results: dict[str, str | FetchError] = {}
    waiting: dict[str, list[tuple[str, DecodeRequest]]] = {}
    for link in links:
        google_id = google_id_of(link)
        if google_id is None:
            results[link] = GoogleFormatError("no article id in the Google News link")
            continue
        try:
            page = polite_fetch(client, link, policy, limiter, now)
            request = decoding_params(page.body.decode("utf-8", errors="replace"), google_id)
        except FetchError as exc:
            results[link] = exc
            continue
        parts = urlsplit(link)
        waiting.setdefault(f"{parts.scheme}://{parts.netloc}", []).append((link, request))
    for origin, items in waiting.items():
        for start in range(0, len(items), MAX_IDS_PER_POST):
            group = items[start:start + MAX_IDS_PER_POST]
            try:
                answer = polite_fetch(client, origin + BATCH_PATH, policy, limiter, now, method="POST",
                                      content=batch_request_body([r for _, r in group]),
                                      content_type="application/x-www-form-urlencoded;charset=UTF-8")
                urls = parse_batch_answer(answer.body.decode("utf-8", errors="replace"), len(group))
            except FetchError as exc:
                results.update({link: exc for link, _ in group})
                continue
            for (link, _), url in zip(group, urls, strict=True):
                results[link] = url if url else RetryableFetchError("Google answered without a URL for this id")
    return results
