import base64
import datetime as dt
import gzip

import pytest

from monitor.db.store import Store
from monitor.dev.localserver import Reply
from monitor.errors import DatabaseLockedError
from monitor.ingest.extract import ExtractionSandbox
from monitor.ingest.fetch import FetchPolicy, HostLimiter, make_client
from monitor.ingest.pipeline import RunContext, run_once
from monitor.records import ArticleRow, Batch, FeedRow

from helpers import PARAGRAPHS, article_html, atom, make_config, rss

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


class Clock:
    def __init__(self, start=T0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += dt.timedelta(**kw)


def run(server, tmp_path, feeds, clock=None, store=None, resolver=None, **settings):
    config = make_config(feeds, **settings)
    store = store or Store(tmp_path / "monitor.duckdb", lock_timeout_s=0.2)
    policy = FetchPolicy.from_settings(config.settings)
    with make_client(policy, resolver) if resolver else make_client(policy) as client:
        return run_once(RunContext.create(config, store, client, ExtractionSandbox(workers=0, min_text_chars=200),
                                          now=clock or Clock(), seed=1, limiter=HostLimiter(2, 0.0)))


def rows(tmp_path, sql, params=None):
    with Store(tmp_path / "monitor.duckdb").session(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def page(server, path, title, key, **kw):
    server.routes[path] = Reply(200, article_html(title, PARAGRAPHS[key], **kw).encode(), HTML)


def etag_route(body, headers, etag='"v1"'):
    def route(req):
        if req.headers.get("if-none-match") == etag:
            return Reply(304, b"")
        return Reply(200, body, {**headers, "ETag": etag})
    return route


@pytest.fixture
def two_feeds(server):
    """Nasional (RSS, WIB dates, relative links) and Daerah (Atom) share a story; a pickup and an exact copy exist."""
    page(server, "/berita/kpk-tahan", "KPK Tahan Kepala Dinas", "korupsi")
    page(server, "/berita/pajak", "Penerimaan Pajak Capai 82 Persen", "pajak")
    server.routes["/daerah/kpk-tahan-salinan"] = Reply(200, article_html(
        "Kepala Dinas Ditahan KPK", [p.replace("sembilan jam", "hampir sepuluh jam") for p in PARAGRAPHS["korupsi"]]
        + ["Berita ini dikutip dari kantor berita nasional."]).encode(), HTML)
    server.routes["/daerah/pajak-copy"] = Reply(200, article_html("Penerimaan Pajak Capai 82 Persen", PARAGRAPHS["pajak"]).encode(), HTML)
    page(server, "/daerah/banjir", "BNPB Kirim Bantuan", "banjir")
    nasional = rss([
        {"title": "KPK Tahan Kepala Dinas", "link": "/berita/kpk-tahan?utm_source=rss", "guid": "n1", "date": "Mon, 23 Nov 2026 09:15:00 WIB"},
        {"title": "Penerimaan Pajak Capai 82 Persen", "link": "/berita/pajak", "guid": "n2", "date": "Mon, 23 Nov 2026 08:00:00 WIB"},
    ])
    daerah = atom([
        {"title": "KPK Tahan Kepala Dinas", "link": f"{server.base}/berita/kpk-tahan", "date": "2026-11-23T02:30:00Z"},
        {"title": "Kepala Dinas Ditahan KPK", "link": "/daerah/kpk-tahan-salinan", "date": "2026-11-23T10:00:00+07:00"},
        {"title": "Penerimaan Pajak (salinan)", "link": "/daerah/pajak-copy"},
        {"title": "BNPB Kirim Bantuan", "link": "/daerah/banjir", "date": "2026-11-22T20:00:00Z"},
    ], base=server.base + "/")
    server.routes["/feed/nasional.xml"] = etag_route(nasional, RSS)
    server.routes["/feed/daerah.atom"] = etag_route(daerah, {"Content-Type": "application/atom+xml"}, '"d1"')
    return [{"name": "nasional", "url": server.url("/feed/nasional.xml"), "outlet": "Warta Uji"},
            {"name": "daerah", "url": server.url("/feed/daerah.atom"), "outlet": "Kabar Daerah Uji"}]


def test_full_run_stores_articles_sources_clusters_and_mentions(server, tmp_path, two_feeds):
    summary = run(server, tmp_path, two_feeds)
    assert summary.status == "ok" and summary.feeds_ok == 2 and summary.feeds_failed == 0
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(5,)]
    assert summary.new_articles == 3 and summary.duplicates == 2  # a pickup and an exact copy
    # one row per canonical URL whichever feeds carried it, every feed recorded
    kpk_id = rows(tmp_path, "SELECT article_id FROM articles WHERE url LIKE '%/berita/kpk-tahan'")[0][0]
    assert rows(tmp_path, "SELECT feed_id, outlet FROM article_sources WHERE article_id = ? ORDER BY feed_id", [kpk_id]) == [
        ("daerah", "Kabar Daerah Uji"), ("nasional", "Warta Uji")]
    # tracking parameter gone, WIB converted to UTC
    assert rows(tmp_path, "SELECT url, published_at FROM articles WHERE article_id = ?", [kpk_id]) == [
        (f"{server.base}/berita/kpk-tahan", dt.datetime(2026, 11, 23, 2, 15, tzinfo=UTC))]
    # near-duplicate pickup joins the cluster; identical text is linked
    assert rows(tmp_path, "SELECT cluster_id FROM articles WHERE url LIKE '%salinan'") == [(kpk_id,)]
    pajak_id = rows(tmp_path, "SELECT article_id FROM articles WHERE url LIKE '%/berita/pajak'")[0][0]
    assert rows(tmp_path, "SELECT same_text_as FROM articles WHERE url LIKE '%pajak-copy'") == [(pajak_id,)]
    assert rows(tmp_path, "SELECT count(DISTINCT cluster_id) FROM articles") == [(3,)]
    # an Atom entry without a date keeps an unknown date (and its fetch time), never "now"
    assert rows(tmp_path, "SELECT published_at IS NULL, date_source FROM articles WHERE url LIKE '%pajak-copy'") == [(True, "unknown")]
    mentions = dict(rows(tmp_path, "SELECT agency_id, mention_count FROM mentions WHERE article_id = ?", [kpk_id]))
    assert mentions == {"kpk": 3, "prov-jatim": 1}
    assert rows(tmp_path, "SELECT in_title, in_lead, sentences[1] FROM mentions WHERE article_id = ? AND agency_id = 'kpk'", [kpk_id]) == [
        (True, True, PARAGRAPHS["korupsi"][0].split(". ")[0] + ".")]
    assert rows(tmp_path, "SELECT count(*) FROM entries WHERE state = 'done'") == [(5,)]
    assert rows(tmp_path, "SELECT status, feeds_ok, new_articles FROM runs") == [("ok", 2, 3)]
    assert set(summary.stage_seconds) == {"feeds", "pages", "extract", "waiting for pages", "dedupe+mentions", "write"}
    assert sum(summary.stage_seconds.values()) <= summary.elapsed_s


def test_rerun_is_incremental_and_idempotent(server, tmp_path, two_feeds):
    clock = Clock()
    run(server, tmp_path, two_feeds, clock)
    before = rows(tmp_path, "SELECT article_id, title, cluster_id FROM articles ORDER BY 1")
    page_hits = server.hits("/berita/pajak")
    clock.advance(hours=2)
    summary = run(server, tmp_path, two_feeds, clock)
    assert summary.feeds_not_modified == 2 and summary.new_articles == 0 and summary.duplicates == 0
    assert server.requests[-1].headers.get("if-none-match") in ('"v1"', '"d1"')
    assert rows(tmp_path, "SELECT article_id, title, cluster_id FROM articles ORDER BY 1") == before
    assert server.hits("/berita/pajak") == page_hits  # no page fetched twice
    clock.advance(minutes=10)
    assert run(server, tmp_path, two_feeds, clock).feeds_due == 0  # not due yet: nothing fetched


def test_feed_failures_are_recorded_with_reasons_and_the_run_goes_on(server, tmp_path, two_feeds):
    server.routes["/bad/html"] = Reply(200, b"<!doctype html><html><body><h1>Akses ditolak</h1></body></html>", HTML)
    server.routes["/bad/429"] = Reply(429, b"", {"Retry-After": "7200"})
    server.routes["/bad/slow"] = Reply(200, rss([]), RSS, delay_s=3)
    server.routes["/bad/big"] = Reply(200, b"<rss>" + b" " * 2_000_000, RSS)
    server.routes["/bad/bomb"] = Reply(200, gzip.compress(b"<" * 30_000_000), {**RSS, "Content-Encoding": "gzip"})
    server.routes["/bad/malformed"] = Reply(200, rss([{"title": "KPU & Bawaslu", "link": "/daerah/banjir"}]).replace(
        b"</channel>", b"<item><title>patah</channel>"), RSS)
    feeds = two_feeds + [{"name": n, "url": server.url(f"/bad/{n}"), "outlet": "Uji"} for n in
                         ["html", "slow", "big", "bomb", "malformed", "missing"]]
    # the rate-limited feed on a host of its own: a Retry-After holds its whole host (test_retry_after_holds_the_host)
    feeds.append({"name": "429", "url": f"http://sibuk.test:{server.port}/bad/429", "outlet": "Uji"})
    summary = run(server, tmp_path, feeds, total_timeout_s=1, max_body_mb=1, resolver=lambda host, port: ["127.0.0.1"])
    assert summary.status == "ok" and summary.feeds_ok == 3 and summary.feeds_failed == 6
    state = {r[0]: r[1:] for r in rows(tmp_path, "SELECT feed_id, last_status, last_reason, consecutive_failures, "
                                                   "epoch(next_fetch_at - ?::TIMESTAMPTZ) FROM feeds", [T0])}
    assert state["html"][0] == "not_a_feed" and state["html"][2] == 1
    assert state["html"][1].startswith("not a feed: no RSS/Atom root element")
    assert state["429"][0] == "rate_limited" and state["429"][3] >= 7200
    assert state["slow"][0] == "error" and "timeout" in state["slow"][1]
    assert "too large" in state["big"][1] and "too large" in state["bomb"][1]
    assert state["missing"][1] == "HTTP 404"
    assert state["malformed"][0] == "ok" and "malformed feed, entries recovered" in state["malformed"][1]
    assert rows(tmp_path, "SELECT count(*) FROM feed_fetches WHERE status != 'ok'") == [(6,)]
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(5,)]  # the good feeds were not affected


def test_backoff_grows_never_gives_up_and_resets_on_success(server, tmp_path):
    calls = {"n": 0}

    def flaky(req):
        calls["n"] += 1
        return Reply(503, b"") if calls["n"] <= 3 else Reply(200, rss([]), RSS)

    server.routes["/flaky"] = flaky
    feeds = [{"name": "flaky", "url": server.url("/flaky"), "outlet": "Uji"}]
    clock = Clock()
    delays = []
    for _ in range(4):
        run(server, tmp_path, feeds, clock, fetch_interval_minutes=60)
        failures, next_at, failing_since = rows(tmp_path, "SELECT consecutive_failures, next_fetch_at, failing_since FROM feeds")[0]
        delays.append((next_at - clock.now).total_seconds() / 60)
        clock.now = next_at
    assert [round(d / 60) for d in delays[:3]] == [1, 2, 4]  # hours: 1, 2, 4 (±10% jitter)
    assert failures == 0 and failing_since is None and calls["n"] == 4


def test_301_updates_the_feed_url_and_302_does_not(server, tmp_path):
    server.routes["/old"] = Reply(301, b"", {"Location": "/new"})
    server.routes["/temp"] = Reply(302, b"", {"Location": "/new"})
    server.routes["/new"] = Reply(200, rss([]), RSS)
    feeds = [{"name": "moved", "url": server.url("/old"), "outlet": "Uji"},
             {"name": "temporary", "url": server.url("/temp"), "outlet": "Uji"}]
    run(server, tmp_path, feeds)
    assert dict(rows(tmp_path, "SELECT feed_id, url FROM feeds")) == {"moved": server.url("/new"), "temporary": server.url("/temp")}
    clock = Clock(T0 + dt.timedelta(hours=3))
    run(server, tmp_path, feeds, clock)
    assert server.hits("/old") == 1  # the moved feed is fetched at its new address


def test_page_failures_retry_then_keep_the_headline(server, tmp_path):
    server.routes["/f"] = Reply(200, rss([{"title": "Kemenkes Bantah Kabar Kekurangan Vaksin", "link": "/hilang"},
                                          {"title": "Polri Siaga", "link": "/dihapus", "description": "Polri menyiagakan personel."}]), RSS)
    server.routes["/dihapus"] = Reply(410, b"")
    clock = Clock()
    feeds = [{"name": "f", "url": server.url("/f"), "outlet": "Uji"}]
    run(server, tmp_path, feeds, clock, max_page_attempts=2)
    assert rows(tmp_path, "SELECT state, attempts, last_reason FROM entries WHERE url LIKE '%hilang'") == [("retry", 1, "HTTP 404")]
    assert rows(tmp_path, "SELECT status, status_reason, title FROM articles") == [
        ("fetch_failed", "page fetch failed: HTTP 410", "Polri Siaga")]
    assert rows(tmp_path, "SELECT agency_id, in_title FROM mentions") == [("polri", True)]
    clock.advance(hours=1)
    run(server, tmp_path, feeds, clock, max_page_attempts=2)
    assert rows(tmp_path, "SELECT status, title FROM articles WHERE url LIKE '%hilang'") == [
        ("fetch_failed", "Kemenkes Bantah Kabar Kekurangan Vaksin")]
    assert rows(tmp_path, "SELECT agency_id FROM mentions ORDER BY 1") == [("kemenkes",), ("polri",)]


def test_google_news_links_resolve_to_the_publisher_or_are_recorded_unresolved(server, tmp_path):
    page(server, "/publisher/story", "Kemenkeu Umumkan Realisasi Pajak", "pajak")
    token = base64.urlsafe_b64encode(b"\x08\x13\x22\x40" + server.url("/publisher/story").encode() + b"\xd2\x01\x00").decode().rstrip("=")
    google = f"http://news.google.com:{server.port}"  # every name resolves to 127.0.0.1 in this test (resolver below)
    server.routes["/rss/articles/AU_yqLnew?oc=5"] = Reply(200, b"<html><body>Sebelum melanjutkan ke Google</body></html>", HTML)
    server.routes["/rss/search?q=Kemenkeu"] = Reply(200, rss([
        {"title": "Kemenkeu Umumkan Realisasi Pajak - Warta Uji", "link": f"{google}/rss/articles/{token}?oc=5"},
        {"title": "Menkeu Bicara APBN - Kabar Lain", "link": f"{google}/rss/articles/AU_yqLnew?oc=5"},
    ]), RSS)
    feeds = [{"name": "gn-kemenkeu", "kind": "google_news", "url": f"{google}/rss/search?q=Kemenkeu", "outlet": "Google News"}]
    run(server, tmp_path, feeds, resolver=lambda host, port: ["127.0.0.1"])
    result = dict(rows(tmp_path, "SELECT status, final_url FROM articles"))
    assert result["ok"] == server.url("/publisher/story")
    assert result["unresolved"].startswith(google)
    assert rows(tmp_path, "SELECT agency_id FROM mentions m JOIN articles a USING (article_id) WHERE a.status = 'unresolved'") == [("kemenkeu",)]


NEW_STYLE_ID = "CBMiNkFVX3lxTFBaeHEwRnEzY29udG9oVGlkYWtBZGFVUkxkaVNpbmktOWZBN25XYzJiUWtMbTBYctIBAA"  # google-news-new-links
KPK_STORY = "KPK periksa pejabat dinas terkait dugaan suap proyek jalan"


def kpk_stories(tmp_path):
    return rows(tmp_path, "SELECT count(*), count(DISTINCT cluster_id) FROM agency_mentions WHERE agency_id = 'kpk'")[0][1]


@pytest.mark.parametrize("order", ["google-first", "publisher-first", "google-next-run"])
@pytest.mark.parametrize("page_title", [KPK_STORY, f"{KPK_STORY} | Kabar Contoh", f"{KPK_STORY} - Nasional - Kabar Contoh"])
def test_a_headline_only_google_item_and_the_publishers_copy_are_one_story(server, tmp_path, order, page_title):
    """google-news-new-links: the new-style id cannot be decoded here (Google's JavaScript page answers), so the
    Google entry stays unresolved with its reason, and the story still counts once for kpk."""
    google = f"http://news.google.com:{server.port}"
    server.routes[f"/rss/articles/{NEW_STYLE_ID}?oc=5"] = Reply(200, b"<html><body><c-wiz></c-wiz></body></html>", HTML)
    server.routes["/rss/search?q=KPK"] = Reply(200, rss([{"title": f"{KPK_STORY} - Kabar Contoh", "source": "Kabar Contoh",
                                                         "date": "Mon, 30 Nov 2026 01:10:00 GMT",
                                                         "link": f"{google}/rss/articles/{NEW_STYLE_ID}?oc=5"}]), RSS)
    path = "/nasional/read/2026/11/30/0805/kpk-periksa-pejabat-dinas"
    server.routes[path] = Reply(200, article_html(page_title, PARAGRAPHS["banjir"]).encode(), HTML)
    server.routes["/direct.xml"] = Reply(200, rss([{"title": KPK_STORY, "link": path, "date": "Mon, 30 Nov 2026 08:05:00 +0700"}]), RSS)
    google_feed = {"name": "gn-kpk", "kind": "google_news", "url": f"{google}/rss/search?q=KPK", "outlet": "Google News"}
    publisher_feed = {"name": "kabar-contoh", "url": server.url("/direct.xml"), "outlet": "Kabar Contoh"}
    resolver = lambda host, port: ["127.0.0.1"]  # noqa: E731
    morning = dt.datetime(2026, 11, 30, 3, tzinfo=dt.UTC)
    if order == "google-next-run":
        run(server, tmp_path, [publisher_feed], clock=Clock(morning), resolver=resolver)
        run(server, tmp_path, [google_feed, publisher_feed], clock=Clock(morning + dt.timedelta(hours=2)), resolver=resolver)
    else:
        run(server, tmp_path, [google_feed, publisher_feed][:: 1 if order == "google-first" else -1], clock=Clock(morning),
            resolver=resolver)
    assert rows(tmp_path, "SELECT status, title FROM articles ORDER BY status") == [
        ("ok", page_title), ("unresolved", KPK_STORY)]  # Google's " - <publisher>" suffix is not part of the headline
    assert kpk_stories(tmp_path) == 1


def test_headlines_merge_stories_only_when_one_side_has_no_text_and_the_headline_is_specific(server, tmp_path):
    server.routes["/a"] = Reply(200, article_html("Polri tangkap pelaku penipuan daring", PARAGRAPHS["banjir"]).encode(), HTML)
    server.routes["/b"] = Reply(200, article_html("Polri tangkap pelaku penipuan daring", PARAGRAPHS["pajak"]).encode(), HTML)
    server.routes["/c"] = Reply(404, b"")
    server.routes["/d"] = Reply(404, b"")
    server.routes["/feed"] = Reply(200, rss([{"title": "Polri tangkap pelaku penipuan daring", "link": p} for p in ("/a", "/b")]
                                            + [{"title": "Berita Polri hari ini", "link": p} for p in ("/c", "/d")]), RSS)
    run(server, tmp_path, [{"name": "contoh", "url": server.url("/feed"), "outlet": "Contoh"}], max_page_attempts=1)
    # two different texts under one headline stay two stories; two unreadable pages with a 4-word headline too
    assert rows(tmp_path, "SELECT count(*), count(DISTINCT cluster_id) FROM articles") == [(4, 4)]


class FailingFeedWrites(Store):
    def write(self, batch):
        if batch.of(FeedRow):
            raise RuntimeError("disk full")
        return super().write(batch)


def test_validators_are_saved_only_with_the_items(server, tmp_path, two_feeds):
    summary = run(server, tmp_path, two_feeds, store=FailingFeedWrites(tmp_path / "monitor.duckdb"))
    assert summary.status == "failed" and "disk full" in summary.error
    assert rows(tmp_path, "SELECT count(*) FROM feeds") == [(0,)]
    run(server, tmp_path, two_feeds)
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(5,)]  # nothing lost: the items came again


class LockedOnce(Store):
    """The analyst opens the file between two batches: the page batch finds it locked."""
    locked = True

    def write(self, batch):
        if batch.of(ArticleRow) and LockedOnce.locked:
            LockedOnce.locked = False
            raise DatabaseLockedError("database is locked by PID 4242")
        return super().write(batch)


def test_locked_database_mid_run_spools_and_nothing_is_lost(server, tmp_path, two_feeds):
    path = tmp_path / "monitor.duckdb"
    summary = run(server, tmp_path, two_feeds, store=LockedOnce(path, lock_timeout_s=0))
    assert summary.status == "spooled" and summary.spooled_batches == 1
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(0,)]
    hits = server.hits("/berita/pajak")
    summary = run(server, tmp_path, two_feeds, clock=Clock(T0 + dt.timedelta(minutes=5)))
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(5,)]
    assert rows(tmp_path, "SELECT count(*) FROM entries WHERE state != 'done'") == [(0,)]
    assert server.hits("/berita/pajak") == hits  # written from the spool, not fetched again


def test_database_locked_at_start_fetches_nothing(server, tmp_path, two_feeds):
    class AlwaysLocked(Store):
        def _connect(self, read_only=False):
            raise DatabaseLockedError("database is locked by PID 4242")

    with pytest.raises(DatabaseLockedError):
        run(server, tmp_path, two_feeds, store=AlwaysLocked(tmp_path / "monitor.duckdb"))
    assert server.requests == []


def test_loopback_feeds_are_refused_without_the_opt_in(server, tmp_path, two_feeds):
    summary = run(server, tmp_path, two_feeds, allow_private_networks=False)
    assert summary.feeds_failed == 2 and server.requests == []
    assert all(r[0] == "blocked" for r in rows(tmp_path, "SELECT last_status FROM feeds"))


def test_cp1252_feed_and_duplicate_guids_are_stored_once_and_readable(server, tmp_path):
    page(server, "/a", "Menteri \u201cmenjamin\u201d harga beras", "pajak")
    page(server, "/b", "Pemprov Jateng salurkan bantuan", "sekolah")
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
            '<item><title>Menteri \u201cmenjamin\u201d harga beras</title><link>/a</link><guid>sama</guid></item>'
            '<item><title>Pemprov Jateng salurkan bantuan</title><link>/b</link><guid>sama</guid></item>'
            '<item><title>Menteri \u201cmenjamin\u201d harga beras (ulang)</title><link>/a?utm_source=x</link><guid>sama</guid></item>'
            "</channel></rss>").encode("cp1252")
    server.routes["/cp1252"] = Reply(200, body, {"Content-Type": "text/xml; charset=utf-8"})
    summary = run(server, tmp_path, [{"name": "cp", "url": server.url("/cp1252"), "outlet": "Uji"}])
    assert summary.feeds_ok == 1
    assert rows(tmp_path, "SELECT title FROM entries ORDER BY title") == [
        ("Menteri \u201cmenjamin\u201d harga beras",), ("Pemprov Jateng salurkan bantuan",)]
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(2,)]


def test_lying_validators_are_caught_by_the_daily_unconditional_fetch(server, tmp_path):
    """The server answers 304 to any If-None-Match, even after its content changed (catalogue case 2)."""
    state = {"items": [{"title": "Berita lama", "link": "/lama"}]}
    page(server, "/lama", "Berita lama", "banjir")
    page(server, "/baru", "Berita baru", "pajak")

    def lying(req):
        if req.headers.get("if-none-match"):
            return Reply(304, b"")
        return Reply(200, rss(state["items"]), {**RSS, "ETag": '"selalu-sama"'})

    server.routes["/lying"] = lying
    feeds = [{"name": "lying", "url": server.url("/lying"), "outlet": "Uji"}]
    clock = Clock()
    run(server, tmp_path, feeds, clock)
    state["items"].append({"title": "Berita baru", "link": "/baru"})
    clock.advance(hours=2)
    assert run(server, tmp_path, feeds, clock).feeds_not_modified == 1  # believed for now
    clock.advance(hours=23)
    summary = run(server, tmp_path, feeds, clock)
    assert summary.feeds_ok == 1 and summary.new_articles == 1
    assert rows(tmp_path, "SELECT count(*) FROM articles") == [(2,)]


def test_unchanged_body_under_new_validators_counts_as_not_modified(server, tmp_path):
    body = rss([{"title": "Sama", "link": "/sama"}])
    page(server, "/sama", "Sama", "banjir")
    etags = iter(['"a"', '"b"', '"c"'])
    server.routes["/rotating"] = lambda req: Reply(200, body, {**RSS, "ETag": next(etags)})
    feeds = [{"name": "rotating", "url": server.url("/rotating"), "outlet": "Uji"}]
    clock = Clock()
    run(server, tmp_path, feeds, clock)
    clock.advance(hours=2)
    assert run(server, tmp_path, feeds, clock).feeds_not_modified == 1
    assert rows(tmp_path, "SELECT etag FROM feeds") == [('"b"',)]  # the new validators are still saved


def test_pages_of_the_next_batch_are_fetched_while_the_current_batch_is_analysed(server, tmp_path, two_feeds, monkeypatch):
    """Batches of one page: while batch k is in analysis, the page of batch k+1 is already being fetched."""
    import threading
    import time

    events, lock = [], threading.Lock()

    def note(what):
        with lock:
            events.append((time.monotonic(), what))

    original = server.routes["/daerah/banjir"]
    for path in ("/berita/kpk-tahan", "/berita/pajak", "/daerah/kpk-tahan-salinan", "/daerah/pajak-copy", "/daerah/banjir"):
        reply = server.routes.get(path, original)

        def route(req, reply=reply, path=path):
            note(f"fetch {path}")
            return reply
        server.routes[path] = route

    def slow_analysis(articles, mentions, now):
        note("analysis start")
        time.sleep(0.4)
        note("analysis end")
        return Batch()

    config = make_config(two_feeds, page_batch_size=1)
    store = Store(tmp_path / "monitor.duckdb", lock_timeout_s=0.2)
    policy = FetchPolicy.from_settings(config.settings)
    with make_client(policy) as client:
        summary = run_once(RunContext.create(config, store, client, ExtractionSandbox(workers=0, min_text_chars=200),
                                             now=Clock(), seed=1, limiter=HostLimiter(2, 0.0), analyze=slow_analysis))
    assert summary.status == "ok" and summary.new_articles == 3
    starts = [t for t, what in events if what == "analysis start"]
    ends = [t for t, what in events if what == "analysis end"]
    fetches = [t for t, what in events if what.startswith("fetch")]
    assert len(starts) == 5 and len(fetches) == 5
    # every page after the first was requested before the previous batch's analysis had finished
    overlapped = sum(1 for k in range(4) if fetches[k + 1] < ends[k])
    assert overlapped == 4
    assert summary.stage_seconds["analysis"] >= 5 * 0.4


@pytest.mark.parametrize("status, retry_after", [(429, "3600"), (503, "3600"), (429, "Mon, 23 Nov 2026 04:00:00 GMT")])
def test_retry_after_holds_the_host(server, tmp_path, status, retry_after):
    """page-429-retry-after: after the first 429/503 with Retry-After nothing more goes to that host, in this run or
    the next; nothing is given up; another host is not held."""
    items = [{"title": f"Kemenag umumkan jadwal {i}", "link": f"http://sibuk.test:{server.port}/berita/{i:02d}"} for i in range(10)]
    items.append({"title": "Kemenag buka layanan", "link": f"http://lain.test:{server.port}/lain/ok"})
    server.routes["/feed"] = Reply(200, rss(items), RSS)
    for i in range(10):
        server.routes[f"/berita/{i:02d}"] = Reply(status, b"Terlalu banyak permintaan.", {"Retry-After": retry_after})
    page(server, "/lain/ok", "Kemenag buka layanan", "sekolah")
    feeds = [{"name": "religi", "url": server.url("/feed"), "outlet": "Portal Religi Contoh"}]
    resolver = lambda host, port: ["127.0.0.1"]  # noqa: E731
    clock = Clock()
    summary = run(server, tmp_path, feeds, clock, resolver=resolver)
    hits = sum(server.hits(f"/berita/{i:02d}") for i in range(10))
    assert 1 <= hits <= 2 and server.hits("/lain/ok") == 1  # 2 at most: two connections per host in flight
    assert summary.pages_deferred == 10 and summary.pages_failed == 0
    states = rows(tmp_path, "SELECT state, count(*) FROM entries WHERE url LIKE '%/berita/%' GROUP BY 1")
    assert states == [("retry", 10)]  # none given up
    waits = rows(tmp_path, "SELECT min(epoch(next_attempt_at - ?::TIMESTAMPTZ)) FROM entries WHERE url LIKE '%/berita/%'", [T0])
    assert waits[0][0] >= 3600
    assert rows(tmp_path, "SELECT host FROM host_holds") == [("sibuk.test",)]
    clock.advance(minutes=5)
    run(server, tmp_path, feeds, clock, resolver=resolver)  # right after: the pages are not due
    assert sum(server.hits(f"/berita/{i:02d}") for i in range(10)) == hits
    clock.advance(minutes=20)
    with Store(tmp_path / "monitor.duckdb").session() as con:  # make the entries due: the host hold still applies
        con.execute("UPDATE entries SET next_attempt_at = ? WHERE url LIKE '%/berita/%'", [clock.now])
    run(server, tmp_path, feeds, clock, resolver=resolver)
    assert sum(server.hits(f"/berita/{i:02d}") for i in range(10)) == hits  # the stored hold keeps the host quiet
    assert rows(tmp_path, "SELECT count(*) FROM entries WHERE url LIKE '%/berita/%' AND state = 'retry'") == [(10,)]


CONSENT = ("<!doctype html><html lang='id'><head><title>Pilihan Cookie dan Privasi Anda</title>"
           "<link rel='canonical' href='/consent'></head><body><main><h1>Pilihan Cookie dan Privasi Anda</h1>"
           "<p>Kami dan mitra kami menggunakan cookie serta teknologi serupa untuk menyimpan informasi pada perangkat Anda. "
           "Informasi ini dipakai untuk menampilkan iklan yang dipersonalisasi dan mengukur kinerja konten.</p>"
           "<p>Dengan memilih Setuju, Anda mengizinkan pemrosesan data tersebut. Anda dapat mengatur preferensi kapan saja "
           "melalui tautan Pengaturan Privasi di bagian bawah setiap halaman situs ini.</p></main></body></html>")
CHALLENGE = ("<!doctype html><html><head><title>Just a moment...</title></head><body><h1>Checking your browser before "
             "accessing the site.</h1><p>Please enable JavaScript and cookies to continue. This security check protects "
             "the site from automated requests. It takes a few seconds and you will be redirected.</p></body></html>")


@pytest.mark.parametrize("wall", ["redirect", "same-url", "challenge"])
def test_an_interstitial_is_not_the_article_and_never_merges_stories(server, tmp_path, wall):
    """consent-redirect: two stories behind a consent wall stay two rows with their own headlines, not `ok`."""
    stories = {"/2026/11/29/kpk-geledah": "KPK geledah kantor dinas perhubungan",
               "/2026/11/29/kemenkeu-apbn": "Kemenkeu umumkan realisasi APBN hingga Oktober"}
    for path in stories:
        if wall == "redirect":
            wall_url = f"/consent?continue={path.replace('/', '%2F')}"
            server.routes[path] = Reply(302, b"", {"Location": wall_url})
            server.routes[wall_url] = Reply(200, CONSENT.encode(), HTML)
        else:
            server.routes[path] = Reply(200, (CONSENT if wall == "same-url" else CHALLENGE).encode(), HTML)
    server.routes["/feed"] = Reply(200, rss([{"title": t, "link": p, "description": t} for p, t in stories.items()]), RSS)
    summary = run(server, tmp_path, [{"name": "contoh", "url": server.url("/feed"), "outlet": "Contoh"}])
    assert summary.new_articles == 2 and summary.duplicates == 0
    articles = rows(tmp_path, "SELECT title, status, status_reason, text FROM articles ORDER BY title")
    assert [a[0] for a in articles] == sorted(stories.values())
    assert all(status == "interstitial" and "interstitial" in reason and text is None for _, status, reason, text in articles)
    assert {a for (a,) in rows(tmp_path, "SELECT agency_id FROM mentions")} == {"kpk", "kemenkeu"}
    assert rows(tmp_path, "SELECT DISTINCT state FROM entries") == [("retry",)]  # tried again later


def test_a_short_news_story_about_cookies_is_still_a_story(server, tmp_path):
    text = ["Komdigi meminta situs web di Indonesia menjelaskan penggunaan cookie kepada pengguna secara jelas dan "
            "tidak menyesatkan, sesuai aturan pelindungan data pribadi yang mulai berlaku tahun ini.",
            "Menurut Komdigi, banyak situs masih memasang spanduk persetujuan yang sulit ditolak oleh pembaca, "
            "sehingga pengguna tidak benar-benar memberi persetujuan atas data mereka."]
    server.routes["/berita/cookie"] = Reply(200, article_html("Komdigi soroti cookie situs", text).encode(), HTML)
    server.routes["/feed"] = Reply(200, rss([{"title": "Komdigi soroti cookie situs", "link": "/berita/cookie"}]), RSS)
    run(server, tmp_path, [{"name": "contoh", "url": server.url("/feed"), "outlet": "Contoh"}])
    assert rows(tmp_path, "SELECT status FROM articles") == [("ok",)]


def test_a_shared_canonical_merges_pages_only_when_their_texts_agree(server, tmp_path):
    for path, key in (("/a", "banjir"), ("/b", "pajak"), ("/c", "banjir")):
        server.routes[path] = Reply(200, article_html(f"Judul {path}", PARAGRAPHS[key], canonical="/satu").encode(), HTML)
    server.routes["/feed"] = Reply(200, rss([{"title": f"Judul {p}", "link": p} for p in ("/a", "/b", "/c")]), RSS)
    run(server, tmp_path, [{"name": "contoh", "url": server.url("/feed"), "outlet": "Contoh"}])
    # whichever page claims the canonical URL first, no entry ends on another story's text, and /a and /c (the same
    # text) are one story: one row when one of them claimed it, two rows in one cluster when /b did
    texts = dict(rows(tmp_path, "SELECT e.url, a.text FROM entries e JOIN articles a USING (article_id)"))
    assert {url.rsplit("/", 1)[1]: text.startswith("Badan Nasional") for url, text in texts.items()} == {
        "a": True, "b": False, "c": True}
    assert rows(tmp_path, "SELECT count(DISTINCT cluster_id) FROM articles") == [(2,)]
