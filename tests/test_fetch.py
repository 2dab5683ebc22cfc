import gzip
import threading
import time

import httpx
import pytest

from monitor.dev.localserver import Reply
from monitor.errors import BlockedAddressError, PermanentFetchError, RateLimitedError, RetryableFetchError, TooLargeError
from monitor.ingest.fetch import FetchPolicy, HostLimiter, fetch, is_public_address, make_client, parse_retry_after

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'


def policy(**kw) -> FetchPolicy:
    base = dict(user_agent="Mozilla/5.0 (compatible; monitor-test)", connect_timeout_s=2, total_timeout_s=3,
                max_body_bytes=1_000_000, max_redirects=3, allow_private_networks=True)
    base.update(kw)
    return FetchPolicy(**base)


def get(url, pol=None, resolver=None, **kw):
    pol = pol or policy()
    with (make_client(pol, resolver) if resolver else make_client(pol)) as client:
        return fetch(client, url, pol, **kw)


@pytest.mark.parametrize("address, public", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
    ("::ffff:127.0.0.1", False), ("0.0.0.0", False), ("8.8.8.8", True), ("2001:4860:4860::8888", True),
])
def test_public_address_classification(address, public):
    assert is_public_address(address) is public


def test_loopback_refused_by_default(server):
    server.routes["/feed"] = Reply(200, FEED)
    with pytest.raises(BlockedAddressError, match="blocked non-public address 127.0.0.1"):
        get(server.url("/feed"), policy(allow_private_networks=False))
    assert server.hits("/feed") == 0


def test_loopback_allowed_with_opt_in_and_user_agent_sent(server):
    server.routes["/feed"] = Reply(200, FEED, {"Content-Type": "application/rss+xml"})
    result = get(server.url("/feed"))
    assert result.status_code == 200 and result.body == FEED
    assert server.requests[0].headers["user-agent"].startswith("Mozilla/5.0 (compatible; monitor")


def test_name_resolving_to_private_address_is_refused_and_connection_uses_the_checked_address(server):
    server.routes["/feed"] = Reply(200, FEED)
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    url = f"http://feeds.example.com:{server.port}/feed"
    with pytest.raises(BlockedAddressError):
        get(url, policy(allow_private_networks=False), resolver=resolver)
    # With the opt-in, the socket goes to the address the resolver gave (one lookup, no second resolution).
    result = get(url, policy(), resolver=resolver)
    assert result.body == FEED and server.requests[-1].headers["host"].startswith("feeds.example.com")


def test_rebinding_cannot_slip_between_check_and_connect(server):
    """The address that is checked is the address connected to: one lookup per connection, never a second."""
    server.routes["/feed"] = Reply(200, FEED)
    calls = []

    def rebinding_resolver(host, port):
        calls.append(host)
        # first answer is what the check sees; a rebinding server would change it for the next lookup
        return ["127.0.0.1"] if len(calls) == 1 else ["10.255.255.1"]

    result = get(f"http://rebind.example.com:{server.port}/feed", policy(), resolver=rebinding_resolver)
    assert result.body == FEED and calls == ["rebind.example.com"]
    # and with the guard on, the same first answer is refused before any connection is made
    calls.clear()
    with pytest.raises(BlockedAddressError):
        get(f"http://rebind.example.com:{server.port}/feed", policy(allow_private_networks=False), resolver=rebinding_resolver)
    assert calls == ["rebind.example.com"] and server.hits("/feed") == 1


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/", "http://[::1]/",
                                    "http://localhost/admin", "file:///etc/passwd"])
def test_redirect_hops_are_checked(target):
    """Every hop is checked before it is requested (a mock transport stands in for a public server)."""
    asked = []

    def handler(request):
        asked.append(str(request.url))
        return httpx.Response(302, headers={"Location": target})

    pol = policy(allow_private_networks=False)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(PermanentFetchError):
            fetch(client, "https://berita.example.com/rss", pol)
    assert asked == ["https://berita.example.com/rss"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "ftp://example.com/feed"])
def test_other_schemes_refused(url):
    with pytest.raises(PermanentFetchError, match="refused URL scheme"):
        get(url)


def test_conditional_get_sends_validators_and_304_is_not_modified(server):
    def route(req):
        if req.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"")
        return Reply(200, FEED, {"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 01:00:00 GMT"})

    server.routes["/feed"] = route
    first = get(server.url("/feed"))
    assert first.etag == '"v1"' and first.last_modified.startswith("Mon")
    second = get(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.status_code == 304 and second.body == b""
    assert server.requests[-1].headers["if-modified-since"] == first.last_modified


def test_expires_zero_makes_validators_unusable(server):
    server.routes["/feed"] = Reply(200, FEED, {"ETag": '"x"', "Expires": "0"})
    assert get(server.url("/feed")).validators_usable is False


@pytest.mark.parametrize("header, expected", [("120", 120.0), ("999999", 6 * 3600.0), (None, None), ("soon", None)])
def test_retry_after_seconds(server, header, expected):
    headers = {"Retry-After": header} if header else {}
    server.routes["/feed"] = Reply(429, b"slow down", headers)
    with pytest.raises(RateLimitedError) as info:
        get(server.url("/feed"))
    assert info.value.retry_after == expected and info.value.retryable


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now=1792567680.0 - 60) == pytest.approx(60, abs=1)


def test_503_is_rate_limited_and_500_is_retryable_and_403_permanent(server):
    server.routes["/a"] = Reply(503, b"", {"Retry-After": "30"})
    server.routes["/b"] = Reply(500, b"")
    server.routes["/c"] = Reply(403, b"")
    with pytest.raises(RateLimitedError):
        get(server.url("/a"))
    with pytest.raises(RetryableFetchError, match="HTTP 500"):
        get(server.url("/b"))
    with pytest.raises(PermanentFetchError, match="HTTP 403"):
        get(server.url("/c"))


def test_301_is_permanent_302_is_not(server):
    server.routes["/old"] = Reply(301, b"", {"Location": "/new"})
    server.routes["/temp"] = Reply(302, b"", {"Location": "/new"})
    server.routes["/new"] = Reply(200, FEED)
    moved = get(server.url("/old"))
    assert moved.permanent_redirect_to == server.url("/new") and moved.final_url == server.url("/new")
    temporary = get(server.url("/temp"))
    assert temporary.permanent_redirect_to is None and temporary.final_url == server.url("/new")


def test_redirect_loop_and_hop_cap(server):
    server.routes["/a"] = Reply(301, b"", {"Location": "/b"})
    server.routes["/b"] = Reply(302, b"", {"Location": "/a"})
    with pytest.raises(PermanentFetchError, match="redirect loop"):
        get(server.url("/a"))
    for i in range(6):
        server.routes[f"/hop{i}"] = Reply(302, b"", {"Location": f"/hop{i + 1}"})
    with pytest.raises(PermanentFetchError, match="more than 3 redirects"):
        get(server.url("/hop0"))


def test_slow_drip_stops_at_the_total_deadline(server):
    server.routes["/drip"] = Reply(200, b"x" * 100, drip_s=0.2)
    started = time.monotonic()
    with pytest.raises(RetryableFetchError, match="timeout"):
        get(server.url("/drip"), policy(total_timeout_s=1.0))
    assert time.monotonic() - started < 3


def test_server_that_never_answers_times_out(server):
    server.routes["/hang"] = Reply(200, FEED, delay_s=3)
    with pytest.raises(RetryableFetchError, match="timeout"):
        get(server.url("/hang"), policy(total_timeout_s=1.0))


def test_oversized_body_refused(server):
    server.routes["/big"] = Reply(200, b"x" * 2_000_000)
    with pytest.raises(TooLargeError, match="too large"):
        get(server.url("/big"))


def test_gzip_bomb_stops_at_the_decoded_cap(server):
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    server.routes["/bomb"] = Reply(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})
    with pytest.raises(TooLargeError, match="decoded bytes"):
        get(server.url("/bomb"))


def test_host_limiter_caps_concurrency_per_host(server):
    server.routes["/slow"] = Reply(200, FEED, delay_s=0.3)
    limiter = HostLimiter(per_host=2, gap_s=0.0)
    pol = policy()
    with make_client(pol) as client:
        def one():
            with limiter(server.url("/slow")):
                fetch(client, server.url("/slow"), pol)
        threads = [threading.Thread(target=one) for _ in range(6)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert limiter.max_seen["127.0.0.1"] == 2
    assert server.hits("/slow") == 6


def test_host_limiter_spaces_request_starts():
    now = [0.0]
    sleeps = []
    limiter = HostLimiter(per_host=2, gap_s=5.0, clock=lambda: now[0], sleep=lambda s: sleeps.append(s))
    for _ in range(3):
        with limiter("https://www.antara.test/rss/terkini.xml"):
            pass
    with limiter("https://news.detik.test/berita/rss"):
        pass
    assert sleeps == [5.0, 10.0]  # second and third start 5 s apart on one host; the other host does not wait


@pytest.mark.parametrize("coding, compress", [
    ("br", lambda b: __import__("brotli").compress(b)),
    ("zstd", lambda b: __import__("zstandard").ZstdCompressor().compress(b)),
    ("gzip", gzip.compress),
    ("gzip, br", lambda b: __import__("brotli").compress(gzip.compress(b))),
])
def test_every_standard_content_coding_is_decoded_even_unasked(server, coding, compress):
    """brotli-encoding: a server or CDN cache sends a coding; the parsers must get the decoded bytes."""
    server.routes["/feed"] = Reply(200, compress(FEED), {"Content-Encoding": coding, "Content-Type": "application/rss+xml"})
    assert get(server.url("/feed")).body == FEED


@pytest.mark.parametrize("coding", ["compress", "x-bzip2", "gzip, snappy"])
def test_a_coding_that_cannot_be_decoded_is_a_clear_retryable_error(server, coding):
    server.routes["/feed"] = Reply(200, b"\x1f\x9d\x90garbage", {"Content-Encoding": coding})
    with pytest.raises(RetryableFetchError, match="unsupported Content-Encoding: .*(compress|bzip2|snappy)"):
        get(server.url("/feed"))


def test_a_corrupt_compressed_body_is_retryable_not_permanent(server):
    server.routes["/feed"] = Reply(200, b"not really brotli", {"Content-Encoding": "br"})
    with pytest.raises(RetryableFetchError, match="cannot decode body"):
        get(server.url("/feed"))
