"""Tone toward a named government body on real news sentences: idner-news-2k sentences (2014–2015 national news)
labelled by hand for the monitor project (benchmarks/data/idner_tone_labels.csv: sentence ids and labels only;
the text is read from ../shared/data/news). Reports; no floor (114 sentences, mostly neutral, too few for one).

    python benchmarks/sentiment_real_news.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from monitor.analysis.analyze import build_analyzer  # noqa: E402
from monitor.analysis.heads import evaluate  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.training.train_head import format_report  # noqa: E402

from mentions_idner import read_conll  # noqa: E402


def labelled_sentences() -> tuple[dict[str, str], list[dict]]:
    """(sentence id -> text of every idner-news-2k sentence, the labelled rows: id, target, label)."""
    data = ROOT.parent / "shared" / "data" / "news" / "idner-news-2k"
    sentences = {}
    for split in ("train", "dev", "test"):
        for index, (tokens, _tags) in enumerate(read_conll(data / f"{split}.txt")):
            sentences[f"{split}:{index}"] = " ".join(tokens)
    return sentences, list(csv.DictReader(open(ROOT / "benchmarks" / "data" / "idner_tone_labels.csv", encoding="utf-8")))


def main() -> int:
    sentences, rows = labelled_sentences()
    config = load_config(ROOT / "feeds.yaml")
    analyzer = build_analyzer(config.settings, config.topics, config.agencies)
    texts = [sentences[r["id"]] for r in rows]
    probs = analyzer.tone_toward(texts, [r["target"] for r in rows])  # target-aware models are told the body
    predicted = [analyzer.label(p) for p in probs]
    result = evaluate([r["label"] for r in rows], predicted)
    counts = {label: sum(r["label"] == label for r in rows) for label in ("negative", "neutral", "positive")}
    print(f"{len(rows)} real sentences, labels {counts}; model {analyzer.version}")
    print(format_report("idner tone toward the named body", result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
