"""Google News links in the post-2024 form decoded through Google's two-step exchange (monitor/ingest/gnews.py),
against a local stand-in for both endpoints (../shared/cases/google-news-new-links)."""

import datetime as dt
import json
from urllib.parse import parse_qs

import pytest
from test_pipeline import HTML, RSS, Clock, rows, run

from monitor.dev.localserver import Reply
from monitor.ingest.gnews import (
    DecodeRequest,
    GoogleFormatError,
    batch_request_body,
    decoding_params,
    google_id_of,
    needs_decoding,
    parse_batch_answer,
)

from helpers import PARAGRAPHS, article_html, rss

NEW_ID = "CBMiNkFVX3lxTFBaeHEwRnEzY29udG9oVGlkYWtBZGFVUkxkaVNpbmktOWZBN25XYzJiUWtMbTBYctIBAA"  # from the handed case
OLD_ID = ("CBMihQFodHRwczovL3d3dy50LW9ubGluZS5kZS9uYWNocmljaHRlbi91a3JhaW5lL2lkXzEwMDMxMDYxNi91a3JhaW5lLWtyaWVnLXJ1c3Ns"
          "YW5kLXdlbGNoZXMtemllbC12ZXJmb2xndC1wdXRpbi1taXQtZGVtLWx1ZnRhbmdyaWZmLS5odG1s0gEA")
PAGE = ('<c-wiz><div jscontroller="contoh" data-n-a-id="AU_yq" data-n-a-ts="1796000000" '
        'data-n-a-sg="AV1contohSignatureKPK"></div></c-wiz>')
STORY = "KPK periksa pejabat dinas terkait dugaan suap proyek jalan"
PATH = "/nasional/read/2026/11/30/0805/kpk-periksa-pejabat-dinas"


def answer(*urls, ids=None):
    rows_ = [["wrb.fr", "Fbv4je", json.dumps(["garturlres", url, 1]), None, None, None, rid]
             for url, rid in zip(urls, ids or ["generic"], strict=True)]
    return ")]}'\n\n" + json.dumps([*rows_, ["di", 31], ["af.httprm", 30, "-58", 12]])


def test_new_ids_need_google_and_old_ids_do_not():
    assert needs_decoding(f"https://news.google.com/rss/articles/{NEW_ID}?oc=5")
    assert not needs_decoding(f"https://news.google.com/rss/articles/{OLD_ID}?oc=5")  # the URL is inside the id
    assert not needs_decoding("https://www.antaranews.com/berita/1/judul")
    assert google_id_of(f"https://news.google.com/articles/{NEW_ID}") == NEW_ID


def test_the_signature_and_timestamp_are_read_and_their_absence_is_a_clear_error():
    assert decoding_params(PAGE, NEW_ID) == DecodeRequest(NEW_ID, 1796000000, "AV1contohSignatureKPK")
    with pytest.raises(GoogleFormatError, match="data-n-a-sg"):
        decoding_params("<html><body>Sebelum melanjutkan ke Google</body></html>", NEW_ID)


def test_one_post_asks_for_several_ids_and_the_answers_come_back_in_order():
    requests = [DecodeRequest(f"id{i}", 1796000000 + i, f"sig{i}") for i in range(3)]
    form = parse_qs(batch_request_body(requests).decode())
    envelopes = json.loads(form["f.req"][0])[0]
    assert [e[0] for e in envelopes] == ["Fbv4je"] * 3 and [e[3] for e in envelopes] == ["1", "2", "3"]
    inner = json.loads(envelopes[1][1])
    assert inner[0] == "garturlreq" and inner[-3:] == ["id1", 1796000001, "sig1"]
    text = answer("https://b.test/2", "https://a.test/1", ids=["2", "1"])
    assert parse_batch_answer(text, 3) == ["https://a.test/1", "https://b.test/2", None]


def test_the_chunked_answer_form_is_read_too():
    row = ["wrb.fr", "Fbv4je", json.dumps(["garturlres", "https://a.test/1", 1]), None, None, None, "generic"]
    text = ")]}'\n\n" + f"{len(json.dumps([row]))}\n" + json.dumps([row]) + "\n25\n" + json.dumps([["di", 31]]) + "\n"
    assert parse_batch_answer(text, 1) == ["https://a.test/1"]


@pytest.mark.parametrize("text, reason", [
    ('[["wrb.fr","Fbv4je","[]"]]', "does not start"),
    (")]}'\n\n" + json.dumps([["di", 31]]), "no Fbv4je row"),
    (")]}'\n\n" + json.dumps([["wrb.fr", "Fbv4je", json.dumps(["other", 1])]]), "not a garturlres"),
    (")]}'\n\n" + json.dumps([["wrb.fr", "Fbv4je", json.dumps(["garturlres", "https://news.google.com/x", 1])]]), "not a publisher URL"),
    (")]}'\n\n<html>error</html>", "not JSON"),
])
def test_a_changed_answer_fails_with_its_reason_never_a_guess(text, reason):
    with pytest.raises(GoogleFormatError, match=reason):
        parse_batch_answer(text, 1)


def row(url, request_id):
    return ["wrb.fr", "Fbv4je", json.dumps(["garturlres", url, 1]), None, None, None, request_id]


@pytest.mark.parametrize("rows_, reason", [
    ([row("https://a.id/1", "req-1")], "unknown request id"),
    ([row("https://a.id/1", ["1"])], "unknown request id"),
    ([row("https://a.id/1", "generic"), row("https://b.id/2", "generic")], "unknown request id"),  # which one is which?
    ([row("https://a.id/1", "1"), row("https://b.id/2", "1")], "two rows"),
    ([row("https://consent.google.com/ml?continue=x", "1")], "not a publisher URL"),
    ([row("https://www.google.com/url?q=x", "1")], "not a publisher URL"),
    ([row("https://", "1")], "not a publisher URL"),
])
def test_answers_that_cannot_be_matched_to_their_ids_are_refused(rows_, reason):
    with pytest.raises(GoogleFormatError, match=reason):
        parse_batch_answer(")]}'\n\n" + json.dumps(rows_), 2)


def test_an_answer_nested_too_deeply_is_a_format_error_not_a_crash():
    with pytest.raises(GoogleFormatError):
        parse_batch_answer(")]}'\n\n" + "[" * 100000 + "]" * 100000, 1)


def test_google_refusing_one_id_leaves_the_others_decoded():
    refused = ["wrb.fr", "Fbv4je", None, None, None, [3], "2"]
    text = ")]}'\n\n" + json.dumps([row("https://a.id/1", "1"), refused, row("https://c.id/3", "3")])
    assert parse_batch_answer(text, 3) == ["https://a.id/1", None, "https://c.id/3"]


def test_read_links_are_decoded_too():
    assert needs_decoding(f"https://news.google.com/read/{NEW_ID}?hl=id")


# --- end to end: the handed case (publisher feed + Google feed with a new-style id) ---

def serve_case(server, batch_reply):
    google = f"http://news.google.com:{server.port}"
    server.routes[f"/rss/articles/{NEW_ID}?oc=5"] = Reply(200, PAGE.encode(), HTML)
    server.routes["/_/DotsSplashUi/data/batchexecute"] = batch_reply
    server.routes["/rss/search?q=KPK"] = Reply(200, rss([{"title": f"{STORY} - Kabar Contoh", "source": "Kabar Contoh",
                                                         "date": "Mon, 30 Nov 2026 01:10:00 GMT",
                                                         "link": f"{google}/rss/articles/{NEW_ID}?oc=5"}]), RSS)
    server.routes[PATH] = Reply(200, article_html(STORY, PARAGRAPHS["banjir"]).encode(), HTML)
    server.routes["/direct.xml"] = Reply(200, rss([{"title": STORY, "link": PATH, "date": "Mon, 30 Nov 2026 08:05:00 +0700"}]), RSS)
    return [{"name": "gn-kpk", "kind": "google_news", "url": f"{google}/rss/search?q=KPK", "outlet": "Google News"},
            {"name": "kabar-contoh", "url": server.url("/direct.xml"), "outlet": "Kabar Contoh"}]


def morning():
    return Clock(dt.datetime(2026, 11, 30, 3, tzinfo=dt.UTC))


def resolve_all(host, port):
    return ["127.0.0.1"]


def kpk_mentions_and_stories(tmp_path):
    return rows(tmp_path, "SELECT count(*), count(DISTINCT cluster_id) FROM agency_mentions WHERE agency_id = 'kpk'")[0]


def test_a_new_style_link_is_decoded_fetched_and_one_article_with_the_publishers_copy(server, tmp_path):
    feeds = serve_case(server, lambda request: Reply(200, answer(server.url(PATH)).encode(), {"Content-Type": "application/json"}))
    run(server, tmp_path, feeds, clock=morning(), resolver=resolve_all)
    posts = [r for r in server.requests if r.method == "POST"]
    assert len(posts) == 1 and NEW_ID in parse_qs(posts[0].body.decode())["f.req"][0]
    assert rows(tmp_path, "SELECT final_url, status, title FROM articles") == [(server.url(PATH), "ok", STORY)]
    assert rows(tmp_path, "SELECT count(DISTINCT article_id) FROM entries") == [(1,)]  # both entries, one row
    assert kpk_mentions_and_stories(tmp_path) == (1, 1)
    assert rows(tmp_path, "SELECT google_id, publisher_url FROM google_news_links") == [(NEW_ID, server.url(PATH))]
    # another feed carrying the same id later: the stored URL is used, Google is not asked again
    feeds.append({"name": "gn-kpk-2", "kind": "google_news", "url": f"http://news.google.com:{server.port}/rss/search?q=KPK2",
                  "outlet": "Google News"})
    server.routes["/rss/search?q=KPK2"] = Reply(200, rss([{"title": STORY, "link": f"http://news.google.com:{server.port}/rss/articles/{NEW_ID}?oc=6"}]), RSS)
    run(server, tmp_path, feeds[2:], clock=morning(), resolver=resolve_all)
    assert server.hits(f"/rss/articles/{NEW_ID}?oc=6") == 0 and len([r for r in server.requests if r.method == "POST"]) == 1
    assert rows(tmp_path, "SELECT count(*), count(DISTINCT article_id) FROM entries") == [(3, 1)]
    assert kpk_mentions_and_stories(tmp_path) == (1, 1)


@pytest.mark.parametrize("batch_reply, reason, state", [
    (Reply(429, b"", {"Retry-After": "600"}), "HTTP 429", "retry"),
    (Reply(200, b'[["wrb.fr","Fbv4je","[]"]]', {"Content-Type": "application/json"}), "does not start with", "done"),
    (Reply(200, answer("https://news.google.com/x").encode(), {"Content-Type": "application/json"}), "not a publisher URL", "done"),
])
def test_a_failed_decode_is_recorded_with_its_reason_and_the_story_still_counts_once(server, tmp_path, batch_reply, reason, state):
    feeds = serve_case(server, batch_reply)
    run(server, tmp_path, feeds, clock=morning(), resolver=resolve_all, max_page_attempts=1)
    (google_state, google_reason), = rows(tmp_path, "SELECT state, last_reason FROM entries WHERE url LIKE '%news.google.com%'")
    assert google_state == state and reason in google_reason
    assert rows(tmp_path, "SELECT count(*) FROM articles WHERE status = 'ok'") == [(1,)]
    assert kpk_mentions_and_stories(tmp_path)[1] == 1
    assert rows(tmp_path, "SELECT count(*) FROM google_news_links") == [(0,)]
