"""Inline teasers, markers and reader comments are not article text (issue 14, kinds 6 and 11)."""

import pytest

from monitor.ingest.boilerplate import clean_html, is_boilerplate_line, strip_lines
from monitor.ingest.extract import extract_page

STORY = ["SURABAYA - Dinas pendidikan kota membuka pendaftaran beasiswa bagi siswa berprestasi dari keluarga kurang "
         "mampu mulai Senin pekan depan. Kuota tahun ini sebanyak 500 siswa.",
         "Kepala dinas mengatakan pendaftaran dilakukan secara daring melalui laman resmi dan sekolah akan membantu "
         "siswa yang kesulitan mengisi formulir.",
         "Beasiswa mencakup biaya sekolah, seragam, dan buku pelajaran selama satu tahun ajaran. Orang tua siswa "
         "diminta menyiapkan surat keterangan penghasilan."]


def page(inserted: str, after: int = 1) -> bytes:
    paragraphs = [f"<p>{p}</p>" for p in STORY]
    paragraphs.insert(after, inserted)
    return (f"<!doctype html><html lang='id'><head><meta charset='utf-8'><title>Beasiswa daerah</title></head><body>"
            f"<article><h1>Beasiswa daerah</h1><div class='read__content'>{''.join(paragraphs)}</div></article>"
            f"</body></html>").encode()


@pytest.mark.parametrize("teaser", [
    "<p><strong>Baca juga:</strong> <a href='/kpk'>KPK Tahan Bupati dalam Kasus Suap Perizinan</a></p>",
    "<p><b>BACA JUGA</b> - <a href='/kpk'>KPK Tahan Bupati dalam Kasus Suap Perizinan</a></p>",
    "<p>Simak juga: <a href='/kpk'>KPK Tahan Bupati dalam Kasus Suap Perizinan</a></p>",
    "<div>Lihat Juga: <a href='/kpk'>KPK Tahan Bupati dalam Kasus Suap Perizinan</a></div>",
    "<p><em>Baca:</em> <a href='/kpk'>KPK Tahan Bupati dalam Kasus Suap Perizinan</a></p>",
    "<div class='baca-juga'><span>BACA JUGA</span><ul><li><a>KPK Tahan Bupati dalam Kasus Suap Perizinan</a></li></ul></div>",
    "<div class='inline-related'><a>KPK Tahan Bupati dalam Kasus Suap Perizinan</a></div>",
    "<p>Berita Terkait: KPK Tahan Bupati dalam Kasus Suap Perizinan</p>",
    "<p>ADVERTISEMENT</p><p>SCROLL TO CONTINUE WITH CONTENT</p>",
    "<div class='ads-slot'>KPK Tahan Bupati dalam Kasus Suap Perizinan</div>",
])
def test_teasers_and_markers_are_removed_and_the_story_kept(teaser):
    extracted = extract_page(page(teaser), "http://contoh.test/a", min_text_chars=100)
    assert extracted.text == "\n".join(STORY)
    assert "KPK" not in extracted.text


@pytest.mark.parametrize("block", [
    "<div class='kolom-komentar' id='komentar'><h3>Komentar Pembaca</h3><div class='komentar-item'>Polri payah, "
    "KPK juga tidak becus, Kemendikdasmen gagal total mengurus kurikulum ini semua.</div></div>",
    "<section id='tanggapan'><p>Tanggapan: Polri payah, KPK juga tidak becus, Kemendikdasmen gagal total.</p></section>",
    "<div class='comments-area'><p>Polri payah, KPK juga tidak becus, Kemendikdasmen gagal total mengurus.</p></div>",
    "<div id='disqus_thread'><p>Polri payah, KPK juga tidak becus, Kemendikdasmen gagal total mengurus.</p></div>",
    "<div class='diskusi-pembaca'><p>Polri payah, KPK juga tidak becus, Kemendikdasmen gagal total mengurus.</p></div>",
])
def test_reader_comment_blocks_under_indonesian_and_english_names_are_not_text(block):
    extracted = extract_page(page(block, after=3), "http://contoh.test/a", min_text_chars=100)
    assert extracted.text == "\n".join(STORY)


@pytest.mark.parametrize("line", [
    "Baca juga presiden akan hadir? Tidak: ini paragraf berita yang panjang. " * 8,  # a long paragraph is story text
    "Bacaan doa dipimpin oleh tokoh agama setempat sebelum acara dimulai.",
    "Lihat saja angka inflasi yang terus turun sejak awal tahun, kata ekonom itu.",
    "Iklan rokok di ruang publik akan dibatasi mulai tahun depan, kata Menkes.",
])
def test_story_lines_that_merely_start_alike_are_kept(line):
    assert not is_boilerplate_line(line)
    assert strip_lines(line) == (line.strip(), 0)


def test_an_unparseable_page_is_returned_unchanged():
    assert clean_html("") == ("", 0)
