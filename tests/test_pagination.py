"""Articles split over pages: the one-page view or the following pages (issue 14, kind 4; split-page-article)."""

import pytest
from test_pipeline import HTML, RSS, rows, run

from monitor.dev.localserver import Reply
from monitor.ingest.pagination import OnePageRule, next_page_link, one_page_url, show_all_link
from monitor.ingest.urls import clean_url, url_key

from helpers import PARAGRAPHS, article_html, rss

RULES = [OnePageRule("kompas.com", query="page=all"), OnePageRule("detik.com", query="single=1"),
         OnePageRule("inews.id", path_suffix="/all")]


@pytest.mark.parametrize("url, expected", [
    ("https://nasional.kompas.com/read/2026/11/29/1/banjir", "https://nasional.kompas.com/read/2026/11/29/1/banjir?page=all"),
    ("https://nasional.kompas.com/read/2026/11/29/1/banjir?page=2", "https://nasional.kompas.com/read/2026/11/29/1/banjir?page=all"),
    ("https://news.detik.com/berita/d-123/judul", "https://news.detik.com/berita/d-123/judul?single=1"),
    ("https://www.inews.id/news/nasional/judul", "https://www.inews.id/news/nasional/judul/all"),
    ("https://nasional.kompas.com/read/a?page=all", None),
    ("https://www.antaranews.com/berita/1/judul", None),
])
def test_outlet_rules_give_the_one_page_view(url, expected):
    assert one_page_url(url, RULES) == expected


def test_the_one_page_selector_survives_cleaning_and_the_key_but_page_numbers_do_not():
    assert clean_url("https://x.test/read/a?page=all&utm_source=rss") == "https://x.test/read/a?page=all"
    assert clean_url("https://x.test/read/a?single=1") == "https://x.test/read/a?single=1"
    assert url_key("https://x.test/read/a?page=2") == url_key("https://x.test/read/a")


@pytest.mark.parametrize("anchor", ['<a href="?page=all">Tampilkan semua</a>', '<a href="?page=all"><b>Lihat Semua Halaman</b></a>',
                                    '<a href="/read/a?single=1">Baca dalam satu halaman</a>', '<a href="/read/a/all">Show all</a>'])
def test_the_page_s_own_show_all_link(anchor):
    html = f"<html><body><p>teks</p><div class='paging'>{anchor}</div><a href='/lain'>Tampilkan semua</a></body></html>"
    assert show_all_link(html, "http://x.test/read/a").startswith("http://x.test/read/a")


@pytest.mark.parametrize("anchor", ['<a href="?page=2">Halaman selanjutnya</a>', '<a href="?page=2">Berikutnya »</a>',
                                    '<link rel="next" href="/read/a?page=2">', '<a class="n" rel="next" href="?page=2">2</a>'])
def test_the_next_page_of_the_same_article(anchor):
    assert next_page_link(f"<html><head></head><body>{anchor}</body></html>", "http://x.test/read/a") == "http://x.test/read/a?page=2"


@pytest.mark.parametrize("anchor, url, expected", [
    ('<link rel="next" href="/berita/123-judul/3/">', "http://x.test/berita/123-judul/2/", "http://x.test/berita/123-judul/3/"),
    ('<a href="/berita/123-judul/2">Selanjutnya</a>', "http://x.test/berita/123-judul", "http://x.test/berita/123-judul/2"),
    ('<a href="?halaman=3" rel="next nofollow">3</a>', "http://x.test/read/a?halaman=2", "http://x.test/read/a?halaman=3"),
    ("<link rel=next href='/read/a?page=2'>", "http://x.test/read/a", "http://x.test/read/a?page=2"),
])
def test_later_pages_in_path_and_query_forms(anchor, url, expected):
    assert next_page_link(f"<html><head></head><body>{anchor}</body></html>", url) == expected


@pytest.mark.parametrize("anchor, url", [
    ('<a href="/read/lain">Selanjutnya</a>', "http://x.test/read/a"),
    ('<a href="/berita/123456">Selanjutnya</a>', "http://x.test/berita/12345"),                       # another id
    ('<a href="/nasional/kpk-tahan-bupati-2">Berikutnya</a>', "http://x.test/nasional/kpk-tahan-bupati"),
    ('<a href="http://lain.test/read/a?page=2">Selanjutnya</a>', "http://x.test/read/a"),              # another host
    ('<a href="http://twitter.test/x">Next</a>', "http://x.test"),
    ('<a href="/read/a?page=1">Selanjutnya</a>', "http://x.test/read/a?page=4"),                        # back, not next
    ('<a href="/2026/11/29/124">Selanjutnya</a>', "http://x.test/2026/11/29/123"),                      # numeric ids
])
def test_a_next_link_to_another_article_host_or_an_earlier_page_is_not_followed(anchor, url):
    assert next_page_link(anchor, url) is None


def split_article(server, base: str, pager: str):
    pages = [PARAGRAPHS["banjir"][:2], [PARAGRAPHS["banjir"][2], PARAGRAPHS["pajak"][0]], [PARAGRAPHS["pajak"][1]]]
    for n, paragraphs in enumerate(pages, 1):
        nav = pager.format(next=n + 1) if n < len(pages) else ""
        html = article_html("Banjir rendam ribuan rumah", paragraphs).replace("</article>", f"<nav>{nav}</nav></article>")
        server.routes[f"{base}?page={n}"] = Reply(200, html.encode(), HTML)
        if n == 1:
            server.routes[base] = Reply(200, html.encode(), HTML)
    whole = article_html("Banjir rendam ribuan rumah", [p for page in pages for p in page])
    server.routes[f"{base}?page=all"] = Reply(200, whole.encode(), HTML)


@pytest.mark.parametrize("link, pager", [
    ("{base}?page=all", ""),                                                   # the case: the link asks for it
    ("{base}", '<a href="?page=2">2</a> <a href="?page=all">Tampilkan semua</a>'),  # the page offers it
    ("{base}", '<a href="?page={next}">Halaman selanjutnya</a>'),               # only next pages: all fetched
])
def test_the_whole_article_is_stored_and_its_agencies_found(server, tmp_path, link, pager):
    base = "/read/2026/11/29/101500/banjir-rendam-ribuan-rumah"
    split_article(server, base, pager)
    server.routes["/feed"] = Reply(200, rss([{"title": "Banjir rendam ribuan rumah", "link": link.format(base=base)}]), RSS)
    run(server, tmp_path, [{"name": "contoh", "url": server.url("/feed"), "outlet": "Portal Contoh"}])
    (status, text), = rows(tmp_path, "SELECT status, text FROM articles")
    assert status == "ok" and PARAGRAPHS["pajak"][1] in text and PARAGRAPHS["banjir"][0] in text
    assert {a for (a,) in rows(tmp_path, "SELECT agency_id FROM mentions")} >= {"bnpb", "kemenkeu"}


def test_an_outlet_rule_fetches_the_one_page_view_first(server, tmp_path):
    base = "/read/2026/11/29/101500/banjir-rendam-ribuan-rumah"
    split_article(server, base, "")
    link = f"http://nasional.kompas.com:{server.port}{base}"
    server.routes["/feed"] = Reply(200, rss([{"title": "Banjir rendam ribuan rumah", "link": link}]), RSS)
    run(server, tmp_path, [{"name": "kompas", "url": server.url("/feed"), "outlet": "Kompas"}],
        resolver=lambda host, port: ["127.0.0.1"])
    assert server.hits(f"{base}?page=all") == 1 and server.hits(base) == 0
    assert "kemenkeu" in {a for (a,) in rows(tmp_path, "SELECT agency_id FROM mentions")}


def test_a_missing_following_page_leaves_the_article_partial_with_the_reason(server, tmp_path):
    base = "/read/2026/11/29/101500/banjir-rendam-ribuan-rumah"
    split_article(server, base, '<a href="?page={next}">Halaman selanjutnya</a>')
    server.routes[f"{base}?page=3"] = Reply(410, b"")
    server.routes["/feed"] = Reply(200, rss([{"title": "Banjir rendam ribuan rumah", "link": base}]), RSS)
    run(server, tmp_path, [{"name": "contoh", "url": server.url("/feed"), "outlet": "Portal Contoh"}])
    assert rows(tmp_path, "SELECT status, status_reason FROM articles") == [("partial", "page 3 of the article not fetched: HTTP 410")]
