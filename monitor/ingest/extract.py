"""Page bytes → article text and metadata (trafilatura), bounded in time and memory.

`extract_page()` is a pure function. `ExtractionSandbox` runs it in worker processes that can be killed:
signals cannot interrupt lxml, so a pathological page is stopped by terminating its worker, and each
worker runs under an address-space limit and is recycled after a number of pages to stop memory creep.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import multiprocessing as mp
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from monitor.ingest.boilerplate import clean_html, strip_lines
from monitor.ingest.dates import parse_datetime
from monitor.ingest.urls import clean_url
from monitor.localtime import LocalTime
from monitor.statuses import ArticleStatus

log = logging.getLogger(__name__)

PAYWALL_MARKERS = (
    "berlangganan untuk membaca", "baca selengkapnya dengan berlangganan", "konten premium", "khusus pelanggan",
    "silakan berlangganan", "langganan sekarang", "masuk untuk membaca", "subscribe to continue reading",
    "subscribe to read", "this article is for subscribers", "artikel ini khusus",
)
JS_MARKERS = ("aktifkan javascript", "enable javascript", "javascript is required", "please enable js")

# Function words that tell Indonesian, Malay and English apart. Indonesian and Malay share most words;
# the pairs below are where everyday news usage differs (tidak/tak, bisa/boleh, pemerintah/kerajaan, ...).
LANGUAGE_WORDS = {
    "id": {"yang", "dan", "di", "ini", "itu", "dengan", "untuk", "tidak", "dari", "dalam", "akan", "pada", "juga",
           "bisa", "sudah", "karena", "kata", "pemerintah", "saat", "telah", "menjadi", "oleh", "sebagai", "kami",
           "mereka", "tersebut", "bahwa", "namun", "masyarakat", "warga", "adalah", "hingga", "usai", "seperti"},
    "ms": {"kerajaan", "boleh", "daripada", "kerana", "iaitu", "beliau", "manakala", "bagi", "ialah", "telah",
           "tidak", "yang", "dan", "di", "ini", "itu", "dengan", "untuk", "dari", "dalam", "akan", "pada", "juga",
           "negeri", "rakyat", "dapat", "sahaja", "selepas", "supaya", "semasa", "mahkamah", "syarikat", "ringgit"},
    "en": {"the", "and", "of", "to", "in", "is", "that", "for", "on", "with", "as", "was", "by", "said", "it", "from",
           "at", "are", "be", "has", "have", "government", "will", "this", "which", "minister", "were", "its"},
}
MALAY_ONLY = {"kerajaan", "daripada", "kerana", "iaitu", "manakala", "ialah", "sahaja", "selepas", "semasa", "syarikat", "ringgit", "beliau"}
INDONESIAN_ONLY = {"tidak", "bisa", "karena", "pemerintah", "saat", "usai", "tersebut", "warga", "hingga", "kata"}


@dataclass
class ExtractedPage:
    """Outcome of extracting one page (status: ok, partial, too_short, wrong_language, no_text, failed, timeout)."""

    status: ArticleStatus
    reason: str | None
    title: str | None = None
    author: str | None = None
    published: str | None = None  # as trafilatura found it (ISO date), parsed later
    site_name: str | None = None
    text: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    content_hash: str | None = None

    def __post_init__(self) -> None:
        self.status = ArticleStatus(self.status)  # from a worker process it arrives as its string

    def to_dict(self) -> dict:
        return {**asdict(self), "status": self.status.value}


def detect_language(text: str) -> str | None:
    """'id', 'ms', 'en' or None, from function-word counts (documented in docs/schema.md)."""
    words = re.findall(r"[a-z']+", text.lower()[:20000])
    if len(words) < 8:
        return None
    counts = {lang: sum(1 for w in words if w in vocab) for lang, vocab in LANGUAGE_WORDS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    if counts[best] / len(words) < 0.08:
        return "other"
    if best in ("id", "ms") or counts["id"] > counts["en"]:
        malay = sum(1 for w in words if w in MALAY_ONLY)
        indonesian = sum(1 for w in words if w in INDONESIAN_ONLY)
        return "ms" if malay > indonesian * 1.5 and malay >= 2 else "id"
    return best


def decode_html(body: bytes, content_type: str | None) -> str:
    """Decode by HTTP charset, then <meta charset>, then detection; cp1252-labelled-as-UTF-8 survives."""
    candidates: list[str] = []
    if content_type:
        match = re.search(r"charset=([\w.:-]+)", content_type, re.I)
        if match:
            candidates.append(match.group(1).strip("'\""))
    head = body[:4096].decode("ascii", errors="ignore")
    match = re.search(r"<meta[^>]+charset=['\"]?([\w.:-]+)", head, re.I)
    if match:
        candidates.append(match.group(1))
    for encoding in candidates:
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200000]).best()
    return str(best) if best is not None else body.decode("cp1252", errors="replace")


def content_hash(text: str) -> str:
    """Hash of the text with case, punctuation and whitespace removed (identical-text detection)."""
    normalised = " ".join(re.findall(r"\w+", text.lower()))
    return hashlib.sha1(normalised.encode("utf-8")).hexdigest()[:16]


# Where pages state their publication time (most specific first): Open Graph / article metadata, Dublin Core and
# common CMS meta names, schema.org datePublished (microdata or JSON-LD), and <time pubdate>.
_PUBLISHED_META = re.compile(
    r"""<meta\s[^>]*?(?:property|name|itemprop)\s*=\s*["'](?:article:published_time|og:article:published_time|"""
    r"""og:published_time|datePublished|pubdate|publishdate|publish_date|publish-date|dc\.date\.issued|DC\.date\.issued|"""
    r"""dcterms\.created|content_PublishedDate)["'][^>]*>""", re.I)
_CONTENT = re.compile(r"""\bcontent\s*=\s*["']([^"']{8,40})["']""", re.I)
_JSON_LD_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
_TIME_PUBDATE = re.compile(r"""<time\s[^>]*?datetime\s*=\s*["']([^"']{8,40})["'][^>]*\bpubdate""", re.I)


def published_time(html: str) -> str | None:
    """The publication time a page states in its metadata, as written (with its time and offset when it has
    them), or None. trafilatura reports only the calendar day, which loses the offset (issue 14, kind 10)."""
    head = html[:300_000]
    for tag in _PUBLISHED_META.finditer(head):
        content = _CONTENT.search(tag.group(0))
        if content:
            return content.group(1).strip()
    for pattern in (_JSON_LD_PUBLISHED, _TIME_PUBDATE):
        found = pattern.search(head)
        if found:
            return found.group(1).strip()
    return None


def extract_page(body: bytes, url: str, content_type: str | None = None, *, min_text_chars: int = 300,
                 languages: tuple[str, ...] = ("id", "en")) -> ExtractedPage:
    """Extract one page. Never raises for a bad page: the outcome is in `status` and `reason`."""
    import trafilatura

    try:
        html = decode_html(body, content_type)
        cleaned, _ = clean_html(html)  # teasers, ad markers and comment blocks out before extraction
        doc = trafilatura.bare_extraction(cleaned, url=url, with_metadata=True, include_comments=False,
                                          include_tables=False, favor_precision=True)
    except Exception as exc:  # trafilatura/lxml raise many types on hostile input
        return ExtractedPage(ArticleStatus.FAILED, f"extraction error: {type(exc).__name__}: {str(exc)[:200]}")
    if doc is None:
        reason = "no text extracted"
        if len(body) > 100_000:
            reason += f" from a {len(body)}-byte page (deep nesting or script-only page?)"
        return ExtractedPage(ArticleStatus.NO_TEXT, reason)
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text, _ = strip_lines((data.get("text") or "").strip())
    title = (data.get("title") or "").strip()
    if title and text.split("\n", 1)[0].strip() == title:
        text = text.split("\n", 1)[1].strip() if "\n" in text else ""  # the <h1> repeats the title
    canonical = None
    match = re.search(r"<link[^>]+rel=['\"]canonical['\"][^>]*>", html[:200000], re.I)
    if match:
        href = re.search(r"href=['\"]([^'\"]+)['\"]", match.group(0), re.I)
        if href and href.group(1).startswith(("http://", "https://", "/")):
            canonical = clean_url(href.group(1), base=url)
    page = ExtractedPage(
        status=ArticleStatus.OK, reason=None, title=data.get("title"), author=data.get("author"),
        published=published_time(html) or data.get("date"),
        site_name=data.get("sitename"), text=text or None, language=detect_language(text) if text else None,
        canonical_url=canonical, content_hash=content_hash(text) if text else None,
    )
    lowered = text.lower()
    if not text:
        page.status, page.reason = ArticleStatus.NO_TEXT, "page has no main text"
    elif any(marker in lowered for marker in JS_MARKERS) and len(text) < 2 * min_text_chars:
        page.status, page.reason = ArticleStatus.TOO_SHORT, "page needs JavaScript to render its text"
    elif any(marker in lowered for marker in PAYWALL_MARKERS) and len(text) < 2500:
        page.status, page.reason = ArticleStatus.PARTIAL, "paywall or subscription teaser"
    elif len(text) < min_text_chars:
        page.status, page.reason = ArticleStatus.TOO_SHORT, f"only {len(text)} characters of text (minimum {min_text_chars})"
    elif page.language not in languages:
        page.status, page.reason = ArticleStatus.WRONG_LANGUAGE, f"language {page.language or 'unknown'} not in {list(languages)}"
    return page


def merge_pages(first: ExtractedPage, rest: list[ExtractedPage], min_text_chars: int,
                incomplete: str | None = None) -> ExtractedPage:
    """One article from the pages of a split article, in order: the first page's metadata, all texts joined. A
    missing following page leaves the article `partial`, with the reason."""
    texts = [p.text for p in (first, *rest) if p.text]
    text = "\n".join(texts) or None
    merged = ExtractedPage(**{**asdict(first), "text": text, "content_hash": content_hash(text) if text else None})
    if text and merged.status in (ArticleStatus.TOO_SHORT, ArticleStatus.NO_TEXT) and len(text) >= min_text_chars:
        merged.status, merged.reason = ArticleStatus.OK, None
    if incomplete and merged.status == ArticleStatus.OK:
        merged.status, merged.reason = ArticleStatus.PARTIAL, incomplete
    return merged


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform, or already lower
        pass


def _worker(args: tuple) -> dict:
    body, url, content_type, min_chars, languages = args
    try:
        return extract_page(body, url, content_type, min_text_chars=min_chars, languages=languages).to_dict()
    except MemoryError:
        return ExtractedPage(ArticleStatus.FAILED, "extraction ran out of memory").to_dict()


WORKER_PRELOAD = ["monitor.ingest.extract"]


class ExtractionSandbox:
    """Extract pages in killable worker processes, each under a time and memory bound.

    workers=0 extracts in this process (no time bound): for tests of the extraction logic only.
    """

    def __init__(self, workers: int = 2, timeout_s: float = 20.0, memory_mb: int = 1024, pages_per_worker: int = 200,
                 min_text_chars: int = 300, languages: tuple[str, ...] = ("id", "en")):
        self.workers = workers
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.pages_per_worker = pages_per_worker
        self.min_text_chars = min_text_chars
        self.languages = tuple(languages)
        self._pool: Any = None  # a multiprocessing Pool once started

    def _ensure_pool(self):
        if self._pool is None and self.workers > 0:
            # forkserver, not fork: the run has threads (fetching), and forking a threaded process is unsafe. Not
            # spawn either: a spawned worker re-imports trafilatura and the main module's whole import tree, and
            # workers are replaced every `pages_per_worker` pages (profiled: a quarter of all CPU of a 300-page run
            # went to those imports). The fork server imports them once; workers are forked from it.
            context = mp.get_context("forkserver")
            context.set_forkserver_preload(WORKER_PRELOAD)
            self._pool = context.Pool(self.workers, initializer=_limit_memory, initargs=(self.memory_mb,),
                                      maxtasksperchild=self.pages_per_worker)
        return self._pool

    def extract_many(self, pages: Sequence[tuple[bytes, str, str | None]]) -> list[ExtractedPage]:
        """Extract (body, url, content_type) triples; results in the same order."""
        jobs = [(body, url, ctype, self.min_text_chars, self.languages) for body, url, ctype in pages]
        if self.workers == 0:
            return [ExtractedPage(**_worker(job)) for job in jobs]
        pool = self._ensure_pool()
        pending = [pool.apply_async(_worker, (job,)) for job in jobs]
        results: list[ExtractedPage] = []
        restart = False
        for async_result in pending:
            # Each page gets its own bound, counted from when we start waiting on it.
            started = time.monotonic()
            try:
                results.append(ExtractedPage(**async_result.get(timeout=self.timeout_s)))
            except mp.TimeoutError:
                restart = True
                results.append(ExtractedPage(ArticleStatus.TIMEOUT, f"extraction took longer than {self.timeout_s:.0f}s"))
            except Exception as exc:  # worker died (OOM kill) or pickling failed
                restart = True
                results.append(ExtractedPage(ArticleStatus.FAILED, f"extraction worker failed: {type(exc).__name__}: {str(exc)[:160]}"))
            log.debug("extracted in %.2fs", time.monotonic() - started)
        if restart:
            self.close()  # a stuck worker cannot be interrupted: kill the pool and start fresh next batch
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def parse_page_date(value: str | None, local: LocalTime | None = None) -> dt.datetime | None:
    """A page's date (its metadata's stamp, or trafilatura's YYYY-MM-DD) in UTC: a stamp keeps its time and offset
    (no offset: local time); a bare date is local midnight. None when unreadable."""
    return parse_datetime(value, local)
