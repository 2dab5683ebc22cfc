"""An outlet whose own feed refuses us switches to its fallback source and back (monitor/ingest/fallback.py)."""

import datetime as dt

from test_pipeline import HTML, RSS, Clock, rows, run

from monitor.config import FeedConfig, Settings
from monitor.dev.localserver import Reply
from monitor.errors import PermanentFetchError, RateLimitedError, RetryableFetchError
from monitor.ingest.fallback import FeedRound, blocked_reason, fallback_url, settle_round, wall_marker
from monitor.ingest.feed_state import FeedOutcome, FeedSchedule
from monitor.ingest.feeds import ParsedFeed
from monitor.ingest.fetch import FetchResult
from monitor.records import FeedRow

from helpers import PARAGRAPHS, article_html, rss

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
CLOUDFLARE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
              b"<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script></body></html>")
FEED = FeedConfig(name="warta", url="https://www.warta.example/rss/terkini.xml", outlet="Warta")
SCHEDULE = FeedSchedule(interval=dt.timedelta(hours=1), max_backoff=dt.timedelta(hours=24))
SETTINGS = Settings(fallback_after_failures=3, fallback_probe_hours=24)


def refused(status=403, body=CLOUDFLARE, feed=FEED, url=None):
    return FeedOutcome(feed, url or feed.url, error=PermanentFetchError(f"HTTP {status}", status_code=status, body=body))


def read(feed=FEED, url=None, etag='"own"'):
    result = FetchResult(url or feed.url, url or feed.url, 200, b"<rss/>", {"etag": etag})
    return FeedOutcome(feed, url or feed.url, result=result, parsed=ParsedFeed(is_feed=True, version="rss20"))


def test_bot_walls_and_refusals_count_as_blocked_other_failures_do_not():
    assert blocked_reason(refused()) == "HTTP 403, Cloudflare challenge"
    assert blocked_reason(refused(401, b"Unauthorized")) == "HTTP 401"
    assert blocked_reason(refused(403, b"<title>Access Denied</title> https://errors.edgesuite.net/18.abc")) == \
        "HTTP 403, Akamai block"
    challenge = FeedOutcome(FEED, FEED.url, result=FetchResult(FEED.url, FEED.url, 200, CLOUDFLARE),
                            parsed=ParsedFeed(is_feed=False, bozo_reason="no RSS/Atom root element"))
    assert blocked_reason(challenge) == "challenge page instead of the feed (Cloudflare challenge)"
    plain_html = FeedOutcome(FEED, FEED.url, result=FetchResult(FEED.url, FEED.url, 200, b"<html>Beranda</html>"),
                             parsed=ParsedFeed(is_feed=False))
    assert blocked_reason(plain_html) is None  # a wrong URL, not a refusal
    assert blocked_reason(FeedOutcome(FEED, FEED.url, error=RetryableFetchError("HTTP 404", status_code=404))) is None
    assert blocked_reason(FeedOutcome(FEED, FEED.url, error=RetryableFetchError("timeout"))) is None
    under_attack = RateLimitedError("HTTP 503", status_code=503, body=CLOUDFLARE)
    assert blocked_reason(FeedOutcome(FEED, FEED.url, error=under_attack)) == "HTTP 503, Cloudflare challenge"
    assert blocked_reason(FeedOutcome(FEED, FEED.url, error=RateLimitedError("HTTP 503", status_code=503))) is None
    assert wall_marker(b"<div class='g-recaptcha'></div>") == "captcha"
    assert wall_marker(b"Silakan Enable JavaScript and cookies to continue") == "browser check"


def test_fallback_url_is_a_site_search_for_the_feed_domain_unless_set_or_switched_off():
    auto = fallback_url(FEED)
    assert auto.startswith("https://news.google.com/rss/search?q=site%3Awarta.example%20when%3A1d")
    assert auto.endswith("&hl=id&gl=ID&ceid=ID:id")
    rss_host = FEED.model_copy(update={"url": "https://rss.detik.example/index.php/detikcom"})
    assert "site%3Adetik.example" in fallback_url(rss_host)
    assert fallback_url(FEED.model_copy(update={"fallback": "none"})) is None
    assert fallback_url(FEED.model_copy(update={"fallback": "https://mirror.example/feed"})) == "https://mirror.example/feed"
    assert fallback_url(FEED.model_copy(update={"kind": "google_news"})) is None
    okezone = FEED.model_copy(update={"url": "https://sindikasi.okezone.com/index.php/rss/0/RSS2.0"})
    assert "site%3Aokezone.com%20" in fallback_url(okezone)  # the outlet's domain, not the syndication host
    english = FEED.model_copy(update={"url": "https://en.antaranews.com/rss/news.xml", "language": "en"})
    assert "site%3Aantaranews.com%20" in fallback_url(english) and fallback_url(english).endswith("&hl=en-ID&gl=ID&ceid=ID:en")
    assert fallback_url(FEED.model_copy(update={"url": "https://feeds.feedburner.com/warta"})) is None


def test_three_blocked_fetches_in_a_row_switch_and_a_success_in_between_resets_the_count():
    state = None
    for _ in range(2):
        state, _log, switch = settle_round(state, FeedRound(FEED, refused()), NOW, SCHEDULE, SETTINGS, "r")
        assert switch is None
    assert state.blocked_fetches == 2
    reset, _log, _ = settle_round(state, FeedRound(FEED, read()), NOW, SCHEDULE, SETTINGS, "r")
    assert reset.blocked_fetches == 0 and reset.fallback_since is None
    timeouts = state
    timeouts, _log, switch = settle_round(timeouts, FeedRound(FEED, FeedOutcome(FEED, FEED.url, error=RetryableFetchError(
        "timeout"))), NOW, SCHEDULE, SETTINGS, "r")
    assert timeouts.blocked_fetches == 2 and switch is None  # a timeout neither counts nor resets the count
    state, _log, switch = settle_round(state, FeedRound(FEED, refused()), NOW, SCHEDULE, SETTINGS, "r3")
    assert switch is not None and switch.to_fallback and switch.url == fallback_url(FEED)
    assert switch.reason == "own feed refused 3 fetches in a row (HTTP 403, Cloudflare challenge)"
    assert state.fallback_since == NOW and state.next_fetch_at == NOW and state.probe_at == NOW + dt.timedelta(hours=24)
    never = FEED.model_copy(update={"fallback": "none"})
    stuck = FeedRow(feed_id="warta", configured_url=FEED.url, url=FEED.url, blocked_fetches=5)
    stuck, _log, switch = settle_round(stuck, FeedRound(never, refused(feed=never)), NOW, SCHEDULE, SETTINGS, "r")
    assert switch is None and stuck.fallback_since is None and stuck.blocked_fetches == 6


def test_turning_the_fallback_off_while_switched_switches_back_at_once():
    never = FEED.model_copy(update={"fallback": "none"})
    row, _log, switch = settle_round(switched_state(), FeedRound(never, read(feed=never)), NOW, SCHEDULE, SETTINGS, "r")
    assert switch is not None and not switch.to_fallback and switch.reason == "fallback turned off in feeds.yaml"
    assert row.fallback_since is None and row.probe_at is None


def switched_state():
    return FeedRow(feed_id="warta", configured_url=FEED.url, url=FEED.url, etag='"own-v7"', body_hash="abc",
                   fallback_since=NOW - dt.timedelta(days=1), fallback_reason="own feed refused 3 fetches",
                   blocked_fetches=3, probe_at=NOW + dt.timedelta(hours=5))


def test_while_switched_the_fallback_is_read_and_the_own_feed_validators_are_kept():
    state = switched_state()
    main = read(url=fallback_url(FEED), etag='"google"')
    main.via_fallback = True
    row, log_row, switch = settle_round(state, FeedRound(FEED, main), NOW, SCHEDULE, SETTINGS, "r")
    assert switch is None and row.fallback_since == state.fallback_since
    assert (row.etag, row.body_hash, row.url) == ('"own-v7"', "abc", FEED.url)
    assert row.last_success_at == NOW and log_row.reason.startswith("via fallback https://news.google.com/")


def test_a_probe_that_reads_the_own_feed_switches_back_and_a_refused_probe_waits_another_period():
    main = read(url=fallback_url(FEED))
    main.via_fallback = True
    row, _log, switch = settle_round(switched_state(), FeedRound(FEED, main, probe=refused()), NOW, SCHEDULE,
                                     SETTINGS, "r")
    assert switch is None and row.fallback_since is not None and row.probe_at == NOW + dt.timedelta(hours=24)
    assert _log.reason.endswith("own feed probed: HTTP 403, Cloudflare challenge")
    row, _log, switch = settle_round(switched_state(), FeedRound(FEED, main, probe=read(etag='"own-v8"')), NOW,
                                     SCHEDULE, SETTINGS, "r")
    assert switch is not None and not switch.to_fallback and switch.reason == "own feed works again"
    assert row.fallback_since is None and row.blocked_fetches == 0 and row.probe_at is None and row.etag == '"own-v8"'


def test_a_blocked_outlet_switches_to_its_fallback_and_back_across_runs(server, tmp_path):
    own = {"blocked": True}

    def own_feed(_req):
        if own["blocked"]:
            return Reply(403, CLOUDFLARE, {"Content-Type": "text/html", "cf-mitigated": "challenge"})
        return Reply(200, rss([{"title": "BNPB Kirim Bantuan", "link": f"{server.base}/warta/banjir",
                                "date": "Mon, 30 Nov 2026 09:00:00 WIB"}]), RSS)

    server.routes["/warta/rss.xml"] = own_feed
    server.routes["/stand-in/search"] = Reply(200, rss([
        {"title": "KPK Tahan Kepala Dinas - Warta Online", "link": f"{server.base}/warta/kpk",
         "date": "Mon, 30 Nov 2026 08:00:00 WIB", "source": "Warta Online"}]), RSS)
    server.routes["/warta/kpk"] = Reply(200, article_html("KPK Tahan Kepala Dinas", PARAGRAPHS["korupsi"]).encode(), HTML)
    server.routes["/warta/banjir"] = Reply(200, article_html("BNPB Kirim Bantuan", PARAGRAPHS["banjir"]).encode(), HTML)
    feeds = [{"name": "warta", "url": f"{server.base}/warta/rss.xml", "outlet": "Warta",
              "fallback": f"{server.base}/stand-in/search"}]
    clock = Clock(NOW)
    for _ in range(3):
        run(server, tmp_path, feeds, clock=clock)
        clock.advance(hours=5)  # past the backoff of 1, 2 and 4 hours
    assert rows(tmp_path, "SELECT to_fallback, url, reason FROM feed_switches") == [
        (True, f"{server.base}/stand-in/search", "own feed refused 3 fetches in a row (HTTP 403, Cloudflare challenge)")]
    assert server.hits("/stand-in/search") == 0  # read from the next run on
    summary = run(server, tmp_path, feeds, clock=clock)
    assert summary.feeds_ok == 1 and server.hits("/stand-in/search") == 1
    assert server.hits("/warta/rss.xml") == 3  # no probe before probe_at
    assert rows(tmp_path, "SELECT outlet, status FROM articles") == [("Warta", "ok")]  # the outlet's name, not Google's
    own["blocked"] = False
    clock.advance(hours=25)
    run(server, tmp_path, feeds, clock=clock)
    assert server.hits("/warta/rss.xml") == 4
    assert rows(tmp_path, "SELECT to_fallback, reason FROM feed_switches ORDER BY switched_at") == [
        (True, "own feed refused 3 fetches in a row (HTTP 403, Cloudflare challenge)"), (False, "own feed works again")]
    assert rows(tmp_path, "SELECT fallback_since, blocked_fetches FROM feeds") == [(None, 0)]
    assert sorted(rows(tmp_path, "SELECT title, outlet FROM articles")) == [
        ("BNPB Kirim Bantuan", "Warta"), ("KPK Tahan Kepala Dinas", "Warta")]
    clock.advance(hours=2)
    run(server, tmp_path, feeds, clock=clock)
    assert server.hits("/stand-in/search") == 2 and server.hits("/warta/rss.xml") == 5  # own feed only again


def test_feeds_switched_to_the_same_fallback_share_one_fetch_per_run(server, tmp_path):
    server.routes["/warta/a.xml"] = Reply(403, CLOUDFLARE, {"Content-Type": "text/html"})
    server.routes["/warta/b.xml"] = Reply(403, CLOUDFLARE, {"Content-Type": "text/html"})
    server.routes["/stand-in/search"] = Reply(200, rss([
        {"title": "KPK Tahan Kepala Dinas", "link": f"{server.base}/warta/kpk", "date": "Mon, 30 Nov 2026 08:00:00 WIB"}]), RSS)
    server.routes["/warta/kpk"] = Reply(200, article_html("KPK Tahan Kepala Dinas", PARAGRAPHS["korupsi"]).encode(), HTML)
    feeds = [{"name": name, "url": f"{server.base}/warta/{name}.xml", "outlet": "Warta",
              "fallback": f"{server.base}/stand-in/search"} for name in ("a", "b")]
    clock = Clock(NOW)
    for _ in range(3):
        run(server, tmp_path, feeds, clock=clock)
        clock.advance(hours=5)
    run(server, tmp_path, feeds, clock=clock)
    assert server.hits("/stand-in/search") == 1  # one search for the two sections
    assert rows(tmp_path, "SELECT feed_id, outlet FROM entry_sources ORDER BY feed_id") == [("a", "Warta"), ("b", "Warta")]
    assert rows(tmp_path, "SELECT count(*) FROM feed_fetches WHERE reason LIKE 'via fallback%'") == [(2,)]
