"""`monitor analyze --jsonl` on real-length text, in one run: the items scored one at a time (as before issue 20's
batching), in chunks of 256 (as the command does), in chunks of 256 with `--target-only`, and the tone model's own
sentences/s on the same (sentence, agency) pairs. Items are real news sentences that name an agency (IndoSum-dev
and idner-news-2k from ../shared/data/news, not shipped), each with that agency as the target.

    python benchmarks/analyze_jsonl.py [--items 1000]

Prints items/s of each path; exits 1 if batching is not at least 1.5x faster than one at a time, or if
`--target-only` runs below 80% of the model's own sentences/s (issue 20). The default output makes three model
passes per item (document tone, topics, tone toward the target), so it cannot reach 80% of one pass.
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
FLOOR_SHARE_OF_MODEL = 0.8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--news", type=Path, default=ROOT.parent / "shared" / "data" / "news")
    args = parser.parse_args()
    config = load_config(ROOT / "feeds.yaml")
    agency_matcher = matcher(config)
    candidates = find_candidates(news_sentences(args.news), agency_matcher)
    items = [{"text": c.text, "target": c.agency_id} for c in candidates[:: max(1, len(candidates) // args.items)]][: args.items]
    chars = sum(len(i["text"]) for i in items) / len(items)
    analyzer = build_analyzer(config)
    score_texts(analyzer, agency_matcher, items[:8])  # warm up
    one_by_one = timed(lambda: [score_texts(analyzer, agency_matcher, [item]) for item in items])
    batched = timed(lambda: [score_texts(analyzer, agency_matcher, items[i:i + 256]) for i in range(0, len(items), 256)])
    target_only = timed(lambda: [score_texts(analyzer, agency_matcher, items[i:i + 256], target_only=True)
                                 for i in range(0, len(items), 256)])
    model = timed(lambda: analyzer.tone_toward([i["text"] for i in items], [i["target"] for i in items]))
    ratio, share = one_by_one / batched, model / target_only
    print(f"{len(items)} real sentences (mean {chars:.0f} characters), each with its agency as the target")
    print(f"one at a time: {len(items) / one_by_one:.1f} items/s; in chunks of 256: {len(items) / batched:.1f} items/s "
          f"({ratio:.2f}x; document tone, topics and tone toward the target); --target-only: "
          f"{len(items) / target_only:.1f} items/s; the tone model alone on the same pairs: {len(items) / model:.0f}/s")
    print(f"floor: batched ≥ {FLOOR_RATIO}x one at a time: {'PASS' if ratio >= FLOOR_RATIO else 'FAIL'}; --target-only "
          f"at {100 * share:.0f}% of the model ≥ {100 * FLOOR_SHARE_OF_MODEL:.0f}%: "
          f"{'PASS' if share >= FLOOR_SHARE_OF_MODEL else 'FAIL'}")
    return 0 if ratio >= FLOOR_RATIO and share >= FLOOR_SHARE_OF_MODEL else 1


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
