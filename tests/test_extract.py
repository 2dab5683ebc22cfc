import time

from monitor.ingest.extract import ExtractionSandbox, decode_html, detect_language, extract_page

from helpers import PARAGRAPHS, article_html

URL = "https://berita.contoh.test/nasional/1"


def test_article_text_title_and_canonical():
    page = extract_page(article_html("BNPB Kirim Bantuan ke Lokasi Banjir", PARAGRAPHS["banjir"],
                                     canonical="https://berita.contoh.test/nasional/1?utm_source=x").encode(), URL,
                        "text/html; charset=utf-8")
    assert page.status == "ok" and page.reason is None
    assert page.title == "BNPB Kirim Bantuan ke Lokasi Banjir"
    assert page.text.startswith("Badan Nasional Penanggulangan Bencana")  # the <h1> is not repeated in the text
    assert "Hak cipta" not in page.text and "Beranda" not in page.text  # boilerplate removed
    assert page.language == "id" and page.canonical_url == "https://berita.contoh.test/nasional/1"
    assert page.content_hash and len(page.content_hash) == 16


def test_short_page_is_stored_with_status_not_counted_as_success():
    page = extract_page(article_html("Foto: Apel Siaga", ["Apel siaga digelar pagi ini di halaman kantor."]).encode(), URL)
    assert page.status == "too_short" and "characters of text" in page.reason


def test_paywall_teaser_is_partial():
    teaser = [PARAGRAPHS["pajak"][0], "Berlangganan untuk membaca artikel ini selengkapnya. Langganan sekarang mulai Rp50.000."]
    page = extract_page(article_html("Penerimaan Pajak Naik", teaser).encode(), URL)
    assert page.status == "partial" and "paywall" in page.reason


def test_javascript_only_page_is_flagged():
    html = ("<html><body><noscript>Aktifkan JavaScript untuk membaca berita ini. Situs kami membutuhkan JavaScript "
            "agar dapat menampilkan konten dengan benar di peramban Anda.</noscript><div id='app'></div></body></html>")
    page = extract_page(html.encode(), URL)
    assert page.status in ("too_short", "no_text")


def test_english_is_accepted_and_malay_is_told_apart():
    english = ["The Food and Drug Monitoring Agency said on Wednesday it had withdrawn thousands of listings of unregistered "
               "cosmetics from online marketplaces, and that some of the products contained mercury.",
               "The agency said it was working with the police and the trade ministry to trace the distributors, and urged "
               "consumers to check registration numbers before they buy."] * 2
    assert extract_page(article_html("BPOM withdraws cosmetics", english, lang="en").encode(), URL).language == "en"
    malay = ("Kerajaan negeri telah meluluskan peruntukan tambahan bagi membaiki jalan yang rosak selepas banjir, manakala "
             "syarikat kontraktor diberi tempoh sebulan sahaja kerana beliau mahu kerja itu disiapkan segera. Menteri berkata "
             "rakyat boleh membuat aduan kepada pejabat daerah semasa kerja pembaikan dijalankan iaitu dalam tempoh sebulan.")
    assert detect_language(malay) == "ms"
    assert detect_language(" ".join(PARAGRAPHS["korupsi"])) == "id"
    page = extract_page(article_html("Kerajaan luluskan peruntukan", [malay, malay]).encode(), URL)
    assert page.status == "wrong_language" and "ms" in page.reason


def test_cp1252_page_mislabelled_and_meta_charset():
    html = article_html("Menteri \u201cmenjamin\u201d harga beras", PARAGRAPHS["pajak"], charset="windows-1252")
    body = html.encode("cp1252")
    assert "\u201cmenjamin\u201d" in decode_html(body, "text/html")  # meta charset wins when no header charset
    assert "\u201cmenjamin\u201d" in decode_html(body, "text/html; charset=utf-8")  # wrong header: falls through
    page = extract_page(body, URL, "text/html; charset=utf-8")
    assert page.status == "ok" and "\u201cmenjamin\u201d" in page.title


def test_garbage_bytes_do_not_raise():
    page = extract_page(b"\x00\xff\xfe" * 1000, URL)
    assert page.status in ("no_text", "failed", "too_short")


def test_deeply_nested_page_ends_with_a_status():
    html = "<html><body>" + "<div>" * 5000 + "Teks tersembunyi di kedalaman. " * 20 + "</div>" * 5000 + "</body></html>"
    page = extract_page(html.encode(), URL)
    assert page.status in ("no_text", "too_short", "failed") and page.reason


def _slow_extract(args):  # stands in for a page that makes lxml spin
    time.sleep(30)


def test_sandbox_extracts_in_worker_processes_and_keeps_order():
    pages = [(article_html(t, PARAGRAPHS[k]).encode(), f"{URL}/{k}", None) for t, k in [("A", "banjir"), ("B", "pajak")]]
    with ExtractionSandbox(workers=1, timeout_s=30) as sandbox:
        results = sandbox.extract_many(pages + [(b"<html></html>", URL, None)])
    assert [r.title for r in results[:2]] == ["A", "B"]
    assert results[2].status in ("no_text", "too_short")


def test_sandbox_kills_a_stuck_extraction_within_its_bound(monkeypatch):
    import monitor.ingest.extract as extract_module

    monkeypatch.setattr(extract_module, "_worker", _slow_extract)
    sandbox = ExtractionSandbox(workers=1, timeout_s=1.0)
    started = time.monotonic()
    try:
        results = sandbox.extract_many([(b"<html></html>", URL, None)])
    finally:
        sandbox.close()
    assert results[0].status == "timeout" and "longer than 1s" in results[0].reason
    assert time.monotonic() - started < 20
