"""Regional governments, their parliaments and offices found before a place name (monitor/ingest/regional.py)."""

import pytest

from monitor.ingest.regional import RegionalMatcher

from helpers import make_config


@pytest.fixture(scope="module")
def regional():
    return RegionalMatcher(make_config([]).agencies)


def ids(matcher, text):
    return [hit.agency_id for hit in matcher.find(text)]


@pytest.mark.parametrize("text, expected", [
    ("Bupati Pasuruan meresmikan jembatan.", ["kab-pasuruan"]),
    ("Wali Kota Bogor dan Bupati Bogor bertemu.", ["kota-bogor", "kab-bogor"]),   # one place name, two governments
    ("Wakil Wali Kota Solo hadir.", ["kota-surakarta"]),                           # the operator's alias in feeds.yaml
    ("Satpol PP Kabupaten Pasuruan menertibkan pedagang.", ["kab-pasuruan--opd"]),
    ("DPRD Jawa Barat menggelar rapat paripurna.", ["prov-jabar--dprd"]),
    ("Hakim PN Jakarta Selatan membacakan putusan.", ["ma-pn"]),
])
def test_a_government_or_unit_form_before_a_place_names_that_body(regional, text, expected):
    assert ids(regional, text) == expected


@pytest.mark.parametrize("text", [
    "Banjir melanda Kabupaten Bogor sejak Minggu.",        # a place is a location, not its government
    "Warga Pasuruan memadati alun-alun.",
    "DPRD Bogor menggelar rapat.",                         # Bogor is both a kabupaten and a kota: unattributed
    "Ia pernah bekerja di PN Gas.",                        # no place after PN
])
def test_a_bare_or_ambiguous_place_is_not_a_government(regional, text):
    assert ids(regional, text) == []
