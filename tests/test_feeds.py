import datetime as dt

import pytest

from monitor.ingest.feeds import parse_date, parse_feed

from helpers import atom, rss

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
UTC = dt.UTC


@pytest.mark.parametrize("raw, expected", [
    ("Mon, 23 Nov 2026 15:04:00 WIB", dt.datetime(2026, 11, 23, 8, 4, tzinfo=UTC)),
    ("Mon, 23 Nov 2026 15:04:00 WITA", dt.datetime(2026, 11, 23, 7, 4, tzinfo=UTC)),
    ("Mon, 23 Nov 2026 15:04:00 WIT", dt.datetime(2026, 11, 23, 6, 4, tzinfo=UTC)),
    ("Mon, 23 Nov 2026 15:04:00 +0700", dt.datetime(2026, 11, 23, 8, 4, tzinfo=UTC)),
    ("2026-11-23T15:04:00+07:00", dt.datetime(2026, 11, 23, 8, 4, tzinfo=UTC)),
    ("2026-11-23T08:04:00Z", dt.datetime(2026, 11, 23, 8, 4, tzinfo=UTC)),
    ("Senin, 23 November 2026 15:04 WIB", dt.datetime(2026, 11, 23, 8, 4, tzinfo=UTC)),
    ("Senin, 05 Jan 2026 10:00:00 +0700", dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)),
    ("23 Agustus 26 10:00 WIB", dt.datetime(2026, 8, 23, 3, 0, tzinfo=UTC)),
])
def test_dates_to_utc(raw, expected):
    assert parse_date(raw, NOW) == (expected, "ok")


@pytest.mark.parametrize("raw, status", [(None, "missing"), ("", "missing"), ("kemarin sore", "unparsed"),
                                          ("Mon, 23 Nov 2099 15:04:00 WIB", "future"), ("Thu, 01 Jan 1970 00:00:00 GMT", "implausible")])
def test_missing_future_or_unreadable_dates_are_unknown(raw, status):
    assert parse_date(raw, NOW) == (None, status)


def test_rss_items_wib_dates_relative_links_and_tracking_parameters():
    body = rss([
        {"title": "Kemenkeu catat penerimaan pajak", "link": "/berita/1?utm_source=rss&utm_medium=feed", "guid": "1",
         "date": "Mon, 23 Nov 2026 15:04:00 WIB"},
        {"title": "BNPB kirim bantuan", "link": "https://www.contoh.test/berita/2#komentar", "guid": "2"},
    ])
    parsed = parse_feed(body, "https://www.contoh.test/rss/terkini.xml", now=NOW)
    assert parsed.is_feed and parsed.version == "rss20" and not parsed.bozo
    first, second = parsed.entries
    assert first.url == "https://www.contoh.test/berita/1"
    assert first.published_at == dt.datetime(2026, 11, 23, 8, 4, tzinfo=UTC)
    assert second.url == "https://www.contoh.test/berita/2" and second.published_at is None and second.date_status == "missing"


def test_atom_with_xml_base_and_relative_links():
    parsed = parse_feed(atom([{"title": "BPOM tarik kosmetik", "link": "berita/77", "date": "2026-11-23T04:00:00Z"}],
                             base="https://daerah.contoh.test/"), "https://daerah.contoh.test/feed.atom", now=NOW)
    assert parsed.version.startswith("atom")
    assert parsed.entries[0].url == "https://daerah.contoh.test/berita/77"


def test_relative_links_resolved_against_final_url_without_xml_base():
    parsed = parse_feed(rss([{"title": "A", "link": "/a"}]), "https://pindah.contoh.test/rss", now=NOW)
    assert parsed.entries[0].url == "https://pindah.contoh.test/a"


def test_duplicate_guids_are_told_apart_by_link_and_same_link_kept_once():
    body = rss([
        {"title": "Satu", "link": "https://contoh.test/1", "guid": "same"},
        {"title": "Dua", "link": "https://contoh.test/2", "guid": "same"},
        {"title": "Satu lagi", "link": "https://contoh.test/1?utm_campaign=x", "guid": "same"},
    ])
    parsed = parse_feed(body, "https://contoh.test/rss", now=NOW)
    assert [e.url for e in parsed.entries] == ["https://contoh.test/1", "https://contoh.test/2"]


def test_malformed_feed_keeps_recovered_entries():
    body = rss([{"title": "Polri tangkap pelaku", "link": "https://contoh.test/a"},
                {"title": "KPU umumkan jadwal", "link": "https://contoh.test/b"}]).replace(b"</channel>", b"<broken></channel>")
    body = body.replace(b"<title>KPU", b"<title>KPU & Bawaslu")
    parsed = parse_feed(body, "https://contoh.test/rss", now=NOW)
    assert parsed.is_feed and parsed.bozo and parsed.bozo_reason
    assert len(parsed.entries) == 2


@pytest.mark.parametrize("body", [b"<!doctype html><html><body><h1>Access denied</h1></body></html>", b"", b"   \n"])
def test_html_page_or_empty_body_is_not_a_feed(body):
    parsed = parse_feed(body, "https://contoh.test/rss", content_type="text/html", now=NOW)
    assert parsed.is_feed is False and parsed.entries == [] and parsed.bozo_reason


def test_cp1252_labelled_utf8_is_not_rejected():
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
            "<item><title>Menteri \u201cmenjamin\u201d harga beras \u2013 stabil</title><link>https://contoh.test/c</link></item>"
            "</channel></rss>").encode("cp1252")
    parsed = parse_feed(body, "https://contoh.test/rss", content_type="text/xml; charset=utf-8", now=NOW)
    assert parsed.is_feed and len(parsed.entries) == 1
    assert "menjamin" in parsed.entries[0].title and "harga beras" in parsed.entries[0].title


def test_items_over_the_cap_are_counted_not_kept():
    body = rss([{"title": f"Berita {i}", "link": f"https://contoh.test/{i}"} for i in range(30)])
    parsed = parse_feed(body, "https://contoh.test/rss", now=NOW, max_items=10)
    assert len(parsed.entries) == 10 and parsed.truncated == 20


def test_over_long_links_and_non_http_links_are_skipped_with_reason():
    body = rss([{"title": "panjang", "link": "https://contoh.test/" + "a" * 3000},
                {"title": "surat", "link": "mailto:redaksi@contoh.test"},
                {"title": "biasa", "link": "https://contoh.test/ok"}])
    parsed = parse_feed(body, "https://contoh.test/rss", now=NOW)
    assert [e.url for e in parsed.entries] == ["https://contoh.test/ok"]
    assert {reason for _, reason in parsed.skipped} == {"link longer than 2048 characters", "link is not http(s)"}


def test_feedparser_is_given_bytes_never_a_path(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(rss([{"title": "rahasia", "link": "https://contoh.test/r"}]))
    parsed = parse_feed(str(secret).encode(), "https://contoh.test/rss", now=NOW)
    assert parsed.is_feed is False  # a path sent as a body is just text, never opened
