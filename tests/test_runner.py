"""The composition root's small helpers (monitor/runner.py); runs themselves are tested in test_pipeline and test_cli."""

from pathlib import Path

import numpy as np
import pytest

from monitor.runner import read_text_items


def test_text_items_are_read_and_a_bad_line_is_named(tmp_path):
    good = tmp_path / "in.jsonl"
    good.write_text('{"text": "KPK menahan tersangka.", "target": "kpk"}\n\n{"text": "Hujan lebat."}\n', encoding="utf-8")
    assert read_text_items(good, {"kpk"}) == [{"text": "KPK menahan tersangka.", "target": "kpk"}, {"text": "Hujan lebat."}]
    with pytest.raises(ValueError, match=r"in.jsonl:3: no 'target' \(--target-only needs one on every line\)"):
        read_text_items(good, {"kpk"}, require_target=True)  # the line number counts the blank line
    with pytest.raises(ValueError, match=r"in.jsonl:1: unknown agency id 'kpk'"):
        read_text_items(good, {"bnpb"})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"teks": "salah"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: expected an object"):
        read_text_items(bad, set())
    bad.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2:"):
        read_text_items(bad, set())


class FakeAnalyzer:
    """Deterministic per text (the real int8 model's figures also move with the batch: see docs/performance.md)."""

    version = "fake"
    classes = ("negative", "neutral", "positive")

    @staticmethod
    def _row(text: str, target: str | None = None) -> np.ndarray:
        seed = sum(map(ord, text + (target or ""))) % 97
        row = np.array([seed % 7 + 1, seed % 5 + 1, seed % 3 + 1], dtype=float)
        return row / row.sum()

    def tone(self, texts):
        return np.array([self._row(t) for t in texts])

    def tone_toward(self, texts, targets):
        return np.array([self._row(t, g) for t, g in zip(texts, targets, strict=True)]).reshape(len(texts), 3)

    def topics_of(self, texts):
        return [[("cuaca", 0.9)] if "hujan" in t else [] for t in texts]

    def label(self, probs):
        return self.classes[int(np.argmax(probs))]

    def probabilities(self, probs):
        return {c: round(float(p), 4) for c, p in zip(self.classes, probs, strict=True)}

    def aggregate(self, probs):
        return probs.mean(axis=0)


def test_texts_scored_together_equal_texts_scored_one_by_one():
    from monitor.config import load_config
    from monitor.runner import matcher, score_texts

    agency_matcher = matcher(load_config(Path(__file__).resolve().parent.parent / "feeds.yaml"))
    items = [{"text": "BMKG memprakirakan hujan lebat di Jawa Barat hingga akhir pekan."},
             {"text": "Warga mengeluhkan pelayanan Kemenkes yang lambat. Kemenkes berjanji memperbaikinya.",
              "target": "kemenkes"},
             {"text": "KPK menahan tersangka suap proyek jalan.", "target": "kpk"},
             {"text": "Tidak ada instansi di sini. Hanya cuaca cerah.", "target": "bnpb"}]
    together = score_texts(FakeAnalyzer(), agency_matcher, items)
    assert together == [score_texts(FakeAnalyzer(), agency_matcher, [item])[0] for item in items]
    assert [r["agencies"] for r in together] == [["bmkg"], ["kemenkes"], ["kpk"], []]
    assert together[0]["topics"] == [{"id": "cuaca", "score": 0.9}] and "target" not in together[0]
    # the mention sentences of the target, or the whole text's sentences when it is not mentioned
    assert [r.get("target", {}).get("sentences") for r in together] == [None, 2, 1, 2]


def test_target_only_scores_nothing_but_the_tone_toward_the_target():
    from monitor.config import load_config
    from monitor.runner import matcher, score_texts

    class TargetOnly(FakeAnalyzer):
        def tone(self, texts):
            raise AssertionError("document tone is not asked for")

        def topics_of(self, texts):
            raise AssertionError("topics are not asked for")

    agency_matcher = matcher(load_config(Path(__file__).resolve().parent.parent / "feeds.yaml"))
    items = [{"text": "Warga mengeluhkan pelayanan Kemenkes yang lambat. Kemenkes berjanji memperbaikinya.",
              "target": "kemenkes"}, {"text": "KPK menahan tersangka suap proyek jalan.", "target": "kpk"}]
    full = score_texts(FakeAnalyzer(), agency_matcher, items)
    only = score_texts(TargetOnly(), agency_matcher, items, target_only=True)
    assert [r["target"] for r in only] == [r["target"] for r in full]
    assert [set(r) for r in only] == [{"text", "agencies", "model_version", "target"}] * 2


def test_the_run_summary_counts_the_failures_it_does_not_list_and_says_when_nothing_was_read():
    from monitor.ingest.pipeline import RunSummary
    from monitor.runner import summary_lines

    summary = RunSummary(run_id="r", feeds_due=25, feeds_failed=25,
                         feed_failures=[(f"f{n}", "cannot resolve host") for n in range(25)])
    lines = summary_lines(summary)
    assert ("  … and 5 more feeds failed (monitor status lists them all)", False) in lines
    assert lines[-1] == ("  no feed could be read: check this machine's network (monitor demo runs offline)", True)
    assert not any("no feed could be read" in line for line, _ in summary_lines(RunSummary(run_id="r", feeds_due=2, feeds_failed=1)))


def test_the_onnx_e5_engine_without_its_exported_graph_says_how_to_make_it(tmp_path):
    from monitor.errors import AnalysisUnavailableError
    from monitor.runner import build_analyzer

    from helpers import make_config

    config = make_config([], analysis={"engine": "onnx-e5", "encoder_model": str(tmp_path / "missing")})
    with pytest.raises(AnalysisUnavailableError, match=r"encoder.onnx not found: python -m monitor.training.export_e5"):
        build_analyzer(config)
