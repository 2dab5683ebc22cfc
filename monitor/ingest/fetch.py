"""HTTP for feeds and pages: deadlines, size caps, conditional GET, redirects, per-host limits, SSRF guard.

`make_client()` builds an httpx.Client whose connections go through `GuardedBackend`: the host name is
resolved once, every address is checked, and the socket connects to the checked address (so a name that
resolves differently on a second lookup cannot slip past the check). `fetch()` follows redirects itself so
that every hop is checked, 301/308 can be told from 302/307, and loops and hop counts are capped.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import importlib.util
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from monitor.errors import (
    BlockedAddressError,
    FetchError,
    HostHeldError,
    PermanentFetchError,
    RateLimitedError,
    RetryableFetchError,
    TooLargeError,
)

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]
PERMANENT_REDIRECTS = {301, 308}
REDIRECTS = {301, 302, 303, 307, 308}
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524}
MAX_RETRY_AFTER_S = 6 * 3600.0
REFUSAL_BODY_BYTES = 64 * 1024  # enough to recognise a bot-wall page


def _decodable_encodings() -> set[str]:
    """What httpx decodes with the installed packages (it asks for exactly these in Accept-Encoding): gzip and
    deflate always, br with brotli or brotlicffi, zstd with zstandard (brotli and zstandard are core dependencies)."""
    codings = {"identity", "gzip", "x-gzip", "deflate"}
    for coding, module in (("br", "brotli"), ("br", "brotlicffi"), ("zstd", "zstandard")):
        if importlib.util.find_spec(module) is not None:
            codings.add(coding)
    return codings


DECODABLE_ENCODINGS = _decodable_encodings()


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve `host` with the system resolver; return unique addresses in order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, CGNAT (100.64/10), multicast, reserved and unspecified ranges."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in ipaddress.ip_network("100.64.0.0/10"):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks and connects to one checked address (defeats DNS rebinding)."""

    def __init__(self, allow_private: bool, resolver: Resolver = system_resolver):
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._resolver = resolver

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = self._resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        if not self._allow_private:
            for address in addresses:
                if not is_public_address(address):
                    raise _BlockedConnect(f"blocked non-public address {address} for host {host}")
        last_exc: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_exc = exc
        raise last_exc or httpcore.ConnectError(f"cannot connect to {host}")

    def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - never used
        raise httpcore.ConnectError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _BlockedConnect(httpcore.ConnectError):
    """Raised inside httpcore so that httpx maps it; recognised again by its message prefix."""


class GuardedTransport(httpx.HTTPTransport):
    """httpx transport whose connections go through GuardedBackend."""

    def __init__(self, allow_private: bool, resolver: Resolver = system_resolver, **kwargs):
        super().__init__(trust_env=False, **kwargs)
        ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_private, resolver),
        )


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch, built from Settings."""

    user_agent: str
    connect_timeout_s: float = 10.0
    total_timeout_s: float = 30.0
    max_body_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    max_url_length: int = 2048
    allow_private_networks: bool = False

    @classmethod
    def from_settings(cls, settings) -> FetchPolicy:
        return cls(
            user_agent=settings.user_agent,
            connect_timeout_s=settings.connect_timeout_s,
            total_timeout_s=settings.total_timeout_s,
            max_body_bytes=int(settings.max_body_mb * 1024 * 1024),
            max_redirects=settings.max_redirects,
            max_url_length=settings.max_url_length,
            allow_private_networks=settings.allow_private_networks,
        )


@dataclass
class FetchResult:
    """What one GET produced. `not_modified` is True for 304 (and `body` is empty)."""

    requested_url: str
    final_url: str
    status_code: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False
    permanent_redirect_to: str | None = None
    redirect_chain: list[tuple[int, str]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def validators_usable(self) -> bool:
        """Servers that send `Expires: 0` do not want validators reused."""
        return self.headers.get("expires", "").strip() not in ("0", "-1")

    @property
    def body_sha1(self) -> str:
        return hashlib.sha1(self.body).hexdigest()


def make_client(policy: FetchPolicy, resolver: Resolver = system_resolver) -> httpx.Client:
    """An httpx.Client with the guard, an honest User-Agent and no automatic redirects."""
    timeout = httpx.Timeout(policy.total_timeout_s, connect=policy.connect_timeout_s)
    return httpx.Client(
        transport=GuardedTransport(policy.allow_private_networks, resolver),
        timeout=timeout,
        follow_redirects=False,
        headers={
            "User-Agent": policy.user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5",
            "Accept-Language": "id,en;q=0.8",
            "Accept-Encoding": "gzip, deflate",
        },
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta or HTTP date), capped at 6 h; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER_S)


def check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse non-http(s) schemes, over-long URLs, and literal non-public IPs (before any connection)."""
    if len(url) > policy.max_url_length:
        raise PermanentFetchError(f"URL longer than {policy.max_url_length} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise PermanentFetchError(f"refused URL scheme {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise PermanentFetchError("URL has no host")
    if not policy.allow_private_networks:
        try:
            literal = ipaddress.ip_address(parts.hostname)
        except ValueError:
            literal = None
        if literal is not None and not is_public_address(str(literal)):
            raise BlockedAddressError(f"blocked non-public address {literal}")
        if parts.hostname in ("localhost",) or parts.hostname.endswith(".localhost"):
            raise BlockedAddressError(f"blocked non-public host {parts.hostname}")


def fetch(
    client: httpx.Client,
    url: str,
    policy: FetchPolicy,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    method: str = "GET",
    content: bytes | None = None,
    content_type: str | None = None,
) -> FetchResult:
    """GET `url` with the policy's limits (or POST `content`: a redirect then is an error, never followed). Raises
    a FetchError subclass on failure (never returns a 4xx/5xx)."""
    started = clock()
    deadline = started + policy.total_timeout_s
    headers: dict[str, str] = {"Content-Type": content_type} if content_type else {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    chain: list[tuple[int, str]] = []
    seen = {url}
    current = url
    permanent_to: str | None = None
    all_permanent = True
    for _hop in range(policy.max_redirects + 1):
        check_url(current, policy)
        remaining = deadline - clock()
        if remaining <= 0:
            raise RetryableFetchError(f"timeout: no answer within {policy.total_timeout_s:.0f}s")
        # A stalled read may never outlast the whole fetch's deadline.
        timeout = httpx.Timeout(remaining, connect=min(policy.connect_timeout_s, remaining))
        try:
            with client.stream(method, current, headers=headers, content=content, timeout=timeout) as response:
                status = response.status_code
                if status in REDIRECTS and method != "GET":
                    raise PermanentFetchError(f"HTTP {status} redirect answering a {method}", status_code=status)
                if status in REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise PermanentFetchError(f"HTTP {status} redirect without Location", status_code=status)
                    target = urljoin(str(response.url), location.strip())
                    chain.append((status, target))
                    all_permanent = all_permanent and status in PERMANENT_REDIRECTS
                    if all_permanent:
                        permanent_to = target
                    if target in seen:
                        raise PermanentFetchError(f"redirect loop at {target}", status_code=status)
                    seen.add(target)
                    current = target
                    continue
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                if status == 304:
                    return FetchResult(url, current, 304, b"", response_headers, True, permanent_to, chain, clock() - started)
                if status in (429, 503):
                    delay = parse_retry_after(response.headers.get("retry-after"), wall_clock())
                    raise RateLimitedError(f"HTTP {status}" + (f", Retry-After {delay:.0f}s" if delay is not None else ""),
                                           status_code=status, retry_after=delay,  # a 503 may be a bot-wall page
                                           body=_read_start(response, REFUSAL_BODY_BYTES, deadline, clock) if status == 503 else b"")
                if status in RETRYABLE_STATUS or status >= 500:
                    raise RetryableFetchError(f"HTTP {status}", status_code=status)
                if status == 404 or status == 410:
                    # A 404 often comes back (CMS hiccups); 410 Gone is meant to be final.
                    error = RetryableFetchError if status == 404 else PermanentFetchError
                    raise error(f"HTTP {status}", status_code=status)
                if status in (401, 403):  # the page says who refused us (a bot wall or a plain refusal)
                    raise PermanentFetchError(f"HTTP {status}", status_code=status,
                                              body=_read_start(response, REFUSAL_BODY_BYTES, deadline, clock))
                if status >= 400:
                    raise PermanentFetchError(f"HTTP {status}", status_code=status)
                body = _read_capped(response, policy, deadline, clock)
                return FetchResult(url, current, status, body, response_headers, False, permanent_to, chain, clock() - started)
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise RetryableFetchError(f"timeout: {type(exc).__name__}") from exc
        except httpx.ConnectError as exc:
            message = str(exc)
            if message.startswith("blocked non-public"):
                raise BlockedAddressError(message) from exc
            raise RetryableFetchError(f"connection failed: {message[:200]}") from exc
        except httpx.DecodingError as exc:  # a corrupt or truncated compressed body: a mirror may serve it whole later
            raise RetryableFetchError(f"cannot decode body: {str(exc)[:200]}") from exc
        except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise RetryableFetchError(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    raise PermanentFetchError(f"more than {policy.max_redirects} redirects")


def unsupported_encodings(header: str | None) -> list[str]:
    """The content codings in a Content-Encoding header that this client cannot decode (httpx passes unknown
    codings through as if they were identity, so the parsers would get compressed bytes)."""
    codings = [c.strip().lower() for c in (header or "").split(",") if c.strip()]
    return [c for c in codings if c not in DECODABLE_ENCODINGS]


def _read_capped(response: httpx.Response, policy: FetchPolicy, deadline: float, clock) -> bytes:
    """Read the decoded body, stopping at the size cap (gzip bombs) and the total deadline (slow drips)."""
    unsupported = unsupported_encodings(response.headers.get("content-encoding"))
    if unsupported:
        raise RetryableFetchError(f"unsupported Content-Encoding: {', '.join(unsupported)}", status_code=response.status_code)
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and not response.headers.get("content-encoding") and int(declared) > policy.max_body_bytes:
        raise TooLargeError(f"body too large: Content-Length {declared} > {policy.max_body_bytes} bytes")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():  # no chunk_size: httpx would buffer a slow drip
        total += len(chunk)
        if total > policy.max_body_bytes:
            raise TooLargeError(f"body too large: more than {policy.max_body_bytes} decoded bytes")
        if clock() > deadline:
            raise RetryableFetchError(f"timeout: body not complete within {policy.total_timeout_s:.0f}s")
        chunks.append(chunk)
    return b"".join(chunks)


def _read_start(response: httpx.Response, limit: int, deadline: float, clock) -> bytes:
    """Up to `limit` decoded bytes of a body, within the deadline; b"" when it cannot be read."""
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            total += len(chunk)
            if total >= limit or clock() > deadline:
                break
    except httpx.HTTPError:
        pass  # the status alone is the answer
    return b"".join(chunks)[:limit]


def polite_fetch(client: httpx.Client, url: str, policy: FetchPolicy, limiter: HostLimiter, now: dt.datetime,
                 **kwargs) -> FetchResult:
    """`fetch` inside the host limiter, honouring and recording host holds: raises HostHeldError without sending
    anything while the host is held; a 429/503 with Retry-After holds the host (for the run; the pipeline stores it)."""
    with limiter(url):  # checked and set while holding the host's slot: a queued request sees the new hold
        held = limiter.held(url, now)
        if held is not None:
            until, reason = held
            raise HostHeldError(f"host asked to wait until {until:%Y-%m-%d %H:%M} UTC ({reason})",
                                retry_after=(until - now).total_seconds())
        try:
            return fetch(client, url, policy, wall_clock=now.timestamp, **kwargs)
        except RateLimitedError as exc:
            if exc.retry_after:
                limiter.hold(url, now + dt.timedelta(seconds=exc.retry_after), exc.reason)
            raise


class HostLimiter:
    """At most `per_host` requests at once to one host, and at least `gap_s` between their starts; and hosts held
    back until a time (a 429/503 Retry-After holds the whole host, not only the URL that answered it)."""

    def __init__(self, per_host: int = 2, gap_s: float = 1.0, clock=time.monotonic, sleep=time.sleep):
        self._per_host = per_host
        self._gap_s = gap_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self.max_seen: dict[str, int] = {}
        self._active: dict[str, int] = {}
        self._held: dict[str, tuple[dt.datetime, str]] = {}

    def _host(self, url: str) -> str:
        return (urlsplit(url).hostname or "").lower()

    def host_of(self, url: str) -> str:
        return self._host(url)

    def hold(self, url: str, until: dt.datetime, reason: str) -> None:
        """Send nothing to the URL's host before `until` (UTC); a later hold extends an earlier one."""
        host = self._host(url)
        with self._lock:
            current = self._held.get(host)
            if current is None or until > current[0]:
                self._held[host] = (until, reason)

    def held(self, url: str, now: dt.datetime) -> tuple[dt.datetime, str] | None:
        """(until, reason) while the URL's host is held at `now`, else None."""
        with self._lock:
            hold = self._held.get(self._host(url))
        return hold if hold is not None and hold[0] > now else None

    def __call__(self, url: str):
        return _HostSlot(self, self._host(url))


class _HostSlot:
    def __init__(self, limiter: HostLimiter, host: str):
        self.limiter = limiter
        self.host = host

    def __enter__(self):
        lim = self.limiter
        with lim._lock:
            semaphore = lim._semaphores.setdefault(self.host, threading.Semaphore(lim._per_host))
        semaphore.acquire()
        with lim._lock:
            now = lim._clock()
            start = max(now, lim._next_start.get(self.host, now))
            lim._next_start[self.host] = start + lim._gap_s
            lim._active[self.host] = lim._active.get(self.host, 0) + 1
            lim.max_seen[self.host] = max(lim.max_seen.get(self.host, 0), lim._active[self.host])
        if start > now:
            lim._sleep(start - now)
        return self

    def __exit__(self, *exc):
        lim = self.limiter
        with lim._lock:
            lim._active[self.host] -= 1
        lim._semaphores[self.host].release()
        return False

