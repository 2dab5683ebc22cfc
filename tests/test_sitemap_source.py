"""`kind: sitemap` feeds through a whole run (monitor/ingest/sitemap_source.py): incremental, bounded, honest dates."""

import datetime as dt

from test_pipeline import HTML, Clock, rows, run

from monitor.dev.localserver import Reply

from helpers import PARAGRAPHS, article_html

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
XML = {"Content-Type": "application/xml"}
NEWS_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def news_sitemap(items):
    """items: (loc, publication_date, title)"""
    urls = "".join(f"<url><loc>{loc}</loc><news:news><news:publication><news:name>Warta</news:name>"
                   f"<news:language>id</news:language></news:publication><news:publication_date>{date}"
                   f"</news:publication_date><news:title>{title}</news:title></news:news></url>" for loc, date, title in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NEWS_NS}>{urls}</urlset>'.encode()


def serve_pages(server):
    for key in PARAGRAPHS:
        server.routes[f"/berita/{key}"] = Reply(200, article_html(f"Berita {key}", PARAGRAPHS[key]).encode(), HTML)


def test_a_news_sitemap_is_read_incrementally_with_its_publication_dates(server, tmp_path):
    serve_pages(server)
    items = [(f"{server.base}/berita/korupsi", "2026-11-30T08:15:00+07:00", "KPK Tahan Kepala Dinas"),
             (f"{server.base}/berita/pajak", "2026-11-29T21:00:00Z", "Penerimaan Pajak"),
             (f"{server.base}/berita/banjir", "2026-11-20T10:00:00+07:00", "Banjir lama")]  # before the first window
    server.routes["/sitemap-news.xml"] = lambda _req: Reply(200, news_sitemap(items), XML)
    feeds = [{"name": "warta-news", "kind": "sitemap", "url": f"{server.base}/sitemap-news.xml", "outlet": "Warta"}]
    clock = Clock(NOW)
    run(server, tmp_path, feeds, clock=clock)
    assert sorted(rows(tmp_path, "SELECT title, published_at, date_status FROM entries")) == [
        ("KPK Tahan Kepala Dinas", dt.datetime(2026, 11, 30, 1, 15, tzinfo=UTC), "ok"),
        ("Penerimaan Pajak", dt.datetime(2026, 11, 29, 21, 0, tzinfo=UTC), "ok")]
    assert rows(tmp_path, "SELECT count(*), min(outlet) FROM articles WHERE status = 'ok'") == [(2, "Warta")]
    items.append((f"{server.base}/berita/sekolah", "2026-11-30T11:00:00+07:00", "Sekolah Diperbaiki"))
    clock.advance(hours=2)
    run(server, tmp_path, feeds, clock=clock)
    assert rows(tmp_path, "SELECT count(*) FROM entries") == [(3,)]
    assert server.hits("/berita/korupsi") == 1 and server.hits("/berita/sekolah") == 1  # only the new URL is read


def test_a_hostile_index_costs_a_bounded_number_of_requests(server, tmp_path):
    serve_pages(server)
    children = "".join(f"<sitemap><loc>{server.base}/sm/{n}.xml</loc><lastmod>2026-11-{1 + n % 29:02d}T00:00:00Z"
                       f"</lastmod></sitemap>" for n in range(3000))
    server.routes["/sitemap_index.xml"] = Reply(200, (
        f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}'
        f"</sitemapindex>").encode(), XML)
    newest = [n for n in range(3000) if 1 + n % 29 == 29][:2]  # lastmod 2026-11-29, document order
    for n in newest:
        server.routes[f"/sm/{n}.xml"] = Reply(200, news_sitemap(
            [(f"{server.base}/berita/pajak", "2026-11-29T21:00:00Z", "Penerimaan Pajak")]), XML)
    feeds = [{"name": "warta-index", "kind": "sitemap", "url": f"{server.base}/sitemap_index.xml", "outlet": "Warta"}]
    run(server, tmp_path, feeds, clock=Clock(NOW), max_sitemap_children=2, max_items_per_feed=1000)
    child_requests = [r.path for r in server.requests if r.path.startswith("/sm/")]
    assert sorted(child_requests) == sorted(f"/sm/{n}.xml" for n in newest)
    # the children changed in the window are the 103 dated 29 Nov: two are read, the rest are counted, not hidden
    assert rows(tmp_path, "SELECT status, reason FROM feed_fetches") == [
        ("ok", "1 items skipped (1: 101 changed child sitemaps over max_sitemap_children not read this time)")]
    assert rows(tmp_path, "SELECT url FROM entries") == [(f"{server.base}/berita/pajak",)]


def test_a_plain_sitemap_dates_by_lastmod_only_for_novelty_and_undated_urls_are_skipped_with_a_reason(server, tmp_path):
    serve_pages(server)
    server.routes["/sitemap.xml"] = Reply(200, (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{server.base}/berita/banjir</loc><lastmod>2026-11-30T07:00:00+07:00</lastmod></url>"
        f"<url><loc>{server.base}/berita/sekolah</loc></url></urlset>").encode(), XML)
    feeds = [{"name": "warta-plain", "kind": "sitemap", "url": f"{server.base}/sitemap.xml", "outlet": "Warta"}]
    run(server, tmp_path, feeds, clock=Clock(NOW))
    # lastmod says when the page changed, not when it was published: no feed date, the page's own date is used
    assert rows(tmp_path, "SELECT url, published_at, date_status FROM entries") == [
        (f"{server.base}/berita/banjir", None, "missing")]
    assert rows(tmp_path, "SELECT date_source FROM articles") == [("unknown",)]
    (reason,), = rows(tmp_path, "SELECT reason FROM feed_fetches")
    assert reason == "1 items skipped (1: no publication_date or lastmod: cannot tell a new page from an old one)"
    assert server.hits("/berita/sekolah") == 0


def test_an_index_child_that_fails_or_is_itself_an_index_is_noted_and_the_rest_is_read(server, tmp_path):
    serve_pages(server)
    server.routes["/idx.xml"] = Reply(200, (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{server.base}/gone.xml</loc></sitemap><sitemap><loc>{server.base}/nested.xml</loc></sitemap>"
        f"<sitemap><loc>{server.base}/ok.xml</loc></sitemap></sitemapindex>").encode(), XML)
    server.routes["/gone.xml"] = Reply(410, b"")
    server.routes["/nested.xml"] = Reply(200, server.routes["/idx.xml"].body, XML)
    server.routes["/ok.xml"] = Reply(200, news_sitemap([(f"{server.base}/berita/korupsi", "2026-11-30T08:15:00+07:00",
                                                         "KPK Tahan Kepala Dinas")]), XML)
    feeds = [{"name": "warta-idx", "kind": "sitemap", "url": f"{server.base}/idx.xml", "outlet": "Warta"}]
    run(server, tmp_path, feeds, clock=Clock(NOW))
    (status, reason), = rows(tmp_path, "SELECT status, reason FROM feed_fetches")
    assert status == "ok" and "child sitemap not read: HTTP 410" in reason and "one level is followed" in reason
    assert rows(tmp_path, "SELECT title FROM entries") == [("KPK Tahan Kepala Dinas",)]
    assert server.hits("/nested.xml") == 1 and server.hits("/idx.xml") == 1  # the nested index is not followed


def test_a_sitemap_that_is_not_one_is_a_failed_feed_not_an_empty_one(server, tmp_path):
    server.routes["/sitemap.xml"] = Reply(200, b"<html><body>Halaman tidak ditemukan</body></html>", HTML)
    feeds = [{"name": "warta-bad", "kind": "sitemap", "url": f"{server.base}/sitemap.xml", "outlet": "Warta"}]
    run(server, tmp_path, feeds, clock=Clock(NOW))
    (status, reason), = rows(tmp_path, "SELECT status, reason FROM feed_fetches")
    assert status == "not_a_feed" and reason.startswith("not a feed: not a sitemap (")


def test_the_look_back_reads_what_a_strict_cutoff_would_lose_and_the_cap_keeps_the_newest(server, tmp_path):
    """Date-only dates, an item published just before the last read but listed after it, and an oldest-first
    sitemap longer than the cap: nothing new is lost, nothing is fetched twice."""
    serve_pages(server)
    urls = [(f"{server.base}/lama/{n}", f"2026-11-{1 + n % 20:02d}") for n in range(300)]  # old, oldest first
    late = []

    def sitemap(_req):
        items = [*urls, *late]
        body = "".join(f"<url><loc>{loc}</loc><lastmod>{date}</lastmod></url>" for loc, date in items)
        return Reply(200, f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}'
                          f"</urlset>".encode(), XML)

    urls += [(f"{server.base}/berita/banjir", "2026-11-30")]  # date only, today
    server.routes["/sitemap.xml"] = sitemap
    feeds = [{"name": "warta-plain", "kind": "sitemap", "url": f"{server.base}/sitemap.xml", "outlet": "Warta"}]
    clock = Clock(NOW)
    run(server, tmp_path, feeds, clock=clock, max_items_per_feed=5)
    first = {url for (url,) in rows(tmp_path, "SELECT url FROM entries")}
    assert f"{server.base}/berita/banjir" in first and len(first) == 1  # the 300 old URLs are outside the window
    late += [(f"{server.base}/berita/sekolah", "2026-11-30"),  # date only again, added after the first read
             (f"{server.base}/berita/pajak", "2026-11-30T02:55:00Z")]  # published before the first read, listed after
    clock.advance(hours=1)
    run(server, tmp_path, feeds, clock=clock, max_items_per_feed=5)
    assert {url for (url,) in rows(tmp_path, "SELECT url FROM entries")} == first | {
        f"{server.base}/berita/sekolah", f"{server.base}/berita/pajak"}
    assert server.hits("/berita/banjir") == 1  # listed twice, fetched once


def test_a_sitemap_cannot_credit_another_site_and_a_bad_entry_costs_only_itself(server, tmp_path):
    serve_pages(server)
    server.routes["/sitemap.xml"] = Reply(200, (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>https://other-site.example/berita/1</loc><lastmod>2026-11-30T01:00:00Z</lastmod></url>"
        "<url><loc>http://[::1</loc><lastmod>2026-11-30T01:00:00Z</lastmod></url>"
        f"<url><loc>{server.base}/berita/pajak</loc><lastmod>9999-12-31T23:59:59-01:00</lastmod></url>"
        f"<url><loc>{server.base}/berita/banjir</loc><news:news><news:title>Banjir&nbsp;di kota</news:title>"
        "<news:publication_date>2026-11-30T08:00:00+07:00</news:publication_date></news:news></url></urlset>").encode(), XML)
    feeds = [{"name": "warta", "kind": "sitemap", "url": f"{server.base}/sitemap.xml", "outlet": "Warta"}]
    summary = run(server, tmp_path, feeds, clock=Clock(NOW))
    assert summary.status == "ok" and summary.feeds_ok == 1
    assert rows(tmp_path, "SELECT url, title FROM entries") == [(f"{server.base}/berita/banjir", "Banjir di kota")]  # &nbsp; read, spaces normalised
    (reason,), = rows(tmp_path, "SELECT reason FROM feed_fetches")
    assert "on another site than 127.0.0.1" in reason
    assert "no publication_date or lastmod" in reason  # the year-9999 date is unreadable, not a crash
