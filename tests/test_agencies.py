import datetime as dt

import pytest
import yaml

from monitor.config import AgencyConfig
from monitor.ingest.mentions import AgencyMatcher, matcher_from_config, split_sentences

from helpers import ROOT, make_config

CASES = yaml.safe_load((ROOT / "tests" / "data" / "mentions_testset.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def matcher():
    return matcher_from_config(make_config([]))


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_mention_test_set_case(matcher, case):
    found = {m.agency_id for m in matcher.mentions(None, case["text"])}
    assert found == set(case["expected"]), case.get("why")


def test_precision_and_recall_on_the_test_set(matcher):
    tp = fp = fn = 0
    for case in CASES:
        found = {m.agency_id for m in matcher.mentions(None, case["text"])}
        expected = set(case["expected"])
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
    assert tp / (tp + fp) == 1.0 and tp / (tp + fn) == 1.0
    assert len(CASES) >= 60 and sum(1 for c in CASES if c.get("why")) >= 30


def test_mentions_record_count_title_lead_and_sentences(matcher):
    title = "KPK Periksa Pejabat Kemenkes"
    text = ("Komisi Pemberantasan Korupsi memeriksa dua pejabat. Pemeriksaan berlangsung tujuh jam.\n"
            "Kemenkes belum memberi tanggapan. Sementara itu, KPK menjadwalkan pemeriksaan lanjutan pekan depan.")
    mentions = {m.agency_id: m for m in matcher.mentions(title, text)}
    kpk = mentions["kpk"]
    assert kpk.mention_count == 3 and kpk.in_title and kpk.in_lead
    assert kpk.sentences == ["Komisi Pemberantasan Korupsi memeriksa dua pejabat.",
                             "Sementara itu, KPK menjadwalkan pemeriksaan lanjutan pekan depan."]
    assert mentions["kemenkes"].in_title and not mentions["kemenkes"].in_lead
    assert set(kpk.forms) == {"KPK", "Komisi Pemberantasan Korupsi"}


def test_former_name_after_its_date_is_flagged_legacy(matcher):
    after = matcher.mentions(None, "Kominfo memblokir situs itu.", dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    before = matcher.mentions(None, "Kominfo memblokir situs itu.", dt.datetime(2023, 3, 1, tzinfo=dt.UTC))
    assert after[0].agency_id == before[0].agency_id == "komdigi"
    assert after[0].legacy_name is True and before[0].legacy_name is False


def test_sentence_splitter_keeps_titles_and_abbreviations_together():
    text = "Kapolda Irjen. Budi mengatakan hal itu. Dr. Sari dari BPOM menambahkan, \"Kami siap.\" Lalu rapat ditutup."
    assert split_sentences(text) == ["Kapolda Irjen. Budi mengatakan hal itu.", "Dr. Sari dari BPOM menambahkan, \"Kami siap.\"",
                                     "Lalu rapat ditutup."]


def test_abbreviations_are_case_sensitive_and_names_are_not():
    matcher = AgencyMatcher([AgencyConfig(id="bps", name="Badan Pusat Statistik", type="badan", abbreviations=["BPS"])])
    assert [m.agency_id for m in matcher.mentions(None, "data badan pusat statistik")] == ["bps"]
    assert matcher.mentions(None, "bps itu singkatan basis points") == []
