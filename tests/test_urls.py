import base64

from monitor.ingest.urls import clean_url, decode_google_news_link, is_google_news_link, normalize_url, url_key


def test_clean_url_strips_tracking_and_fragment_but_stays_fetchable():
    assert clean_url("HTTPS://WWW.Contoh.test:443/berita/1?utm_source=x&fbclid=y&id=9#atas") == "https://www.contoh.test/berita/1?id=9"


def test_normalize_url_merges_publisher_variants():
    variants = ["https://www.contoh.test/berita/1/", "https://contoh.test/berita/1?utm_medium=rss", "https://contoh.test/berita/1/amp",
                "https://contoh.test/berita/1#x"]
    assert {normalize_url(v) for v in variants} == {"https://contoh.test/berita/1"}
    assert len({url_key(v) for v in variants}) == 1
    assert url_key("https://contoh.test/berita/1") != url_key("https://contoh.test/berita/2")


def test_google_news_old_style_id_decodes_to_the_publisher_url():  # string decoding only: nothing is fetched
    payload = b"\x08\x13\x22\x2bhttps://www.antaranews.com/berita/4412253/contoh\xd2\x01\x00"
    token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    link = f"https://news.google.com/rss/articles/{token}?oc=5"
    assert is_google_news_link(link)
    assert decode_google_news_link(link) == "https://www.antaranews.com/berita/4412253/contoh"


def test_google_news_new_style_id_is_not_guessed():
    assert decode_google_news_link("https://news.google.com/rss/articles/AU_yqLPx7kQz9?oc=5") is None
