"""A Google News search feed per followed agency (monitor/follow.py), visible like any feed, with its coverage."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from test_pipeline import HTML, RSS, Clock, run

from monitor.config import AgencyConfig
from monitor.dev.localserver import Reply
from monitor.errors import ConfigError
from monitor.follow import MAX_QUERY_WORDS, config_summary, pack_queries, query_words, search_phrases, search_queries, search_url
from monitor.outputs.status import collect_status, render_status

from helpers import PARAGRAPHS, article_html, make_config, rss

TODAY = dt.date(2026, 11, 30)


def query_of(url):
    return parse_qs(urlsplit(url).query)["q"][0]


def test_phrases_come_from_the_register_most_important_first():
    config = make_config([])
    kemenkeu = search_phrases(config.agency("kemenkeu"), TODAY)
    assert kemenkeu[:2] == ["Kementerian Keuangan", "Kemenkeu"] and "Menteri Keuangan" in kemenkeu
    assert "Departemen Keuangan" not in kemenkeu and "Depkeu" not in kemenkeu  # renamed in 2009: not recent
    presiden = search_phrases(config.agency("presiden"), TODAY)
    assert "Presiden Prabowo" in presiden and "Presiden Prabowo Subianto" in presiden
    assert not any("Jokowi" in p for p in presiden)  # only the current holder
    assert search_phrases(config.agency("kab-bone"), TODAY) == ["Pemerintah Kabupaten Bone", "Pemkab Bone", "Bupati Bone"]
    assert "Wali Kota Surabaya" in search_phrases(config.agency("kota-surabaya"), TODAY)
    bi = AgencyConfig(id="bi", name="Bank Indonesia", type="lembaga", abbreviations=["BI"],
                      former_names=[{"name": "Bank Sentral Lama", "until": dt.date(2026, 1, 1)}])
    assert search_phrases(bi, TODAY) == ["Bank Indonesia", "Bank Sentral Lama"]  # "BI" would match any page


def test_queries_stay_within_google_word_limit_and_keep_every_phrase():
    phrases = [f"Frasa Nomor {n} Panjang" for n in range(20)]
    groups = pack_queries(phrases)
    assert [p for g in groups for p in g] == phrases and len(groups) > 1
    for group in groups:
        query = query_of(search_url(group))
        assert query_words(query) <= MAX_QUERY_WORDS and query.startswith("when:1d ")  # the window is never cut off
    assert query_words("Kementerian ATR/BPN") == 3  # a slash splits words, as search engines count them
    url = search_url(["Komisi Pemberantasan Korupsi", "KPK"])
    assert query_of(url) == 'when:1d "Komisi Pemberantasan Korupsi" OR "KPK"'
    assert url.startswith("https://news.google.com/rss/search?") and url.endswith("&hl=id&gl=ID&ceid=ID:id")


def test_followed_agencies_get_feeds_like_any_other():
    raw_agency = {"id": "kpk", "name": "Komisi Pemberantasan Korupsi", "type": "lembaga_negara", "abbreviations": ["KPK"],
                  "aliases": [f"sebutan panjang nomor {n} untuk lembaga ini" for n in range(12)]}
    other = {"id": "bnpb", "name": "Badan Nasional Penanggulangan Bencana", "type": "badan", "follow": True}
    config = make_config([{"name": "antara", "url": "https://www.antaranews.com/rss/terkini.xml", "outlet": "Antara"}],
                         agencies=[raw_agency, other], follow=["kpk"])
    names = [f.name for f in config.feeds]
    assert names == ["antara", "follow-kpk", "follow-kpk-2", "follow-kpk-3", "follow-bnpb"]
    kpk = config.feeds[1]
    assert (kpk.kind, kpk.follows, kpk.fallback, kpk.outlet) == ("google_news", "kpk", "none", "Google News")
    assert "phrases over the query limit left out" in config.feeds[3].notes  # never dropped silently
    assert config_summary(config).endswith("; 4 of the feeds search for 2 followed agencies")
    lines = search_queries(config.feeds)
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == names[1:]
    assert lines[0].startswith('follow-kpk ') and 'when:1d "Komisi Pemberantasan Korupsi" OR "KPK" OR' in lines[0]
    assert all(int(line.rsplit("(", 1)[1].split()[0]) <= MAX_QUERY_WORDS for line in lines if "words)" in line)
    left_out = [line for line in lines if "left out (over 3 queries)" in line]
    assert len(left_out) == 1 and "sebutan panjang nomor 11 untuk lembaga ini" in left_out[0]  # said once per agency
    assert search_queries(config.feeds[:1]) == []


def test_an_unknown_followed_id_or_a_clashing_feed_name_is_a_config_error_naming_the_entry():
    with pytest.raises(ConfigError, match=r"test: settings: follow.1: unknown agency id 'kpkk'"):
        make_config([], follow=["kpk", "kpkk"])
    with pytest.raises(ConfigError, match=r"feeds\[0\] \(name='follow-kpk'\): name: the name of the search feed"):
        make_config([{"name": "follow-kpk", "url": "https://x.example/rss", "outlet": "X"}], follow=["kpk"])
    with pytest.raises(ConfigError, match=r"test: settings: follow.1: listed twice 'kpk'"):
        make_config([], follow=["kpk", "kpk"])
    with pytest.raises(ConfigError, match=r"feeds\[0\] \(name='x'\): follows: unknown agency id 'nope'"):
        make_config([{"name": "x", "url": "https://x.example/rss", "outlet": "X", "follows": "nope"}])


def test_fallback_values_read_as_an_operator_writes_them():
    feeds = [{"name": f"f{n}", "url": "https://x.example/rss", "outlet": "X", "fallback": value}
             for n, value in enumerate([False, True, "Auto", " none ", "https://x.example/sitemap-news.xml"])]
    assert [f.fallback for f in make_config(feeds).feeds] == ["none", "auto", "auto", "none",
                                                              "https://x.example/sitemap-news.xml"]
    with pytest.raises(ConfigError, match=r"fallback: Value error, expected auto, none or an http\(s\) URL, got 'sometimes'"):
        make_config([{"name": "f", "url": "https://x.example/rss", "outlet": "X", "fallback": "sometimes"}])


def test_status_shows_coverage_by_search_and_by_outlet_feeds(server, tmp_path):
    for path, key in (("/a/kpk", "korupsi"), ("/a/kpk-dua", "korupsi"), ("/a/pajak", "pajak")):
        paragraphs = PARAGRAPHS[key] if path != "/a/kpk-dua" else [p.replace("Rp12 miliar", "Rp3 miliar").replace(
            "sembilan jam", "tiga jam").replace("kontraktor", "rekanan dinas") + " Kasus lain." for p in PARAGRAPHS[key]]
        server.routes[path] = Reply(200, article_html(path, paragraphs).encode(), HTML)
    date = "Mon, 30 Nov 2026 08:00:00 WIB"
    server.routes["/outlet.xml"] = Reply(200, rss([{"title": "a", "link": f"{server.base}/a/kpk", "date": date}]), RSS)
    server.routes["/search.xml"] = Reply(200, rss([{"title": "a", "link": f"{server.base}/a/kpk", "date": date},
                                                   {"title": "b", "link": f"{server.base}/a/kpk-dua", "date": date},
                                                   {"title": "c", "link": f"{server.base}/a/pajak", "date": date}]), RSS)
    feeds = [{"name": "outlet", "url": f"{server.base}/outlet.xml", "outlet": "Warta"},
             {"name": "search-kpk", "url": f"{server.base}/search.xml", "outlet": "Google News", "follows": "kpk"}]
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    run(server, tmp_path, feeds, clock=Clock(now))
    report = collect_status(str(tmp_path / "monitor.duckdb"), now=now, follows={"kpk": ["search-kpk"]})
    assert report["follow_coverage"] == [{"agency_id": "kpk", "days": 7, "by_search": 2, "by_outlet_feeds": 1,
                                          "both": 1, "search_without_mention": 1}]
    assert "kpk                              by search 2, by outlet feeds 1, both 1; search items not naming it 1" \
        in render_status(report)
