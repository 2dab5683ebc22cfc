import datetime as dt

import pytest
import yaml

from monitor.config import AgencyConfig, load_config
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


def test_a_president_is_the_office_only_during_the_term():


    matcher = matcher_from_config(load_config(ROOT / "feeds.yaml"))

    def found(text, day):
        return {m.agency_id for m in matcher.mentions(None, text, dt.datetime.combine(day, dt.time(), dt.UTC) if day else None)}

    assert found("Presiden Joko Widodo meresmikan jalan tol.", dt.date(2017, 3, 1)) == {"presiden"}
    assert found("Presiden Joko Widodo meresmikan jalan tol.", dt.date(2025, 3, 1)) == set()
    assert found("Presiden Jokowi meresmikan jalan tol.", None) == set()
    assert found("Presiden Prabowo menerima tamu negara.", dt.date(2025, 3, 1)) == {"presiden"}
    assert found("Presiden Prabowo menerima tamu negara.", dt.date(2017, 3, 1)) == set()  # not yet in office
    assert found("Wakil Presiden Jusuf Kalla membuka acara.", dt.date(2017, 3, 1)) == {"wapres"}


def test_the_register_generates_every_kabupaten_and_kota_with_their_units():
    config = load_config(ROOT / "feeds.yaml")
    by_type = {}
    for agency in config.agencies:
        by_type[agency.type] = by_type.get(agency.type, 0) + 1
    assert (by_type["kabupaten"], by_type["kota"], by_type["provinsi"]) == (416, 98, 38)
    assert by_type["dprd"] == by_type["perangkat_daerah"] == 416 + 98 + 38
    bogor = config.agency("kota-bogor")
    assert (bogor.province, bogor.code, bogor.place_names) == ("prov-jabar", "32.71", ["Bogor"])
    assert config.agency("kota-bogor--dprd").parent == "kota-bogor"
    assert config.agency("kota-surakarta").place_names == ["Surakarta", "Solo"]  # the operator's addition


def test_an_unknown_region_override_names_the_entry(tmp_path):
    from monitor.config import parse_config
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match=r"regions\[0\] \(id='kota-atlantis'\): id: not a generated"):
        parse_config({"agencies": [], "regions": [{"id": "kota-atlantis", "place_names": ["Atlantis"]}]}, "feeds.yaml")
