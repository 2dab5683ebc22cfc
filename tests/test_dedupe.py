import datetime as dt

from monitor.ingest.dedupe import Headline, StoryIndex, headline_keys, signature

from helpers import PARAGRAPHS

ORIGINAL = " ".join(PARAGRAPHS["korupsi"])
PICKUP = ORIGINAL.replace("Rp12 miliar", "Rp12 miliar, menurut keterangan resmi").replace("sembilan jam", "hampir sembilan jam") + \
    " Berita ini dikutip dari kantor berita nasional."
OTHER = " ".join(PARAGRAPHS["pajak"])


def test_near_copy_joins_the_first_articles_cluster():
    index = StoryIndex(0.5)
    first = index.decide("a1", "h1", signature(ORIGINAL))
    second = index.decide("a2", "h2", signature(PICKUP))
    third = index.decide("a3", "h3", signature(OTHER))
    assert first.cluster_id == "a1" and second.cluster_id == "a1" and third.cluster_id == "a3"
    assert second.same_text_as is None


def test_identical_text_under_another_url_is_linked():
    index = StoryIndex()
    index.decide("a1", "same", signature(ORIGINAL))
    decision = index.decide("a2", "same", signature(ORIGINAL))
    assert decision.same_text_as == "a1" and decision.cluster_id == "a1"


def test_known_article_keeps_its_cluster_and_is_reported_known():
    index = StoryIndex()
    index.add("old", "h", signature(ORIGINAL), "cluster-x")
    decision = index.decide("old", "h", signature(ORIGINAL))
    assert decision.known and decision.cluster_id == "cluster-x"


def test_articles_on_the_same_topic_but_different_stories_stay_apart():
    index = StoryIndex()
    a = " ".join(PARAGRAPHS["banjir"])
    b = ("Banjir kembali merendam sejumlah desa di kabupaten lain pada Selasa. BPBD setempat mencatat ratusan rumah "
         "terendam dan warga memilih bertahan di lantai dua rumah mereka sambil menunggu air surut.")
    assert index.decide("a", None, signature(a)).cluster_id == "a"
    assert index.decide("b", None, signature(b)).cluster_id == "b"


def test_signature_is_stable_across_processes():
    assert signature(ORIGINAL) == signature(ORIGINAL)
    assert len(signature(ORIGINAL)) == 64 and signature("")  # empty text still has a signature


# --- headline-only rows (issue 14, kind 3) ---

DAY = dt.date(2026, 11, 30)
FLOOD = "Banjir bandang melanda tiga kecamatan di Garut sejak Minggu malam dan ribuan warga mengungsi ke masjid. " * 4
ARREST = "Komisi Pemberantasan Korupsi menahan Bupati Bogor setelah pemeriksaan sebagai tersangka suap proyek. " * 4


def headline(title, day=DAY, strip=False):
    return Headline(frozenset(headline_keys(title, strip_outlet=strip)), day)


def test_a_headline_only_row_never_bridges_two_different_texts():
    index = StoryIndex()
    generic = "Berita Terkini Hari Ini Senin 30 November 2026"
    index.decide("gnews", None, None, headline(generic))
    first = index.decide("a", "hA", signature(FLOOD), headline(f"{generic} - Tribun Jabar", strip=True))
    second = index.decide("b", "hB", signature(ARREST), headline(f"{generic} - Tribunnews.com", strip=True))
    assert first.cluster_id == "gnews" and second.cluster_id == "b"  # the second text does not join the first's story


def test_headlines_only_match_within_a_day_and_a_feed_headline_keeps_its_last_segment():
    index = StoryIndex()
    index.decide("a", "hA", signature(FLOOD), headline("Jadwal SIM Keliling Jakarta Hari Ini Senin", dt.date(2026, 11, 20)))
    assert index.decide("g", None, None, headline("Jadwal SIM Keliling Jakarta Hari Ini Senin")).cluster_id == "g"
    index.decide("t", "hT", signature(ARREST), headline("Harga Emas Antam Hari Ini - Turun Rp 3.000 | Kontan", strip=True))
    # the feed's own headline is compared whole: "- Naik Rp 5.000" is news, not an outlet name
    assert index.decide("g2", None, None, headline("Harga Emas Antam Hari Ini - Naik Rp 5.000")).cluster_id == "g2"
    assert index.decide("g3", None, None, headline("Harga Emas Antam Hari Ini - Turun Rp 3.000")).cluster_id == "t"


def test_a_row_that_had_no_text_and_now_has_it_is_decided_again_by_its_text():
    index = StoryIndex()
    index.decide("pub", "hP", signature(FLOOD), headline("Banjir bandang melanda tiga kecamatan di Garut"))
    wall = index.decide("wall", None, None, headline("Banjir bandang melanda tiga kecamatan di Garut"))
    assert wall.cluster_id == "pub"
    again = index.decide("wall", "hW", signature(ARREST), headline("Banjir bandang melanda tiga kecamatan di Garut"))
    assert again.known and again.cluster_id == "wall"  # its own text is another story
    copy = index.decide("copy", "hC", signature(ARREST + " Tambahan."), None)
    assert copy.cluster_id == "wall"  # and its text is now indexed for wire copies
