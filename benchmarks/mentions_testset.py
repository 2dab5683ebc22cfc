"""Mention precision/recall on the project's trap test set (tests/data/mentions_testset.yaml).

    python benchmarks/mentions_testset.py [--show-errors]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.ingest.mentions import matcher_from_config  # noqa: E402

FLOOR = 0.95


def main() -> int:
    cases = yaml.safe_load((ROOT / "tests" / "data" / "mentions_testset.yaml").read_text(encoding="utf-8"))
    matcher = matcher_from_config(load_config(ROOT / "feeds.yaml"))
    tp = fp = fn = 0
    for case in cases:
        found = {m.agency_id for m in matcher.mentions(None, case["text"])}
        expected = set(case["expected"])
        tp, fp, fn = tp + len(found & expected), fp + len(found - expected), fn + len(expected - found)
        if found != expected and "--show-errors" in sys.argv:
            print(f"  +{sorted(found - expected)} -{sorted(expected - found)}: {case['text']}")
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    traps = sum(1 for c in cases if c.get("why"))
    print(f"{len(cases)} sentences ({traps} traps): tp={tp} fp={fp} fn={fn} precision={precision:.3f} recall={recall:.3f}")
    return 0 if precision >= FLOOR and recall >= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
