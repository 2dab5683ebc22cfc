"""Agency mention detection on real news: idner-news-2k ORG spans that are Indonesian government bodies.

Reads ../shared/data/news/idner-news-2k (not shipped with the project). Expected agencies per sentence come from
its ORG spans mapped through benchmarks/data/idner_gov_orgs.yaml; predicted ones from the register in feeds.yaml.
Prints precision, recall and the errors; exits 1 below the floors.

    python benchmarks/mentions_idner.py [--data DIR] [--show-errors]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.ingest.mentions import matcher_from_config  # noqa: E402

FLOOR_PRECISION = 0.90
FLOOR_RECALL = 0.80


def read_conll(path: Path):
    tokens, tags = [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if tokens:
                yield tokens, tags
            tokens, tags = [], []
            continue
        parts = line.split()
        tokens.append(parts[0])
        tags.append(parts[-1])


def tokens_to_text(tokens, tags):
    """Text with one space between tokens, and the character range of every ORG span."""
    offsets, position = [], 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    spans, current = [], None
    for i, tag in enumerate(tags + ["O"]):
        if current is not None and tag != "I-ORG":
            spans.append(current)
            current = None
        if tag == "B-ORG":
            current = [offsets[i][0], offsets[i][1], [tokens[i]]]
        elif tag == "I-ORG" and current is not None:
            current[1] = offsets[i][1]
            current[2].append(tokens[i])
    return " ".join(tokens), [(start, end, " ".join(words)) for start, end, words in spans]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "news" / "idner-news-2k"))
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    data = Path(args.data)
    if not data.exists():
        print(f"data not found: {data}", file=sys.stderr)
        return 2
    gov = yaml.safe_load((ROOT / "benchmarks" / "data" / "idner_gov_orgs.yaml").read_text(encoding="utf-8"))
    matcher = matcher_from_config(load_config(ROOT / "feeds.yaml"))
    tp = fp = fn = sentences = outside = 0
    errors, unannotated = [], []
    for split in ("train.txt", "dev.txt", "test.txt"):
        for tokens, tags in read_conll(data / split):
            sentences += 1
            text, spans = tokens_to_text(tokens, tags)
            found = matcher.find(text)
            for start, end, span_text in spans:
                expected = gov.get(span_text)
                inside = {form.agency_id for s, e, form in found if s < end and start < e}
                if expected is not None:
                    if expected in inside:
                        tp += 1
                    else:
                        fn += 1
                        errors.append(("missed", span_text, expected, text))
                for agency in inside - ({expected} if expected else set()):
                    fp += 1
                    errors.append(("wrong", span_text, agency, text))
            for s, e, form in found:
                if not any(s < end and start < e for start, end, _ in spans):
                    outside += 1
                    unannotated.append((text[s:e], form.agency_id, text))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"idner-news-2k: {sentences} sentences, {tp + fn} ORG spans that are government bodies of the register")
    print(f"on annotated ORG spans: tp={tp} fp={fp} fn={fn} precision={precision:.3f} recall={recall:.3f} "
          f"(floors {FLOOR_PRECISION}/{FLOOR_RECALL})")
    print(f"mentions outside any ORG span (leader titles, 'Gedung DPR' tagged as place, untagged): {outside}")
    if args.show_errors:
        for kind, span, agency, text in errors:
            print(f"  {kind}: [{span}] -> {agency}: {text[:150]}")
        for surface, agency, text in unannotated:
            print(f"  outside: [{surface}] -> {agency}: {text[:150]}")
    return 0 if precision >= FLOOR_PRECISION and recall >= FLOOR_RECALL else 1


if __name__ == "__main__":
    sys.exit(main())
