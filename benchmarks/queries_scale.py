"""Named trend queries over a synthetic history written straight into DuckDB (default 1,000,000 articles and
3,000,000 agency mentions over one year, 150 agencies, 40 outlets). Prints the latency of every named query for
one agency and for all agencies over one month, and of `monitor export weekly` (CSV) for one agency and for all;
exits 1 if any is above the floor.

    python benchmarks/queries_scale.py [--articles 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.db.store import LOCAL_DAY_SOURCE, Store  # noqa: E402
from monitor.localtime import LocalTime  # noqa: E402
from monitor.outputs.export import Week, write_weekly  # noqa: E402
from monitor.outputs.queries import NAMED, read_only_connection, run_named  # noqa: E402

FLOOR_S = 1.0  # every named query under 1 s on 1,000,000 articles (performance issue)
# An all-agency weekly export of this history holds ~57,000 story rows (6.7 MB of CSV): its time is producing and
# writing those rows, not querying (profiled: the queries take ~0.6 s of it).
EXPORT_FLOOR_S = 5.0


def build(path: str, n: int) -> float:
    started = time.perf_counter()
    with Store(path).session() as con:
        con.execute(f"""INSERT INTO articles (article_id, url, title, outlet, published_at, fetched_at, status, cluster_id)
            SELECT 'a' || i, 'https://o' || (i % 40) || '.test/' || i, 'judul ' || i, 'Outlet ' || (i % 40),
                   TIMESTAMPTZ '2025-01-01 00:00:00+00' + INTERVAL (i * 31536000 // {n}) SECOND, now(), 'ok', 'a' || (i - i % 3)
            FROM range({n}) t(i)""")
        con.execute(f"UPDATE articles SET local_day = {LocalTime().day_sql(LOCAL_DAY_SOURCE)}")  # as write_batch does
        con.execute(f"""INSERT INTO mentions (article_id, agency_id, mention_count, in_title, in_lead, forms, sentences, legacy_name)
            SELECT 'a' || i, 'ag' || ((i * 7 + k * 13) % 150), 1, k = 0, true, [], [], false FROM range({n}) t(i), range(3) r(k)""")
        con.execute(f"""INSERT INTO mention_tone (article_id, agency_id, model_version, tone, p_negative, p_neutral, p_positive,
                                              sentences_scored, analyzed_at) SELECT 'a' || i, 'ag' || ((i * 7 + k * 13) % 150), 'v1',
            CASE (i + k) % 3 WHEN 0 THEN 'negative' WHEN 1 THEN 'neutral' ELSE 'positive' END, 0.3, 0.4, 0.3, 1, now()
            FROM range({n}) t(i), range(3) r(k)""")
        con.execute(f"""INSERT INTO article_analysis SELECT 'a' || i, 'v1', 'neutral', 0.2, 0.6, 0.2, ['topic' || (i % 18)], [0.9], now()
            FROM range({n}) t(i)""")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "history.duckdb")
        print(f"built {args.articles:,} articles / {3 * args.articles:,} mentions in {build(path, args.articles):.1f}s "
              f"({Path(path).stat().st_size / 1e6:.0f} MB)")
        con = read_only_connection(path)
        worst = 0.0
        for name in NAMED:
            for agency in ("ag5", None):
                started = time.perf_counter()
                _columns, rows = run_named(con, name, agency, dt.date(2025, 6, 1), dt.date(2025, 7, 1))
                elapsed = time.perf_counter() - started
                worst = max(worst, elapsed)
                print(f"{name:<15} {'one agency' if agency else 'all agencies':<13} {elapsed:6.2f}s  {len(rows)} rows")
        worst_export = 0.0
        for agencies in (["ag5"], None):
            started = time.perf_counter()
            files = write_weekly(con, Week.parse("2025-W25"), agencies, Path(tmp) / "exports", "csv")
            elapsed = time.perf_counter() - started
            worst_export = max(worst_export, elapsed)
            print(f"{'export weekly':<15} {'one agency' if agencies else 'all agencies':<13} {elapsed:6.2f}s  "
                  f"{sum(f.stat().st_size for f in files) / 1e3:.0f} kB")
        con.close()
    print(f"worst named query {worst:.2f}s (floor {FLOOR_S}s); worst export {worst_export:.2f}s (floor {EXPORT_FLOOR_S}s)")
    return 0 if worst <= FLOOR_S and worst_export <= EXPORT_FLOOR_S else 1


if __name__ == "__main__":
    sys.exit(main())
