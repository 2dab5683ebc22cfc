from pathlib import Path

import pytest
import yaml

from monitor.config import load_config, parse_config
from monitor.errors import ConfigError

from helpers import ROOT


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data, encoding="utf-8")
    return path


GOOD_FEED = {"name": "antara-terkini", "url": "https://www.antaranews.test/rss/terkini.xml", "outlet": "ANTARA"}
GOOD_AGENCY = {"id": "kpk", "name": "Komisi Pemberantasan Korupsi", "type": "lembaga_negara", "abbreviations": ["KPK"]}


def test_valid_file_loads(tmp_path):
    config = load_config(write(tmp_path, {"feeds": [GOOD_FEED], "agencies": [GOOD_AGENCY]}))
    assert config.feeds[0].url.endswith("terkini.xml")
    assert config.settings.allow_private_networks is False  # the default blocks private networks


@pytest.mark.parametrize("mutation, expected", [
    ({"feeds": [{**GOOD_FEED, "colour": "red"}]}, "feeds[0] (name='antara-terkini'): colour: unknown key"),
    ({"feeds": [{**GOOD_FEED, "url": "ftp://example.com/rss"}]}, "feeds[0] (name='antara-terkini'): url: Value error, URL scheme must be http or https"),
    ({"feeds": [{**GOOD_FEED, "url": "file:///etc/passwd"}]}, "url: Value error, URL scheme must be http or https"),
    ({"feeds": [{**GOOD_FEED, "interval_minutes": "often"}]}, "feeds[0] (name='antara-terkini'): interval_minutes:"),
    ({"agencies": [GOOD_AGENCY, GOOD_AGENCY]}, "agencies[1] (id='kpk'): id: duplicate agency id"),
    ({"agencies": [GOOD_AGENCY, {"id": "kpk2", "name": "Komisi Lain", "type": "badan", "abbreviations": ["KPK"]}]},
     "agencies[1] (id='kpk2'): aliases: 'KPK' is also used by agency 'kpk'"),
    ({"agencies": [{**GOOD_AGENCY, "type": "partai"}]}, "agencies[0] (id='kpk'): type:"),
    ({"agencies": [{**GOOD_AGENCY, "exclude_phrases": ["(unclosed"]}]}, "exclude_phrases: Value error, invalid regular expression"),
    ({"settings": {"user_agent": "monitor — bot"}}, "settings: user_agent: Value error, user_agent must be ASCII"),
    ({"settings": {"timezone": "Mars/Olympus"}}, "settings: timezone: Value error, unknown time zone"),
])
def test_bad_entries_name_file_entry_and_field(tmp_path, mutation, expected):
    path = write(tmp_path, mutation)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    assert expected in message


def test_yaml_syntax_error_names_line(tmp_path):
    with pytest.raises(ConfigError, match=r"feeds.yaml: line \d+: <syntax>"):
        load_config(write(tmp_path, "feeds:\n  - {name: x, url: [\n"))


def test_missing_file():
    with pytest.raises(ConfigError, match="file not found"):
        load_config("/nonexistent/feeds.yaml")


def test_duplicate_feed_names():
    with pytest.raises(ConfigError, match=r"feeds\[1\] \(name='antara-terkini'\): name: duplicate feed name"):
        parse_config({"feeds": [GOOD_FEED, GOOD_FEED]}, "x.yaml")


def test_shipped_feeds_yaml_meets_the_register_requirements():
    config = load_config(ROOT / "feeds.yaml")
    rss = [f for f in config.feeds if f.kind == "rss"]
    assert len(rss) >= 30
    assert len({f.outlet for f in config.feeds}) >= 15
    english_outlets = {f.outlet for f in config.feeds if f.language == "en"}
    assert len(english_outlets) >= 2
    assert len([f for f in config.feeds if f.kind == "google_news"]) >= 5
    by_type = {}
    for agency in config.agencies:
        by_type.setdefault(agency.type, []).append(agency.id)
    # 7 coordinating ministries + 41 ministries of Perpres 139/2024, with Kementerian Haji dan Umrah added
    # (Sep 2025) and Kementerian BUMN turned into BP BUMN (Oct 2025): 48 ministries.
    assert len(by_type["kemenko"]) == 7
    assert len(by_type["kementerian"]) == 41
    assert len(by_type["provinsi"]) == 38
    bodies = by_type["lembaga_negara"] + by_type["badan"]
    assert len(bodies) >= 30
    for required in ["bps", "bmkg", "bnpb", "bpom", "kpk", "polri", "tni", "kejaksaan", "bi", "ojk", "bpjs-kesehatan",
                     "bpjs-ketenagakerjaan", "brin", "bssn", "basarnas", "bkn", "kpu", "bawaslu", "mk", "ma", "bpk", "bnn",
                     "bnpt", "dpr"]:
        assert required in bodies, required
    komdigi = config.agency("komdigi")
    assert komdigi.former_names[0].alias == "Kominfo"
    assert 12 <= len(config.topics) <= 20
