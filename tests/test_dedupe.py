from monitor.ingest.dedupe import StoryIndex, signature

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
