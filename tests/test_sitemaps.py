"""Sitemap bytes → URLs and child sitemaps (monitor/ingest/sitemaps.py): namespaces, dates, gzip, caps, bad input."""

import datetime as dt
import gzip
import time

from monitor.ingest.sitemaps import (
    Sitemap,
    SitemapChild,
    is_sitemap_url,
    newest_children,
    parse_sitemap,
    parse_w3c_datetime,
)
from monitor.localtime import LocalTime

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
BASE = "https://www.contoh.test/sitemap.xml"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def urlset(*entries: str, ns: str = NS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns}>{"".join(entries)}</urlset>'.encode()


def url(loc: str, lastmod: str | None = None) -> str:
    return f"<url><loc>{loc}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>"


def news_url(loc: str, title: str, date: str) -> str:
    return (f"<url><loc>{loc}</loc><news:news><news:publication><news:name>Contoh</news:name>"
            f"<news:language>id</news:language></news:publication><news:publication_date>{date}</news:publication_date>"
            f"<news:title>{title}</news:title></news:news></url>")


def parse(body: bytes, **kwargs) -> Sitemap:
    return parse_sitemap(body, BASE, now=NOW, **kwargs)


def test_google_news_sitemap_reads_titles_and_dates_in_each_zone_form():
    body = urlset(
        news_url("https://www.contoh.test/a", "KPK periksa kepala dinas", "2026-11-29T10:00:00+07:00"),
        news_url("https://www.contoh.test/b", "Banjir  rendam\n empat kecamatan", "2026-11-29T03:00:00Z"),
        news_url("https://www.contoh.test/c", "Penerimaan pajak naik", "2026-11-29T10:00:00"),  # no zone: WIB
        news_url("https://www.contoh.test/d", "Zona WITA", "2026-11-29T10:00:00.250+08:00"),
        ns=f"{NS} {NEWS}")
    sitemap = parse(body)
    assert sitemap.kind == "urlset" and sitemap.reason is None and not sitemap.skipped
    a, b, c, d = sitemap.urls
    assert (a.loc, a.news_title) == ("https://www.contoh.test/a", "KPK periksa kepala dinas")
    assert a.news_published == dt.datetime(2026, 11, 29, 3, 0, tzinfo=UTC) == a.published
    assert a.raw_date == "2026-11-29T10:00:00+07:00" and a.lastmod is None
    assert b.news_title == "Banjir rendam empat kecamatan" and b.published == dt.datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert c.published == dt.datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert d.published == dt.datetime(2026, 11, 29, 2, 0, 0, 250000, tzinfo=UTC)
    # the configured zone, not a fixed one, reads a date without a zone
    papua = parse(body, local=LocalTime("Asia/Jayapura"))
    assert papua.urls[2].published == dt.datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


def test_plain_urlset_with_lastmod_in_every_w3c_precision():
    sitemap = parse(urlset(
        url("https://www.contoh.test/1", "2026-11-28"),  # local midnight
        url("https://www.contoh.test/2", "2026-11-28T18:30+07:00"),
        url("https://www.contoh.test/3", "2026"),
        url("https://www.contoh.test/4"),
        url("https://www.contoh.test/5", "kemarin sore"),  # unreadable: unknown, never "now"
        url("https://www.contoh.test/6", "Sat, 28 Nov 2026 18:30:00 +0700"),  # RFC 2822 from a news CMS
    ))
    lastmods = [u.lastmod for u in sitemap.urls]
    assert lastmods == [dt.datetime(2026, 11, 27, 17, 0, tzinfo=UTC), dt.datetime(2026, 11, 28, 11, 30, tzinfo=UTC),
                        dt.datetime(2025, 12, 31, 17, 0, tzinfo=UTC), None, None, dt.datetime(2026, 11, 28, 11, 30, tzinfo=UTC)]
    assert sitemap.urls[0].published == sitemap.urls[0].lastmod and sitemap.urls[0].news_title is None
    assert sitemap.urls[4].raw_date == "kemarin sore"  # kept so the caller can say why the date is unknown


def test_future_and_placeholder_dates_are_unknown():
    sitemap = parse(urlset(
        url("https://www.contoh.test/1", "2026-12-05T00:00:00Z"),  # days ahead
        url("https://www.contoh.test/2", "2026-11-30T12:00:00Z"),  # hours ahead: a zone slip, kept
        url("https://www.contoh.test/3", "1970-01-01T00:00:00Z"),
        url("https://www.contoh.test/4", "2026-13-01"),
    ))
    assert [u.lastmod for u in sitemap.urls] == [None, dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC), None, None]
    assert parse_w3c_datetime("2026-11-29T10:00:00+07:00", NOW) == dt.datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert parse_w3c_datetime("2026-11-29T10:00+0700", NOW) == dt.datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert parse_w3c_datetime("2026-11-29T10:00:00+25:00", NOW) is None
    assert parse_w3c_datetime("  ", NOW) is None and parse_w3c_datetime(None, NOW) is None


def test_news_date_wins_over_lastmod_and_an_unreadable_news_date_falls_back_to_lastmod():
    body = urlset(
        "<url><loc>https://www.contoh.test/a</loc><lastmod>2026-11-29T12:00:00Z</lastmod><news:news>"
        "<news:publication_date>2026-11-29T01:00:00Z</news:publication_date><news:title>A</news:title></news:news></url>",
        "<url><loc>https://www.contoh.test/b</loc><lastmod>2026-11-29T12:00:00Z</lastmod><news:news>"
        "<news:publication_date>besok</news:publication_date><news:title>B</news:title></news:news></url>",
        ns=f"{NS} {NEWS}")
    a, b = parse(body).urls
    assert a.published == dt.datetime(2026, 11, 29, 1, 0, tzinfo=UTC) and a.raw_date == "2026-11-29T01:00:00Z"
    assert b.news_published is None and b.published == b.lastmod and b.raw_date == "2026-11-29T12:00:00Z"


def test_index_children_and_newest_children():
    body = (f'<?xml version="1.0"?><sitemapindex {NS}>'
            "<sitemap><loc>https://www.contoh.test/sitemap-2026-09.xml</loc><lastmod>2026-09-30T00:00:00Z</lastmod></sitemap>"
            "<sitemap><loc>https://www.contoh.test/sitemap-2026-11.xml</loc><lastmod>2026-11-30T00:00:00Z</lastmod></sitemap>"
            "<sitemap><loc>https://www.contoh.test/sitemap-tags.xml</loc></sitemap>"
            "<sitemap><loc>https://www.contoh.test/sitemap-2026-10.xml</loc><lastmod>2026-10-31T00:00:00Z</lastmod></sitemap>"
            "<sitemap><loc>https://www.contoh.test/sitemap-pages.xml</loc></sitemap>"
            "</sitemapindex>").encode()
    index = parse(body)
    assert index.kind == "index" and not index.urls and len(index.children) == 5
    assert index.children[0] == SitemapChild("https://www.contoh.test/sitemap-2026-09.xml", dt.datetime(2026, 9, 30, tzinfo=UTC))
    names = lambda children: [c.loc.rsplit("/", 1)[1] for c in children]  # noqa: E731
    assert names(newest_children(index, None, 10)) == [
        "sitemap-2026-11.xml", "sitemap-2026-10.xml", "sitemap-2026-09.xml", "sitemap-tags.xml", "sitemap-pages.xml"]
    since = dt.datetime(2026, 10, 15, tzinfo=UTC)
    assert names(newest_children(index, since, 10)) == ["sitemap-2026-11.xml", "sitemap-2026-10.xml",
                                                         "sitemap-tags.xml", "sitemap-pages.xml"]
    assert names(newest_children(index, since, 3)) == ["sitemap-2026-11.xml", "sitemap-2026-10.xml", "sitemap-tags.xml"]
    assert newest_children(index, since, 0) == [] and newest_children(parse(urlset()), None, 5) == []


def test_gzipped_sitemap_is_read():
    body = gzip.compress(urlset(url("https://www.contoh.test/gz", "2026-11-29T00:00:00Z")))
    sitemap = parse_sitemap(body, "https://www.contoh.test/sitemap.xml.gz", now=NOW)
    assert sitemap.kind == "urlset" and [u.loc for u in sitemap.urls] == ["https://www.contoh.test/gz"]


def test_gzip_bomb_stops_at_max_bytes():
    bomb = gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    started = time.monotonic()
    sitemap = parse(bomb, max_bytes=1024 * 1024)
    assert sitemap.kind == "invalid" and "too large" in sitemap.reason
    assert time.monotonic() - started < 2
    plain = parse(urlset(url("https://www.contoh.test/1")), max_bytes=50)
    assert plain.kind == "invalid" and "too large" in plain.reason


def test_corrupt_or_cut_gzip_is_invalid():
    body = gzip.compress(urlset(url("https://www.contoh.test/1")))
    assert "cut short" in parse(body[: len(body) // 2]).reason
    assert parse(body[:10] + b"\x00" * 40).kind == "invalid"


def test_entries_over_max_entries_are_counted_not_read():
    sitemap = parse(urlset(*(url(f"https://www.contoh.test/{i}") for i in range(12))), max_entries=5)
    assert len(sitemap.urls) == 5 and sitemap.truncated == 7
    assert "7 entries over the cap of 5" in sitemap.reason


def test_html_empty_malformed_and_foreign_roots_are_invalid_with_a_reason():
    html = b"<!DOCTYPE html>\n<html><head><title>Sitemap</title></head><body><p>Halaman tidak ditemukan<br></body></html>"
    assert parse(html) == Sitemap("invalid", reason="an HTML page, not a sitemap")
    assert parse(b"<html><body>x</body></html>").reason == "an HTML page, not a sitemap"
    xhtml = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>x</body></html>'
    assert parse(xhtml).reason == "an HTML page, not <urlset> or <sitemapindex>"
    assert parse(b"").reason == "empty body" and parse(b" \n\t").reason == "empty body"
    malformed = parse(b'<?xml version="1.0"?><urlset><url><loc>https://www.contoh.test/1</loc></url>')
    assert malformed.kind == "invalid" and malformed.reason.startswith("malformed XML")
    rss = parse(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>')
    assert rss.kind == "invalid" and "<rss>" in rss.reason
    assert parse(b"\x00\xff\xfe garbage").kind == "invalid"


def test_billion_laughs_is_not_expanded():
    levels = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY lol0 "lol">{levels}]>'
            f"<urlset>{url('https://www.contoh.test/&lol9;')}{url('https://www.contoh.test/ok')}</urlset>").encode()
    started = time.monotonic()
    sitemap = parse(body)
    assert time.monotonic() - started < 2
    assert not any("lollol" in u.loc for u in sitemap.urls)
    assert sitemap.kind == "invalid" or [u.loc for u in sitemap.urls] == ["https://www.contoh.test/ok"]


def test_entities_and_external_entities_are_never_expanded():
    body = (b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY p "/rahasia">]>'
            b"<urlset><url><loc>&e;</loc></url><url><loc>https://www.contoh.test&p;</loc></url>"
            b"<url><loc>https://www.contoh.test/ok</loc></url></urlset>")
    sitemap = parse(body)
    assert [u.loc for u in sitemap.urls] == ["https://www.contoh.test/ok"]
    assert [reason for _, reason in sitemap.skipped] == ["loc holds markup or an entity reference"] * 2


def test_bad_locs_are_skipped_and_relative_ones_joined():
    sitemap = parse(urlset(
        url("javascript:alert(1)"), url("mailto:redaksi@contoh.test"), url(""), "<url><lastmod>2026-11-29</lastmod></url>",
        url("https://www.contoh.test/" + "a" * 2100), url("/berita/relatif"), url("\n   https://www.contoh.test/spasi  \n"),
        url("https://www.contoh.test/spasi"),  # the same loc again: kept once
    ))
    assert [u.loc for u in sitemap.urls] == ["https://www.contoh.test/berita/relatif", "https://www.contoh.test/spasi"]
    assert [reason for _, reason in sitemap.skipped] == [
        "loc is not an http(s) URL", "loc is not an http(s) URL", "entry has no <loc>", "entry has no <loc>",
        "loc longer than 2048 characters"]
    assert sitemap.skipped[0][0] == "javascript:alert(1)" and sitemap.skipped[2][0] == "<no loc>"
    assert sitemap.reason == "5 entries skipped"


def test_no_namespace_bom_leading_blank_lines_and_bare_ampersands():
    body = b"\xef\xbb\xbf\n\n" + urlset(url("https://www.contoh.test/cari?q=kpk&hal=2", "2026-11-29"), ns="")
    sitemap = parse(body)
    assert sitemap.kind == "urlset" and [u.loc for u in sitemap.urls] == ["https://www.contoh.test/cari?q=kpk&hal=2"]
    assert sitemap.reason == "bare '&' escaped before parsing"
    escaped = parse(urlset(url("https://www.contoh.test/cari?q=kpk&amp;hal=2")))
    assert escaped.urls[0].loc == "https://www.contoh.test/cari?q=kpk&hal=2" and escaped.reason is None


def test_is_sitemap_url():
    assert is_sitemap_url("https://www.contoh.test/sitemap.xml")
    assert is_sitemap_url("https://www.contoh.test/news-sitemap.xml.gz?x=1")
    assert is_sitemap_url("https://www.contoh.test/Sitemap_Index.XML")
    assert not is_sitemap_url("https://www.contoh.test/rss.xml")
    assert not is_sitemap_url("https://www.contoh.test/sitemap")


def test_many_gzip_members_are_refused_before_they_cost_quadratic_time():
    member = gzip.compress(b"")
    result = parse_sitemap(member * 5000, "https://warta.example/sitemap.xml.gz")
    assert result.kind == "invalid" and result.reason == "more than 64 gzip members"


def test_unreadable_dates_and_urls_are_unknown_not_errors():
    body = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>http://[::1</loc></url><url><loc>https://warta.example/a</loc><lastmod>0001-01-01</lastmod></url>"
            b"<url><loc>https://warta.example/b</loc><lastmod>9999-12-31T23:59:59-01:00</lastmod></url></urlset>")
    result = parse_sitemap(body, "https://warta.example/sitemap.xml")
    assert [(u.loc, u.lastmod) for u in result.urls] == [("https://warta.example/a", None), ("https://warta.example/b", None)]
    assert result.skipped == [("http://[::1", "loc is not a valid URL")]


def test_the_site_of_a_url_is_its_registrable_domain():
    from monitor.ingest.urls import registrable_domain

    assert registrable_domain("https://news.detik.com/x") == "detik.com"
    assert registrable_domain("https://jogja.antaranews.com/rss") == "antaranews.com"
    assert registrable_domain("https://www.kompas.co.id/a") == "kompas.co.id"
    assert registrable_domain("https://kemenkeu.go.id/a") == "kemenkeu.go.id"
    assert registrable_domain("http://127.0.0.1:8080/a") == "127.0.0.1"
