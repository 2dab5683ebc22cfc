"""The composition root's small helpers (monitor/runner.py); runs themselves are tested in test_pipeline and test_cli."""

import pytest

from monitor.runner import read_text_items


def test_text_items_are_read_and_a_bad_line_is_named(tmp_path):
    good = tmp_path / "in.jsonl"
    good.write_text('{"text": "KPK menahan tersangka.", "target": "kpk"}\n\n{"text": "Hujan lebat."}\n', encoding="utf-8")
    assert read_text_items(good) == [{"text": "KPK menahan tersangka.", "target": "kpk"}, {"text": "Hujan lebat."}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"teks": "salah"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: expected an object"):
        read_text_items(bad)
    bad.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2:"):
        read_text_items(bad)
