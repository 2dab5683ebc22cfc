"""Build models/data/news_tone.csv from news_tone_templates.py (seeded, reproducible).

    python models/data/make_news_tone.py [--per-template 24] [--seed 13]

Each train template is filled `--per-template` times with agencies of its topic (any agency for a few), places,
numbers and days; each held-out test template likewise. Duplicated texts are dropped. The split is by template,
so the test split never shares wording with the training split.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from news_tone_templates import DAYS, PLACES, POOLS, TEST_T, T  # noqa: E402


def fill(template: str, pool, rng: random.Random) -> tuple[str, str]:
    agency_id, forms = rng.choice(pool)
    text = template.format(A=rng.choice(forms), P=rng.choice(PLACES), N=rng.choice([12, 27, 48, 115, 230, 560, 1200, 3400]),
                           H=rng.choice(DAYS))
    return text[0].upper() + text[1:], agency_id


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-template", type=int, default=24)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", default=str(HERE / "news_tone.csv"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows, seen = [], set()
    for split, templates in (("train", T), ("test", TEST_T)):
        for number, (topic, label, hard, template, *fits) in enumerate(templates):
            pool = [a for a in POOLS[topic] if not fits or a[0] in fits[0]] or [a for p in POOLS.values() for a in p if a[0] in fits[0]]
            made = 0
            for _ in range(args.per_template * 6):
                if made == args.per_template:
                    break
                text, target = fill(template, pool, rng)
                if text in seen:
                    continue
                seen.add(text)
                made += 1
                rows.append({"id": hashlib.sha1(text.encode()).hexdigest()[:10], "text": text, "target": target,
                             "label": label, "topic": topic, "hard": int(hard), "split": split,
                             "template": f"{split}-{number}"})
    with open(args.out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    counts = {}
    for row in rows:
        counts[(row["split"], row["label"])] = counts.get((row["split"], row["label"]), 0) + 1
    print(f"{len(rows)} sentences -> {args.out}: " + ", ".join(f"{split}/{label} {n}" for (split, label), n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
