"""Agency mention detection on real news: idner-news-2k ORG and LOC spans that are Indonesian government bodies.

Reads ../shared/data/news/idner-news-2k (not shipped with the project). Expected agencies per sentence come from
its ORG and LOC spans ("Gedung DPR", "Istana Negara") mapped through benchmarks/data/idner_gov_orgs.yaml; predicted
ones from the register in feeds.yaml, a unit rolled up into the body it belongs to (Polres -> Polri). A span not in
the file is not a government body: any agency found inside it is a false positive.
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
from monitor.register import roll_up  # noqa: E402
from monitor.training.real_news import read_conll  # noqa: E402

FLOOR_PRECISION = 0.90
FLOOR_RECALL = 0.80


def tokens_to_text(tokens, tags, kinds=("ORG",)):
    """Text with one space between tokens, and the character range of every span of the given NER kinds."""
    offsets, position = [], 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    spans, current = [], None
    for i, tag in enumerate(tags + ["O"]):
        if current is not None and tag != f"I-{current[3]}":
            spans.append(current)
            current = None
        if tag.startswith("B-") and tag[2:] in kinds:
            current = [offsets[i][0], offsets[i][1], [tokens[i]], tag[2:]]
        elif current is not None and tag == f"I-{current[3]}":
            current[1] = offsets[i][1]
            current[2].append(tokens[i])
    return " ".join(tokens), [(start, end, " ".join(words)) for start, end, words, _kind in spans]


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
    config = load_config(ROOT / "feeds.yaml")
    matcher = matcher_from_config(config)
    root = roll_up(config.agencies)  # the expectations name the parent body: a unit counts for it
    tp = fp = fn = sentences = outside = 0
    errors, unannotated = [], []
    for split in ("train.txt", "dev.txt", "test.txt"):
        for tokens, tags in read_conll(data / split):
            sentences += 1
            text, spans = tokens_to_text(tokens, tags, ("ORG", "LOC"))
            found = matcher.find(text)
            # a mention counts for the first span it overlaps ("Dinas … Kabupaten Kutai Timur" is the ORG span's, not
            # the LOC span "Kutai Timur"'s; "Ketua MA" is the span "MA"'s)
            owner = {id(item): next((i for i, (a, b, _) in enumerate(spans) if item[0] < b and a < item[1]), None)
                     for item in found}
            for index, (_start, _end, span_text) in enumerate(spans):
                listed = gov.get(span_text)
                expected = set(listed) if isinstance(listed, list) else {listed} if listed else set()
                inside = {root[item[2].agency_id] for item in found if owner[id(item)] == index}
                for agency in expected:
                    if agency in inside:
                        tp += 1
                    else:
                        fn += 1
                        errors.append(("missed", span_text, agency, text))
                for agency in inside - expected:
                    fp += 1
                    errors.append(("wrong", span_text, agency, text))
            for item in found:
                s, e, form = item
                if owner[id(item)] is None:
                    outside += 1
                    unannotated.append((text[s:e], form.agency_id, text))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"idner-news-2k: {sentences} sentences, {tp + fn} ORG/LOC spans that are government bodies of the register")
    print(f"on annotated ORG and LOC spans: tp={tp} fp={fp} fn={fn} precision={precision:.3f} recall={recall:.3f} "
          f"(floors {FLOOR_PRECISION}/{FLOOR_RECALL})")
    print(f"mentions outside any ORG/LOC span (leader titles, untagged bodies): {outside}")
    if args.show_errors:
        for kind, span, agency, text in errors:
            print(f"  {kind}: [{span}] -> {agency}: {text[:150]}")
        for surface, agency, text in unannotated:
            print(f"  outside: [{surface}] -> {agency}: {text[:150]}")
    return 0 if precision >= FLOOR_PRECISION and recall >= FLOOR_RECALL else 1


if __name__ == "__main__":
    sys.exit(main())
