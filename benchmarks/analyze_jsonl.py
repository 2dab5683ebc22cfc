"""`monitor analyze --jsonl` on real-length text: the items scored one at a time (as before issue 20's batching)
against the same items scored in chunks of 256 (as the command does now), in one run, and the tone model's own
sentences/s on the same texts for scale. Items are real news sentences that name an agency (IndoSum-dev and
idner-news-2k from ../shared/data/news, not shipped), each with that agency as the target.

    python benchmarks/analyze_jsonl.py [--items 300]

Prints items/s of both paths and their ratio; exits 1 if batching is not at least 1.5x faster (issue 20).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.runner import build_analyzer, matcher, score_texts  # noqa: E402
from monitor.training.real_news import find_candidates, news_sentences  # noqa: E402

FLOOR_RATIO = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--news", type=Path, default=ROOT.parent / "shared" / "data" / "news")
    args = parser.parse_args()
    config = load_config(ROOT / "feeds.yaml")
    agency_matcher = matcher(config)
    candidates = find_candidates(news_sentences(args.news), agency_matcher)
    items = [{"text": c.text, "target": c.agency_id} for c in candidates[:: max(1, len(candidates) // args.items)]][: args.items]
    chars = sum(len(i["text"]) for i in items) / len(items)
    analyzer = build_analyzer(config)
    score_texts(analyzer, agency_matcher, items[:8])  # warm up
    started = time.perf_counter()
    for item in items:
        score_texts(analyzer, agency_matcher, [item])
    one_by_one = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(items), 256):
        score_texts(analyzer, agency_matcher, items[start:start + 256])
    batched = time.perf_counter() - started
    started = time.perf_counter()
    analyzer.tone_toward([i["text"] for i in items], [i["target"] for i in items])
    model = time.perf_counter() - started
    ratio = one_by_one / batched
    print(f"{len(items)} real sentences (mean {chars:.0f} characters), each with its agency as the target")
    print(f"one at a time: {len(items) / one_by_one:.1f} items/s; in chunks of 256: {len(items) / batched:.1f} items/s "
          f"({ratio:.2f}x); the tone model alone on the same texts: {len(items) / model:.0f} sentences/s")
    print(f"floor: batched ≥ {FLOOR_RATIO}x one at a time: {'PASS' if ratio >= FLOOR_RATIO else 'FAIL'}")
    return 0 if ratio >= FLOOR_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
