"""Feed and sitemap discovery (monitor/ingest/discover.py) against a local site: alternate links, robots.txt,
common paths, one request per URL, the private-address guard, and paste-ready feeds.yaml entries."""

import datetime as dt
import re
from collections import Counter

import yaml

from monitor.config import FeedConfig
from monitor.dev.localserver import Reply
from monitor.ingest.discover import (
    COMMON_PATHS,
    Candidate,
    discover,
    feed_links,
    robots_sitemaps,
    yaml_entries,
)
from monitor.ingest.fetch import FetchPolicy, HostLimiter, make_client

from helpers import atom, rss

NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
LOOPBACK = FetchPolicy(user_agent="Mozilla/5.0 (compatible; monitor-test)", allow_private_networks=True,
                       total_timeout_s=5, connect_timeout_s=2)
XML = {"Content-Type": "application/xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def home_page(*links: str) -> bytes:
    return (f'<!doctype html><html><head><title>Portal Uji</title>{"".join(links)}</head>'
            "<body><h1>Berita terkini</h1></body></html>").encode()


def news_sitemap(base: str) -> bytes:
    return (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>{base}/berita/1</loc><news:news>'
            "<news:publication_date>2026-11-29T10:00:00+07:00</news:publication_date><news:title>KPK periksa pejabat"
            "</news:title></news:news></url></urlset>").encode()


def index_sitemap(base: str) -> bytes:
    return (f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/sitemap-1.xml</loc><lastmod>2026-11-29</lastmod></sitemap>"
            f"<sitemap><loc>{base}/sitemap-2.xml</loc></sitemap></sitemapindex>").encode()


def run(server, site: str | None = None, policy: FetchPolicy = LOOPBACK, **kwargs) -> list[Candidate]:
    with make_client(policy) as client:
        return discover(client, policy, HostLimiter(2, 0.0), site or server.url("/"), NOW, **kwargs)


def portal(server) -> None:
    base = server.base
    server.routes.update({
        "/": Reply(200, home_page(
            '<link rel="alternate" type="application/rss+xml" title="Terkini" href="/rss/terkini.xml">',
            f'<link rel="alternate" type="application/atom+xml" href="{base}/atom#top">',
            '<link rel="alternate" type="application/rss+xml" href="rss/terkini.xml">',  # the first one again
            '<link rel="alternate" hreflang="en" href="/en/">',  # a translation, not a feed
            '<link rel="stylesheet" type="text/css" href="/gaya.css">'), HTML),
        "/robots.txt": Reply(200, (
            "User-agent: *\nDisallow: /cari\n# Sitemap: /dikomentari.xml\n"
            f"SITEMAP: /sitemap-news.xml\nsitemap:{base}/sitemap_index.xml\nSitemap: /sitemap-news.xml\n").encode(),
            {"Content-Type": "text/plain"}),
        "/rss/terkini.xml": Reply(200, rss([{"title": "Banjir rendam empat kecamatan", "link": f"{base}/berita/2",
                                              "date": "Sun, 29 Nov 2026 10:00:00 +0700"}]), XML),
        "/atom": Reply(200, atom([{"title": "Pajak", "link": f"{base}/berita/3", "date": "2026-11-28T00:00:00Z"}]), XML),
        "/sitemap-news.xml": Reply(200, news_sitemap(base), XML),
        "/sitemap_index.xml": Reply(200, index_sitemap(base), XML),
        "/rss": Reply(200, home_page(), HTML),  # a section page at a feed-like path
        "/feed": Reply(301, b"", {"Location": "/feed/"}),  # WordPress
        "/feed/": Reply(200, rss([{"title": "Sekolah", "link": f"{base}/berita/4"}]), XML),
    })


def test_discovery_reads_links_robots_and_common_paths_and_fetches_each_url_once(server):
    portal(server)
    base = server.base
    found = {c.url[len(base):]: c for c in run(server)}
    assert list(found)[:4] == ["/rss/terkini.xml", "/atom", "/sitemap-news.xml", "/sitemap_index.xml"]
    terkini, atom_feed = found["/rss/terkini.xml"], found["/atom"]
    assert (terkini.kind, terkini.found_by, terkini.ok) == ("rss", "link rel=alternate", True)
    assert terkini.detail == "RSS 2.0, 1 items, newest 2026-11-29 10:00 WIB"
    assert atom_feed.ok and atom_feed.detail.startswith("Atom 1.0, 1 items")
    news, index = found["/sitemap-news.xml"], found["/sitemap_index.xml"]
    assert (news.kind, news.found_by, news.ok) == ("sitemap", "robots.txt", True)
    assert news.detail == "sitemap urlset, 1 URLs (1 with news titles), newest 2026-11-29 10:00 WIB"
    assert (index.kind, index.ok, index.detail) == ("sitemap", True, "sitemap index, 2 child sitemaps, newest 2026-11-29 00:00 WIB")
    # the rest come from the common paths, in their order, without the ones already found
    common = [c for c in found.values() if c.found_by == "common path"]
    assert [c.url[len(base):] for c in common] == [
        "/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/sitemap.xml", "/news-sitemap.xml", "/sitemap_news.xml"]
    assert found["/feed/"].ok and found["/feed/"].detail.endswith(f"; moved permanently from {base}/feed")
    assert (found["/rss"].kind, found["/rss"].ok, found["/rss"].detail) == ("rss", False, "an HTML page, not a feed or sitemap")
    assert (found["/rss.xml"].kind, found["/rss.xml"].ok, found["/rss.xml"].detail) == ("rss", False, "HTTP 404")
    assert (found["/sitemap.xml"].kind, found["/sitemap.xml"].ok) == ("sitemap", False)  # kind guessed from the path
    assert Counter(r.path for r in server.requests) == Counter(
        ["/", "/robots.txt", "/rss/terkini.xml", "/atom", "/sitemap-news.xml", "/sitemap_index.xml", "/feed", "/feed/",
         *(p for p in COMMON_PATHS if p not in ("/feed", "/sitemap-news.xml", "/sitemap_index.xml"))])


def test_default_policy_refuses_loopback_without_raising(server):
    portal(server)
    candidates = run(server, policy=FetchPolicy(user_agent="Mozilla/5.0 (compatible; monitor-test)"))
    assert server.requests == []
    assert [c.url for c in candidates] == [server.url(p) for p in COMMON_PATHS]
    assert not any(c.ok for c in candidates)
    assert all(c.detail.startswith("blocked non-public address") for c in candidates)


def test_a_failing_home_page_and_robots_txt_leave_the_common_paths(server, caplog):
    server.routes.update({"/": Reply(500, b"galat"), "/feed": Reply(200, rss([{"title": "A", "link": "http://a.test/1"}]), XML)})
    with caplog.at_level("WARNING", logger="monitor.ingest.discover"):  # shown at the CLI's default level
        candidates = run(server)
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == ["home page failed: HTTP 500", "robots.txt failed: HTTP 404"]
    assert [c.url for c in candidates] == [server.url(p) for p in COMMON_PATHS]
    assert [c.url for c in candidates if c.ok] == [server.url("/feed")]
    assert candidates[1].detail == "HTTP 404" and server.hits("/") == 1 and server.hits("/robots.txt") == 1


def test_a_feed_url_given_directly_is_a_candidate_and_fetched_once(server):
    server.routes["/rss/terkini.xml"] = Reply(200, rss([{"title": "A", "link": "http://a.test/1"}]), XML)
    candidates = run(server, server.url("/rss/terkini.xml"))
    assert (candidates[0].url, candidates[0].found_by, candidates[0].ok) == (server.url("/rss/terkini.xml"), "given URL", True)
    assert server.hits("/rss/terkini.xml") == 1 and max(Counter(r.path for r in server.requests).values()) == 1


def test_probes_are_capped(server):
    links = [f'<link rel="alternate" type="application/rss+xml" href="/rss/{i}.xml">' for i in range(5)]
    server.routes["/"] = Reply(200, home_page(*links), HTML)
    candidates = run(server, max_probes=3)
    assert [c.detail for c in candidates[:3]] == ["HTTP 404"] * 3
    assert all(c.detail == "not probed: more than 3 to probe" and not c.ok for c in candidates[3:])
    assert len(server.requests) == 2 + 3  # home page, robots.txt, three probes


def test_feed_links_are_absolute_deduplicated_and_honour_base():
    page = home_page(
        '<base href="https://cdn.contoh.test/id/">',
        '<link rel="alternate" type="application/rss+xml" href="rss.xml">',
        '<link rel="Alternate nofollow" type="application/atom+xml; charset=utf-8" href="//contoh.test/atom.xml">',
        '<link rel="alternate" type="application/feed+json" href="https://contoh.test/feed.json">',
        '<link rel="alternate" type="application/rss+xml" href="javascript:void(0)">',
        '<link rel="alternate" type="application/rss+xml" href="https://cdn.contoh.test/id/rss.xml#atas">',
        '<link rel="alternate" type="application/json+oembed" href="https://contoh.test/oembed">')
    assert feed_links(page, "https://www.contoh.test/") == [
        "https://cdn.contoh.test/id/rss.xml", "https://contoh.test/atom.xml", "https://contoh.test/feed.json"]
    assert feed_links(b"", "https://www.contoh.test/") == []
    assert feed_links(b"\x00\xff", "https://www.contoh.test/") == []


def test_robots_sitemaps_in_any_case_absolute_and_once():
    text = ("User-agent: *\r\nSitemap: https://www.contoh.test/sitemap.xml\r\nSITEMAP:/news.xml # berita\r\n"
            "  sitemap :  https://www.contoh.test/sitemap.xml\r\n# Sitemap: /lama.xml\r\nSitemap:\r\nsitemap: ftp://x.test/s.xml\r\n"
            "Disallow: /sitemap-rahasia.xml\r\n")
    assert robots_sitemaps(text, "https://www.contoh.test/robots.txt") == [
        "https://www.contoh.test/sitemap.xml", "https://www.contoh.test/news.xml"]
    assert robots_sitemaps("", "https://www.contoh.test/robots.txt") == []


def test_yaml_entries_are_valid_feed_entries_with_unique_names():
    candidates = [
        Candidate("https://www.contoh.test/rss/terkini.xml", "rss", "link rel=alternate", True, "RSS 2.0"),
        Candidate("https://www.contoh.test/sitemap-news.xml", "sitemap", "robots.txt", True, "sitemap urlset"),
        Candidate("https://m.contoh.test/rss/terkini.xml", "rss", "link rel=alternate", True, "RSS 2.0"),
        Candidate("https://www.contoh.test/?feed=rss2", "rss", "common path", True, "RSS 2.0"),
        Candidate("https://www.contoh.test/", "rss", "given URL", True, "Atom 1.0"),
        Candidate("https://www.contoh.test/rss.xml", "rss", "common path", False, "HTTP 404"),
    ]
    text = yaml_entries(candidates, "Portal Uji: Jakarta", "Portal Uji")
    entries = yaml.safe_load(text)
    assert [e["name"] for e in entries] == [
        "portal-uji-rss-terkini", "portal-uji-sitemap-news", "portal-uji-rss-terkini-2", "portal-uji-feed-rss2", "portal-uji-rss"]
    assert [e.get("kind") for e in entries] == [None, "sitemap", None, None, None]
    assert all(e["outlet"] == "Portal Uji: Jakarta" and re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", e["name"]) for e in entries)
    assert [e["url"] for e in entries] == [c.url for c in candidates if c.ok]
    assert text.startswith("- name: portal-uji-rss-terkini\n  url: https://www.contoh.test/rss/terkini.xml\n  outlet:")
    for entry in entries:
        FeedConfig(**entry)  # what feeds.yaml validation accepts
    assert yaml_entries(candidates[-1:], "Portal Uji", "uji") == ""
    assert yaml.safe_load(yaml_entries(candidates[:1], "X", ""))[0]["name"] == "rss-terkini"
