"""What the inline-boilerplate filter removes from real Indonesian news text, and the false mentions it prevents.

IndoSum's articles (../shared/data/news/indosum-dev, 3,463 articles from many outlets) kept the inline teaser
lines of their pages ("Baca juga: …"). For each paragraph the filter would drop (monitor/ingest/boilerplate.py),
this counts the agency mentions it carried: each is a mention the product would have stored for a story that is
not about that agency. Prints the counts and examples; exits 1 if the filter drops a paragraph longer than a
teaser can be.

    python benchmarks/boilerplate_indosum.py [--show 20]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.ingest.boilerplate import MAX_TEASER_CHARS, is_boilerplate_line  # noqa: E402
from monitor.ingest.mentions import matcher_from_config  # noqa: E402
from monitor.training.real_news import detokenize, read_indosum  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=15)
    args = parser.parse_args()
    matcher = matcher_from_config(load_config(ROOT / "feeds.yaml"))
    articles = paragraphs = dropped = with_teaser = 0
    mentions: collections.Counter[str] = collections.Counter()
    starts: collections.Counter[str] = collections.Counter()
    examples = []
    for article, _ in read_indosum(ROOT.parent / "shared" / "data" / "news" / "indosum-dev"):
        articles += 1
        hit = False
        for paragraph in article["paragraphs"]:
            paragraphs += 1
            text = " ".join(detokenize(s) for s in paragraph)
            if is_boilerplate_line(text):
                dropped += 1
                hit = True
                starts[" ".join(text.split()[:2]).lower()] += 1
                found = {form.agency_id for _, _, form in matcher.find(text)}
                mentions.update(found)
                if found and len(examples) < args.show:
                    examples.append((sorted(found), text[:140]))
                if len(text) > MAX_TEASER_CHARS:
                    print(f"dropped a long paragraph: {text[:120]}", file=sys.stderr)
                    return 1
        with_teaser += hit
    print(f"IndoSum dev: {articles} articles, {paragraphs} paragraphs; {dropped} paragraphs dropped as inline "
          f"boilerplate in {with_teaser} articles ({with_teaser / articles:.1%})")
    print("most common openings: " + ", ".join(f"{k!r} {v}" for k, v in starts.most_common(8)))
    print(f"agency mentions those paragraphs carried (false mentions prevented): {sum(mentions.values())} "
          f"over {len(mentions)} agencies; top: " + ", ".join(f"{k} {v}" for k, v in mentions.most_common(8)))
    for agencies, text in examples:
        print(f"  {agencies}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
